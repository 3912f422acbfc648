import { type DecodeFailure, decodeMessage, encodeMessage, type Message } from '@tether/protocol';

/** How a channel ended: a websocket close code and reason, or a child's exit code and signal. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Where a channel delivers what it reads. A channel has exactly one receiver. */
export interface ChannelReceiver {
  /** One decoded JSON-RPC message, in arrival order. */
  message(message: Message): void;
  /** A frame or line that is not one JSON-RPC message (the channel stays open). */
  invalid(text: string, failure: DecodeFailure): void;
  /** The channel ended; nothing is delivered after this. */
  closed(info: CloseInfo): void;
}

/**
 * A bidirectional carrier of JSON-RPC messages: a websocket, a child's stdio, a unix socket or an
 * in-memory pair. It encodes what it sends and decodes what it reads; it knows nothing about ids,
 * requests or responses (that is `RpcPeer`'s job).
 */
export interface Channel {
  /**
   * Starts reading and delivering to `receiver`. Nothing is read before, so no message is lost
   * between opening a channel and attaching its reader. Only once.
   */
  start(receiver: ChannelReceiver): void;
  /** Encodes and sends one message; throws `ChannelClosedError` once the channel is closing. */
  send(message: Message): void;
  /**
   * Sends `text` as one frame or line as it is, for tests and tools that must put malformed input
   * on the wire.
   */
  sendRaw(text: string): void;
  /** Stops reading (the sender then sees a stalled reader and its own backpressure). */
  pause(): void;
  resume(): void;
  /** Ends the channel in an orderly way (websocket close frame, or end of the child's stdin). */
  close(code?: number, reason?: string): void;
  /** Drops the channel at once, as a network failure would (no close frame; a child is killed). */
  terminate(): void;
  /** False once `close` or `terminate` was called or the other side went away. */
  readonly isOpen: boolean;
  /** Resolves once the channel has ended. */
  readonly closed: Promise<CloseInfo>;
}

/** Sending on a channel that is closing or closed. A local failure, not a server's answer. */
export class ChannelClosedError extends Error {
  readonly code = 'CHANNEL_CLOSED';
  readonly info: CloseInfo | undefined;

  constructor(info: CloseInfo | undefined, options?: { cause?: unknown }) {
    super(
      info ? `connection closed (${info.code} ${info.reason})` : 'connection is closing',
      options,
    );
    this.name = 'ChannelClosedError';
    this.info = info;
  }
}

/**
 * What every channel shares: the single receiver, decoding, the closed state and its promise.
 * Subclasses read and write their medium.
 */
export abstract class BaseChannel implements Channel {
  readonly closed: Promise<CloseInfo>;
  private receiver: ChannelReceiver | undefined;
  private endInfo: CloseInfo | undefined;
  private closing = false;
  private resolveClosed!: (info: CloseInfo) => void;

  constructor() {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  start(receiver: ChannelReceiver): void {
    if (this.receiver) throw new Error('a channel has one reader: start() was already called');
    this.receiver = receiver;
    if (this.endInfo) receiver.closed(this.endInfo);
    else this.startReading();
  }

  get isOpen(): boolean {
    return !this.closing && this.endInfo === undefined;
  }

  send(message: Message): void {
    this.sendRaw(encodeMessage(message));
  }

  sendRaw(text: string): void {
    if (!this.isOpen) throw new ChannelClosedError(this.endInfo);
    this.write(text);
  }

  close(code?: number, reason?: string): void {
    if (!this.isOpen) return;
    this.closing = true;
    this.closeMedium(code, reason);
  }

  terminate(): void {
    if (this.endInfo) return;
    this.closing = true;
    this.terminateMedium();
  }

  abstract pause(): void;
  abstract resume(): void;
  /** Begins delivering what arrives (called once, by `start`). */
  protected abstract startReading(): void;
  protected abstract write(text: string): void;
  protected abstract closeMedium(code?: number, reason?: string): void;
  protected abstract terminateMedium(): void;

  /** Decodes one frame or line and hands it to the receiver. */
  protected receive(text: string): void {
    if (this.endInfo) return;
    const decoded = decodeMessage(text);
    if (decoded.ok) this.receiver?.message(decoded.message);
    else this.receiver?.invalid(text, decoded.failure);
  }

  /** Marks the channel ended (once) and tells the receiver. */
  protected finish(info: CloseInfo): void {
    if (this.endInfo) return;
    this.endInfo = info;
    this.receiver?.closed(info);
    this.resolveClosed(info);
  }
}
