import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputSlabs } from './output-slabs.js';

/**
 * The spawn helper's script (`spawn-helper.cjs`, beside this module in src/ and in dist/): it
 * forks children on the server's behalf, so that forking costs the helper's small heap, not the
 * server's. See the script for its protocol.
 */
const HELPER_SCRIPT = fileURLToPath(new URL('./spawn-helper.cjs', import.meta.url));

const CODE_BY_STREAM = { stdin: 'i', stdout: 'o', stderr: 'e' } as const;
type StreamName = keyof typeof CODE_BY_STREAM;
const header = (id: number, name: StreamName) =>
  `${String(id).padStart(15, '0')}${CODE_BY_STREAM[name]}`;

/**
 * A child's stdout or stderr: a unix-socket connection read straight into slabs of its own
 * ({@link OutputSlabs}), without a stream's queue and without a copy. Nothing is read before
 * {@link ChildOutput.read}.
 */
export class ChildOutput {
  private readonly socket: Socket;
  /** Dropped at the end, so an unused slab does not live as long as the process is kept. */
  private slabs: OutputSlabs | undefined = new OutputSlabs();
  private onData: ((data: Buffer) => void) | undefined;
  private onEnd: (() => void) | undefined;
  private ended = false;

  /** @internal */
  constructor(path: string, requestHeader: string) {
    this.socket = connect({
      path,
      onread: {
        // asked for once when the connection opens, then after every read
        buffer: () => this.currentSlabs().space(),
        callback: (bytes: number) => {
          const data = this.currentSlabs().commit(bytes);
          this.onData?.(data);
          return true;
        },
      },
    });
    // stays paused (not reading) until read(): the child's output waits in the kernel
    this.socket.pause();
    this.socket.on('error', () => this.finish());
    this.socket.once('end', () => this.finish());
    this.socket.write(requestHeader);
  }

  /** @internal */
  get connection(): Socket {
    return this.socket;
  }

  /**
   * Starts reading. `onData` gets each read (a buffer of its own, to keep); `onEnd` runs once, at
   * the end of the output or on a read error.
   */
  read(onData: (data: Buffer) => void, onEnd: () => void): void {
    this.onData = onData;
    this.onEnd = onEnd;
    if (this.ended) {
      this.onEnd = undefined;
      onEnd();
      return;
    }
    this.socket.resume();
  }

  /** Stops reading (the child blocks once the kernel's buffer is full). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (this.onData && !this.ended) this.socket.resume();
  }

  /** Lets go of the connection without reading the rest (and without calling `onEnd`). */
  destroy(): void {
    this.ended = true;
    this.onEnd = undefined;
    this.socket.destroy();
    this.slabs = undefined;
  }

  /** The slabs (new ones if a read ever came after destroy(), which would only waste a slab). */
  private currentSlabs(): OutputSlabs {
    if (this.slabs === undefined) this.slabs = new OutputSlabs();
    return this.slabs;
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    const onEnd = this.onEnd;
    this.onEnd = undefined;
    onEnd?.();
  }
}

export interface SpawnRequest {
  file: string;
  args: readonly string[];
  cwd: string;
  env: Record<string, string>;
  argv0: string;
  stdin: boolean;
}

/** A child started by the helper: its pid, its stdio, and its exit. */
export interface SpawnedChild {
  pid: number;
  /** A writable connection to the child's stdin (with `stdin: true`). */
  stdin: Socket | undefined;
  stdout: ChildOutput;
  stderr: ChildOutput;
  /** Calls `listener` once with the exit (at once if it already happened). */
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

interface Pending {
  pid: number | undefined;
  /** Connections not yet established. */
  connecting: number;
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  exitListener: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  settle: (error?: Error) => void;
  settled: boolean;
}

type HelperMessage =
  | { type: 'ready' }
  | { type: 'failed'; message: string }
  | { type: 'spawned'; id: number; pid: number }
  | { type: 'error'; id: number; code?: string; message: string }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

/**
 * Starts processes from a small helper process instead of the server itself. `fork` copies the
 * page tables of the process that calls it, so its cost grows with that process's memory; a server
 * holding retained output would pay more for every spawn, on its main thread. The helper stays
 * small and forks on its own thread of execution; the child's stdio are unix-socket connections
 * the server opens to the helper, which hands its ends to the child (the helper never reads them).
 */
export class Spawner {
  private readonly helper: ChildProcess;
  private readonly dir: string;
  private readonly path: string;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private alive = true;

  private constructor(helper: ChildProcess, dir: string, path: string) {
    this.helper = helper;
    this.dir = dir;
    this.path = path;
    helper.on('message', (message: HelperMessage) => this.onMessage(message));
    helper.once('exit', () => this.onHelperGone());
  }

