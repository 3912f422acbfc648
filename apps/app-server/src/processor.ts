import { arch, type as osType, release } from 'node:os';
import type { OutboundRouter, ServerRequests } from '@tether/outbound-router';
import {
  app,
  type ErrorObject,
  errorResponse,
  internalError,
  invalidParams,
  invalidRequest,
  isRpcError,
  type Message,
  parseWith,
  type RequestId,
  type RequestMessage,
  RpcError,
} from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import type { Connection, Logger } from '@tether/transport';
import type { ClientSupport } from './client-support.js';
import { type CommandExecContext, runCommand } from './command-exec.js';
import { HistoryQueries } from './history.js';
import { serverNotification } from './notify.js';
import { permissionProfiles } from './settings.js';
import { ThreadEdits } from './thread-edits.js';
import { ALREADY_SENT, type HandlerResult, type ThreadManager } from './threads.js';

const POLICY_METHODS: ReadonlySet<string> = new Set([
  'thread/start',
  'thread/resume',
  'thread/fork',
  'turn/start',
  'thread/settings/update',
]);

/**
 * Values the reference's v2 decoder no longer takes although tether's schemas keep them for older
 * callers: `approvalPolicy: "on-failure"` (the reference's words), and `permissionProfile` on
 * `thread/start`.
 */
function refuseRetiredValues(method: string, params: unknown): void {
  if (typeof params !== 'object' || params === null) return;
  const fields = new Map(Object.entries(params));
  if (POLICY_METHODS.has(method) && fields.get('approvalPolicy') === 'on-failure') {
    throw new RpcError(
      invalidRequest(
        'Invalid request: unknown variant `on-failure`, expected one of `untrusted`, `on-request`, `granular`, `never`',
      ),
    );
  }
  if (method === 'thread/start' && fields.get('permissionProfile') != null) {
    throw new RpcError(
      invalidParams(
        '`permissionProfile` is no longer supported for `thread/start`; use `permissions` with a named profile id instead',
      ),
    );
  }
}

/** The Codex protocol version tether speaks; clients see it in `userAgent`. */
export const PROTOCOL_VERSION = '0.169.0';

interface Session {
  connection: Connection;
  initialized: boolean;
  clientName: string | null;
  experimentalApi: boolean;
  chain: Promise<void>;
}

export interface ProcessorDeps {
  router: OutboundRouter;
  requests: ServerRequests;
  state: ThreadStateManager<app.Turn>;
  threads: ThreadManager;
  logger: Logger;
  home: string;
  /** Answers for the account, model and config methods clients call. */
  support: ClientSupport;
  /** Where `command/exec` runs its commands, and in which sandbox by default. */
  commandExec: CommandExecContext;
  /** What each client is told after `initialize` (`configWarning`), e.g. a missing sandbox. */
  configWarnings?: () => Promise<app.ConfigWarningNotification[]>;
  /** Requests handled at once across all connections before the inbound queue backs up. */
  maxInFlight?: number;
}

/**
 * Handles the messages of every connection: the handshake gate, request dispatch (requests of one
 * connection in order; connections in parallel), client answers to server requests, and
 * connection close.
 */
export class MessageProcessor {
  private readonly sessions = new Map<number, Session>();
  private originator: string | null = null;
  private inFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly maxInFlight: number;
  private readonly history: HistoryQueries;
  private readonly edits: ThreadEdits;

  constructor(private readonly deps: ProcessorDeps) {
    this.maxInFlight = deps.maxInFlight ?? 128;
    const parts = {
      threads: deps.threads,
      store: deps.threads.store,
      router: deps.router,
      state: deps.state,
    };
    this.history = new HistoryQueries(parts);
    this.edits = new ThreadEdits(parts);
  }

  /** The first client's name (the process's originator), if any client initialized yet. */
  firstClientName(): string | null {
    return this.originator;
  }

  opened(connection: Connection): void {
    this.deps.router.addConnection(connection);
    this.sessions.set(connection.id, {
      connection,
      initialized: false,
      clientName: null,
      experimentalApi: false,
      chain: Promise.resolve(),
    });
  }

  closed(connectionId: number): void {
    this.sessions.delete(connectionId);
    this.deps.router.removeConnection(connectionId);
    this.deps.state.removeConnection(connectionId);
    this.deps.threads.connectionClosed(connectionId);
  }

