/** A notification as received, with the app-server's `emittedAtMs` when it sent one. */
export interface ReceivedNotification {
  method: string;
  params: unknown;
  emittedAtMs?: number;
}

/** How many recent notifications a client keeps by default. */
export const DEFAULT_KEPT_NOTIFICATIONS = 1_000;

interface Waiter {
  offer(notification: ReceivedNotification, position: number): void;
  end(reason: Error): void;
}

/**
 * The most recent notifications of a connection, oldest first, at most `capacity` of them: older
 * ones are dropped as new ones arrive, so a long-lived client's memory stays flat.
 *
 * Every notification gets a position (0, 1, 2, … over the connection's life). Take `cursor`
 * before doing something, then read (`since`) or wait (`wait`) from it, and only what came after
 * is considered. Reading from a position that was already dropped throws instead of silently
 * skipping it.
 */
export class NotificationLog {
  readonly capacity: number;
  private readonly ring: Array<ReceivedNotification | undefined>;
  private total = 0;
  /** Positions below this were cleared by hand. */
  private floor = 0;
  private readonly waiters = new Set<Waiter>();
  private endReason: Error | undefined;

  constructor(capacity: number = DEFAULT_KEPT_NOTIFICATIONS) {
    if (!Number.isSafeInteger(capacity) || capacity < 0) {
      throw new RangeError(`capacity must be a non-negative integer, got ${capacity}`);
    }
    this.capacity = capacity;
    this.ring = new Array(capacity);
  }

  /** The position the next notification will get. */
  get cursor(): number {
    return this.total;
  }

  /** The position of the oldest notification still kept (`cursor` when none is). */
  get oldest(): number {
    return Math.max(this.floor, this.total - this.capacity);
  }

  /**
   * The kept notifications at positions `from` and later (all kept ones by default). Throws when
   * any of them was already dropped.
   */
  since(from: number = this.oldest): ReceivedNotification[] {
    const start = Math.max(from, 0);
    if (start < this.oldest) {
      throw new Error(
        `notifications from position ${start} are gone: the log keeps the last ${this.capacity} (from ${this.oldest} on)`,
      );
    }
    const out: ReceivedNotification[] = [];
    for (let position = start; position < this.total; position++) {
      const kept = this.ring[position % this.capacity];
      if (kept) out.push(kept);
    }
    return out;
  }

  /** Adds the next notification (and wakes the waits it satisfies). */
  push(notification: ReceivedNotification): void {
    const position = this.total;
    if (this.capacity > 0) this.ring[position % this.capacity] = notification;
    this.total += 1;
    for (const waiter of [...this.waiters]) waiter.offer(notification, position);
  }

  /** Forgets every kept notification (positions go on counting). */
  clear(): void {
    this.floor = this.total;
    this.ring.fill(undefined);
  }

  /**
   * Resolves with the first notification at position `from` or later (default: the oldest kept)
   * that `match` accepts, kept or yet to come. Rejects after `timeoutMs`, when the log has ended
   * (the connection closed) without one, or at once when `from` was already dropped.
   */
  wait(
    match: (notification: ReceivedNotification) => boolean,
    options: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<ReceivedNotification> {
    const what = options.what ?? 'a notification';
    const from = options.from ?? this.oldest;
    let kept: ReceivedNotification[];
    try {
      kept = this.since(from);
    } catch (error) {
      return Promise.reject(error);
    }
    const found = kept.find(match);
    if (found) return Promise.resolve(found);
    if (this.endReason) {
      return Promise.reject(new Error(`${this.endReason.message} while waiting for ${what}`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, options.timeoutMs ?? 10_000);
      const waiter: Waiter = {
        offer: (notification, position) => {
          if (position < from || !match(notification)) return;
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(notification);
        },
        end: (reason) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          reject(new Error(`${reason.message} while waiting for ${what}`));
        },
      };
      this.waiters.add(waiter);
    });
  }

  /** No more notifications will come (the connection closed): pending waits reject. */
  end(reason: Error): void {
    if (this.endReason) return;
    this.endReason = reason;
    for (const waiter of [...this.waiters]) waiter.end(reason);
  }
}
