import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type Environment, localEnvironment, type RuntimeFactory } from '@tether/agent-core';
import {
  OutboundRouter,
  type OutboundRouterOptions,
  ServerRequests,
} from '@tether/outbound-router';
import type { app, Message } from '@tether/protocol';
import { ThreadStateManager } from '@tether/thread-state';
import { ThreadStore } from '@tether/thread-store';
import {
  CONTROL_SOCKET_DIR,
  type Connection,
  Inbound,
  type ListenTarget,
  type Logger,
  type StdioHandle,
  startStdio,
  startUnixSocket,
  startWebSocket,
  type UnixSocketListener,
  type WebSocketAcceptorOptions,
  type WebSocketAuth,
  type WebSocketListener,
} from '@tether/transport';
import { ClientSupport } from './client-support.js';
import { experimentalFilter } from './experimental.js';
import { MessageProcessor } from './processor.js';
import { DEFAULT_SETTINGS, type SettingsDefaults } from './settings.js';
import { ThreadManager } from './threads.js';

/** 30 minutes, the reference's idle-unload delay. */
export const DEFAULT_THREAD_UNLOAD_DELAY_MS = 30 * 60 * 1000;

export interface AppServerOptions {
  /** State directory (rollouts, index, control socket). */
  home: string;
  listen: ListenTarget;
  logger: Logger;
  runtimeFactory: RuntimeFactory;
  /** Idle-unload delay in ms, or per origin of the connection that left last. */
  unloadDelayMs?: number | ((origin: string | undefined) => number);
  auth?: WebSocketAuth;
  websocket?: Omit<WebSocketAcceptorOptions, 'logger' | 'auth'>;
  /** Streams for `stdio://` (default: the process's stdin and stdout). */
  stdio?: { input: Readable; output: Writable };
  inboundCapacity?: number;
  maxInFlightRequests?: number;
  router?: Omit<OutboundRouterOptions, 'logger' | 'filter'>;
  defaults?: Partial<SettingsDefaults>;
  /** Whether the model is reached with an API key (clients show an API-key account). */
  apiKeyConfigured?: boolean;
  /** How long a finished turn waits for its records to reach the disk (default 30 s). */
  persistTimeoutMs?: number;
  /** First retry delay of records the disk refused (default 100 ms). */
  persistRetryDelayMs?: number;
  /**
   * Most records of one thread kept in memory while the disk refuses them (default 100,000);
   * past it they are dropped, and the running turn is reported failed.
   */
  persistMaxPending?: number;
  version?: string;
  /**
   * Where `command/exec` runs commands (the threads' environment); default: this machine, with
   * tether's home protected and its control socket hidden from sandboxed commands.
   */
  environment?: () => Promise<Environment>;
  /** What each client is told after `initialize` (`configWarning`), e.g. a missing sandbox. */
  configWarnings?: () => Promise<app.ConfigWarningNotification[]>;
}

/** A running app-server. */
export class AppServer {
  /** `ws://…` for websocket, `ws+unix://…` for the control socket. */
  url: string | undefined;
  /** Resolves once the server stopped (stdio EOF, or shutdown). */
  readonly stopped: Promise<void>;
  private resolveStopped!: () => void;
  private websocket: WebSocketListener | undefined;
  private unix: UnixSocketListener | undefined;
  private stdioHandle: StdioHandle | undefined;
  private shuttingDown: Promise<void> | undefined;
  private store: ThreadStore | undefined;
  readonly inbound: Inbound;
  readonly router: OutboundRouter;
  readonly requests: ServerRequests;
  readonly state: ThreadStateManager<app.Turn>;
  threads!: ThreadManager;
  processor!: MessageProcessor;

  private constructor(private readonly options: AppServerOptions) {
    this.stopped = new Promise((resolve) => {
      this.resolveStopped = resolve;
    });
    const logger = options.logger;
    this.inbound = new Inbound({ logger, capacity: options.inboundCapacity ?? 128 });
    this.router = new OutboundRouter({ ...options.router, logger, filter: experimentalFilter });
    this.requests = new ServerRequests(this.router, { logger });
    this.state = new ThreadStateManager<app.Turn>({
      unloadDelayMs: options.unloadDelayMs ?? DEFAULT_THREAD_UNLOAD_DELAY_MS,
      onIdle: (threadId) => {
        void this.threads
          .unloadIdle(threadId)
          .catch((error: unknown) =>
            logger.error({ err: error, threadId }, 'failed to unload idle thread'),
          );
      },
    });
  }

  static async start(options: AppServerOptions): Promise<AppServer> {
    const server = new AppServer(options);
    await server.listen();
    void server.consume();
    return server;
  }

  private ownEnvironment: Promise<Environment> | undefined;

  /** The environment `command/exec` uses: the given one, or a local one made on first use. */
  private environment(): Promise<Environment> {
    if (this.options.environment) return this.options.environment();
    const home = this.options.home;
    this.ownEnvironment ??= localEnvironment({
      sandbox: { protectedPaths: [home], masked: [join(home, CONTROL_SOCKET_DIR)] },
    });
    return this.ownEnvironment;
  }