  /**
   * Takes one inbound message. Resolves when the processor can take the next one (it waits while
   * too many requests are in flight, so that the bounded inbound queue fills and overload is
   * signalled to clients instead of buffering without bound).
   */
  async message(connectionId: number, message: Message): Promise<void> {
    const session = this.sessions.get(connectionId);
    if (!session) {
      this.deps.logger.warn({ connectionId }, 'dropping message from unknown connection');
      return;
    }
    switch (message.kind) {
      case 'response':
      case 'error':
        this.deps.requests.answer(connectionId, message);
        return;
      case 'notification':
        // `initialized` and unknown notifications need nothing
        return;
      case 'request':
        await this.acquireSlot();
        session.chain = session.chain
          .then(() => this.handleRequest(session, message))
          .finally(() => this.releaseSlot());
        return;
    }
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.maxInFlight) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inFlight += 1;
  }

  private releaseSlot(): void {
    this.inFlight -= 1;
    this.slotWaiters.shift()?.();
  }

  private send(connectionId: number, message: Message): Promise<void> {
    return this.deps.router.toConnection(connectionId, message);
  }

  private sendError(connectionId: number, id: RequestId, error: ErrorObject): Promise<void> {
    return this.send(connectionId, errorResponse(id, error));
  }

  private async handleRequest(session: Session, request: RequestMessage): Promise<void> {
    const connectionId = session.connection.id;
    const log = this.deps.logger.child({
      connectionId,
      requestId: request.id,
      method: request.method,
    });
    try {
      if (request.method === 'initialize') {
        await this.initialize(session, request);
        return;
      }
      if (!session.initialized) {
        await this.sendError(connectionId, request.id, invalidRequest('Not initialized'));
        return;
      }
      const outcome = await this.dispatch(session, request);
      if (outcome === ALREADY_SENT) return;
      if (outcome.notice !== undefined) {
        await this.send(connectionId, serverNotification('deprecationNotice', outcome.notice));
      }
      await this.send(connectionId, { kind: 'response', id: request.id, result: outcome.result });
      await outcome.after?.();
    } catch (error) {
      if (isRpcError(error)) {
        await this.sendError(connectionId, request.id, error.toErrorObject());
        return;
      }
      log.error({ err: error }, 'request failed');
      await this.sendError(
        connectionId,
        request.id,
        internalError(`internal error: ${(error as Error).message ?? String(error)}`),
      );
    }
  }

  /**
   * Decodes a request's params (missing and mistyped fields first, as the reference's decoder
   * does), then refuses what needs the `experimentalApi` capability: the method itself, or a field
   * of it.
   */
  private params<M extends app.ClientRequestMethod>(
    method: M,
    request: RequestMessage,
    session: Session,
  ): app.ParamsOf<M> {
    const schema = app.clientRequests[method].params;
    if (request.params === undefined && !schema.safeParse(undefined).success) {
      throw new RpcError(invalidRequest('Invalid request: missing field `params`'));
    }
    const parsed = parseWith(schema, request.params);
    if (!parsed.ok) throw new RpcError(invalidRequest(`Invalid request: ${parsed.message}`));
    refuseRetiredValues(method, request.params);
    if (!session.experimentalApi) {
      if (app.experimentalClientRequests.has(method)) {
        throw new RpcError(invalidRequest(`${method} requires experimentalApi capability`));
      }
      const fields = app.experimentalParams[method] ?? [];
      const sent = new Map(
        fields.length > 0 && typeof request.params === 'object' && request.params !== null
          ? Object.entries(request.params)
          : [],
      );
      for (const field of fields) {
        if (sent.get(field) != null) {
          throw new RpcError(
            invalidRequest(`${method}.${field} requires experimentalApi capability`),
          );
        }
      }
    }
    return parsed.value as app.ParamsOf<M>;
  }

  private async initialize(session: Session, request: RequestMessage): Promise<void> {
    const connectionId = session.connection.id;
    if (session.initialized) {
      await this.sendError(connectionId, request.id, invalidRequest('Already initialized'));
      return;
    }
    const params = this.params('initialize', request, session);
    const name = params.clientInfo.name;
    // a valid HTTP header value: visible ASCII, spaces and tabs, no control characters
    if (!/^[\t\x20-\x7e\x80-\xff]*$/.test(name)) {
      throw new RpcError(
        invalidRequest(`Invalid clientInfo.name: '${name}'. Must be a valid HTTP header value.`),
      );
    }
    const capabilities = params.capabilities ?? {};
    session.experimentalApi = capabilities.experimentalApi ?? false;
    session.clientName = name;
    this.originator ??= name;
    const term = process.env.TERM_PROGRAM ?? process.env.TERM ?? 'unknown';
    const result = {
      userAgent: `${this.originator}/${PROTOCOL_VERSION} (${osType()} ${release()}; ${arch()}) ${term} (${name}; ${params.clientInfo.version})`,
      codexHome: this.deps.home,
      tetherHome: this.deps.home,
      platformFamily: process.platform === 'win32' ? 'windows' : 'unix',
      platformOs: process.platform === 'darwin' ? 'macos' : process.platform,
    };
    await this.send(connectionId, { kind: 'response', id: request.id, result });
    session.initialized = true;
    this.deps.router.setInitialized(connectionId, {
      experimentalApi: session.experimentalApi,
      optOutNotificationMethods: capabilities.optOutNotificationMethods ?? [],
    });
    this.deps.state.connectionInitialized(connectionId, session.connection.origin);
    for (const warning of (await this.deps.configWarnings?.()) ?? []) {
      await this.send(connectionId, serverNotification('configWarning', warning));
    }
  }

  private unknownMethod(method: string): never {
    const known = [
      'initialize',
      ...Object.keys(app.clientRequests).filter((m) => m !== 'initialize'),
    ]
      .map((m) => `\`${m}\``)
      .join(', ');
    throw new RpcError(
      invalidRequest(`Invalid request: unknown variant \`${method}\`, expected one of ${known}`),
    );
  }

  private async dispatch(session: Session, request: RequestMessage): Promise<HandlerResult> {
    const { threads, support } = this.deps;
    const { history, edits } = this;
    const connectionId = session.connection.id;
    const method = request.method;
    if (!app.isClientRequestMethod(method)) this.unknownMethod(method);
    const p = <M extends app.ClientRequestMethod>(m: M) => this.params(m, request, session);
    switch (method) {
      case 'thread/start':
        return threads.start(connectionId, p(method));
      case 'thread/resume':
        return threads.resume(connectionId, request.id, p(method));
      case 'thread/fork':
        return threads.fork(connectionId, p(method));
      case 'thread/list':
        return { result: history.list(p(method)) };
      case 'thread/loaded/list':
        return { result: threads.loadedList(p(method)) };
      case 'thread/read':
        return history.read(connectionId, p(method));
      case 'thread/unsubscribe':
        return { result: threads.unsubscribe(connectionId, p(method)) };
      case 'thread/archive':
        return threads.archive(p(method));
      case 'thread/unarchive':
        return threads.unarchive(p(method));
      case 'thread/delete':
        return threads.delete(p(method));
      case 'thread/revert':
        return threads.revert(connectionId, p(method));
      case 'thread/inject_items':
        return { result: await threads.injectItems(p(method)) };
      case 'thread/name/set':
        return edits.setName(p(method));
      case 'thread/metadata/update':
        return { result: edits.metadataUpdate(p(method)) };
      case 'thread/settings/update':
        return edits.settingsUpdate(p(method));
      case 'thread/goal/get':
        return { result: edits.goalGet(p(method)) };
      case 'thread/goal/set':
        return edits.goalSet(p(method));
      case 'thread/goal/clear':
        return edits.goalClear(p(method));
      case 'thread/queue/add':
        return edits.queueAdd(p(method));
      case 'thread/queue/list':
        return { result: edits.queueList(p(method)) };
      case 'thread/queue/update':
        return edits.queueUpdate(p(method));
      case 'thread/queue/delete':
        return edits.queueDelete(p(method));
      case 'thread/queue/reorder':
        return edits.queueReorder(p(method));
      case 'thread/queue/start':
        return edits.queueStart(p(method));
      case 'thread/turns/list':
        return { result: history.turnsList(p(method)) };
      case 'thread/items/list':
        return { result: history.itemsList(p(method)) };
      case 'thread/items/read':
        return { result: history.itemsRead(p(method)) };
      case 'thread/readState/update':
        return { result: await history.readStateUpdate(p(method)) };
      case 'thread/search':
        return { result: history.search(p(method)) };
      case 'thread/searchOccurrences':
        return { result: history.searchOccurrences(p(method)) };
      case 'turn/start':
        return { result: { turn: await threads.startTurn(p(method)) } };
      case 'turn/steer':
        return { result: { turnId: await threads.steer(p(method)) } };
      case 'turn/interrupt':
        await threads.interrupt(p(method));
        return { result: {} };
      case 'command/exec':
        return { result: await runCommand(p(method), this.deps.commandExec) };
      case 'account/read':
        p(method);
        return { result: support.account() };
      case 'account/bedrock/checkGovCloudRequirements':
        p(method);
        return { result: support.govCloud() };
      case 'model/list':
        return { result: support.models(p(method)) };
      case 'config/read':
        p(method);
        return { result: support.config(threads.defaultSettings()) };
      case 'configRequirements/read':
        p(method);
        return { result: support.configRequirements() };
      case 'collaborationMode/list':
        p(method);
        return { result: support.collaborationModes() };
      case 'permissionProfile/list':
        return { result: permissionProfiles(p(method)) };
      case 'hooks/list':
        return { result: support.hooks(p(method)) };
      case 'skills/list':
        return { result: support.skills(p(method)) };
      case 'plugin/installed':
        p(method);
        return { result: support.plugins() };
      case 'initialize':
        throw new RpcError(invalidRequest('Already initialized'));
    }
    return this.unknownMethod(method);
  }
}
