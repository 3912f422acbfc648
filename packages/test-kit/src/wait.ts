/** Resolves after `ms` milliseconds (for pacing a scenario; to assert, use `waitFor`). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Tells waiters that something they look at may have changed: a test client calls `notify()` for
 * every message it receives, and a `waitFor` given these `changes` checks again at once instead of
 * at its next poll, so a wait on messages costs no polling latency.
 */
export class Changes {
  private readonly listeners = new Set<() => void>();

  notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls `listener` on every `notify()` until the returned function is called. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
}

export interface WaitForOptions {
  /** How long to wait before failing. Default 10 s. */
  timeoutMs?: number;
  /** How often to check. Default 5 ms, or 100 ms with `changes` (which wake it in between). */
  intervalMs?: number;
  /** What is awaited, for the timeout error; a function is called then (e.g. for stderr so far). */
  what?: string | (() => string);
  /** Check again as soon as these say something changed. */
  changes?: Changes;
}

/** A `waitFor` that ran out of time; `code` lets a test tell it from a failing check. */
export class WaitForTimeoutError extends Error {
  readonly code = 'WAIT_FOR_TIMEOUT';
  override readonly name = 'WaitForTimeoutError';
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

function isTruthy<T>(value: T): value is Truthy<T> {
  return Boolean(value);
}

/**
 * Polls `check` until it returns a truthy value and resolves with that value (so a wait can hand
 * back what it found: a regex match, a message). Throws `WaitForTimeoutError` naming `what` after
 * `timeoutMs`; an error thrown by `check` fails the wait at once. Tests wait for conditions, never
 * for a fixed time, so a slow machine makes them slower, not flaky.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Truthy<T>> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? (options.changes ? 100 : 5);
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = options.changes?.subscribe(() => wake?.());
  try {
    for (;;) {
      const value = await check();
      if (isTruthy(value)) return value;
      const left = deadline - Date.now();
      if (left <= 0) {
        const what = typeof options.what === 'function' ? options.what() : options.what;
        throw new WaitForTimeoutError(
          `waitFor timed out after ${timeoutMs} ms${what ? ` waiting for ${what}` : ''}`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, Math.min(intervalMs, left));
        wake = done;
      });
    }
  } finally {
    unsubscribe?.();
  }
}
