import { randomUUID } from 'node:crypto';
import { ExecServerClient } from '@tether/client';
import { ExecService, type SandboxSettings } from '@tether/exec-session';
import { exec, type Message, type NotificationMessage, type RequestId } from '@tether/protocol';

/** One chunk of a running command's output. */
export interface CommandOutput {
  stream: 'stdout' | 'stderr' | 'pty';
  data: Buffer;
}

/** A command started in an environment. */
export interface RunningCommand {
  readonly processId: string;
  /** Output in order; ends once the process closed. */
  readonly output: AsyncIterable<CommandOutput>;
  /** The exit code, once the process closed (all output delivered). */
  readonly exitCode: Promise<number>;
  /** Kills the process group. */
  terminate(): Promise<void>;
}

export interface CommandSpec {
  argv: string[];
  /** Absolute directory. */
  cwd: string;
  env: Record<string, string>;
  /** Run inside this sandbox (see `sandboxContextFor`); absent: unsandboxed. */
  sandbox?: exec.SandboxContext;
}

/** Whether an environment can run sandboxed commands, and if not, what is missing. */
export interface SandboxCapability {
  available: boolean;
  problem?: string;
}

/** Where a thread's commands run: this machine, or a remote exec-server. */
export interface Environment {
  readonly id: string;
  run(spec: CommandSpec): Promise<RunningCommand>;
  /** Whether sandboxed commands can run here (a sandboxed `run` fails with `problem` otherwise). */
  sandboxCapability(): Promise<SandboxCapability>;
  close(): Promise<void>;
}

/** A JSON-RPC peer speaking the exec-server protocol (in process or over a websocket). */
export interface ExecRpc {
  call(method: string, params: unknown): Promise<unknown>;
  /** Registers the handler for the server's notifications. */
  onNotification(handler: (notification: NotificationMessage) => void): void;
  close(): Promise<void>;
}

class OutputQueue implements AsyncIterable<CommandOutput> {
  private readonly items: CommandOutput[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  push(item: CommandOutput): void {
    this.items.push(item);
    this.waiter?.();
  }
  end(): void {
    this.ended = true;
    this.waiter?.();
  }
  async *[Symbol.asyncIterator](): AsyncIterator<CommandOutput> {
    for (;;) {
      const item = this.items.shift();
      if (item) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
      });
      this.waiter = undefined;
    }
  }
}

interface Tracked {
  output: OutputQueue;
  exitCode: number | null;
  resolveExit: (code: number) => void;
}

/**
 * An environment over the exec-server protocol: `process/start` with a fresh process id, output
 * from `process/output` notifications, the exit code from `process/exited`, completion at
 * `process/closed` (which always comes last), and `process/terminate`.
 */
export class ExecEnvironment implements Environment {
  private readonly processes = new Map<string, Tracked>();

  constructor(
    readonly id: string,
    private readonly rpc: ExecRpc,
    private readonly capability: () => Promise<SandboxCapability> = async () => ({
      available: true,
    }),
  ) {
    rpc.onNotification((n) => this.notify(n));
  }

  sandboxCapability(): Promise<SandboxCapability> {
    return this.capability();
  }

  private notify(notification: NotificationMessage): void {
    const params = notification.params as {
      processId?: string;
      chunk?: string;
      stream?: string;
      exitCode?: number;
    };
    const tracked = params.processId ? this.processes.get(params.processId) : undefined;
    if (!tracked) return;
    switch (notification.method) {
      case 'process/output':
        tracked.output.push({
          stream: (params.stream as CommandOutput['stream']) ?? 'stdout',
          data: Buffer.from(params.chunk ?? '', 'base64'),
        });
        return;
      case 'process/exited':
        tracked.exitCode = params.exitCode ?? -1;
        return;
      case 'process/closed':
        tracked.output.end();
        tracked.resolveExit(tracked.exitCode ?? -1);
        this.processes.delete(params.processId as string);
        return;
    }
  }

  async run(spec: CommandSpec): Promise<RunningCommand> {
    const processId = `cmd-${randomUUID()}`;
    let resolveExit!: (code: number) => void;
    const exitCode = new Promise<number>((resolve) => {
      resolveExit = resolve;
    });
    const tracked: Tracked = { output: new OutputQueue(), exitCode: null, resolveExit };
    this.processes.set(processId, tracked);
    try {
      await this.rpc.call('process/start', {
        processId,
        argv: spec.argv,
        cwd: exec.pathToFileUri(spec.cwd),
        env: plainEnv(spec.env),
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
        await this.rpc.call('process/terminate', { processId }).catch(() => undefined);
      },
    };
  }

  close(): Promise<void> {
    return this.rpc.close();
  }
}

/** An error answered by the exec-server. */
export class ExecRpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ExecRpcError';
  }
}

