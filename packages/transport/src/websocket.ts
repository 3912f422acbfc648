import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type EncodedFrame, frameByteLength, writeFrame } from '@tether/protocol';
import { type WebSocket, WebSocketServer } from 'ws';
import { authorizeUpgrade, type WebSocketAuth } from './auth.js';
import {
  allocateConnectionId,
  CloseCodes,
  type CloseReason,
  type Connection,
  type ConnectionOrigin,
  type ConnectionWriter,
  type Inbound,
} from './connection.js';
import { isLoopbackAddress } from './listen-url.js';
import type { Logger } from './logger.js';

export interface WebSocketAcceptorOptions {
  logger: Logger;
  /** Auth checked at the HTTP upgrade (TCP listeners only). Default: none. */
  auth?: WebSocketAuth;
  /** Largest inbound message in bytes; larger ones close the connection with 1009. 16 MiB. */
  maxPayload?: number;
  /** Interval between pings (30 s). */
  pingIntervalMs?: number;
  /** How long a peer may take to answer a ping before it is closed (10 s). */
  pongGraceMs?: number;
  /** `Origin` values let in; any other request carrying an `Origin` header gets 403. */
  allowedOrigins?: readonly string[];
  /** Extra `Host` names accepted besides loopback ones and the bound address (TCP only). */
  allowedHosts?: readonly string[];
  /** The socket's high-water mark for `ConnectionWriter.full`, in bytes (1 MiB). */
  writerHighWaterBytes?: number;
  /** How long a closing peer gets to finish the close handshake before it is cut (5 s). */
  closeTimeoutMs?: number;
}

export interface WebSocketListener {
  /** `ws://host:port` or `ws+unix://path` */
  readonly url: string;
  readonly server: Server;
  /** The live connections. */
  readonly connections: ReadonlyMap<number, Connection>;
  /** Stops accepting and closes every connection with 1001 `server shutting down`. */
  close(): Promise<void>;
}

/** Size of the reusable buffers `writeMany` builds its frames in. */
const POOLED_BUFFER_BYTES = 1024 * 1024;
/** How many of them are kept for reuse (process-wide): at most 4 MiB held while idle. */
const MAX_POOLED_BUFFERS = 4;
const pooledBuffers: Buffer[] = [];

/**
 * Unmasked, unfragmented websocket text frames (RFC 6455 section 5.2, server to client) for the
 * messages, back to back, in a buffer taken from a small pool when they fit in one (a fresh
 * allocation per write would fault in new pages for every batch until the GC frees the old ones).
 * `release` gives the buffer back once the socket is done with it.
 */
function encodeTextFrames(frames: readonly EncodedFrame[]): { bytes: Buffer; release(): void } {
  const lengths = new Array<number>(frames.length);
  let total = 0;
  for (let i = 0; i < frames.length; i++) {
    const length = frameByteLength(frames[i] as EncodedFrame);
    lengths[i] = length;
    total += frameHeaderBytes(length) + length;
  }
  const pooled =
    total <= POOLED_BUFFER_BYTES
      ? (pooledBuffers.pop() ?? Buffer.allocUnsafeSlow(POOLED_BUFFER_BYTES))
      : undefined;
  const out = pooled ? pooled.subarray(0, total) : Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < frames.length; i++) {
    const length = lengths[i] as number;
    out[offset] = 0x81; // FIN, opcode 1 (text)
    if (length < 126) {
      out[offset + 1] = length;
      offset += 2;
    } else if (length < 65536) {
      out[offset + 1] = 126;
      out.writeUInt16BE(length, offset + 2);
      offset += 4;
    } else {
      out[offset + 1] = 127;
      out.writeUInt32BE(Math.floor(length / 2 ** 32), offset + 2);
      out.writeUInt32BE(length >>> 0, offset + 6);
      offset += 10;
    }
    offset += writeFrame(out, offset, frames[i] as EncodedFrame);
  }
  return {
    bytes: out,
    release: () => {
      if (pooled && pooledBuffers.length < MAX_POOLED_BUFFERS) pooledBuffers.push(pooled);
    },
  };
}

function frameHeaderBytes(payloadLength: number): number {
  return payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10;
}

