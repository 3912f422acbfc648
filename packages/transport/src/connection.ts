import {
  type DecodeFailure,
  decodeMessage,
  type EncodedFrame,
  encodeMessage,
  errorResponse,
  type Message,
  serverOverloaded,
} from '@tether/protocol';
import { BoundedQueue } from './inbound-queue.js';
import type { Logger } from './logger.js';

export type ConnectionOrigin = 'stdio' | 'websocket' | 'unix';

/** A websocket close code and a short reason, as the server sends them. */
export interface CloseReason {
  code: number;
  reason: string;
}

export const CloseCodes = {
  GoingAway: 1001,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  TryAgainLater: 1013,
} as const;

/**
 * The write side of one connection. It never blocks: `write` hands a frame to the socket (or
 * stdout), and `full` tells when the bytes still waiting there are over the writer's bound.
 */
export interface ConnectionWriter {
  /** Hands one serialized message to the socket. `onWritten` fires once it has been flushed. */
  write(frame: EncodedFrame, onWritten?: (error?: Error) => void): void;
  /**
   * Hands several serialized messages to the socket in order, as one write (each is still its own
   * websocket frame or line). `onWritten` fires once, when all of them have been flushed.
   */
  writeMany(frames: readonly EncodedFrame[], onWritten?: (error?: Error) => void): void;
  /** Bytes handed to the socket and not yet flushed to the OS. */
  readonly bufferedBytes: number;
  /** True while `bufferedBytes` is at or over the writer's high-water mark. */
  readonly full: boolean;
  /** True once the peer is gone; writes are then dropped. */
  readonly closed: boolean;
  /** Resolves when the writer is no longer full, or has closed. */
  waitForDrain(): Promise<void>;
}

export interface Connection {
  /** Process-local counter, never reused. */
  readonly id: number;
  readonly origin: ConnectionOrigin;
  /** Peer description for logs (`127.0.0.1:5555`, `stdio`, the socket path). */
  readonly peer: string;
  readonly writer: ConnectionWriter;
  /** False for stdio, which is never force-disconnected (it gets backpressure instead). */
  readonly canDisconnect: boolean;
  /** Closes the connection with a close frame carrying `reason`; false when it cannot. */
  disconnect(reason: CloseReason): boolean;
}

export type TransportEvent =
  | { type: 'opened'; connection: Connection }
  | { type: 'message'; connectionId: number; message: Message }
  | {
      type: 'invalid';
      connectionId: number;
      failure: DecodeFailure;
      /** The frame as text, for malformed JSON (so a reply can point at the fault in it). */
      text?: string;
    }
  | { type: 'closed'; connectionId: number };

let nextConnectionId = 0;

/** Allocates a connection id: a process-wide counter, never reused. */
export function allocateConnectionId(): number {
  const id = nextConnectionId;
  nextConnectionId += 1;
  return id;
}

/** Something an acceptor can pause and resume reading from. */
export interface Readable {
  pause(): void;
  resume(): void;
}

export const DEFAULT_INBOUND_CAPACITY = 128;

/**
 * The inbound side every acceptor shares: decodes frames and delivers connection events through
 * one bounded queue. When the queue is full, a request is answered at once with -32001 on its own
 * connection (dropped, with a warning, if that writer is full too: never blocking); anything else
 * (responses, notifications, errors, opened/closed) waits for room and is never dropped, and the
 * connection stops reading meanwhile so its messages keep their order.
 */
export class Inbound {
  readonly events: BoundedQueue<TransportEvent>;
  private readonly logger: Logger;
  private readonly chains = new Map<number, { tail: Promise<void>; waiting: number }>();

  constructor(options: { capacity?: number; logger: Logger }) {
    this.events = new BoundedQueue(options.capacity ?? DEFAULT_INBOUND_CAPACITY);
    this.logger = options.logger;
  }

  /** Announces a new connection (waits for room). */
  opened(connection: Connection, reader: Readable): void {
    this.chains.set(connection.id, { tail: Promise.resolve(), waiting: 0 });
    this.enqueue(connection.id, reader, () => this.events.push({ type: 'opened', connection }));
  }

  /** Decodes and delivers one frame or line. */
  frame(connection: Connection, reader: Readable, data: string | Uint8Array): void {
    const decoded = decodeMessage(data);
    if (!decoded.ok) {
      const failure = decoded.failure;
      const text =
        failure.kind !== 'malformed-json'
          ? undefined
          : typeof data === 'string'
            ? data
            : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
      this.enqueue(connection.id, reader, () =>
        this.events.push(
          text === undefined
            ? { type: 'invalid', connectionId: connection.id, failure }
            : { type: 'invalid', connectionId: connection.id, failure, text },
        ),
      );
      return;
    }
    const message = decoded.message;
    this.enqueue(connection.id, reader, async () => {
      if (message.kind !== 'request') {
        await this.events.push({ type: 'message', connectionId: connection.id, message });
        return;
      }
      if (this.events.tryPush({ type: 'message', connectionId: connection.id, message })) return;
      this.rejectOverloaded(connection, message.id);
    });
  }

  /** Announces that a connection is gone (after everything it sent). */
  closed(connectionId: number, reader: Readable): void {
    this.enqueue(connectionId, reader, async () => {
      await this.events.push({ type: 'closed', connectionId });
      this.chains.delete(connectionId);
    });
  }

  private rejectOverloaded(connection: Connection, id: string | number): void {
    const writer = connection.writer;
    if (writer.full || writer.closed) {
      this.logger.warn(
        { connectionId: connection.id },
        'dropping overload response: outbound queue is full',
      );
      return;
    }
    this.logger.warn({ connectionId: connection.id, requestId: id }, 'server overloaded');
    writer.write(encodeMessage(errorResponse(id, serverOverloaded())));
  }

  /** Runs `step` after the connection's earlier steps; pauses reading while a step waits. */
  private enqueue(connectionId: number, reader: Readable, step: () => Promise<unknown>): void {
    const chain = this.chains.get(connectionId);
    if (!chain) return;
    chain.waiting += 1;
    if (chain.waiting === 2) reader.pause();
    chain.tail = chain.tail
      .then(async () => {
        await step();
      })
      .catch((error: unknown) =>
        this.logger.error({ connectionId, err: error }, 'failed to deliver inbound event'),
      )
      .finally(() => {
        chain.waiting -= 1;
        if (chain.waiting === 1) reader.resume();
      });
  }
}
