import { join } from 'node:path';
import type { Environment, RuntimeFactory } from '@tether/agent-core';
import { localEnvironment } from '@tether/exec-session';
import {
  OutboundRouter,
  type OutboundRouterOptions,
  ServerRequests,
} from '@tether/outbound-router';
import type { app, Served } from '@tether/protocol';
import { ThreadStateManager } from '@tether/thread-state';
import { ThreadStore } from '@tether/thread-store';
import { CONTROL_SOCKET_DIR, type Connection, type Logger } from '@tether/transport';
import { Accounts, RateLimitBoard } from './accounts.js';
import { AuthStore } from './auth-store.js';
import { ClientSupport } from './client-support.js';
import { type ConfigService, configService, settingsFromConfig } from './config/index.js';
import { AppConnection, RequestSlots, serveApp } from './connection.js';
import { experimentalFilter } from './experimental.js';
import type { ClientState, ServiceParts } from './handlers/context.js';
import { HistoryQueries } from './history.js';
import { remoteControlStatus } from './installation.js';
import { ModelList } from './model-list.js';
import { ServedModels, type ServedModelsOptions } from './served-models.js';
import { DEFAULT_SETTINGS, type SettingsDefaults } from './settings.js';
import { ThreadEdits } from './thread-edits.js';
import { ThreadManager } from './threads.js';

/** 30 minutes, the reference's idle-unload delay. */
export const DEFAULT_THREAD_UNLOAD_DELAY_MS = 30 * 60 * 1000;

export interface AppServiceOptions {
  /** State directory (rollouts, index, control socket). */
  home: string;
  logger: Logger;
  runtimeFactory: RuntimeFactory;
  /** Idle-unload delay in ms, or per origin of the connection that left last. */
  unloadDelayMs?: number | ((origin: string | undefined) => number);
  /** Requests handled at once across all connections before inbound messages wait (128). */
  maxInFlightRequests?: number;
  router?: Omit<OutboundRouterOptions, 'logger' | 'filter'>;
  defaults?: Partial<SettingsDefaults>;
  /** Whether the model is reached with an API key (unused: `account/read` reads the config). */
  apiKeyConfigured?: boolean;
  /**
   * Where a client's signed-in API key is kept (default `<home>/auth.json`); the model client
   * should read the same store so a new key applies to the next request.
   */
  authStore?: AuthStore;
  /** Where the model client records the rate limits the provider reports (`account/rateLimits/read`). */
  rateLimits?: RateLimitBoard;
  /** How `model/list` asks the provider for its models (cache lifetimes, timeout). */
  servedModels?: Omit<ServedModelsOptions, 'logger'>;
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
   * the home protected and its control socket hidden from sandboxed commands.
   */
  environment?: () => Promise<Environment>;
  /** What each client is told after `initialize` (`configWarning`), e.g. a missing sandbox. */
  configWarnings?: () => Promise<app.ConfigWarningNotification[]>;
  /**
   * The configuration (`<home>/config.toml` and its layers): the defaults of new threads and
   * the `config/*` methods. Default: the home's files, without command-line flags. Values in
   * `defaults` win over it.
   */
  config?: ConfigService;
}

/**
 * The app-server core: threads, turns and history for every connection, behind
 * `connect(connection) → AppConnection.handle(message)`. It opens the store when built, and knows
 * nothing about sockets or the command line.
 */
export class AppService {
  readonly router: OutboundRouter;
  readonly requests: ServerRequests;
  readonly state: ThreadStateManager;
  readonly store: ThreadStore;
  readonly threads: ThreadManager;
  /** The signed-in API key and the rate limits the provider reported (`account/*`). */
  readonly accounts: Accounts;
  private readonly served: Served<ClientState>;
  private readonly parts: ServiceParts;
  private readonly slots: RequestSlots;
  private readonly connections = new Map<number, AppConnection>();
  private ownEnvironment: Promise<Environment> | undefined;
  private originator: string | null = null;

