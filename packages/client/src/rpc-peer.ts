import { EventEmitter } from 'node:events';
import {
  type DecodeFailure,
  type ErrorObject,
  errorResponse,
  internalError,
  isRpcError,
  type Message,
  type MethodTable,
  methodNotFound,
  type NotificationMessage,
  notification,
  parseWith,
  type RequestId,
  type RequestMessage,
  RpcError,
  request,
  response,
  type TableMethod,
  type TableParams,
  type TableResult,
} from '@tether/protocol';
import { type Channel, ChannelClosedError, type CloseInfo } from './channel.js';

/** The other side answered a request with a result its method's schema does not accept. */
export class UnexpectedResultError extends Error {
  readonly code = 'UNEXPECTED_RESULT';
  readonly method: string;
  readonly result: unknown;

  constructor(method: string, result: unknown, problem: string) {
    super(`unexpected result for ${method}: ${problem}`);
    this.name = 'UnexpectedResultError';
    this.method = method;
    this.result = result;
  }
}

/**
 * Answers a request from the other side: its result, or a thrown `RpcError` for a JSON-RPC error
 * (anything else thrown becomes an internal error).
 */
export type RequestHandler = (request: RequestMessage) => unknown;

/** What an `RpcPeer` emits, in the order things arrive. */
export interface RpcPeerEvents {
  /** Every decoded message, before it is handled. */
  message: [message: Message];
  notification: [notification: NotificationMessage];
  /** A request from the other side when no handler is set: answer it with `respond`. */
  request: [request: RequestMessage];
  /** A frame or line that was not one JSON-RPC message. */
  invalid: [text: string, failure: DecodeFailure];
  close: [info: CloseInfo];
}

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
}

/**
 * One JSON-RPC peer over a `Channel`: requests correlated with their responses by id (a JSON-RPC
 * error rejects with protocol's `RpcError`; a channel that ends rejects every pending request),
 * notifications as events, and requests from the other side answered by a handler or left for
 * `respond`. It keeps nothing it has delivered: the only state is the requests awaiting answers.
 */
export class RpcPeer extends EventEmitter<RpcPeerEvents> {
  readonly channel: Channel;
  readonly closed: Promise<CloseInfo>;
  private readonly pending = new Map<RequestId, Pending>();
  private nextId = 1;
  private handler: RequestHandler | undefined;
  private closeInfo: CloseInfo | undefined;

  /** Takes the channel over (starts reading it). */
  constructor(channel: Channel, options: { onRequest?: RequestHandler } = {}) {
    super();
    this.channel = channel;
    this.handler = options.onRequest;
    this.closed = channel.closed;
    channel.start({
      message: (message) => this.receive(message),
      invalid: (text, failure) => this.emit('invalid', text, failure),
      closed: (info) => this.ended(info),
    });
  }

  /** Requests awaiting their answer. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  get isOpen(): boolean {
    return this.channel.isOpen;
  }

  /**
   * Sends a request and resolves with its result. Rejects with `RpcError` when the other side
   * answers an error, and with `ChannelClosedError` when the channel ends first. `id` picks the
   * id (it must not be one still awaiting its answer); by default ids count up from 1.
   */
  request(method: string, params?: unknown, options: { id?: RequestId } = {}): Promise<unknown> {
    const id = options.id ?? this.freshId();
    if (this.pending.has(id)) {
      return Promise.reject(new Error(`request id ${String(id)} is already awaiting an answer`));
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        this.channel.send(request(id, method, params));
      } catch (error) {
        this.pending.delete(id);
        reject(error);
      }
    });
  }

  /**
   * A request typed by a method table (`app.clientRequests`, `exec.requests`): params as the
   * table types them, the result parsed with the method's schema (`UnexpectedResultError` when it
   * does not parse).
   */
  async call<T extends MethodTable, M extends TableMethod<T>>(
    table: T,
    method: M,
    params: TableParams<T, M>,
  ): Promise<TableResult<T, M>> {
    const spec: T[M] | undefined = table[method];
    if (!spec) throw new Error(`${method} is not a method of this table`);
    const result = await this.request(method, params);
    const parsed = parseWith<T[M]['result']>(spec.result, result);
    if (!parsed.ok) throw new UnexpectedResultError(method, result, parsed.message);
    return parsed.value;
  }

  /** Sends a notification (throws `ChannelClosedError` once the channel is closing). */
  notify(method: string, params?: unknown): void {
    this.channel.send(notification(method, params));
  }

  /** Answers a request from the other side with a result (`undefined` is sent as `null`). */
  respond(id: RequestId, result: unknown): void {
    this.channel.send(response(id, result === undefined ? null : result));
  }

  /** Answers a request from the other side with a JSON-RPC error. */
  respondError(id: RequestId, error: ErrorObject | RpcError): void {
    this.channel.send(errorResponse(id, isRpcError(error) ? error.toErrorObject() : error));
  }

  /**
   * Sets (or with `undefined` removes) the handler that answers requests from the other side.
   * Without one, requests are emitted as `request` events to be answered with `respond`; with
   * neither, they are answered "method not found" so the other side never waits forever.
   */
  handleRequests(handler: RequestHandler | undefined): void {
    this.handler = handler;
  }

  close(code?: number, reason?: string): void {
    this.channel.close(code, reason);
  }

  terminate(): void {
    this.channel.terminate();
  }

  private freshId(): number {
    // skip ids a caller chose explicitly and that are still awaiting their answer
    while (this.pending.has(this.nextId)) this.nextId += 1;
    const id = this.nextId;
    this.nextId += 1;
    return id;
  }

  private receive(message: Message): void {
    this.emit('message', message);
    switch (message.kind) {
      case 'response':
      case 'error': {
        const pending = this.pending.get(message.id);
        // an answer to nothing we asked (or asked on an earlier connection) is dropped
        if (!pending) return;
        this.pending.delete(message.id);
        if (message.kind === 'response') pending.resolve(message.result);
        else pending.reject(new RpcError(message.error));
        return;
      }
      case 'notification':
        this.emit('notification', message);
        return;
      case 'request':
        this.answer(message);
        return;
    }
  }

  private answer(message: RequestMessage): void {
    const handler = this.handler;
    if (!handler) {
      if (this.listenerCount('request') > 0) this.emit('request', message);
      else
        this.tryAnswer(() =>
          this.respondError(message.id, methodNotFound(`no handler for ${message.method}`)),
        );
      return;
    }
    void (async () => {
      try {
        const result = await handler(message);
        this.tryAnswer(() => this.respond(message.id, result));
      } catch (error) {
        this.tryAnswer(() => this.respondError(message.id, errorObjectOf(error)));
      }
    })();
  }

  /** An answer the channel can no longer carry is dropped: the other side is gone. */
  private tryAnswer(send: () => void): void {
    try {
      send();
    } catch (error) {
      if (!(error instanceof ChannelClosedError)) throw error;
    }
  }

  private ended(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    const error = new ChannelClosedError(info);
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
    this.emit('close', info);
  }
}

/** The JSON-RPC error a handler's failure is answered with: an `RpcError` as it is, else -32603. */
export function errorObjectOf(error: unknown): ErrorObject {
  if (isRpcError(error)) return error.toErrorObject();
  return internalError(error instanceof Error ? error.message : String(error));
}
