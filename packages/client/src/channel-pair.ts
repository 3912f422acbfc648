import { BaseChannel, type CloseInfo } from './channel.js';

/** Close codes the pair reports, as a websocket would. */
const NO_STATUS = 1005;
const ABNORMAL = 1006;

/**
 * One end of an in-memory pair. What one end sends the other receives, encoded and decoded as on a
 * real wire (so a value JSON cannot carry fails the same way), in order and never synchronously
 * inside `send`. A paused end holds what arrives until it resumes.
 */
export class PairChannel extends BaseChannel {
  private other!: PairChannel;
  /** Frames (text) and the close, in arrival order. */
  private inbox: Array<string | CloseInfo> = [];
  /** Index of the next item to deliver (the array is compacted when it empties). */
  private head = 0;
  private reading = false;
  private paused = false;
  private scheduled = false;

  /** Links two ends (use `channelPair()`). */
  static link(a: PairChannel, b: PairChannel): void {
    a.other = b;
    b.other = a;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  protected startReading(): void {
    this.reading = true;
    this.schedule();
  }

  protected write(text: string): void {
    this.other.arrive(text);
  }

  protected closeMedium(code?: number, reason?: string): void {
    // each end gets everything sent before the close, then the close itself
    const info = { code: code ?? NO_STATUS, reason: reason ?? '' };
    this.arrive(info);
    this.other.arrive(info);
  }

  protected terminateMedium(): void {
    for (const end of [this, this.other]) {
      end.inbox = [];
      end.head = 0;
      end.finish({ code: ABNORMAL, reason: '' });
    }
  }

  private arrive(item: string | CloseInfo): void {
    this.inbox.push(item);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.reading || this.paused || this.head === this.inbox.length) return;
    this.scheduled = true;
    // a macrotask, as socket I/O would be: a burst of sends never starves timers or the other end
    setImmediate(() => {
      this.scheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (!this.paused && this.head < this.inbox.length) {
      const item = this.inbox[this.head];
      this.head += 1;
      if (item === undefined) break;
      if (typeof item !== 'string') {
        this.inbox = [];
        this.head = 0;
        this.finish(item);
        return;
      }
      this.receive(item);
    }
    if (this.head === this.inbox.length) {
      this.inbox = [];
      this.head = 0;
    }
  }
}

/** Two linked in-memory channel ends, for tests and in-process use. */
export function channelPair(): [PairChannel, PairChannel] {
  const a = new PairChannel();
  const b = new PairChannel();
  PairChannel.link(a, b);
  return [a, b];
}
