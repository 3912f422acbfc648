import { randomUUID } from 'node:crypto';
import type {
  CommandOutput,
  CommandSpec,
  Environment,
  PatchFileSystem,
  RunningCommand,
  SandboxCapability,
} from '@tether/agent-core';
import { exec, type Message, type NotificationMessage, RpcError } from '@tether/protocol';
import { type ExecConnection, ExecService } from './connection.js';
import { checkSandboxAccess } from './fs-handlers.js';
import { writeFileAtomically } from './fs-methods.js';
import { fsFailure } from './os-error.js';
import { hostPath } from './sandbox.js';
import type { SandboxSettings } from './session.js';

export interface LocalEnvironmentOptions {
  /** How long the in-process session survives without its connection (60 s). */
  sessionTtlMs?: number;
  /** What every sandboxed command is kept from (the server's own home, its control socket). */
  sandbox?: SandboxSettings;
}

/** Output of one process, read by one consumer; ends at `process/closed`. */
class OutputStream implements AsyncIterable<CommandOutput> {
  private readonly chunks: CommandOutput[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  push(chunk: CommandOutput): void {
    this.chunks.push(chunk);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<CommandOutput> {
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

interface Tracked {
  output: OutputStream;
  exitCode: number | null;
  resolveExit: (code: number) => void;
}

/**
 * Commands on this machine through an exec-session core in this process: the same sessions,
 * process table and sandbox as tether-exec-server, spoken to with the exec-server protocol's
 * messages but without a socket in between. Output comes from `process/output`, the exit code from
 * `process/exited`, and completion at `process/closed` (always the last event of a process).
 */
export class LocalEnvironment implements Environment {
  readonly id = 'local';
  private readonly processes = new Map<string, Tracked>();
  private readonly pending = new Map<
    number,
    { resolve: (result: unknown) => void; reject: (e: Error) => void }
  >();
  private readonly connection: ExecConnection;
  private nextId = 1;

  private constructor(private readonly service: ExecService) {
    this.connection = service.connect({
      send: (message, onWritten) => {
        this.receive(message);
        onWritten?.();
      },
      drop: (reason) => {
        const error = new Error(`exec session dropped: ${reason}`);
        for (const waiter of this.pending.values()) waiter.reject(error);
        this.pending.clear();
      },
    });
  }

  /** Starts the exec-session core and its session (`initialize`, then `initialized`). */
  static async start(options: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
    const service = new ExecService({
      sessionTtlMs: options.sessionTtlMs ?? 60_000,
      ...(options.sandbox ? { sandbox: options.sandbox } : {}),
    });
    const environment = new LocalEnvironment(service);
    try {
      await environment.call('initialize', { clientName: 'tether-local-environment' });
    } catch (error) {
      await environment.close();
      throw error;
    }
    environment.connection.handle({ kind: 'notification', method: 'initialized', params: {} });
    return environment;
  }

  /** Whether bubblewrap works here (a sandboxed `run` fails with `problem` otherwise). */
  async sandboxCapability(): Promise<SandboxCapability> {
    const support = await this.service.sandboxSupport;
    return support.available
      ? { available: true }
      : { available: false, problem: support.problem ?? 'the sandbox is unavailable' };
  }

  async run(spec: CommandSpec): Promise<RunningCommand> {
    const processId = `cmd-${randomUUID()}`;
    let resolveExit!: (code: number) => void;
    const exitCode = new Promise<number>((resolve) => {
      resolveExit = resolve;
    });
    const tracked: Tracked = { output: new OutputStream(), exitCode: null, resolveExit };
    this.processes.set(processId, tracked);
    try {
      await this.call('process/start', {
        processId,
        argv: spec.argv,
        cwd: exec.pathToFileUri(spec.cwd),
        env: spec.env,
        tty: false,
        ...(spec.sandbox ? { sandbox: spec.sandbox } : {}),
      });
    } catch (error) {
      this.processes.delete(processId);
      throw error;
    }
    return {
      processId,
      output: tracked.output,
      exitCode,
      terminate: async () => {
        await this.call('process/terminate', { processId }).catch(() => undefined);
      },
    };
  }

  /**
   * This machine's files through the same `fs/*` methods a remote exec-server serves, so a patch
   * meets the same errors (`No such file or directory (os error 2)`) and the same sandbox checks
   * wherever it applies. A write replaces the file atomically (see `writeFileAtomically`), after
   * the same sandbox check `fs/writeFile` makes.
   */
  readonly files: PatchFileSystem = {
    readFile: async (path) => {
      const answer = await this.send('fs/readFile', { path: exec.pathToFileUri(path) });
      return Buffer.from(exec.FsReadFileResult.parse(answer).dataBase64, 'base64');
    },
    writeFile: async (path, data, options) => {
      const uri = exec.pathToFileUri(path);
      checkSandboxAccess(this.service.sandboxSettings, options?.sandbox, [[uri, 'write']]);
      try {
        await writeFileAtomically(path, data);
      } catch (error) {
        throw fsFailure(error);
      }
    },
    createDirectory: (path, options) =>
      this.call('fs/createDirectory', {
        path: exec.pathToFileUri(path),
        recursive: true,
        ...(options?.sandbox ? { sandbox: options.sandbox } : {}),
      }),
    removeFile: (path, options) =>
      this.call('fs/remove', {
        path: exec.pathToFileUri(path),
        recursive: false,
        force: false,
        ...(options?.sandbox ? { sandbox: options.sandbox } : {}),
      }),
    getMetadata: async (path) => {
      const answer = await this.send('fs/getMetadata', { path: exec.pathToFileUri(path) });
      const { isFile, isDirectory } = exec.FsGetMetadataResult.parse(answer);
      return { isFile, isDirectory };
    },
    // as the fs methods resolve a path before checking it against a sandbox
    resolvePath: async (path) => hostPath(path),
  };

  /** Ends the session: its processes are killed with the service. */
  async close(): Promise<void> {
    this.connection.close();
    this.service.shutdown();
  }

  /** A request to the in-process core; resolves on its response, rejects with its error. */
  private async call<M extends exec.RequestMethod>(
    method: M,
    params: exec.ParamsOf<M>,
  ): Promise<void> {
    await this.send(method, params);
  }

  /** A request to the in-process core; resolves with its result, rejects with its error. */
  private send<M extends exec.RequestMethod>(
    method: M,
    params: exec.ParamsOf<M>,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.connection.handle({ kind: 'request', id, method, params });
    });
  }

  private receive(message: Message): void {
    switch (message.kind) {
      case 'notification':
        this.notified(message);
        return;
      case 'response':
      case 'error': {
        const id = typeof message.id === 'number' ? message.id : -1;
        const waiter = this.pending.get(id);
        this.pending.delete(id);
        if (message.kind === 'response') waiter?.resolve(message.result);
        else waiter?.reject(new RpcError(message.error));
        return;
      }
      default:
        return;
    }
  }

  private notified(notification: NotificationMessage): void {
    switch (notification.method) {
      case 'process/output': {
        const parsed = exec.ProcessOutputNotification.safeParse(notification.params);
        if (!parsed.success) return;
        const { processId, stream, chunk } = parsed.data;
        this.processes.get(processId)?.output.push({ stream, data: Buffer.from(chunk, 'base64') });
        return;
      }
      case 'process/exited': {
        const parsed = exec.ProcessExitedNotification.safeParse(notification.params);
        if (!parsed.success) return;
        const tracked = this.processes.get(parsed.data.processId);
        if (tracked) tracked.exitCode = parsed.data.exitCode;
        return;
      }
      case 'process/closed': {
        const parsed = exec.ProcessClosedNotification.safeParse(notification.params);
        if (!parsed.success) return;
        const tracked = this.processes.get(parsed.data.processId);
        if (!tracked) return;
        this.processes.delete(parsed.data.processId);
        tracked.output.end();
        tracked.resolveExit(tracked.exitCode ?? -1);
        return;
      }
      default:
        return;
    }
  }
}

/** The local environment: an exec-session core in this process (no socket in between). */
export function localEnvironment(options: LocalEnvironmentOptions = {}): Promise<LocalEnvironment> {
  return LocalEnvironment.start(options);
}
