import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import type { IPty } from '@lydell/node-pty';
import type { exec } from '@tether/protocol';
import { ExecSessionError } from './os-error.js';
import {
  type OutputLog,
  OutputLog as OutputLogClass,
  type OutputLogOptions,
  type ProcessEvent,
} from './output-log.js';
import type { ProcessReaper } from './reaper.js';
import {
  type BwrapCommand,
  type BwrapOptions,
  bwrapCommand,
  type SandboxLayout,
} from './sandbox.js';
import { childEnvironment, exitCodeFor, resolveProgram } from './spawn-support.js';
import type { SpawnedChild, Spawner } from './spawner.js';

export interface ProcessSpec {
  processId: string;
  argv: readonly string[];
  /** Working directory (a local path). */
  cwd: string;
  env: Readonly<Record<string, string>>;
  envPolicy?: exec.ProcessEnvPolicy | null;
  tty: boolean;
  pipeStdin?: boolean;
  arg0?: string | null;
  /** Run inside this sandbox (bubblewrap at `bwrap`); without it the process is unsandboxed. */
  sandbox?: { bwrap: string; layout: SandboxLayout; options?: BwrapOptions };
}

export interface ManagedProcessOptions extends OutputLogOptions {
  /** While a PTY is paused, how often to check whether its child is gone (50 ms). */
  ptyExitPollMs?: number;
  /**
   * Where pipe processes are forked (a small helper process, see {@link Spawner}); resolved lazily.
   * Without one (or once it is gone) the server forks them itself.
   */
  spawner?: () => Promise<Spawner | undefined>;
  /** Watches every process group started here, so none outlives the server. */
  reaper?: ProcessReaper;
}

type Listener = (event: ProcessEvent) => void;

/** Where `env` lives; used to strip the variables node-pty adds to a PTY child's environment. */
const ENV_PROGRAM = '/usr/bin/env';
const BASH_PROGRAM = '/bin/bash';

let ptyModule: Promise<typeof import('@lydell/node-pty')> | undefined;
function loadPty(): Promise<typeof import('@lydell/node-pty')> {
  ptyModule ??= import('@lydell/node-pty');
  return ptyModule;
}

function writeError(cause?: unknown): ExecSessionError {
  return new ExecSessionError('STDIN_WRITE_FAILED', 'failed to write to process stdin', { cause });
}

/**
 * One child process (pipes through `child_process`, or a PTY through `node-pty`) in its own process
 * group, with its output in a seq-numbered {@link OutputLog}. When the log is full and nothing in
 * it may be dropped, reading stops, so the child blocks on its pipe or terminal.
 */
export class ManagedProcess {
  readonly processId: string;
  readonly log: OutputLog;
  readonly tty: boolean;
  readonly pid: number;
  private readonly child: ChildProcess | undefined;
  private readonly pty: IPty | undefined;
  private readonly stdin: Writable | undefined;
  private readonly readers: Array<{ pause(): unknown; resume(): unknown; destroy(): unknown }> = [];
  private readonly listeners = new Set<Listener>();
  private paused = false;
  private ptyPoll: NodeJS.Timeout | undefined;
  private readonly ptyExitPollMs: number;
  private exitedFlag = false;
  private closedFlag = false;
  private readonly closedWaiters: Array<() => void> = [];
  /** Run once when the process closed or was disposed (sandbox mount points to remove). */
  private readonly finalizers: Array<() => void> = [];
  private readonly reaper: ProcessReaper | undefined;

  private constructor(
    spec: ProcessSpec,
    handle: { child: ChildProcess } | { pty: IPty } | { spawned: SpawnedChild },
    log: OutputLog,
    options: ManagedProcessOptions,
  ) {
    this.processId = spec.processId;
    this.tty = spec.tty;
    this.log = log;
    this.ptyExitPollMs = options.ptyExitPollMs ?? 50;
    this.reaper = options.reaper;
    if ('child' in handle) {
      this.child = handle.child;
      this.pid = handle.child.pid as number;
      this.stdin = handle.child.stdin ?? undefined;
      this.stdin?.on('error', () => {});
      this.wirePipes(handle.child);
    } else if ('spawned' in handle) {
      this.child = undefined;
      this.pid = handle.spawned.pid;
      this.reaper?.track(this.pid);
      this.stdin = handle.spawned.stdin;
      this.stdin?.on('error', () => {});
      handle.spawned.stdin?.resume();
      this.wireSpawned(handle.spawned);
    } else {
      this.pty = handle.pty;
      this.pid = handle.pty.pid;
      this.reaper?.track(this.pid);
      this.wirePty(handle.pty);
    }
  }