/** A plain string map of an environment (process.env is an exotic object and may hold undefined). */
export function plainEnv(env: NodeJS.ProcessEnv | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
}

/** The local environment: an exec-session core in this process (no socket in between). */
export async function localEnvironment(
  options: { sessionTtlMs?: number; sandbox?: SandboxSettings } = {},
): Promise<ExecEnvironment> {
  const service = new ExecService({
    sessionTtlMs: options.sessionTtlMs ?? 60_000,
    ...(options.sandbox ? { sandbox: options.sandbox } : {}),
  });
  let nextId = 1;
  const pending = new Map<
    RequestId,
    { resolve: (v: unknown) => void; reject: (e: Error) => void }
  >();
  let handler: (n: NotificationMessage) => void = () => undefined;
  const connection = service.connect({
    send(message: Message, onWritten?: () => void) {
      if (message.kind === 'notification') handler(message);
      else if (message.kind === 'response' || message.kind === 'error') {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.kind === 'response') waiter?.resolve(message.result);
        else waiter?.reject(new ExecRpcError(message.error.code, message.error.message));
      }
      onWritten?.();
    },
    drop(reason: string) {
      for (const waiter of pending.values())
        waiter.reject(new Error(`exec session dropped: ${reason}`));
      pending.clear();
    },
  });
  const call = (method: string, params: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      connection.handle({ kind: 'request', id, method, params });
    });
  await call('initialize', { clientName: 'tether-agent-core' });
  connection.handle({ kind: 'notification', method: 'initialized', params: {} });
  const capability = async (): Promise<SandboxCapability> => {
    const support = await service.sandboxSupport;
    return support.available
      ? { available: true }
      : { available: false, problem: support.problem ?? 'the sandbox is unavailable' };
  };
  return new ExecEnvironment(
    'local',
    {
      call,
      onNotification: (h) => {
        handler = h;
      },
      close: async () => {
        connection.close();
        service.shutdown();
      },
    },
    capability,
  );
}

/**
 * A remote environment: a tether or Codex exec-server reached over websocket. A dropped
 * connection is resumed (same session, output caught up from the last seq), so running commands
 * lose nothing.
 */
export async function remoteEnvironment(
  url: string,
  options: { token?: string; onError?: (error: Error) => void } = {},
): Promise<Environment> {
  const client = await ExecServerClient.connect(url, {
    clientName: 'tether-app-server',
    ...(options.token ? { token: options.token } : {}),
  });
  let closing = false;
  let lost: Error | undefined;
  const running = new Set<{ fail(error: Error): void }>();
  const watch = async (): Promise<void> => {
    for (;;) {
      await client.closed;
      if (closing || client.isClosedByUser) return;
      try {
        await client.resume({ retryForMs: 30_000 });
      } catch (error) {
        // the session cannot be resumed: the commands it ran are lost, so fail them (and every
        // later one) instead of leaving their turns waiting forever
        lost = new Error(`lost the exec-server session at ${url}: ${(error as Error).message}`, {
          cause: error,
        });
        for (const process of running) process.fail(lost);
        options.onError?.(lost);
        return;
      }
    }
  };
  void watch();
  return {
    id: 'remote',
    async sandboxCapability(): Promise<SandboxCapability> {
      // tether's exec-server says whether bubblewrap works there; the reference always can
      // (it ships its own bubblewrap), and says nothing
      if (client.environmentInfo?.capabilities.linuxSandbox === false) {
        return {
          available: false,
          problem: `the exec-server at ${url} cannot sandbox commands (bubblewrap is missing or cannot create namespaces there)`,
        };
      }
      return { available: true };
    },
    async run(spec: CommandSpec): Promise<RunningCommand> {
      if (lost) throw lost;
      const processId = `cmd-${randomUUID()}`;
      const process = await client.start({
        processId,
        argv: spec.argv,
        cwd: exec.pathToFileUri(spec.cwd),
        env: plainEnv(spec.env),
        tty: false,
        ...(spec.sandbox ? { sandbox: spec.sandbox } : {}),
      });
      let resolveExit!: (code: number) => void;
      const exitCode = new Promise<number>((resolve) => {
        resolveExit = resolve;
      });
      running.add(process);
      async function* output(): AsyncGenerator<CommandOutput> {
        let code = -1;
        try {
          for await (const event of process.events()) {
            if (event.kind === 'output') yield { stream: event.stream, data: event.data };
            else if (event.kind === 'exited') code = event.exitCode;
          }
        } finally {
          running.delete(process);
          resolveExit(process.exitCode ?? code);
        }
      }
      return {
        processId,
        output: output(),
        exitCode,
        terminate: async () => {
          await process.terminate().catch(() => undefined);
        },
      };
    },
    async close(): Promise<void> {
      closing = true;
      await client.close();
    },
  };
}
