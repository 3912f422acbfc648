import type { OutboundRouter, ServerRequests } from '@tether/outbound-router';
import type { app, Handler, Handlers, RequestScope } from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import type { Connection, Logger } from '@tether/transport';
import type { Accounts } from '../accounts.js';
import type { ClientSupport } from '../client-support.js';
import type { CommandExecContext } from '../command-exec.js';
import type { ConfigService } from '../config/index.js';
import type { HistoryQueries } from '../history.js';
import type { ModelList } from '../model-list.js';
import type { ThreadEdits } from '../thread-edits.js';
import type { ThreadManager } from '../threads.js';

/** One client connection as the handlers see it. */
export interface ClientState {
  readonly connection: Connection;
  initialized: boolean;
  clientName: string | null;
  experimentalApi: boolean;
}

export type AppTable = typeof app.clientRequests;
export type AppMethod = app.ClientRequestMethod;
export type AppScope = RequestScope<ClientState>;
export type AppHandlers = Handlers<AppTable, ClientState>;
export type AppHandler<M extends AppMethod> = Handler<AppTable, M, ClientState>;
/** The handlers of one area (threads, turns, history, ...). */
export type AreaHandlers<M extends AppMethod> = { [K in M]: AppHandler<K> };

/** What the handlers work with: the service's parts, built once. */
export interface ServiceParts {
  readonly home: string;
  readonly logger: Logger;
  readonly router: OutboundRouter;
  readonly requests: ServerRequests;
  readonly state: ThreadStateManager;
  readonly threads: ThreadManager;
  readonly history: HistoryQueries;
  readonly edits: ThreadEdits;
  readonly support: ClientSupport;
  /** The API key a client signed in with, and the rate limits the provider reported. */
  readonly accounts: Accounts;
  /** `model/list`: the catalogue and what the provider serves. */
  readonly models: ModelList;
  /** `remoteControl/status/changed` after `initialize`: this server's name and installation id. */
  readonly remoteControl: () => app.RemoteControlStatusChangedNotification;
  readonly commandExec: CommandExecContext;
  /** The configuration files and `-c` flags: thread defaults and the `config/*` methods. */
  readonly config: ConfigService;
  /** What each client is told after `initialize` (`configWarning`), e.g. a missing sandbox. */
  readonly configWarnings: () => Promise<app.ConfigWarningNotification[]>;
  /** The process's originator: the first client's name, once one initialized. */
  originator(): string | null;
  setOriginator(name: string): void;
}