  /** Starts the helper; resolves once it listens. */
  static async start(): Promise<Spawner> {
    const dir = mkdtempSync(join(tmpdir(), 'tether-spawner-'));
    const path = join(dir, 'spawner.sock');
    const helper = spawn(process.execPath, [HELPER_SCRIPT, path], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        helper.once('error', reject);
        helper.once('exit', (code) => reject(new Error(`spawn helper exited with ${code}`)));
        helper.once('message', (message: HelperMessage) => {
          if (message.type === 'ready') resolve();
          else
            reject(
              new Error(
                `spawn helper failed: ${'message' in message ? message.message : message.type}`,
              ),
            );
        });
      });
    } catch (error) {
      helper.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    helper.removeAllListeners('exit');
    helper.removeAllListeners('error');
    helper.removeAllListeners('message');
    helper.on('error', () => {});
    helper.channel?.unref();
    helper.unref();
    return new Spawner(helper, dir, path);
  }

  get isAlive(): boolean {
    return this.alive;
  }

  /** The helper's pid (for measuring it). */
  get helperPid(): number | undefined {
    return this.helper.pid;
  }

  spawn(request: SpawnRequest): Promise<SpawnedChild> {
    if (!this.alive) return Promise.reject(new Error('spawn helper is gone'));
    const id = this.nextId++;
    return new Promise<SpawnedChild>((resolve, reject) => {
      const stdout = new ChildOutput(this.path, header(id, 'stdout'));
      const stderr = new ChildOutput(this.path, header(id, 'stderr'));
      let stdin: Socket | undefined;
      if (request.stdin) {
        stdin = connect(this.path);
        stdin.on('error', () => {});
        stdin.write(header(id, 'stdin'));
      }
      const connections = [stdout.connection, stderr.connection, ...(stdin ? [stdin] : [])];
      const entry: Pending = {
        pid: undefined,
        connecting: connections.length,
        exit: undefined,
        exitListener: undefined,
        settled: false,
        settle: (error) => {
          if (entry.settled) return;
          entry.settled = true;
          if (error) {
            this.pending.delete(id);
            if (this.helper.connected) this.helper.send({ type: 'cancel', id });
            stdout.destroy();
            stderr.destroy();
            stdin?.destroy();
            reject(error);
            return;
          }
          resolve({
            pid: entry.pid as number,
            stdin,
            stdout,
            stderr,
            onExit: (listener) => {
              if (entry.exit) {
                this.pending.delete(id);
                listener(entry.exit.code, entry.exit.signal);
              } else {
                entry.exitListener = listener;
              }
            },
          });
        },
      };
      this.pending.set(id, entry);
      for (const connection of connections) {
        connection.once('connect', () => {
          entry.connecting -= 1;
          this.maybeReady(entry);
        });
        // a connection that fails before the child runs fails the spawn
        connection.once('error', (error) => entry.settle(error));
      }
      this.helper.send({
        type: 'spawn',
        id,
        file: request.file,
        args: request.args,
        cwd: request.cwd,
        env: request.env,
        argv0: request.argv0,
        stdin: request.stdin,
      });
    });
  }

  /** Stops the helper (children it started keep running; they are the server's to kill). */
  close(): void {
    this.alive = false;
    this.helper.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private maybeReady(entry: Pending): void {
    if (entry.pid !== undefined && entry.connecting === 0) entry.settle();
  }

  private onMessage(message: HelperMessage): void {
    if (message.type === 'ready' || message.type === 'failed') return;
    const entry = this.pending.get(message.id);
    if (!entry) return;
    switch (message.type) {
      case 'spawned':
        entry.pid = message.pid;
        this.maybeReady(entry);
        return;
      case 'error': {
        const error: NodeJS.ErrnoException = new Error(message.message);
        if (message.code) error.code = message.code;
        entry.settle(error);
        return;
      }
      case 'exit':
        entry.exit = { code: message.code, signal: message.signal };
        if (entry.exitListener) {
          this.pending.delete(message.id);
          entry.exitListener(message.code, message.signal);
        }
        return;
    }
  }

  private onHelperGone(): void {
    this.alive = false;
    for (const [id, entry] of this.pending) {
      if (!entry.settled) {
        entry.settle(new Error('spawn helper exited'));
      } else if (entry.exitListener) {
        // the exit status died with the helper: report the exit without a code
        this.pending.delete(id);
        entry.exitListener(null, null);
      } else {
        entry.exit = { code: null, signal: null };
      }
    }
  }
}
