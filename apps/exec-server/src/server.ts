import { type ExecConnection, ExecService, type ExecServiceOptions } from '@tether/exec-session';
import { OutboundRouter } from '@tether/outbound-router';
import { errorResponse, invalidRequest } from '@tether/protocol';
import {
  CloseCodes,
  type Connection,
  Inbound,
  type Logger,
  silentLogger,
  startWebSocket,
  type WebSocketAuth,
  type WebSocketListener,
} from '@tether/transport';
import { describeDecodeFailure } from './parse-error.js';

/** Socket buffer above which a writer counts as full. */
export const DEFAULT_WRITER_HIGH_WATER_BYTES = 8 * 1024 * 1024;

/** The reference's limit for one inbound websocket message (64 MiB). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ExecServerOptions extends Omit<ExecServiceOptions, 'logger'> {
  host?: string;
  port?: number;
  logger?: Logger;
  auth?: WebSocketAuth;
  /** Largest inbound websocket message (64 MiB). */
  maxPayload?: number;
  /** Outbound queue bound per connection, in messages (router default). */
  maxQueuedMessages?: number;
  /** Outbound queue bound per connection, in bytes (router default 64 MiB). */
  maxQueuedBytes?: number;
  /** How long a socket may stay over its outbound bound before it is closed with 1013 (5 s). */
  slowGraceMs?: number;
  /**
   * The socket buffer above which a connection's writer counts as full (8 MiB, above the session's
   * 4 MiB notification window, so output takes the fast path unless the socket really lags).
   */
  writerHighWaterBytes?: number;
  /** Interval between websocket pings (30 s). */
  pingIntervalMs?: number;
  /** Inbound queue capacity (transport default). */
  inboundCapacity?: number;
}

export interface ExecServer {
  /** `ws://127.0.0.1:PORT` */
  readonly url: string;
  readonly service: ExecService;
  readonly router: OutboundRouter;
  readonly listener: WebSocketListener;
  /** Stops accepting, closes every connection and kills every managed process group. */
  close(): Promise<void>;
}

/**
 * tether's exec-server: the websocket acceptor of `@tether/transport`, the outbound queues of
 * `@tether/outbound-router` and the sessions and processes of `@tether/exec-session`, wired
 * together.
 */
export async function startExecServer(options: ExecServerOptions = {}): Promise<ExecServer> {
  const logger = options.logger ?? silentLogger();
  const inbound = new Inbound({
    logger,
    ...(options.inboundCapacity ? { capacity: options.inboundCapacity } : {}),
  });
  const router = new OutboundRouter({
    logger,
    ...(options.maxQueuedMessages ? { maxQueuedMessages: options.maxQueuedMessages } : {}),
    ...(options.maxQueuedBytes ? { maxQueuedBytes: options.maxQueuedBytes } : {}),
    ...(options.slowGraceMs !== undefined ? { slowGraceMs: options.slowGraceMs } : {}),
  });
  // fork children from a small helper: the server's own fork cost would grow with its memory
  const service = new ExecService({ spawnHelper: true, ...options, logger });
  // boot the helper while binding, and before accepting connections: the first process/start
  // should not wait for a Node process to start
  const helpers = service.startSpawnHelpers();
  let listener: WebSocketListener;
  try {
    listener = await startWebSocket(inbound, {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 0,
      logger,
      maxPayload: options.maxPayload ?? DEFAULT_MAX_MESSAGE_BYTES,
      writerHighWaterBytes: options.writerHighWaterBytes ?? DEFAULT_WRITER_HIGH_WATER_BYTES,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.pingIntervalMs ? { pingIntervalMs: options.pingIntervalMs } : {}),
    });
    await helpers;
    // initialize reports whether sandboxed commands can run (capabilities.linuxSandbox)
    await service.sandboxSupport;
  } catch (error) {
    // the helper is already running: stop it, or a failed start would leave it behind
    service.shutdown();
    throw error;
  }

  const handlers = new Map<number, { connection: Connection; exec: ExecConnection }>();
  const open = (connection: Connection) => {
    const log = logger.child({ connectionId: connection.id });
    router.addConnection(connection);
    const exec = service.connect({
      send: (message, onWritten) => {
        void router.toConnection(connection.id, message, onWritten ? { onWritten } : {});
      },
      // Output notifications, most of the traffic, come serialized in batches: the router hands
      // them to the socket as one write while it keeps up, and queues them under the connection's
      // bound (and its 1013 rule) once it falls behind.
      sendEncoded: (frames, onWritten) => {
        void router.toConnectionEncoded(connection.id, frames, onWritten ? { onWritten } : {});
      },
      drop: (reason) => {
        log.warn({ reason }, 'dropping exec-server connection');
        connection.disconnect({ code: CloseCodes.PolicyViolation, reason });
      },
    });
    handlers.set(connection.id, { connection, exec });
  };

  const loop = (async () => {
    for await (const event of inbound.events) {
      switch (event.type) {
        case 'opened':
          open(event.connection);
          break;
        case 'message':
          handlers.get(event.connectionId)?.exec.handle(event.message);
          break;
        case 'invalid': {
          const handler = handlers.get(event.connectionId);
          if (!handler) break;
          const reason = describeDecodeFailure(event.failure, event.text);
          const message = `failed to parse websocket JSON-RPC message from exec-server websocket ${handler.connection.peer}: ${reason}`;
          void router.toConnection(event.connectionId, errorResponse(-1, invalidRequest(message)));
          break;
        }
        case 'closed': {
          const handler = handlers.get(event.connectionId);
          handlers.delete(event.connectionId);
          router.removeConnection(event.connectionId);
          if (handler) {
            const sessionId = handler.exec.sessionId;
            handler.exec.close();
            if (sessionId)
              logger.debug({ connectionId: event.connectionId, sessionId }, 'session detached');
          }
          break;
        }
      }
    }
  })();

  let closing: Promise<void> | undefined;
  return {
    url: listener.url,
    service,
    router,
    listener,
    close: () => {
      closing ??= (async () => {
        await listener.close();
        service.shutdown();
        inbound.events.close();
        await loop;
      })();
      return closing;
    },
  };
}
