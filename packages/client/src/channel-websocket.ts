import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { BaseChannel } from './channel.js';

export interface WebSocketChannelOptions {
  /** Sent as `Authorization: Bearer TOKEN` at the upgrade. */
  token?: string;
  /** More upgrade request headers. */
  headers?: Record<string, string>;
  /** Largest inbound message in bytes (`ws`'s default, 100 MiB, when absent); 0 for no limit. */
  maxPayload?: number;
  /** Trust the server's text frames to be UTF-8 (saves a pass over every frame). */
  skipUTF8Validation?: boolean;
}

/**
 * A channel over a websocket: one JSON-RPC message per text frame, as both servers speak it.
 * `pause` stops reading the socket, so the server's writes back up (its slow-consumer policy then
 * applies).
 */
export class WebSocketChannel extends BaseChannel {
  /** `address:port` of this end of the TCP connection (undefined over a unix socket). */
  readonly local: string | undefined;
  private readonly ws: WebSocket;
  private userPaused = false;
  private reading = false;

  private constructor(ws: WebSocket, local: string | undefined) {
    super();
    this.ws = ws;
    this.local = local;
    // hold frames back until start(): ws emits messages whether or not anyone listens
    ws.pause();
    ws.on('message', (data: WebSocket.RawData) => this.receive(rawText(data)));
    ws.once('close', (code: number, reason: Buffer) =>
      this.finish({ code, reason: reason.toString('utf8') }),
    );
    // an error is always followed by 'close', which is what the receiver hears about
    ws.on('error', () => {});
  }

  /** Opens a websocket to `url` (`ws://…`, or `ws+unix://PATH:/`) and resolves once it is open. */
  static connect(url: string, options: WebSocketChannelOptions = {}): Promise<WebSocketChannel> {
    const headers = { ...options.headers };
    if (options.token) headers.Authorization = `Bearer ${options.token}`;
    const ws = new WebSocket(url, {
      headers,
      perMessageDeflate: false,
      ...(options.maxPayload !== undefined ? { maxPayload: options.maxPayload } : {}),
      ...(options.skipUTF8Validation ? { skipUTF8Validation: true } : {}),
    });
    let local: string | undefined;
    ws.once('upgrade', (response: IncomingMessage) => {
      const socket = response.socket;
      if (socket.localPort !== undefined) local = `${socket.localAddress}:${socket.localPort}`;
    });
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => reject(error);
      ws.once('error', failed);
      ws.once('open', () => {
        ws.off('error', failed);
        resolve(new WebSocketChannel(ws, local));
      });
    });
  }

  pause(): void {
    this.userPaused = true;
    this.ws.pause();
  }

  resume(): void {
    this.userPaused = false;
    if (this.reading) this.ws.resume();
  }

  protected startReading(): void {
    this.reading = true;
    if (!this.userPaused) this.ws.resume();
  }

  protected write(text: string): void {
    this.ws.send(text);
  }

  protected closeMedium(code?: number, reason?: string): void {
    this.ws.close(code, reason);
  }

  protected terminateMedium(): void {
    this.ws.terminate();
  }
}

/** Connects a websocket channel (see `WebSocketChannel.connect`). */
export function connectWebSocket(
  url: string,
  options: WebSocketChannelOptions = {},
): Promise<WebSocketChannel> {
  return WebSocketChannel.connect(url, options);
}

/**
 * Connects to a unix domain socket that speaks websocket, as the app-server's control socket
 * (`--listen unix://`) does.
 */
export function connectUnix(
  path: string,
  options: WebSocketChannelOptions = {},
): Promise<WebSocketChannel> {
  return WebSocketChannel.connect(`ws+unix://${path}:/`, options);
}

function rawText(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