  /**
   * Spawns the process. Resolves once it runs; rejects with the OS error (ENOENT for a missing
   * program or working directory) when it cannot start.
   */
  static async start(
    spec: ProcessSpec,
    options: ManagedProcessOptions = {},
  ): Promise<ManagedProcess> {
    const info = await stat(spec.cwd);
    if (!info.isDirectory()) {
      const error: NodeJS.ErrnoException = new Error(`not a directory: ${spec.cwd}`);
      error.code = 'ENOTDIR';
      throw error;
    }
    const env = childEnvironment(spec.env, spec.envPolicy);
    const resolved = await resolveProgram(spec.argv[0] as string, spec.cwd, env);
    const sandbox = spec.sandbox
      ? bwrapCommand(spec.sandbox.layout, spec.sandbox.options)
      : undefined;
    try {
      const process = await ManagedProcess.spawnIn(spec, env, resolved, sandbox, options);
      if (sandbox) process.finalizers.push(sandbox.release);
      return process;
    } catch (error) {
      sandbox?.release();
      throw error;
    }
  }

  private static async spawnIn(
    spec: ProcessSpec,
    env: Record<string, string>,
    resolved: string,
    sandbox: BwrapCommand | undefined,
    options: ManagedProcessOptions,
  ): Promise<ManagedProcess> {
    const log = new OutputLogClass(options);
    // inside a sandbox the program is bubblewrap's argument; bwrap 0.8 has no --argv0, so a
    // requested arg0 is applied by bash's `exec -a` inside it
    let program = resolved;
    let args = spec.argv.slice(1);
    let argv0: string | undefined = spec.arg0 ?? (spec.argv[0] as string);
    if (sandbox && spec.sandbox) {
      const inner =
        spec.arg0 !== undefined && spec.arg0 !== null && existsSync(BASH_PROGRAM)
          ? [BASH_PROGRAM, '-c', 'exec -a "$0" "$@"', spec.arg0, resolved, ...args]
          : [resolved, ...args];
      program = spec.sandbox.bwrap;
      args = [...sandbox.args, ...inner];
      argv0 = undefined;
    }
    if (spec.tty) {
      const pty = await ManagedProcess.spawnPty(spec, program, args, env, sandbox !== undefined);
      return new ManagedProcess(spec, { pty }, log, options);
    }
    const spawner = await options.spawner?.();
    if (spawner?.isAlive) {
      const spawned = await spawner.spawn({
        file: program,
        args,
        cwd: spec.cwd,
        env,
        argv0: argv0 ?? program,
        stdin: spec.pipeStdin ?? false,
      });
      return new ManagedProcess(spec, { spawned }, log, options);
    }
    const child = spawn(program, args, {
      cwd: spec.cwd,
      env,
      ...(argv0 !== undefined ? { argv0 } : {}),
      detached: true,
      stdio: [spec.pipeStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.reaper?.track(child.pid);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        child.off('spawn', onSpawn);
        reject(error);
      };
      const onSpawn = () => {
        child.off('error', onError);
        resolve();
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
    return new ManagedProcess(spec, { child }, log, options);
  }

  private static async spawnPty(
    spec: ProcessSpec,
    program: string,
    args: string[],
    env: Record<string, string>,
    sandboxed: boolean,
  ): Promise<IPty> {
    const { spawn: spawnPty } = await loadPty();
    // node-pty always sets TERM and PWD; the reference passes `env` through untouched, so a small
    // `env -u` in front removes what the client did not ask for.
    const unset: string[] = [];
    if (!('TERM' in env)) unset.push('-u', 'TERM');
    if (!('PWD' in env)) unset.push('-u', 'PWD');
    let argv = [program, ...args];
    if (!sandboxed && spec.arg0 !== undefined && spec.arg0 !== null && existsSync(BASH_PROGRAM)) {
      argv = [BASH_PROGRAM, '-c', 'exec -a "$0" "$@"', spec.arg0, ...argv];
    }
    if (unset.length > 0 && existsSync(ENV_PROGRAM)) argv = [ENV_PROGRAM, ...unset, '--', ...argv];
    return spawnPty(argv[0] as string, argv.slice(1), {
      name: 'xterm',
      cols: 80,
      rows: 24,
      cwd: spec.cwd,
      env,
      encoding: null,
    });
  }

  get exited(): boolean {
    return this.exitedFlag;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** True while reading from the child is stopped because the log is full. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Subscribes to the process's events (output chunks, exited, closed). */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once the process has exited and its output streams have closed. */
  whenClosed(): Promise<void> {
    if (this.closedFlag) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** True when the process reads its input through us (a PTY or `pipeStdin`). */
  get hasStdin(): boolean {
    return this.pty !== undefined || this.stdin !== undefined;
  }

  /**
   * Hands bytes to the child's stdin or terminal; does not wait for the child to read them.
   * Throws `failed to write to process stdin` once the process has gone.
   */
  write(data: Buffer): void {
    if (this.exitedFlag) throw writeError();
    if (data.length === 0) return;
    if (this.pty) {
      try {
        // node-pty's socket takes bytes as they are; its typing only names strings.
        (this.pty.write as (chunk: string | Buffer) => void).call(this.pty, data);
      } catch (error) {
        throw writeError(error);
      }
      return;
    }
    const stdin = this.stdin;
    if (!stdin || stdin.destroyed || stdin.writableEnded) throw writeError();
    stdin.write(data);
  }

  /** Sends a signal to the process group (falls back to the process). */
  signal(signal: NodeJS.Signals): void {
    if (this.exitedFlag) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      try {
        process.kill(this.pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** SIGKILLs the whole process group; true when the process was still running. */
  terminate(): boolean {
    const running = !this.exitedFlag;
    this.killGroup();
    return running;
  }

  /** SIGKILLs the process group unless everything in it is known to be gone. */
  killGroup(): void {
    if (this.closedFlag) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      if (!this.exitedFlag) {
        try {
          process.kill(this.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }

  /**
   * Kills the process group and lets go of its pipes or terminal without reading them to the end
   * (for an expired session or a server shutdown: nobody will read that output).
   */
  dispose(): void {
    this.killGroup();
    this.reaper?.release(this.pid);
    for (const finalize of this.finalizers.splice(0)) finalize();
    clearInterval(this.ptyPoll);
    this.ptyPoll = undefined;
    for (const reader of this.readers) reader.destroy();
    this.stdin?.destroy();
    if (this.pty && this.paused) this.pty.resume();
  }

  /** Starts reading again when the log has room (called after output was released). */
  resumeIfRoom(): void {
    if (this.paused && this.log.canAccept()) this.setPaused(false);
  }

  private emit(event: ProcessEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private onOutput(stream: 'stdout' | 'stderr' | 'pty', data: Buffer): void {
    for (const chunk of this.log.appendOutput(stream, data)) {
      this.emit({ kind: 'output', chunk });
    }
    if (!this.paused && !this.log.canAccept()) this.setPaused(true);
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    if (this.pty) {
      if (paused) {
        this.pty.pause();
        this.watchPausedPty();
      } else {
        clearInterval(this.ptyPoll);
        this.ptyPoll = undefined;
        this.pty.resume();
      }
      return;
    }
    for (const reader of this.readers) {
      if (paused) reader.pause();
      else reader.resume();
    }
  }

  /**
   * node-pty destroys a terminal's socket 200 ms after its child exits, dropping whatever the
   * kernel still buffers. While a PTY is paused, watch for the child's exit and resume reading at
   * once when it happens (the overshoot is at most the kernel's PTY buffer).
   */
  private watchPausedPty(): void {
    if (this.ptyPoll) return;
    this.ptyPoll = setInterval(() => {
      try {
        process.kill(this.pid, 0);
      } catch {
        clearInterval(this.ptyPoll);
        this.ptyPoll = undefined;
        if (this.paused) {
          this.paused = false;
          this.pty?.resume();
        }
      }
    }, this.ptyExitPollMs);
    this.ptyPoll.unref();
  }

  private markExited(exitCode: number): void {
    if (this.exitedFlag) return;
    this.exitedFlag = true;
    const seq = this.log.appendExited(exitCode);
    this.emit({ kind: 'exited', seq, exitCode });
  }

  private markClosed(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.reaper?.release(this.pid);
    for (const finalize of this.finalizers.splice(0)) finalize();
    clearInterval(this.ptyPoll);
    const seq = this.log.appendClosed();
    // a helper-spawned child's stdin is a socket the server owns: let go of it
    if (!this.child) this.stdin?.destroy();
    this.emit({ kind: 'closed', seq });
    for (const waiter of this.closedWaiters.splice(0)) waiter();
  }

  private wirePipes(child: ChildProcess): void {
    const stdout = child.stdout as Readable;
    const stderr = child.stderr as Readable;
    this.readers.push(stdout, stderr);
    stdout.on('data', (data: Buffer) => this.onOutput('stdout', data));
    stderr.on('data', (data: Buffer) => this.onOutput('stderr', data));
    child.on('exit', (code, signal) => this.markExited(exitCodeFor(code, signal)));
    child.on('close', (code, signal) => {
      this.markExited(exitCodeFor(code, signal));
      this.markClosed();
    });
    child.on('error', () => {
      // kill() errors after exit; the exit and close events still report the outcome
    });
  }

  private wireSpawned(spawned: SpawnedChild): void {
    this.readers.push(spawned.stdout, spawned.stderr);
    let open = 2;
    let exitCode: number | undefined;
    const maybeClosed = () => {
      if (open === 0 && exitCode !== undefined) this.markClosed();
    };
    for (const [output, name] of [
      [spawned.stdout, 'stdout'],
      [spawned.stderr, 'stderr'],
    ] as const) {
      output.read(
        (data) => this.onOutput(name, data),
        () => {
          open -= 1;
          output.destroy();
          maybeClosed();
        },
      );
    }
    spawned.onExit((code, signal) => {
      exitCode = exitCodeFor(code, signal);
      this.markExited(exitCode);
      maybeClosed();
    });
  }

  private wirePty(pty: IPty): void {
    pty.onData((data: string | Buffer) => {
      this.onOutput('pty', typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    });
    // node-pty reports the exit once the terminal's output has been read to its end.
    pty.onExit(({ exitCode, signal }) => {
      this.markExited(signal ? 128 + signal : exitCode);
      this.markClosed();
    });
  }
}
