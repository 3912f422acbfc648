import type { Readable, Writable } from 'node:stream';
import { AppService, type AppServiceOptions } from '@tether/app-session';
import type { Message } from '@tether/protocol';
import {
  type Connection,
  Inbound,
  type ListenTarget,
  type StdioHandle,
  startStdio,
  startUnixSocket,
  startWebSocket,
  type UnixSocketListener,
  type WebSocketAcceptorOptions,
  type WebSocketAuth,
  type WebSocketListener,
} from '@tether/transport';

export { DEFAULT_THREAD_UNLOAD_DELAY_MS } from '@tether/app-session';

export interface AppServerOptions extends AppServiceOptions {
  listen: ListenTarget;
  auth?: WebSocketAuth;
  websocket?: Omit<WebSocketAcceptorOptions, 'logger' | 'auth'>;
  /** Streams for `stdio://` (default: the process's stdin and stdout). */
  stdio?: { input: Readable; output: Writable };
  inboundCapacity?: number;
}

/** What the server listens on; the service is built once the address is bound. */
interface Listeners {
  websocket?: WebSocketListener;
  unix?: UnixSocketListener;
  stdio?: StdioHandle;
}

/**
 * Binds the listen target. A refused address (in use, non-loopback without auth) touches no
 * state: the service (which opens the store) is built only after the bind, and for the control
 * socket under its startup lock, one launch at a time.
 */
async function bind(
  options: AppServerOptions,
  inbound: Inbound,
  open: () => AppService,
): Promise<Listeners> {
  const { listen, logger } = options;
  switch (listen.kind) {
    case 'stdio':
      open();
      return { stdio: startStdio(inbound, { logger, ...(options.stdio ?? {}) }) };
    case 'websocket': {
      const websocket = await startWebSocket(inbound, {
        ...options.websocket,
        host: listen.host,
        port: listen.port,
        logger,
        ...(options.auth ? { auth: options.auth } : {}),
      });
      open();
      return { websocket };
    }
    case 'unix':
      return {
        unix: await startUnixSocket(inbound, {
          ...options.websocket,
          path: listen.path,
          logger,
          initializeState: async () => {
            open();
          },
        }),
      };
    case 'off':
      open();
      return {};
  }
}

/** A running app-server: transports feeding one {@link AppService}. */
export class AppServer {
  /** `ws://…` for websocket, `ws+unix://…` for the control socket. */
  readonly url: string | undefined;
  /** Resolves once the server stopped (stdio EOF, or shutdown). */
  readonly stopped: Promise<void>;
  private readonly markStopped: () => void;
  private shuttingDown: Promise<void> | undefined;

  private constructor(
    private readonly options: AppServerOptions,
    private readonly inbound: Inbound,
    readonly service: AppService,
    private readonly listeners: Listeners,
  ) {
    this.url = listeners.websocket?.url ?? listeners.unix?.url;
    let markStopped = () => {};
    this.stopped = new Promise((resolve) => {
      markStopped = resolve;
    });
    this.markStopped = markStopped;
  }

  static async start(options: AppServerOptions): Promise<AppServer> {
    const inbound = new Inbound({
      logger: options.logger,
      capacity: options.inboundCapacity ?? 128,
    });
    let service: AppService | undefined;
    const open = () => {
      service ??= new AppService(options);
      return service;
    };
    const listeners = await bind(options, inbound, open);
    const server = new AppServer(options, inbound, open(), listeners);
    void server.consume();
    return server;
  }

  get threads() {
    return this.service.threads;
  }

  get state() {
    return this.service.state;
  }

  get router() {
    return this.service.router;
  }

  get requests() {
    return this.service.requests;
  }

  private async consume(): Promise<void> {
    for await (const event of this.inbound.events) {
      switch (event.type) {
        case 'opened':
          this.service.connect(event.connection);
          break;
        case 'message':
          await this.service.connection(event.connectionId)?.handle(event.message);
          break;
        case 'invalid':
          this.options.logger.warn(
            { connectionId: event.connectionId, reason: event.failure.message },
            'Failed to deserialize JSONRPCMessage',
          );
          break;
        case 'closed':
          this.service.disconnect(event.connectionId);
          // stdin closed: the client is gone for good, so (as the reference does) running turns
          // are interrupted rather than waited for; what they wrote stays written
          if (this.listeners.stdio?.connection.id === event.connectionId) {
            void this.shutdown({ waitForTurns: false });
          }
          break;
      }
    }
  }

  /** Sends a message from tests or embedders to one connection. */
  send(connectionId: number, message: Message): Promise<void> {
    return this.service.router.toConnection(connectionId, message);
  }

  connections(): Connection[] {
    const { websocket, unix, stdio } = this.listeners;
    return [
      ...(websocket?.connections.values() ?? []),
      ...(unix?.connections.values() ?? []),
      ...(stdio ? [stdio.connection] : []),
    ];
  }

  /** Stops accepting connections, leaving the open ones alone. */
  stopAccepting(): void {
    this.listeners.websocket?.server.close();
  }

  /** Resolves once no thread runs a turn. */
  waitForRunningTurns(): Promise<void> {
    return this.service.waitForIdle();
  }

  /**
   * Graceful shutdown: stop accepting, wait for running turns, close every connection with 1001,
   * shut the threads down, close the store, and remove the control socket.
   */
  shutdown(options: { waitForTurns?: boolean } = {}): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.stopAccepting();
      if (options.waitForTurns ?? true) await this.waitForRunningTurns();
      await this.listeners.websocket?.close();
      await this.listeners.unix?.close();
      this.listeners.stdio?.close();
      this.inbound.events.close();
      await this.service.close();
      this.markStopped();
    })();
    return this.shuttingDown;
  }
}