class WebSocketWriter implements ConnectionWriter {
  private readonly waiters: Array<() => void> = [];
  private corked = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly highWater: number,
    /** The connection's TCP or unix socket, corked per tick so a burst goes out in one writev. */
    private readonly socket: Duplex,
  ) {
    ws.once('close', () => this.wake());
  }

  write(frame: EncodedFrame, onWritten?: (error?: Error) => void): void {
    if (typeof frame !== 'string') {
      this.writeMany([frame], onWritten);
      return;
    }
    if (this.closed) {
      onWritten?.(new Error('websocket is closed'));
      return;
    }
    this.corkForTick();
    this.ws.send(frame, (error) => this.written(onWritten, error ?? undefined));
  }

  /**
   * Frames the messages itself, into one buffer, and writes it to the socket under the websocket.
   * That is safe because `ws` writes every frame synchronously to the same socket (no
   * per-message deflate, no Blob payloads: its sender never queues), so the order of `write` and
   * `writeMany` calls is the order on the wire, and `ws.bufferedAmount` still counts these bytes.
   */
  writeMany(frames: readonly EncodedFrame[], onWritten?: (error?: Error) => void): void {
    if (this.closed) {
      onWritten?.(new Error('websocket is closed'));
      return;
    }
    if (frames.length === 0) {
      onWritten?.();
      return;
    }
    this.corkForTick();
    const encoded = encodeTextFrames(frames);
    // the socket holds the buffer until this callback: only then may it be reused
    this.socket.write(encoded.bytes, (error) => {
      encoded.release();
      this.written(onWritten, error ?? undefined);
    });
  }

  private written(onWritten: ((error?: Error) => void) | undefined, error?: Error): void {
    onWritten?.(error);
    if (this.waiters.length && !this.full) this.wake();
  }

  /** Corks the socket until the end of this tick: every frame of the tick leaves in one writev. */
  private corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    process.nextTick(() => {
      this.corked = false;
      this.socket.uncork();
    });
  }

  get bufferedBytes(): number {
    return this.ws.bufferedAmount;
  }

  get full(): boolean {
    return this.ws.bufferedAmount >= this.highWater;
  }

  get closed(): boolean {
    return this.ws.readyState !== this.ws.OPEN;
  }

  waitForDrain(): Promise<void> {
    if (!this.full || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

function hostName(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon === -1 ? hostHeader : hostHeader.slice(0, colon);
}

function reject(socket: Duplex, status: number, statusText: string, body: string): void {
  const payload = Buffer.from(body, 'utf8');
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * Serves websocket connections on an HTTP server: one JSON-RPC message per frame (text or binary),
 * `GET /healthz` and `GET /readyz`, browser (`Origin`) and DNS-rebinding (`Host`) defenses, auth at
 * the upgrade, pings, and close frames with a code and a reason.
 */
export function createWebSocketAcceptor(
  inbound: Inbound,
  origin: Extract<ConnectionOrigin, 'websocket' | 'unix'>,
  options: WebSocketAcceptorOptions,
): { server: Server; connections: Map<number, Connection>; closeAll(reason: CloseReason): void } {
  const logger = options.logger;
  const auth = options.auth ?? { mode: 'none' };
  const allowedOrigins = new Set(options.allowedOrigins ?? []);
  const allowedHosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const pingIntervalMs = options.pingIntervalMs ?? 30_000;
  const pongGraceMs = options.pongGraceMs ?? 10_000;
  const highWater = options.writerHighWaterBytes ?? 1024 * 1024;
  const closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  const connections = new Map<number, Connection>();
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: options.maxPayload ?? 16 * 1024 * 1024,
  });

  const originRefused = (req: IncomingMessage): boolean => {
    const value = req.headers.origin;
    return value !== undefined && !allowedOrigins.has(value);
  };
  const hostRefused = (req: IncomingMessage, server: Server): boolean => {
    if (origin === 'unix') return false;
    const header = req.headers.host;
    if (!header) return true;
    const name = hostName(header).toLowerCase();
    if (isLoopbackAddress(name) || allowedHosts.has(name)) return false;
    const address = server.address() as AddressInfo | null;
    if (!address) return true;
    const bound = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return name !== bound.toLowerCase();
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (originRefused(req)) {
      logger.warn({ origin: req.headers.origin }, 'rejecting request with Origin header');
      res.writeHead(403).end();
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) {
      res.writeHead(200).end();
      return;
    }
    if (path === '/') {
      res
        .writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' })
        .end("Connection header did not include 'upgrade'");
      return;
    }
    res.writeHead(404).end();
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (originRefused(req)) {
      logger.warn({ origin: req.headers.origin }, 'rejecting websocket upgrade with Origin header');
      reject(socket, 403, 'Forbidden', '');
      return;
    }
    if (hostRefused(req, server)) {
      logger.warn({ host: req.headers.host }, 'rejecting websocket upgrade with unexpected Host');
      reject(socket, 403, 'Forbidden', 'unexpected Host header');
      return;
    }
    authorizeUpgrade(auth, req.headers.authorization).then(
      (decision) => {
        if (!decision.ok) {
          logger.warn({ reason: decision.reason }, 'rejecting unauthorized websocket upgrade');
          reject(socket, 401, 'Unauthorized', decision.reason);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
      },
      (error: unknown) => {
        logger.error({ err: error }, 'websocket auth check failed');
        reject(socket, 500, 'Internal Server Error', 'auth check failed');
      },
    );
  });

  const accept = (ws: WebSocket, req: IncomingMessage) => {
    const id = allocateConnectionId();
    const peer =
      origin === 'unix'
        ? 'unix'
        : `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const log = logger.child({ connectionId: id });
    let closeTimer: NodeJS.Timeout | undefined;
    const connection: Connection = {
      id,
      origin,
      peer,
      writer: new WebSocketWriter(ws, highWater, req.socket),
      canDisconnect: true,
      disconnect: (reason: CloseReason) => {
        if (ws.readyState === ws.CLOSED) return false;
        if (ws.readyState === ws.OPEN) {
          log.info({ code: reason.code, reason: reason.reason }, 'closing websocket connection');
          ws.close(reason.code, reason.reason);
        }
        closeTimer ??= setTimeout(() => ws.terminate(), closeTimeoutMs);
        closeTimer.unref();
        return true;
      },
    };
    connections.set(id, connection);
    const reader = { pause: () => ws.pause(), resume: () => ws.resume() };
    log.debug({ peer }, 'websocket connection opened');
    inbound.opened(connection, reader);

    let pongTimer: NodeJS.Timeout | undefined;
    const pinger = setInterval(() => {
      if (pongTimer || ws.readyState !== ws.OPEN) return;
      ws.ping();
      pongTimer = setTimeout(() => {
        log.warn({ pongGraceMs }, 'websocket peer did not answer ping');
        connection.disconnect({ code: CloseCodes.GoingAway, reason: 'ping timeout' });
      }, pongGraceMs);
      pongTimer.unref();
    }, pingIntervalMs);
    pinger.unref();
    ws.on('pong', () => {
      clearTimeout(pongTimer);
      pongTimer = undefined;
    });

    ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
      const bytes = Array.isArray(data)
        ? Buffer.concat(data)
        : data instanceof ArrayBuffer
          ? Buffer.from(data)
          : data;
      inbound.frame(connection, reader, isBinary ? bytes : bytes.toString('utf8'));
    });
    ws.on('error', (error: Error & { code?: string }) => {
      if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        log.warn({ code: CloseCodes.MessageTooBig }, 'closing websocket: message too big');
      } else {
        log.warn({ err: error }, 'websocket error');
      }
    });
    ws.once('close', (code: number, reason: Buffer) => {
      clearInterval(pinger);
      clearTimeout(pongTimer);
      clearTimeout(closeTimer);
      connections.delete(id);
      log.debug({ code, reason: reason.toString() }, 'websocket connection closed');
      inbound.closed(id, reader);
    });
  };

  const closeAll = (reason: CloseReason) => {
    for (const connection of connections.values()) connection.disconnect(reason);
  };
  return { server, connections, closeAll };
}

/** A websocket listener reachable from other machines was asked for without auth. */
export class NonLoopbackWithoutAuthError extends Error {
  readonly code = 'NON_LOOPBACK_WITHOUT_AUTH';
}

export interface StartWebSocketOptions extends WebSocketAcceptorOptions {
  host: string;
  port: number;
}

/** Listens for websocket connections on `host:port` (port 0 picks a free one). */
export async function startWebSocket(
  inbound: Inbound,
  options: StartWebSocketOptions,
): Promise<WebSocketListener> {
  if (!isLoopbackAddress(options.host) && (options.auth ?? { mode: 'none' }).mode === 'none') {
    const bind = options.host.includes(':')
      ? `[${options.host}]:${options.port}`
      : `${options.host}:${options.port}`;
    throw new NonLoopbackWithoutAuthError(
      `refusing to start non-loopback websocket listener ${bind} without auth; configure \`--ws-auth capability-token\` or \`--ws-auth signed-bearer-token\``,
    );
  }
  const { server, connections, closeAll } = createWebSocketAcceptor(inbound, 'websocket', options);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `ws://${host}:${address.port}`,
    server,
    connections,
    close: () => closeServer(server, closeAll),
  };
}

export function closeServer(
  server: Server,
  closeAll: (reason: CloseReason) => void,
): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    closeAll({ code: CloseCodes.GoingAway, reason: 'server shutting down' });
    server.closeIdleConnections();
  });
}
