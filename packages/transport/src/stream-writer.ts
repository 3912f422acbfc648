import type { Writable } from 'node:stream';
import { type EncodedFrame, frameByteLength, writeFrame } from '@tether/protocol';
import type { ConnectionWriter } from './connection.js';

/** A `ConnectionWriter` over a Node writable stream: one message per line (NDJSON). */
export class StreamLineWriter implements ConnectionWriter {
  private readonly stream: Writable;
  private isClosed = false;

  constructor(stream: Writable) {
    this.stream = stream;
    const markClosed = () => {
      this.isClosed = true;
    };
    stream.once('close', markClosed);
    stream.once('error', markClosed);
  }

  write(frame: EncodedFrame, onWritten?: (error?: Error) => void): void {
    if (typeof frame !== 'string') {
      this.writeMany([frame], onWritten);
      return;
    }
    if (this.isClosed || this.stream.destroyed) {
      onWritten?.(new Error('stream is closed'));
      return;
    }
    this.stream.write(`${frame}\n`, (error) => onWritten?.(error ?? undefined));
  }

  writeMany(frames: readonly EncodedFrame[], onWritten?: (error?: Error) => void): void {
    if (this.isClosed || this.stream.destroyed) {
      onWritten?.(new Error('stream is closed'));
      return;
    }
    let total = 0;
    for (const frame of frames) total += frameByteLength(frame) + 1;
    const lines = Buffer.allocUnsafe(total);
    let offset = 0;
    for (const frame of frames) {
      offset += writeFrame(lines, offset, frame);
      lines[offset++] = 0x0a;
    }
    this.stream.write(lines, (error) => onWritten?.(error ?? undefined));
  }

  get bufferedBytes(): number {
    return this.stream.writableLength;
  }

  get full(): boolean {
    return this.stream.writableNeedDrain;
  }

  get closed(): boolean {
    return this.isClosed || this.stream.destroyed;
  }

  waitForDrain(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
  }
}
