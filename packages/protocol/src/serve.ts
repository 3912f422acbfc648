import type { z } from 'zod';
import { RpcError } from './errors.js';
import {
  type ErrorObject,
  errorResponse,
  type Message,
  type RequestId,
  type RequestMessage,
  response,
} from './jsonrpc.js';

/**
 * One method of a table: its params and result schema and, where calls must not overtake each
 * other, an ordering key.
 */
export interface MethodSpec<P extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  readonly params: P;
  readonly result: R;
  /**
   * Requests whose key is the same start in arrival order, each after the one before it finished
   * (or released its place, see {@link RequestScope.releaseOrder}). Without a key a request runs
   * as soon as it arrives.
   */
  order?(params: z.output<P>): string | undefined;
}

/** A protocol's client→server requests: method name to {@link MethodSpec}. */
export type MethodTable = { readonly [method: string]: MethodSpec };

export type TableMethod<T extends MethodTable> = keyof T & string;
export type TableParams<T extends MethodTable, M extends TableMethod<T>> = z.output<T[M]['params']>;
export type TableResult<T extends MethodTable, M extends TableMethod<T>> = z.output<T[M]['result']>;

/** What a handler knows about the request it answers, besides its params. */
export interface RequestScope<C> {
  readonly id: RequestId;
  readonly method: string;
  /** The connection's own state, as given to {@link Served.connection}. */
  readonly connection: C;
  /**
   * Runs `task` right after the reply (result or error) was handed to the connection, before the
   * request counts as finished: notifications that must follow the response go here.
   */
  afterReply(task: () => void | Promise<void>): void;
  /** Called once the reply's bytes were written, or could not be (`error`). */
  onWritten(callback: (error?: Error) => void): void;
  /**
   * Lets later requests with the same ordering key start now, while this one still runs (a long
   * poll that took its snapshot in order).
   */
  releaseOrder(): void;
}

export type Handler<T extends MethodTable, M extends TableMethod<T>, C> = (
  params: TableParams<T, M>,
  scope: RequestScope<C>,
) => Promise<TableResult<T, M>> | TableResult<T, M>;

/** One handler per method of the table, typed by its schemas. */
export type Handlers<T extends MethodTable, C> = { [M in TableMethod<T>]: Handler<T, M, C> };

export interface ServeOptions<T extends MethodTable, C> {
  /** The answer to a method the table does not have. */
  unknownMethod(method: string, connection: C): ErrorObject;
  /**
   * Refuses raw params before the schema sees them (for wording the schema cannot give, e.g. a
   * missing `params`); undefined lets them through.
   */
  precheck?(method: TableMethod<T>, raw: unknown): ErrorObject | undefined;
  /** The answer to params the schema refused. */
  invalidParams(method: TableMethod<T>, error: z.ZodError, raw: unknown): ErrorObject;
  /**
   * Refuses a decoded request the connection may not make now (the handshake gate, experimental
   * fields); undefined lets it through.
   */
  gate?(
    method: TableMethod<T>,
    params: unknown,
    raw: unknown,
    connection: C,
  ): ErrorObject | undefined;
  /**
   * An ordering key for requests whose table entry has none (e.g. one per connection, when every
   * request of a connection runs in order).
   */
  order?(method: TableMethod<T>, params: unknown): string | undefined;
  /**
   * The answer to a handler failure that is not an {@link RpcError}. Also told (its answer unused)
   * when an after-reply task fails, so it can be logged.
   */
  unexpected(error: unknown, request: RequestMessage, connection: C): ErrorObject;
}

/** Hands a reply to the connection; `written` reports when its bytes are out, if asked for. */
export type ReplySink = (
  message: Message,
  written?: (error?: Error) => void,
) => void | Promise<void>;

/** A served table: one {@link ServedConnection} per client connection. */
export interface Served<C> {
  connection(state: C, send: ReplySink): ServedConnection;
}

export interface ServedConnection {
  /**
   * Decodes, gates, orders and runs one request, then sends its reply. Resolves once the request
   * finished (its reply sent and its after-reply tasks run); never rejects.
   */
  handle(request: RequestMessage): Promise<void>;
}

/** True when `method` is an own key of the table (so not `toString`). */
export function inTable<T extends MethodTable>(table: T, method: string): method is TableMethod<T> {
  return Object.hasOwn(table, method);
}

/**
 * Serves a method table: every request is decoded by its schema, gated, ordered by its key and
 * dispatched to its typed handler, and every failure goes out through one path (an
 * {@link RpcError} as itself, anything else through `unexpected`).
 */
export function serve<T extends MethodTable, C>(
  table: T,
  handlers: Handlers<T, C>,
  options: ServeOptions<T, C>,
): Served<C> {
  return {
    connection: (state, send) => new TableConnection(table, handlers, options, state, send),
  };
}

const DONE: Promise<void> = Promise.resolve();

type Decoded = { ok: true; method: string; params: unknown } | { ok: false; error: ErrorObject };

