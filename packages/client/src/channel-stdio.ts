import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { BaseChannel, type CloseInfo } from './channel.js';

/**
 * A channel over a pair of byte streams speaking NDJSON: one JSON-RPC message per line, as the
 * servers' stdio transport does. `pause` stops reading `input`, so the writer on the other side
 * backs up.
 */
export class StreamChannel extends BaseChannel {
  private readonly input: Readable;
  private readonly output: Writable;
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private reading = false;
  private userPaused = false;

  /**
   * `onClose` ends the medium in order (`close`) or at once (`terminate`); by default `close` ends
   * `output` and `terminate` destroys both streams. The channel ends when `input` does, unless the
   * owner calls `ended` itself (a child process ends with its exit status).
   */
  constructor(
    input: Readable,
    output: Writable,
    private readonly hooks: {
      close?: () => void;
      terminate?: () => void;
      /** Set when the owner reports the end through `ended` instead of the end of `input`. */
      ownsEnd?: boolean;
    } = {},
  ) {
    super();
    this.input = input;
    this.output = output;
    // a write to a peer that went away fails here; the end of the channel is reported on close
    output.on('error', () => {});
    input.on('error', () => {});
    if (!hooks.ownsEnd) {
      input.once('close', () => this.ended({ code: 0, reason: 'end of stream' }));
    }
  }

  /** Reports the end of the channel (for owners that set `ownsEnd`). */
  ended(info: CloseInfo): void {
    this.flushPartial();
    this.finish(info);
  }

  pause(): void {
    this.userPaused = true;
    this.input.pause();
  }

  resume(): void {
    this.userPaused = false;
    if (this.reading) this.input.resume();
  }

  protected startReading(): void {
    this.reading = true;
    this.input.on('data', (chunk: Buffer | string) => this.take(chunk));
    // a pause asked for before start() holds; otherwise flow (even if paused before)
    if (!this.userPaused) this.input.resume();
  }

  private take(chunk: Buffer | string): void {
    this.partial += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let start = 0;
    for (let nl = this.partial.indexOf('\n'); nl !== -1; nl = this.partial.indexOf('\n', start)) {
      const line = this.partial.slice(start, nl);
      start = nl + 1;
      // blank lines (and a CR before the newline) carry nothing, as on the servers' side
      if (line.trim()) this.receive(line);
    }
    this.partial = this.partial.slice(start);
  }

  /** A last line without its newline still counts once the stream has ended. */
  private flushPartial(): void {
    const rest = this.partial + this.decoder.end();
    this.partial = '';
    if (rest.trim()) this.receive(rest);
  }

  protected write(text: string): void {
    this.output.write(`${text}\n`);
  }

  protected closeMedium(): void {
    if (this.hooks.close) this.hooks.close();
    else this.output.end();
  }

  protected terminateMedium(): void {
    if (this.hooks.terminate) {
      this.hooks.terminate();
      return;
    }
    this.output.destroy();
    this.input.destroy();
  }
}

export interface SpawnStdioOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where the child's stderr goes: this process's stderr (default), or nowhere. */
  stderr?: 'inherit' | 'ignore';
}

/**
 * A channel to a child process over its stdin and stdout. `close` ends the child's stdin (a stdio
 * server exits on EOF); `terminate` kills it. The channel ends when the child has exited and its
 * stdout is drained, with `{ code: exit code (or -1), reason: signal name or 'exited' }`.
 */
export class ChildProcessChannel extends StreamChannel {
  readonly child: ChildProcess;

  private constructor(child: ChildProcess) {
    const stdin = child.stdin;
    const stdout = child.stdout;
    if (!stdin || !stdout) throw new Error('the child must have piped stdin and stdout');
    super(stdout, stdin, {
      close: () => stdin.end(),
      terminate: () => child.kill('SIGKILL'),
      ownsEnd: true,
    });
    this.child = child;
    // 'close' comes after 'exit' once stdout is drained, so no last message is lost
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      this.ended({ code: code ?? -1, reason: signal ?? 'exited' }),
    );
    child.once('error', (error: Error) => {
      // a child that never started gets no 'close'
      if (child.pid === undefined) this.ended({ code: -1, reason: error.message });
    });
  }

  /** Starts `command` and talks NDJSON over its stdin and stdout. */
  static spawn(
    command: string,
    args: readonly string[],
    options: SpawnStdioOptions = {},
  ): ChildProcessChannel {
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', options.stderr ?? 'inherit'],
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    return new ChildProcessChannel(child);
  }
}

/** Spawns a child and returns a channel over its stdio (see `ChildProcessChannel`). */
export function spawnStdio(
  command: string,
  args: readonly string[],
  options: SpawnStdioOptions = {},
): ChildProcessChannel {
  return ChildProcessChannel.spawn(command, args, options);
}
