/**
 * A thread's journal: the app appends every record here and never loses one to a failed write.
 * A record that cannot be written (disk full, quota, an I/O error, an index held by another
 * process) is kept in memory, in order with every record after it, and retried with backoff until
 * it is written; the owner hears when records start waiting and when they are written again, and
 * can wait until everything appended so far is on disk (the app reports a turn completed only
 * then). Past `maxPending` waiting records, further ones are dropped: the owner hears of it
 * (`onDropped`), and `whenDurable` no longer reports those records durable.
 */
import type { Logger } from '@tether/protocol';
import { isThreadStoreError } from './errors.js';
import type { AppendRecord } from './records.js';

/** Where a journal writes: the thread store (its `append`). */
export interface JournalStore {
  append(threadId: string, record: AppendRecord): unknown;
}

/** Why records are waiting: the rollout they are for and the system error code. */
export interface JournalTrouble {
  threadId: string;
  path: string | null;
  /** `ENOSPC`, `EDQUOT`, `EIO`… or the store's error code when there is no system one. */
  errno: string;
  message: string;
  /** Records waiting to be written. */
  pending: number;
}

export interface JournalOptions {
  /** First retry delay; doubles up to `maxRetryDelayMs`. Default 100 ms. */
  retryDelayMs?: number;
  /** Default 5 s. */
  maxRetryDelayMs?: number;
  /**
   * Most records kept waiting (default 100,000). Past it, further records are dropped and said so
   * in the log and through `onDropped`, rather than growing memory without bound.
   */
  maxPending?: number;
  /** Records started waiting (called once per episode, with the first failure). */
  onTrouble?: (trouble: JournalTrouble) => void;
  /** Every waiting record was written. */
  onRecovered?: (threadId: string) => void;
  /**
   * Records were dropped: `maxPending` was reached, or a waiting record turned out to be one that
   * can never be written (its thread was deleted meanwhile). `whenDurable` reports them.
   */
  onDropped?: (threadId: string, dropped: number) => void;
  logger?: Logger;
}

/** A record waiting to be written, with its place among every record appended (1, 2, …). */
interface Waiting {
  record: AppendRecord;
  seq: number;
}

/** A `whenDurable` call waiting: records `(since, through]` must all be written. */
interface Waiter {
  since: number;
  through: number;
  resolve: (durable: boolean) => void;
}

export interface WhenDurableOptions {
  /**
   * Only records appended after this point count: a value of {@link ThreadJournal.appended} read
   * earlier (say when a turn started). Default 0: every record ever appended.
   */
  since?: number;
}

export class ThreadJournal {
  readonly threadId: string;
  readonly #store: JournalStore;
  readonly #options: JournalOptions;
  readonly #pending: Waiting[] = [];
  readonly #waiters: Waiter[] = [];
  /** Dropped records as runs of consecutive places `[from, to]`, oldest first. */
  readonly #droppedRuns: Array<[number, number]> = [];
  #appended = 0;
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #delay: number;
  #closed = false;
  #trouble: JournalTrouble | null = null;

  constructor(store: JournalStore, threadId: string, options: JournalOptions = {}) {
    this.#store = store;
    this.threadId = threadId;
    this.#options = options;
    this.#delay = options.retryDelayMs ?? 100;
  }

  /** Records waiting to be written. */
  get pending(): number {
    return this.#pending.length;
  }

  /** Records appended so far (written, waiting or dropped): a point to pass as `since`. */
  get appended(): number {
    return this.#appended;
  }

  /** Records dropped so far (they will never be written). */
  get dropped(): number {
    return this.#dropped;
  }

  /** What keeps records waiting, while some are. */
  get trouble(): JournalTrouble | null {
    return this.#trouble;
  }

  /**
   * Appends a record, or keeps it (after any record already waiting) to retry. Never throws for
   * a failed write; a record that can never be written (`INVALID_RECORD`) still throws.
   */
  append(record: AppendRecord): void {
    const seq = ++this.#appended;
    if (this.#pending.length > 0) {
      this.#keep({ record, seq });
      return;
    }
    try {
      this.#store.append(this.threadId, record);
    } catch (error) {
      if (!retryable(error)) throw error;
      this.#keep({ record, seq });
      this.#fail(error);
    }
  }

  /**
   * Replaces waiting records that match (the app marks a turn that could not be saved as failed
   * before it is finally written). Returns how many were replaced.
   */
  rewritePending(change: (record: AppendRecord) => AppendRecord): number {
    let changed = 0;
    for (const waiting of this.#pending) {
      const next = change(waiting.record);
      if (next !== waiting.record) {
        waiting.record = next;
        changed += 1;
      }
    }
    return changed;
  }

