import { type ChildProcess, spawn } from 'node:child_process';

/**
 * The reaper's program, for `/bin/sh`: it reads `add <pgid>` and `del <pgid>` lines from its stdin
 * and, when stdin ends (the server closed it, or died: the kernel closes the pipe either way), sends
 * SIGKILL to every process group still on its list. A shell rather than a second Node process:
 * it costs about a megabyte and starts in a millisecond.
 */
const REAPER_SCRIPT = `
trap '' INT HUP TERM QUIT PIPE
groups=' '
while IFS=' ' read -r op group; do
  case "$group" in ''|*[!0-9]*) continue ;; esac
  case "$op" in
    add) groups="$groups$group " ;;
    del) case "$groups" in *" $group "*) groups="\${groups%% $group *} \${groups#* $group }" ;; esac ;;
  esac
done
for group in $groups; do kill -KILL "-$group" 2>/dev/null; done
exit 0
`;

const SHELL = '/bin/sh';

export interface ReaperOptions {
  /** Told when the reaper could not start or died early (it is restarted on the next `track`). */
  onTrouble?: (error: Error) => void;
  /** How often groups whose leader exited are checked for being empty (10 s). */
  sweepMs?: number;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    // EPERM: something is there that we may not signal (it is not ours to forget)
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

/**
 * Makes sure no process group the server started outlives the server, however the server dies
 * (SIGKILL, out-of-memory kill, crash). Every group is registered with a small watchdog process
 * in its own session; when the pipe from the server closes, the watchdog kills every group still
 * registered. A group is unregistered once it is gone, so a recycled id is never killed.
 *
 * Tracking is best effort by design: if the watchdog cannot be started, processes still run
 * (and `onTrouble` says why); the server's own shutdown path kills its groups either way.
 */
export class ProcessReaper {
  private child: ChildProcess | undefined;
  private readonly groups = new Set<number>();
  private readonly lingering = new Set<number>();
  private sweep: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: ReaperOptions = {}) {}

  /** Registers process group `pgid` (a child started with `detached: true` has pgid = pid). */
  track(pgid: number): void {
    if (this.closed || !Number.isInteger(pgid) || pgid <= 1 || this.groups.has(pgid)) return;
    this.groups.add(pgid);
    this.send(`add ${pgid}\n`);
  }

  /** Forgets a group at once (every process in it is known to be gone). */
  untrack(pgid: number): void {
    this.lingering.delete(pgid);
    if (!this.groups.delete(pgid)) return;
    if (this.child) this.send(`del ${pgid}\n`);
    if (this.lingering.size === 0) this.stopSweep();
  }

  /**
   * The group's leader is gone: forget the group once nothing is left in it. Background children
   * of the leader may live on in the group; they stay registered, checked every `sweepMs`.
   */
  release(pgid: number): void {
    if (!this.groups.has(pgid)) return;
    if (!groupAlive(pgid)) {
      this.untrack(pgid);
      return;
    }
    this.lingering.add(pgid);
    this.sweep ??= setInterval(() => {
      for (const group of this.lingering) if (!groupAlive(group)) this.untrack(group);
    }, this.options.sweepMs ?? 10_000);
    this.sweep.unref();
  }

  /** How many groups are registered (for tests and diagnostics). */
  get size(): number {
    return this.groups.size;
  }

  /** The watchdog's pid, once it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Stops the watchdog. Groups still registered are killed by it as it exits, which is what a
   * server shutting down wants anyway.
   */
  close(): void {
    this.closed = true;
    this.stopSweep();
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private stopSweep(): void {
    clearInterval(this.sweep);
    this.sweep = undefined;
  }

  private send(line: string): void {
    const child = this.ensure();
    // a pipe write is attempted at once, so the line is in the kernel before this returns
    child?.stdin?.write(line);
  }

  private ensure(): ChildProcess | undefined {
    if (this.child || this.closed) return this.child;
    let child: ChildProcess;
    try {
      child = spawn(SHELL, ['-c', REAPER_SCRIPT], {
        stdio: ['pipe', 'ignore', 'ignore'],
        // its own session: a Ctrl-C meant for the server's terminal must not reach it
        detached: true,
      });
    } catch (error) {
      this.options.onTrouble?.(error instanceof Error ? error : new Error(String(error)));
      return undefined;
    }
    child.unref();
    child.stdin?.on('error', () => {});
    // the pipe must not keep the server's event loop alive
    const handle: unknown = child.stdin;
    if (
      handle &&
      typeof handle === 'object' &&
      'unref' in handle &&
      typeof handle.unref === 'function'
    )
      handle.unref();
    child.once('error', (error) => {
      if (this.child === child) this.child = undefined;
      this.options.onTrouble?.(error);
    });
    child.once('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      if (this.closed) return;
      this.options.onTrouble?.(
        new Error(`process reaper exited unexpectedly (${signal ?? `code ${code}`})`),
      );
      // start a new one with the current list, so nothing goes unwatched
      const live = [...this.groups];
      if (live.length > 0) this.send(live.map((group) => `add ${group}\n`).join(''));
    });
    this.child = child;
    return child;
  }
}
