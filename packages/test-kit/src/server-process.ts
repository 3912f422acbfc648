import { type ChildProcess, spawn } from 'node:child_process';

export interface LaunchOptions {
  /** The executable. Default: this Node, so `args` start with the script. */
  command?: string;
  args: readonly string[];
  /** The child's whole environment. Default: this process's. */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the server prints the address it bound: the stream, and a pattern whose first group (or
   * whole match) is the URL. Not a global regex (those keep state between matches).
   */
  banner: { stream: 'stdout' | 'stderr'; pattern: RegExp };
  /** How long `url` waits for the banner. Default 15 s. */
  timeoutMs?: number;
}

/** How much of each output stream is kept for `stdout()`/`stderr()` (the latest part). */
const KEEP_CHARS = 1_000_000;
/**
 * After the process exited, how long `exited` waits for its output pipes to close: a grandchild
 * that inherited them could keep them open, and the test wants the exit, not that process.
 */
const PIPES_GRACE_MS = 250;

/**
 * A server started as a child process, as a user would start it, for end-to-end tests: its output
 * is drained and kept, its URL read from its banner, and it is killed when the test's scope ends:
 *
 *     await using server = launchAppServer(cli);
 *     const client = await AppServerClient.connectWebSocket(await server.url);
 */
export class ServerProcess implements AsyncDisposable {
  readonly child: ChildProcess;
  /** The URL from the banner; rejects when the process exits first or prints none in time. */
  readonly url: Promise<string>;
  /**
   * The exit code once the process exited and its output was read (null: a signal ended it, or it
   * could not be started).
   */
  readonly exited: Promise<number | null>;
  private out = '';
  private err = '';
  private spawnError: Error | undefined;

  constructor(options: LaunchOptions) {
    const command = options.command ?? process.execPath;
    this.child = spawn(command, [...options.args], {
      env: options.env ?? process.env,
      ...(options.cwd ? { cwd: options.cwd } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // both pipes are always drained: a server blocked on a full pipe would look hung
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.out = (this.out + chunk).slice(-KEEP_CHARS);
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.err = (this.err + chunk).slice(-KEEP_CHARS);
    });
    this.exited = new Promise((resolve) => {
      let code: number | null = null;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve(code);
      };
      this.child.once('exit', (exitCode) => {
        code = exitCode;
        setTimeout(finish, PIPES_GRACE_MS).unref();
      });
      this.child.once('close', finish);
      // a command that cannot be spawned at all emits 'error' and 'close', never 'exit'
      this.child.once('error', (error) => {
        this.spawnError = error;
      });
    });
    this.url = this.readBanner(command, options);
    // the URL is often never awaited (a test of a server that must fail to start)
    this.url.catch(() => {});
  }

  private readBanner(command: string, options: LaunchOptions): Promise<string> {
    const { stream, pattern } = options.banner;
    const timeoutMs = options.timeoutMs ?? 15_000;
    const source = stream === 'stdout' ? this.child.stdout : this.child.stderr;
    const name = [command, ...options.args].join(' ');
    return new Promise<string>((resolve, reject) => {
      const look = () => {
        const match = pattern.exec(stream === 'stdout' ? this.out : this.err);
        if (!match) return;
        cleanup();
        resolve(match[1] ?? match[0]);
      };
      const fail = (why: string) => {
        cleanup();
        reject(new Error(`${name} ${why}; stdout: ${this.out}\nstderr: ${this.err}`));
      };
      const timer = setTimeout(() => fail(`printed no URL in ${timeoutMs} ms`), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        source?.off('data', look);
      };
      // listeners run in the order added: the collector (added first) has kept the chunk by now
      source?.on('data', look);
      void this.exited.then((code) => {
        look();
        fail(
          this.spawnError
            ? `could not be started: ${this.spawnError.message}`
            : `exited (${code ?? 'signal'}) before printing its URL`,
        );
      });
    });
  }

  /** What the process wrote on stdout so far (the latest megabyte). */
  stdout(): string {
    return this.out;
  }

  /** What the process wrote on stderr so far (the latest megabyte). */
  stderr(): string {
    return this.err;
  }

  /** Whether the process still runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.child.kill(signal);
  }

  /** Sends `signal` (default SIGKILL) unless it already exited; resolves with its exit code. */
  stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    return this.exited;
  }

  /** Kills it with SIGKILL unless it already exited, and waits until it has. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Starts a server process; `await server.url` for its address. */
export function launchServer(options: LaunchOptions): ServerProcess {
  return new ServerProcess(options);
}

export type CliLaunchOptions = Omit<LaunchOptions, 'command' | 'args' | 'banner'>;

/**
 * tether-app-server from its built script (`apps/app-server/dist/cli.js`); it prints
 * `listening on: <url>` on stderr. Default arguments: a websocket on a free loopback port.
 */
export function launchAppServer(
  cli: string,
  args: readonly string[] = ['--listen', 'ws://127.0.0.1:0'],
  options: CliLaunchOptions = {},
): ServerProcess {
  return launchServer({
    ...options,
    args: [cli, ...args],
    banner: { stream: 'stderr', pattern: /listening on: (\S+)/ },
  });
}

/**
 * tether-exec-server from its built script (`apps/exec-server/dist/cli.js`); it prints the URL it
 * bound as the first line of stdout. Default arguments: a free loopback port.
 */
export function launchExecServer(
  cli: string,
  args: readonly string[] = ['--listen', 'ws://127.0.0.1:0'],
  options: CliLaunchOptions = {},
): ServerProcess {
  return launchServer({
    ...options,
    args: [cli, ...args],
    banner: { stream: 'stdout', pattern: /^(\S+)\n/ },
  });
}
