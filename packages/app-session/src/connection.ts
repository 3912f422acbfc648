import {
  app,
  describeZodError,
  type ErrorObject,
  internalError,
  invalidParams,
  invalidRequest,
  type Message,
  methodNotFound,
  type Served,
  type ServedConnection,
  serve,
} from '@tether/protocol';
import type { Connection } from '@tether/transport';
import { accountHandlers } from './handlers/account.js';
import { configHandlers } from './handlers/config.js';
import type { AppHandlers, ClientState, ServiceParts } from './handlers/context.js';
import { editHandlers } from './handlers/edits.js';
import { historyHandlers } from './handlers/history.js';
import { initializeHandlers } from './handlers/initialize.js';
import { shellHandlers } from './handlers/shell.js';
import { threadHandlers } from './handlers/threads.js';
import { turnHandlers } from './handlers/turns.js';

const POLICY_METHODS: ReadonlySet<string> = new Set([
  'thread/start',
  'thread/resume',
  'thread/fork',
  'turn/start',
  'thread/settings/update',
]);

/**
 * Values tether's schemas still read (older callers, stored settings) that the reference's v2
 * decoder no longer offers: refused, and left out of the variants an error lists.
 */
const RETIRED_VARIANTS: ReadonlySet<string> = new Set(['on-failure']);

/** The fields a request's params carry, for checks the schemas cannot express. */
function fieldsOf(raw: unknown): Map<string, unknown> {
  return new Map(typeof raw === 'object' && raw !== null ? Object.entries(raw) : []);
}

/** The reference's decoder lists every method it knows when a request names another. */
const KNOWN_METHODS = app.referenceClientMethods.map((m) => `\`${m}\``).join(', ');
const REFERENCE_METHODS: ReadonlySet<string> = new Set(app.referenceClientMethods);

/**
 * A method nobody knows gets the reference decoder's error; one the reference has and tether does
 * not (yet) gets a plain method-not-found, rather than a list that names the method itself.
 */
function unknownMethod(method: string): ErrorObject {
  if (REFERENCE_METHODS.has(method)) {
    return methodNotFound(`\`${method}\` is not implemented by tether`);
  }
  return invalidRequest(
    `Invalid request: unknown variant \`${method}\`, expected one of ${KNOWN_METHODS}`,
  );
}

/**
 * Every client request method, typed by `app.clientRequests`, served through one funnel: decoded
 * first (as the reference's decoder does, so an unknown method or bad params is refused even
 * before `initialize`), then gated by the handshake and the `experimentalApi` capability. Requests
 * of one connection run in arrival order.
 */
export function serveApp(parts: ServiceParts): Served<ClientState> {
  const handlers: AppHandlers = {
    ...initializeHandlers(parts),
    ...threadHandlers(parts),
    ...historyHandlers(parts),
    ...editHandlers(parts),
    ...turnHandlers(parts),
    ...shellHandlers(parts),
    ...configHandlers(parts),
    ...accountHandlers(parts),
  };
  return serve(app.clientRequests, handlers, {
    order: () => 'connection',
    unknownMethod: (method) => unknownMethod(method),
    precheck: (method, raw) => {
      const schema = app.clientRequests[method].params;
      if ((raw === undefined || raw === null) && !schema.safeParse(undefined).success) {
        return invalidRequest('Invalid request: missing field `params`');
      }
      // a value the reference's v2 decoder no longer takes (tether's schemas keep it for older
      // callers), refused in the decoder's words
      if (POLICY_METHODS.has(method) && fieldsOf(raw).get('approvalPolicy') === 'on-failure') {
        return invalidRequest(
          'Invalid request: unknown variant `on-failure`, expected one of `untrusted`, `on-request`, `granular`, `never`',
        );
      }
      return undefined;
    },
    // serde's `from_value` words: no field path, enum variants listed
    invalidParams: (method, error, raw) =>
      invalidRequest(
        `Invalid request: ${describeZodError(error, raw, {
          pathSuffix: false,
          schema: app.clientRequests[method].params,
          hiddenVariants: RETIRED_VARIANTS,
        })}`,
      ),
    gate: (method, _params, raw, client) => {
      if (method === 'initialize') return undefined;
      if (!client.initialized) return invalidRequest('Not initialized');
      if (method === 'thread/start' && fieldsOf(raw).get('permissionProfile') != null) {
        return invalidParams(
          '`permissionProfile` is no longer supported for `thread/start`; use `permissions` with a named profile id instead',
        );
      }
      if (client.experimentalApi) return undefined;
      if (app.experimentalClientRequests.has(method)) {
        return invalidRequest(`${method} requires experimentalApi capability`);
      }
      const sent = fieldsOf(raw);
      for (const field of app.experimentalParams[method] ?? []) {
        if (sent.get(field) != null) {
          return invalidRequest(`${method}.${field} requires experimentalApi capability`);
        }
      }
      return undefined;
    },
    unexpected: (error, request, client) => {
      parts.logger.error(
        {
          err: error,
          connectionId: client.connection.id,
          requestId: request.id,
          method: request.method,
        },
        'request failed',
      );
      return internalError(
        `internal error: ${error instanceof Error ? error.message : String(error)}`,
      );
    },
  });
}

/** Shares a bound on requests handled at once across every connection of a service. */
export class RequestSlots {
  private inFlight = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    while (this.inFlight >= this.max) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    this.inFlight += 1;
  }

  release(): void {
    this.inFlight -= 1;
    this.waiters.shift()?.();
  }
}

/**
 * One client connection of the app-server: its handshake state, its requests (in order), its
 * answers to server requests.
 */
export class AppConnection {
  readonly client: ClientState;
  private readonly served: ServedConnection;

  constructor(
    connection: Connection,
    served: Served<ClientState>,
    private readonly parts: ServiceParts,
    private readonly slots: RequestSlots,
  ) {
    this.client = { connection, initialized: false, clientName: null, experimentalApi: false };
    parts.router.addConnection(connection);
    this.served = served.connection(this.client, (message) =>
      parts.router.toConnection(connection.id, message),
    );
  }

  get id(): number {
    return this.client.connection.id;
  }

  /**
   * Takes one inbound message. Resolves when the connection can take the next one (it waits while
   * too many requests are in flight, so that the bounded inbound queue fills and overload is
   * signalled to clients instead of buffering without bound).
   */
  async handle(message: Message): Promise<void> {
    switch (message.kind) {
      case 'response':
      case 'error':
        this.parts.requests.answer(this.id, message);
        return;
      case 'notification':
        // `initialized` and unknown notifications need nothing
        return;
      case 'request': {
        await this.slots.acquire();
        void this.served.handle(message).finally(() => this.slots.release());
        return;
      }
    }
  }

  /** The connection is gone: it leaves the router, its subscriptions and its threads. */
  close(): void {
    const id = this.id;
    this.parts.router.removeConnection(id);
    this.parts.state.removeConnection(id);
    this.parts.threads.connectionClosed(id);
  }
}