  /**
   * Resolves with true once every record appended so far (after `since`) is on disk; with false
   * as soon as one of them was dropped (it never will be), when the journal is closed with them
   * still waiting, or after `timeoutMs` (records keep being retried).
   */
  whenDurable(
    timeoutMs = Number.POSITIVE_INFINITY,
    options: WhenDurableOptions = {},
  ): Promise<boolean> {
    const since = options.since ?? 0;
    const through = this.#appended;
    if (this.#lost(since, through)) return Promise.resolve(false);
    if (this.#writtenThrough(through)) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        since,
        through,
        resolve: (durable) => {
          if (timer) clearTimeout(timer);
          resolve(durable);
        },
      };
      this.#waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          const at = this.#waiters.indexOf(waiter);
          if (at >= 0) this.#waiters.splice(at, 1);
          resolve(false);
        }, timeoutMs);
        timer.unref?.();
      }
    });
  }

  /** Tries to write what waits now; returns true when nothing waits any more. */
  flush(): boolean {
    while (this.#pending.length > 0) {
      const waiting = this.#pending[0];
      if (!waiting) break;
      try {
        this.#store.append(this.threadId, waiting.record);
      } catch (error) {
        if (!retryable(error)) {
          this.#options.logger?.error(
            { err: error, threadId: this.threadId, type: waiting.record.type },
            'dropping a waiting rollout record that can never be written',
          );
          this.#pending.shift();
          this.#drop(waiting.seq);
          continue;
        }
        this.#fail(error);
        this.#settle();
        return false;
      }
      this.#pending.shift();
    }
    this.#recovered();
    return true;
  }

  /**
   * Stops retrying (the thread unloads); records still waiting are logged as lost, and whoever
   * waits for them hears false.
   */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length > 0) {
      this.#options.logger?.error(
        { threadId: this.threadId, pending: this.#pending.length, trouble: this.#trouble },
        'thread closed with rollout records that could not be written',
      );
    }
    this.#settle();
  }

  #keep(waiting: Waiting): void {
    const max = this.#options.maxPending ?? 100_000;
    if (this.#pending.length >= max) {
      this.#options.logger?.error(
        { threadId: this.threadId, type: waiting.record.type, max },
        'rollout record dropped: too many records are waiting for the disk',
      );
      this.#drop(waiting.seq);
      return;
    }
    this.#pending.push(waiting);
  }

  #drop(seq: number): void {
    this.#dropped += 1;
    const last = this.#droppedRuns[this.#droppedRuns.length - 1];
    if (last && last[1] === seq - 1) last[1] = seq;
    else this.#droppedRuns.push([seq, seq]);
    this.#settle();
    this.#options.onDropped?.(this.threadId, 1);
  }

  /** Whether a record appended in `(since, through]` was dropped. */
  #lost(since: number, through: number): boolean {
    return this.#droppedRuns.some(([from, to]) => from <= through && to > since);
  }

  /** Whether nothing appended up to `through` still waits. */
  #writtenThrough(through: number): boolean {
    const first = this.#pending[0];
    return first === undefined || first.seq > through;
  }

  /** Answers the `whenDurable` calls that can be answered now. */
  #settle(): void {
    for (const waiter of [...this.#waiters]) {
      let durable: boolean | undefined;
      if (this.#lost(waiter.since, waiter.through)) durable = false;
      else if (this.#writtenThrough(waiter.through)) durable = true;
      else if (this.#closed) durable = false;
      if (durable === undefined) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(durable);
    }
  }

  #fail(error: unknown): void {
    const first = this.#trouble === null;
    this.#trouble = {
      threadId: this.threadId,
      path: pathOf(error),
      errno: errnoOf(error),
      message: error instanceof Error ? error.message : String(error),
      pending: this.#pending.length,
    };
    if (first) {
      this.#options.logger?.warn(
        { ...this.#trouble },
        'rollout records are waiting for the disk; retrying',
      );
      this.#options.onTrouble?.(this.#trouble);
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.flush()) {
        this.#delay = Math.min(this.#delay * 2, this.#options.maxRetryDelayMs ?? 5000);
      }
    }, this.#delay);
    this.#timer.unref?.();
  }

  #recovered(): void {
    this.#delay = this.#options.retryDelayMs ?? 100;
    if (this.#trouble !== null) {
      this.#trouble = null;
      this.#options.logger?.info({ threadId: this.threadId }, 'waiting rollout records written');
      this.#options.onRecovered?.(this.threadId);
    }
    this.#settle();
  }
}

/**
 * Failed writes worth retrying: the disk refused the line (`IO_ERROR`), or the index could not be
 * consulted before the line was written (`INDEX_ERROR`: another process held it past the busy
 * timeout, or it is full or failing). The store raises `INDEX_ERROR` from `append` only before
 * writing (a failed index update after the write is logged, not thrown), so a retry never writes a
 * record twice. Not retried: a record that can never be written, a thread that is gone, a closed
 * store.
 */
function retryable(error: unknown): boolean {
  return isThreadStoreError(error) && (error.code === 'IO_ERROR' || error.code === 'INDEX_ERROR');
}

function errnoOf(error: unknown): string {
  if (!isThreadStoreError(error)) return 'UNKNOWN';
  return error.errno ?? error.code;
}

function pathOf(error: unknown): string | null {
  return isThreadStoreError(error) ? (error.path ?? null) : null;
}