  constructor(private readonly options: AppServiceOptions) {
    const { logger, home } = options;
    this.router = new OutboundRouter({ ...options.router, logger, filter: experimentalFilter });
    this.requests = new ServerRequests(this.router, { logger });
    this.state = new ThreadStateManager({
      unloadDelayMs: options.unloadDelayMs ?? DEFAULT_THREAD_UNLOAD_DELAY_MS,
      onIdle: (threadId) => {
        void this.threads
          .unloadIdle(threadId)
          .catch((error: unknown) =>
            logger.error({ err: error, threadId }, 'failed to unload idle thread'),
          );
      },
    });
    this.store = ThreadStore.open({ home, logger });
    const config = options.config ?? configService({ home });
    // read again for each new thread, as the reference does: an edit applies to the next one
    const currentDefaults = (): SettingsDefaults => {
      const loaded = config.tryLoad();
      return {
        ...DEFAULT_SETTINGS,
        ...(loaded.snapshot ? settingsFromConfig(loaded.snapshot.resolved) : {}),
        ...options.defaults,
      };
    };
    const authStore = options.authStore ?? new AuthStore(home);
    this.accounts = new Accounts({
      store: authStore,
      rateLimits: options.rateLimits ?? new RateLimitBoard(),
      config,
      router: this.router,
      logger,
    });
    this.threads = new ThreadManager({
      store: this.store,
      state: this.state,
      router: this.router,
      requests: this.requests,
      runtimeFactory: options.runtimeFactory,
      defaults: currentDefaults,
      logger,
      originator: () => this.originator,
      cliVersion: options.version ?? '0.0.0',
      ...(options.persistTimeoutMs !== undefined
        ? { persistTimeoutMs: options.persistTimeoutMs }
        : {}),
      ...(options.persistMaxPending !== undefined
        ? { persistMaxPending: options.persistMaxPending }
        : {}),
      ...(options.persistRetryDelayMs !== undefined
        ? { persistRetryDelayMs: options.persistRetryDelayMs }
        : {}),
    });
    const pieces = {
      threads: this.threads,
      store: this.store,
      router: this.router,
      state: this.state,
    };
    this.parts = {
      home,
      logger,
      router: this.router,
      requests: this.requests,
      state: this.state,
      threads: this.threads,
      history: new HistoryQueries(pieces),
      edits: new ThreadEdits(pieces),
      support: new ClientSupport(),
      accounts: this.accounts,
      models: new ModelList({
        home,
        config,
        store: authStore,
        served: new ServedModels({ logger, ...options.servedModels }),
        logger,
      }),
      remoteControl: remoteControlStatus(home),
      commandExec: {
        environment: () => this.environment(),
        defaultSandbox: () => this.threads.defaultSettings().sandbox,
      },
      config,
      configWarnings: async () => [
        ...config.warnings(),
        ...((await options.configWarnings?.()) ?? []),
      ],
      originator: () => this.originator,
      setOriginator: (name) => {
        this.originator ??= name;
      },
    };
    this.served = serveApp(this.parts);
    this.slots = new RequestSlots(options.maxInFlightRequests ?? 128);
  }

  /** The first client's name (the process's originator), if any client initialized yet. */
  firstClientName(): string | null {
    return this.originator;
  }

  /** A handler for one new connection. */
  connect(connection: Connection): AppConnection {
    const handler = new AppConnection(connection, this.served, this.parts, this.slots);
    this.connections.set(connection.id, handler);
    return handler;
  }

  /** The handler of a connection, while it is open. */
  connection(connectionId: number): AppConnection | undefined {
    return this.connections.get(connectionId);
  }

  /** A connection closed: it leaves everything it was part of. */
  disconnect(connectionId: number): void {
    this.connections.get(connectionId)?.close();
    this.connections.delete(connectionId);
  }

  /** The environment `command/exec` uses: the given one, or a local one made on first use. */
  private environment(): Promise<Environment> {
    if (this.options.environment) return this.options.environment();
    const home = this.options.home;
    this.ownEnvironment ??= localEnvironment({
      sandbox: { protectedPaths: [home], masked: [join(home, CONTROL_SOCKET_DIR)] },
    });
    return this.ownEnvironment;
  }

  /** Resolves once no thread runs a turn. */
  waitForIdle(): Promise<void> {
    return this.threads.waitForIdle();
  }

  /** Shuts every thread down, closes the store and the environment this service made. */
  async close(): Promise<void> {
    await this.threads.shutdownAll();
    this.store.close();
    // the local environment made for command/exec: its processes end with it
    await (await this.ownEnvironment?.catch(() => undefined))?.close();
  }
}