class TableConnection<T extends MethodTable, C> implements ServedConnection {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(
    private readonly table: T,
    private readonly handlers: Handlers<T, C>,
    private readonly options: ServeOptions<T, C>,
    private readonly state: C,
    private readonly send: ReplySink,
  ) {}

  handle(request: RequestMessage): Promise<void> {
    const decoded = this.decode(request);
    if (!decoded.ok) {
      return this.reply(request, errorResponse(request.id, decoded.error), [], undefined);
    }
    const key = this.orderKey(decoded.method, decoded.params);
    if (key === undefined) return this.run(request, decoded.params, undefined);
    // the chain waits for this request's turn, then for it to finish or release its place
    const previous = this.chains.get(key);
    let release!: () => void;
    const place = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.chains.set(key, place);
    const done = (previous ?? Promise.resolve()).then(() =>
      this.run(request, decoded.params, release),
    );
    done.then(release);
    place.then(() => {
      if (this.chains.get(key) === place) this.chains.delete(key);
    });
    return done;
  }

  private orderKey(method: string, params: unknown): string | undefined {
    const spec = inTable(this.table, method) ? this.table[method] : undefined;
    if (!spec) return undefined;
    return spec.order ? spec.order(params) : this.options.order?.(method, params);
  }

  private decode(request: RequestMessage): Decoded {
    const { method, params: raw } = request;
    const spec = inTable(this.table, method) ? this.table[method] : undefined;
    if (!spec || !inTable(this.table, method)) {
      return { ok: false, error: this.options.unknownMethod(method, this.state) };
    }
    const refused = this.options.precheck?.(method, raw);
    if (refused) return { ok: false, error: refused };
    const parsed = spec.params.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, error: this.options.invalidParams(method, parsed.error, raw) };
    }
    const gated = this.options.gate?.(method, parsed.data, raw, this.state);
    if (gated) return { ok: false, error: gated };
    return { ok: true, method, params: parsed.data };
  }

  private run(
    request: RequestMessage,
    params: unknown,
    release: (() => void) | undefined,
  ): Promise<void> {
    const after: Array<() => void | Promise<void>> = [];
    let written: ((error?: Error) => void) | undefined;
    const scope: RequestScope<C> = {
      id: request.id,
      method: request.method,
      connection: this.state,
      afterReply: (task) => {
        after.push(task);
      },
      onWritten: (callback) => {
        const earlier = written;
        written = earlier
          ? (error) => {
              earlier(error);
              callback(error);
            }
          : callback;
      },
      releaseOrder: () => release?.(),
    };
    // `params` was decoded by this method's own schema; the method/params pairing is what the
    // compiler cannot follow through the table lookup
    const handler = this.handlers[request.method as TableMethod<T>] as (
      params: unknown,
      scope: RequestScope<C>,
    ) => unknown;
    let outcome: unknown;
    try {
      outcome = handler(params, scope);
    } catch (error) {
      return this.reply(request, this.failure(request, error), after, written);
    }
    if (!(outcome instanceof Promise)) {
      return this.reply(request, response(request.id, outcome), after, written);
    }
    return outcome.then(
      (result) => this.reply(request, response(request.id, result), after, written),
      (error: unknown) => this.reply(request, this.failure(request, error), after, written),
    );
  }

  private failure(request: RequestMessage, error: unknown): Message {
    if (error instanceof RpcError) return errorResponse(request.id, error.toErrorObject());
    return errorResponse(request.id, this.options.unexpected(error, request, this.state));
  }

  private reply(
    request: RequestMessage,
    message: Message,
    after: Array<() => void | Promise<void>>,
    written: ((error?: Error) => void) | undefined,
  ): Promise<void> {
    let sent: void | Promise<void>;
    try {
      sent = this.send(message, written);
    } catch (error) {
      sent = Promise.reject(error);
    }
    // the common case (a sink that takes the reply at once, nothing to run after it) allocates no
    // further promises: the exec-server answers most requests this way
    if (!(sent instanceof Promise) && after.length === 0) return DONE;
    return this.finish(request, sent, after, written);
  }

  private async finish(
    request: RequestMessage,
    sent: void | Promise<void>,
    after: Array<() => void | Promise<void>>,
    written: ((error?: Error) => void) | undefined,
  ): Promise<void> {
    try {
      await sent;
    } catch (error) {
      // the connection is gone; what follows the reply still runs (it may release a thread)
      written?.(error instanceof Error ? error : new Error(String(error)));
    }
    for (const task of after) {
      try {
        await task();
      } catch (error) {
        this.options.unexpected(error, request, this.state);
      }
    }
  }
}

/**
 * A table entry with its ordering key typed by the params schema (an object literal could not
 * type the key function's argument).
 */
export function method<P extends z.ZodType, R extends z.ZodType>(
  params: P,
  result: R,
  order?: (params: z.output<P>) => string | undefined,
): MethodSpec<P, R> {
  return order ? { params, result, order } : { params, result };
}
