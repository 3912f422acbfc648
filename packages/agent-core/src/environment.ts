import { randomUUID } from 'node:crypto';
import { ExecServerClient } from '@tether/client';
import { exec } from '@tether/protocol';
import { messageOf } from './errors.js';

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

/**
 * Where a thread's commands run: this machine (`localEnvironment` in `@tether/exec-session`), or a
 * remote exec-server (`remoteEnvironment`).
 */
export interface Environment {
  readonly id: string;
  run(spec: CommandSpec): Promise<RunningCommand>;
  /** Whether sandboxed commands can run here (a sandboxed `run` fails with `problem` otherwise). */
  sandboxCapability(): Promise<SandboxCapability>;
  close(): Promise<void>;
}

/** A plain string map of an environment (process.env is an exotic object and may hold undefined). */
export function plainEnv(env: NodeJS.ProcessEnv | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
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
        lost = new Error(`lost the exec-server session at ${url}: ${messageOf(error)}`, {
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
