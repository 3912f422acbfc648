import { randomUUID } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
// types only: an app or exec client never loads the agent (its turn loop, its shell parser)
import type {
  CommandOutput,
  CommandSpec,
  Environment,
  PatchFileSystem,
  RunningCommand,
  SandboxCapability,
} from '@tether/agent-core';
import { exec } from '@tether/protocol';
import { ExecServerClient } from './exec-client.js';

export interface RemoteEnvironmentOptions {
  /** Sent as `Authorization: Bearer TOKEN` when the exec-server requires one. */
  token?: string;
  /** Told once when the session is lost for good (every command then fails with this error). */
  onError?: (error: Error) => void;
}

/**
 * Where `path` leads on the exec-server: `fs/canonicalize` of the longest part of it that exists,
 * the rest kept as written (so every symlink that exists is resolved, as the server resolves a
 * path before checking it against a sandbox). A final symlink that points nowhere cannot be seen
 * this way; the server's own check, with the sandbox context, still refuses a write through it.
 */
async function resolveRemote(client: ExecServerClient, path: string): Promise<string> {
  const absolute = resolve(path);
  const missing: string[] = [];
  for (let at = absolute; ; at = dirname(at)) {
    try {
      return join(await client.fs.canonicalize(at), ...missing.reverse());
    } catch (error) {
      if (dirname(at) === at) throw error;
      missing.push(basename(at));
    }
  }
}

/**
 * The agent's `Environment` on a tether or Codex exec-server reached over websocket. A dropped
 * connection is resumed (same session, output caught up from the last seq), so running commands
 * lose nothing; a session that cannot be resumed fails what it was running.
 */
export async function remoteEnvironment(
  url: string,
  options: RemoteEnvironmentOptions = {},
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
        const reason = error instanceof Error ? error.message : String(error);
        lost = new Error(`lost the exec-server session at ${url}: ${reason}`, { cause: error });
        for (const process of running) process.fail(lost);
        options.onError?.(lost);
        return;
      }
    }
  };
  void watch();
  // the exec-server's fs/* methods: a patch is read and written where the commands run, and
  // checked there against the sandbox context it is written under
  const live = <T>(work: () => Promise<T>): Promise<T> => (lost ? Promise.reject(lost) : work());
  const files: PatchFileSystem = {
    readFile: (path) => live(() => client.fs.readFile(path)),
    writeFile: (path, data, options) =>
      live(() => client.fs.writeFile(path, data, { sandbox: options?.sandbox })),
    createDirectory: (path, options) =>
      live(() => client.fs.createDirectory(path, true, { sandbox: options?.sandbox })),
    removeFile: (path, options) =>
      live(() =>
        client.fs.remove(path, { recursive: false, force: false, sandbox: options?.sandbox }),
      ),
    getMetadata: (path) =>
      live(async () => {
        const { isFile, isDirectory } = await client.fs.getMetadata(path);
        return { isFile, isDirectory };
      }),
    resolvePath: (path) => live(() => resolveRemote(client, path)),
  };
  return {
    id: 'remote',
    files,
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
        env: spec.env,
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
