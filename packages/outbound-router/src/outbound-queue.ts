import type { EncodedFrame } from '@tether/protocol';
import type { ConnectionWriter } from '@tether/transport';

interface QueuedFrame {
  frame: EncodedFrame;
  bytes: number;
  onWritten: ((error?: Error) => void) | undefined;
}

/**
 * The frames waiting for one connection's writer. It hands frames to the writer while the writer is
 * not full and waits for it to drain otherwise; it never blocks its caller.
 */
export class OutboundQueue {
  private frames: QueuedFrame[] = [];
  private head = 0;
  private bytes = 0;
  private waitingForDrain = false;
  private stopped = false;
  private readonly spaceWaiters: Array<() => void> = [];

  constructor(
    private readonly writer: ConnectionWriter,
    private readonly onProgress: () => void,
  ) {}

  /** Frames not yet handed to the writer. */
  get length(): number {
    return this.frames.length - this.head;
  }

  /** Bytes not yet handed to the writer. */
  get queuedBytes(): number {
    return this.bytes;
  }

  /** Queued bytes plus the bytes the writer still holds. */
  get pendingBytes(): number {
    return this.bytes + this.writer.bufferedBytes;
  }

  enqueue(frame: EncodedFrame, onWritten?: (error?: Error) => void): void {
    if (this.stopped) {
      onWritten?.(new Error('connection is gone'));
      return;
    }
    // string length is a cheap stand-in for UTF-8 bytes, exact for the ASCII JSON that dominates
    const bytes = typeof frame === 'string' ? frame.length : frame.byteLength;
    this.frames.push({ frame, bytes, onWritten });
    this.bytes += bytes;
    this.pump();
  }

  /** Resolves once fewer than `limit` frames are queued (or the queue stopped). */
  async waitForRoom(limit: number): Promise<void> {
    while (this.length >= limit && !this.stopped) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /** Drops everything still queued; later frames are refused. */
  stop(): void {
    this.stopped = true;
    const error = new Error('connection is gone');
    for (let i = this.head; i < this.frames.length; i++) this.frames[i]?.onWritten?.(error);
    this.frames = [];
    this.head = 0;
    this.bytes = 0;
    for (const waiter of this.spaceWaiters.splice(0)) waiter();
  }

  private pump(): void {
    if (this.waitingForDrain || this.stopped) return;
    let moved = false;
    while (this.head < this.frames.length) {
      if (this.writer.closed) {
        this.stop();
        return;
      }
      if (this.writer.full) {
        this.waitingForDrain = true;
        this.writer.waitForDrain().then(() => {
          this.waitingForDrain = false;
          this.pump();
        });
        break;
      }
      const next = this.frames[this.head] as QueuedFrame;
      this.frames[this.head] = undefined as unknown as QueuedFrame;
      this.head += 1;
      this.bytes -= next.bytes;
      this.writer.write(next.frame, next.onWritten);
      moved = true;
    }
    if (this.head === this.frames.length) {
      this.frames = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.head);
      this.head = 0;
    }
    if (moved) {
      for (const waiter of this.spaceWaiters.splice(0)) waiter();
      this.onProgress();
    }
  }
}
