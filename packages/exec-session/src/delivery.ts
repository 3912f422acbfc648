import { readFileSync } from 'node:fs';
import { type EncodedFrame, encodeMessage, type Message, notification } from '@tether/protocol';
import type { ManagedProcess } from './managed-process.js';
import { OutputNotificationEncoder } from './output-frame.js';
import type { ProcessEvent } from './output-log.js';

/**
 * Delivery: how a session's process output reaches the attached connection. The output pump sends
 * notifications round-robin under a byte window (so a slow socket slows the children instead of
 * growing queues), in batches with one write callback, and keeps what was written but may still be
 * in the kernel's buffers (the unconfirmed window) until newer writes or the client's `afterSeq`
 * show it arrived. The process table (which processes exist, reads, writes, signals) is the
 * session's; this module only sees a process's output log.
 */

/** Where a session's notifications and responses go: the attached connection. */
export interface MessageSink {
  /**
   * Hands a message to the connection. `onWritten` fires once it was written to the socket, or
   * with an error when it never will be.
   */
  send(message: Message, onWritten?: (error?: Error) => void): void;
  /**
   * Optional fast path for notifications: several messages already serialized, in order, with one
   * `onWritten` once the last was written (or with an error when they never will be). Sinks
   * without it get each notification through `send`.
   */
  sendEncoded?(frames: readonly EncodedFrame[], onWritten?: (error?: Error) => void): void;
}

export interface DeliveryOptions {
  /** Notification bytes handed to a connection and not yet written to its socket (4 MiB). */
  notificationWindowBytes?: number;
  /**
   * Bytes written to a connection's socket that may still be in flight (kernel socket buffers on
   * both ends) and so are kept until newer writes push them out of this window or the client
   * acknowledges them. Default: the kernel's largest send plus receive buffer
   * (`tcp_wmem` + `tcp_rmem` maxima on Linux), else 16 MiB.
   */
  unconfirmedWindowBytes?: number;
}

/** The byte windows one attachment's delivery runs under (resolved {@link DeliveryOptions}). */
export interface DeliveryLimits {
  readonly windowBytes: number;
  readonly unconfirmedWindow: number;
}

export const DEFAULT_NOTIFICATION_WINDOW_BYTES = 4 * 1024 * 1024;

