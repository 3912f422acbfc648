import type { exec } from '@tether/protocol';
import type { PatchFileSystem } from './apply-patch/files.js';

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
 * remote exec-server (`remoteEnvironment` in `@tether/client`). They live beside the processes and
 * the client they are built on, so this package needs neither.
 */
export interface Environment {
  readonly id: string;
  run(spec: CommandSpec): Promise<RunningCommand>;
  /** Whether sandboxed commands can run here (a sandboxed `run` fails with `problem` otherwise). */
  sandboxCapability(): Promise<SandboxCapability>;
  /** The environment's files, where `apply_patch` reads and writes (absent: it cannot edit files). */
  readonly files?: PatchFileSystem;
  close(): Promise<void>;
}

/** A plain string map of an environment (process.env is an exotic object and may hold undefined). */
export function plainEnv(env: NodeJS.ProcessEnv | Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === 'string') out[key] = value;
  return out;
}