  private openStore(): ThreadStore {
    this.store ??= ThreadStore.open({ home: this.options.home, logger: this.options.logger });
    const store = this.store;
    this.threads = new ThreadManager({
      store,
      state: this.state,
      router: this.router,
      requests: this.requests,
      runtimeFactory: this.options.runtimeFactory,
      defaults: { ...DEFAULT_SETTINGS, ...this.options.defaults },
      logger: this.options.logger,
      originator: () => this.processor.firstClientName(),
      cliVersion: this.options.version ?? '0.0.0',
      ...(this.options.persistTimeoutMs !== undefined
        ? { persistTimeoutMs: this.options.persistTimeoutMs }
        : {}),
      ...(this.options.persistMaxPending !== undefined
        ? { persistMaxPending: this.options.persistMaxPending }
        : {}),
      ...(this.options.persistRetryDelayMs !== undefined
        ? { persistRetryDelayMs: this.options.persistRetryDelayMs }
        : {}),
    });
    this.processor = new MessageProcessor({
      router: this.router,
      requests: this.requests,
      state: this.state,
      threads: this.threads,
      logger: this.options.logger,
      home: this.options.home,
      commandExec: {
        environment: () => this.environment(),
        defaultSandbox: () => this.threads.defaultSettings().sandbox,
      },
      ...(this.options.configWarnings ? { configWarnings: this.options.configWarnings } : {}),
      support: new ClientSupport({
        model: this.options.defaults?.model ?? DEFAULT_SETTINGS.model,
        modelProvider: this.options.defaults?.modelProvider ?? DEFAULT_SETTINGS.modelProvider,
        apiKeyConfigured: this.options.apiKeyConfigured ?? false,
      }),
      ...(this.options.maxInFlightRequests
        ? { maxInFlight: this.options.maxInFlightRequests }
        : {}),
    });
    return store;
  }

  private async listen(): Promise<void> {
    const { listen, logger } = this.options;
    switch (listen.kind) {
      case 'stdio':
        this.openStore();
        this.stdioHandle = startStdio(this.inbound, {
          logger,
          ...(this.options.stdio ?? {}),
        });
        return;
      case 'websocket':
        // bind first: a refused address (in use, non-loopback without auth) touches no state
        this.websocket = await startWebSocket(this.inbound, {
          ...this.options.websocket,
          host: listen.host,
          port: listen.port,
          logger,
          ...(this.options.auth ? { auth: this.options.auth } : {}),
        });
        this.url = this.websocket.url;
        this.openStore();
        return;
      case 'unix':
        this.unix = await startUnixSocket(this.inbound, {
          ...this.options.websocket,
          path: listen.path,
          logger,
          // state initialization runs under the startup lock: one launch at a time
          initializeState: async () => {
            this.openStore();
          },
        });
        this.url = this.unix.url;
        return;
      case 'off':
        this.openStore();
        return;
    }
  }

  private async consume(): Promise<void> {
    for await (const event of this.inbound.events) {
      switch (event.type) {
        case 'opened':
          this.processor.opened(event.connection);
          break;
        case 'message':
          await this.processor.message(event.connectionId, event.message);
          break;
        case 'invalid':
          this.options.logger.warn(
            { connectionId: event.connectionId, reason: event.failure.message },
            'Failed to deserialize JSONRPCMessage',
          );
          break;
        case 'closed':
          this.processor.closed(event.connectionId);
          if (this.stdioHandle?.connection.id === event.connectionId) void this.shutdown();
          break;
      }
    }
  }

  /** Sends a message from tests or embedders to one connection. */
  send(connectionId: number, message: Message): Promise<void> {
    return this.router.toConnection(connectionId, message);
  }

  connections(): Connection[] {
    return [
      ...(this.websocket?.connections.values() ?? []),
      ...(this.unix?.connections.values() ?? []),
      ...(this.stdioHandle ? [this.stdioHandle.connection] : []),
    ];
  }

  /** Stops accepting connections, leaving the open ones alone. */
  stopAccepting(): void {
    this.websocket?.server.close();
  }

  /** Resolves once no thread runs a turn. */
  waitForRunningTurns(): Promise<void> {
    return this.threads.waitForIdle();
  }

  /**
   * Graceful shutdown: stop accepting, wait for running turns, close every connection with 1001,
   * shut the runtimes down, close the store, and remove the control socket.
   */
  shutdown(options: { waitForTurns?: boolean } = {}): Promise<void> {
    this.shuttingDown ??= (async () => {
      this.stopAccepting();
      if (options.waitForTurns ?? true) await this.waitForRunningTurns();
      await this.websocket?.close();
      await this.unix?.close();
      this.stdioHandle?.close();
      await this.threads.shutdownAll();
      this.inbound.events.close();
      this.store?.close();
      // the local environment this server made for command/exec: its processes end with it
      await (await this.ownEnvironment?.catch(() => undefined))?.close();
      this.resolveStopped();
    })();
    return this.shuttingDown;
  }
}