function sysctlMax(path: string): number | undefined {
  try {
    const value = Number(readFileSync(path, 'utf8').trim().split(/\s+/)[2]);
    return Number.isFinite(value) && value > 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The most a TCP connection can hold in flight here: largest send buffer plus receive buffer. */
export function defaultUnconfirmedWindowBytes(): number {
  const send = sysctlMax('/proc/sys/net/ipv4/tcp_wmem');
  const receive = sysctlMax('/proc/sys/net/ipv4/tcp_rmem');
  return send !== undefined && receive !== undefined ? send + receive : 16 * 1024 * 1024;
}

let cachedUnconfirmedWindow: number | undefined;

/** The windows `options` ask for (the kernel's buffer sizes are read once per server). */
export function deliveryLimits(options: DeliveryOptions): DeliveryLimits {
  cachedUnconfirmedWindow ??= defaultUnconfirmedWindowBytes();
  return {
    windowBytes: options.notificationWindowBytes ?? DEFAULT_NOTIFICATION_WINDOW_BYTES,
    unconfirmedWindow: options.unconfirmedWindowBytes ?? cachedUnconfirmedWindow,
  };
}

/** A process as delivery sees it: its output log, and the encoder of its notifications. */
export interface DeliveredProcess {
  readonly process: ManagedProcess;
  /** Serializes this process's output notifications (made on first use). */
  encoder: OutputNotificationEncoder | undefined;
}

interface Cursor {
  /** First seq this attachment notifies (earlier ones must be read). */
  start: number;
  /** Next seq to notify. */
  next: number;
  /** Highest seq such that every notification from `start` to it left the unconfirmed window. */
  confirmed: number;
}

/** Something written to the socket that may still be in flight. */
interface Unconfirmed {
  entry: DeliveredProcess;
  /** The notification's seq, or for a read response the last seq it covered. */
  seq: number;
  bytes: number;
  kind: 'notification' | 'read';
}

interface Outgoing {
  entry: DeliveredProcess;
  event: ProcessEvent;
  seq: number;
  bytes: number;
}

/** Frames per batch handed to the connection with one write callback. */
const MAX_BATCH_FRAMES = 32;
const MAX_BATCH_BYTES = 512 * 1024;

function estimateFrameBytes(event: ProcessEvent, processId: string): number {
  const base = 96 + processId.length;
  if (event.kind !== 'output') return base;
  return base + Math.ceil(event.chunk.data.length / 3) * 4;
}

function toNotification(event: ProcessEvent, processId: string): Message {
  switch (event.kind) {
    case 'output':
      return notification('process/output', {
        processId,
        seq: event.chunk.seq,
        stream: event.chunk.stream,
        chunk: event.chunk.data.toString('base64'),
      });
    case 'exited':
      return notification('process/exited', {
        processId,
        seq: event.seq,
        exitCode: event.exitCode,
        sandboxDenied: false,
      });
    case 'closed':
      return notification('process/closed', { processId, seq: event.seq });
  }
}

/** The wire form of one outgoing notification (output chunks without a JSON string in between). */
function encodeOutgoing(item: Outgoing): EncodedFrame {
  const { entry, event } = item;
  if (event.kind !== 'output') return encodeMessage(toNotification(event, entry.process.processId));
  entry.encoder ??= new OutputNotificationEncoder(entry.process.processId);
  return entry.encoder.encode(event.chunk);
}

/**
 * One attachment's delivery: which processes it notifies and from which seq, what it handed to the
 * connection and not yet written, what was written and may still be in flight. It acts only while
 * its attachment is the session's current one (`isCurrent`).
 */
export class OutputDelivery {
  private readonly cursors = new Map<DeliveredProcess, Cursor>();
  private readonly ready = new Set<DeliveredProcess>();
  /** Written to the socket, oldest first, possibly still in the kernel's buffers. */
  private readonly unconfirmed: Unconfirmed[] = [];
  private unconfirmedHead = 0;
  private unconfirmedBytes = 0;
  private inflightBytes = 0;
  private pumping = false;
  private pumpScheduled = false;

  constructor(
    private readonly sink: MessageSink,
    private readonly isCurrent: () => boolean,
    private readonly limits: DeliveryLimits,
  ) {}

  /** Notifies `entry`'s events from `start` on (what came before must be read). */
  track(entry: DeliveredProcess, start: number): void {
    this.cursors.set(entry, { start, next: start, confirmed: start - 1 });
    if (start < entry.process.log.nextSeq) {
      this.ready.add(entry);
      this.schedulePump();
    }
  }

  /** `entry` has a new event: sends it if this attachment notifies that process. */
  wake(entry: DeliveredProcess): void {
    if (this.cursors.has(entry)) {
      this.ready.add(entry);
      this.schedulePump();
    }
  }

  /** The process left the session's table. */
  forget(entry: DeliveredProcess): void {
    this.cursors.delete(entry);
    this.ready.delete(entry);
  }

  /** A `process/read` acknowledged everything through `afterSeq`. */
  acknowledge(entry: DeliveredProcess, afterSeq: number): void {
    if (!this.isCurrent()) return;
    if (entry.process.log.release(afterSeq)) this.afterRelease(entry);
  }

  /**
   * A `process/read` response of `bytes` was written: everything before `nextSeq` is on its way to
   * the client (released once it leaves the unconfirmed window).
   */
  readDelivered(entry: DeliveredProcess, nextSeq: number, bytes: number): void {
    entry.process.log.markDelivered(nextSeq - 1);
    entry.process.resumeIfRoom();
    this.addUnconfirmed({ entry, seq: nextSeq - 1, bytes, kind: 'read' });
  }

  /** Extends the released prefix over what this attachment confirmed, then lets the child run. */
  private afterRelease(entry: DeliveredProcess): void {
    const cursor = this.cursors.get(entry);
    const log = entry.process.log;
    if (
      cursor &&
      log.releasedThrough >= cursor.start - 1 &&
      cursor.confirmed > log.releasedThrough
    ) {
      log.release(cursor.confirmed);
    }
    entry.process.resumeIfRoom();
  }

  /**
   * Records a write that may still be in flight. Once more than the unconfirmed window was written
   * after it, the socket buffers cannot hold it any more: the client has it, so it is released.
   */
  private addUnconfirmed(item: Unconfirmed): void {
    this.unconfirmed.push(item);
    this.unconfirmedBytes += item.bytes;
    while (this.unconfirmedBytes > this.limits.unconfirmedWindow) {
      const oldest = this.unconfirmed[this.unconfirmedHead] as Unconfirmed;
      this.unconfirmed[this.unconfirmedHead] = undefined as unknown as Unconfirmed;
      this.unconfirmedHead += 1;
      this.unconfirmedBytes -= oldest.bytes;
      this.confirm(oldest);
    }
    if (this.unconfirmedHead > 4096 && this.unconfirmedHead * 2 > this.unconfirmed.length) {
      this.unconfirmed.splice(0, this.unconfirmedHead);
      this.unconfirmedHead = 0;
    }
  }

  private confirm(item: Unconfirmed): void {
    if (!this.isCurrent()) return;
    const log = item.entry.process.log;
    if (item.kind === 'read') {
      if (log.release(item.seq)) this.afterRelease(item.entry);
      return;
    }
    const cursor = this.cursors.get(item.entry);
    if (!cursor || item.seq !== cursor.confirmed + 1) return;
    cursor.confirmed = item.seq;
    if (log.releasedThrough >= cursor.start - 1 && log.release(item.seq)) {
      item.entry.process.resumeIfRoom();
    }
  }

  private onWritten(entry: DeliveredProcess, seq: number, bytes: number): void {
    entry.process.log.markDelivered(seq);
    entry.process.resumeIfRoom();
    this.addUnconfirmed({ entry, seq, bytes, kind: 'notification' });
  }

  /**
   * Pumps once the current event-loop phase is over rather than after each callback: every read
   * the poll phase delivered (often from many processes) is then sent in one pass, as larger
   * writes, instead of one socket write per pipe read.
   */
  private schedulePump(): void {
    if (this.pumpScheduled || this.pumping) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /** Sends pending events round-robin across processes while the byte window has room. */
  private pump(): void {
    if (this.pumping || !this.isCurrent()) return;
    this.pumping = true;
    const windowBytes = this.limits.windowBytes;
    let batch: Outgoing[] = [];
    let batchBytes = 0;
    try {
      while (this.inflightBytes < windowBytes && this.ready.size > 0) {
        for (const entry of this.ready) {
          if (this.inflightBytes >= windowBytes) break;
          const cursor = this.cursors.get(entry);
          const log = entry.process.log;
          if (!cursor || cursor.next >= log.nextSeq) {
            this.ready.delete(entry);
            continue;
          }
          const seq = cursor.next;
          const event = log.eventAt(seq);
          if (!event) {
            // dropped (drop-oldest) before it could be sent: skip to what is still held
            cursor.next = Math.max(seq + 1, log.evictedThrough + 1);
            continue;
          }
          cursor.next = seq + 1;
          const bytes = estimateFrameBytes(event, entry.process.processId);
          this.inflightBytes += bytes;
          batch.push({ entry, event, seq, bytes });
          batchBytes += bytes;
          if (batch.length >= MAX_BATCH_FRAMES || batchBytes >= MAX_BATCH_BYTES) {
            this.sendBatch(batch);
            batch = [];
            batchBytes = 0;
          }
        }
      }
    } finally {
      if (batch.length > 0) this.sendBatch(batch);
      this.pumping = false;
    }
  }

  /**
   * Hands a batch of notifications to the connection. Writes complete in order, so one callback on
   * the last frame tells that all of them were written (an error there counts for the whole batch:
   * the output stays unreleased, which is the safe side).
   */
  private sendBatch(batch: Outgoing[]): void {
    const done = (error?: Error) => {
      for (const item of batch) {
        this.inflightBytes -= item.bytes;
        if (!error) this.onWritten(item.entry, item.seq, item.bytes);
      }
      if (this.ready.size > 0) this.schedulePump();
    };
    const sink = this.sink;
    if (sink.sendEncoded) {
      sink.sendEncoded(batch.map(encodeOutgoing), done);
      return;
    }
    const last = batch.length - 1;
    for (let i = 0; i < last; i++) {
      const item = batch[i] as Outgoing;
      sink.send(toNotification(item.event, item.entry.process.processId));
    }
    const final = batch[last] as Outgoing;
    sink.send(toNotification(final.event, final.entry.process.processId), done);
  }
}
