import { setTimeout as sleep } from 'node:timers/promises';
import { invalidRequest, type Logger, RpcError } from '@tether/protocol';
import type { ThreadJournal } from '@tether/thread-store';
import type { LoadedThread } from './threads.js';

export interface DurabilityOptions {
  /** How long a finished turn (or a closing thread) waits for its records to reach the disk. */
  timeoutMs: number;
  /** How often records are retried while someone waits for them. */
  retryDelayMs: number;
  logger: Logger;
}

/**
 * Getting a thread's records onto the disk before something depends on them: a rollout about to
 * be moved or rewritten, a thread being closed. The journal retries on its own; these wait for it.
 */
export class ThreadDurability {
  constructor(private readonly options: DurabilityOptions) {}

  /**
   * Waits (as long as a finished turn does) until every record of the thread is on disk, or refuses
   * `method` with the reason: a rollout about to be moved, rewritten or reloaded must not leave
   * records behind.
   */
  async requireDurable(loaded: LoadedThread, method: string): Promise<void> {
    const journal = loaded.journal;
    if (!journal || (await this.flushWithin(journal, this.options.timeoutMs))) return;
    const trouble = journal.trouble;
    throw new RpcError(
      invalidRequest(
        `thread ${loaded.id} has ${journal.pending} record(s) waiting for the disk (${trouble?.path ?? 'its rollout'}: ${trouble?.errno ?? 'write failed'}); retry ${method} once they are saved`,
      ),
    );
  }

  /**
   * Tries to write what the journal holds until `ms` have passed, every retry delay (someone is
   * waiting: the journal's own backoff may be seconds by now). True once nothing waits.
   */
  async flushWithin(journal: ThreadJournal, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (journal.pending === 0 || journal.flush()) return true;
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(left, this.options.retryDelayMs));
    }
  }

  /**
   * Writes what the thread's journal still holds, waiting up to `waitMs` for a disk that refuses
   * it, then closes the journal; records still waiting then are lost, and the log says how many.
   */
  async closeJournal(loaded: LoadedThread, waitMs: number | null): Promise<void> {
    const journal = loaded.journal;
    if (!journal) return;
    if (waitMs === null) {
      // the thread is being deleted
      if (journal.pending > 0) {
        this.options.logger.info(
          { threadId: loaded.id, discarded: journal.pending },
          'records of a deleted thread that were waiting for the disk are discarded',
        );
      }
    } else {
      await this.flushWithin(journal, waitMs);
    }
    if (journal.pending > 0 && waitMs !== null) {
      this.options.logger.error(
        { threadId: loaded.id, lost: journal.pending, trouble: journal.trouble },
        `thread closed with ${journal.pending} rollout record(s) the disk did not take; they are lost`,
      );
    }
    journal.close();
  }
}
