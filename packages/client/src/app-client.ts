import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import {
  app,
  type DecodeFailure,
  type ErrorObject,
  type Message,
  type RequestId,
  type RpcError,
} from '@tether/protocol';
import type { Channel, CloseInfo } from './channel.js';
import { type SpawnStdioOptions, spawnStdio } from './channel-stdio.js';
import { connectUnix, connectWebSocket } from './channel-websocket.js';
import {
  DEFAULT_KEPT_NOTIFICATIONS,
  NotificationLog,
  type ReceivedNotification,
} from './notification-log.js';
import { errorObjectOf, RpcPeer } from './rpc-peer.js';

/** A server-to-client request (an approval) as received. */
export interface ReceivedServerRequest {
  id: RequestId;
  method: string;
  params: unknown;
}

export interface AppClientOptions {
  /**
   * How many of the most recent notifications `notifications` keeps for `waitForNotification` and
   * `since` (1,000; 0 keeps none, and waits then see only what arrives after they start).
   */
  keepNotifications?: number;
}

/** What an `AppServerClient` emits. */
export interface AppClientEvents {
  /** Every decoded message, before it is handled. */
  message: [message: Message];
  notification: [notification: ReceivedNotification];
  serverRequest: [request: ReceivedServerRequest];
  invalid: [text: string, failure: DecodeFailure];
  close: [info: CloseInfo];
}

/**
 * A typed client for the app-server over websocket, a unix control socket, a child process's
 * stdio or any `Channel`: typed requests (results parsed with the protocol's schemas; JSON-RPC
 * errors reject with `RpcError`), notifications as events and in a bounded log to wait on, and
 * server requests answered by a handler or by hand.
 */
export class AppServerClient extends EventEmitter<AppClientEvents> {
  readonly peer: RpcPeer;
  /** The most recent notifications (bounded: see `AppClientOptions.keepNotifications`). */
  readonly notifications: NotificationLog;
  /** Server requests received and not yet answered. */
  readonly serverRequests: ReceivedServerRequest[] = [];
  readonly closed: Promise<CloseInfo>;
  /** The child process when connected over stdio. */
  child: ChildProcess | undefined;
  private handler: ((request: ReceivedServerRequest) => unknown) | undefined;
  private readonly requestWaiters = new Set<() => void>();
  private ended = false;

  constructor(channel: Channel, options: AppClientOptions = {}) {
    super();
    this.notifications = new NotificationLog(
      options.keepNotifications ?? DEFAULT_KEPT_NOTIFICATIONS,
    );
    this.peer = new RpcPeer(channel);
    this.closed = this.peer.closed;
    this.peer.on('message', (message) => this.emit('message', message));
    this.peer.on('invalid', (text, failure) => this.emit('invalid', text, failure));
    this.peer.on('notification', (message) => {
      const notification: ReceivedNotification = {
        method: message.method,
        params: message.params,
      };
      if (message.emittedAtMs !== undefined) notification.emittedAtMs = message.emittedAtMs;
      this.notifications.push(notification);
      this.emit('notification', notification);
    });
    // every server request is listed until answered, so a test can wait for it by method
    this.peer.on('request', (message) => {
      const request = { id: message.id, method: message.method, params: message.params };
      this.serverRequests.push(request);
      this.emit('serverRequest', request);
      this.wakeRequestWaiters();
      const handler = this.handler;
      if (handler) {
        void (async () => {
          try {
            this.respond(request.id, await handler(request));
          } catch (error) {
            this.respondError(request.id, errorObjectOf(error));
          }
        })().catch(() => undefined);
      }
    });
    this.peer.on('close', (info) => {
      this.ended = true;
      this.notifications.end(new Error(`connection closed (${info.code} ${info.reason})`));
      this.wakeRequestWaiters();
      this.emit('close', info);
    });
  }

  /** Connects over websocket (`ws://…`), with an optional bearer token. */
  static async connectWebSocket(
    url: string,
    options: AppClientOptions & { token?: string; headers?: Record<string, string> } = {},
  ): Promise<AppServerClient> {
    const channel = await connectWebSocket(url, {
      ...(options.token ? { token: options.token } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    return new AppServerClient(channel, options);
  }

  /** Connects to a control socket (websocket over a unix domain socket). */
  static async connectUnix(path: string, options: AppClientOptions = {}): Promise<AppServerClient> {
    return new AppServerClient(await connectUnix(path), options);
  }

  /** Starts the server as a child process and talks NDJSON over its stdin/stdout. */
  static spawnStdio(
    command: string,
    args: string[],
    options: AppClientOptions & SpawnStdioOptions = {},
  ): AppServerClient {
    const channel = spawnStdio(command, args, {
      ...(options.env ? { env: options.env } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.stderr ? { stderr: options.stderr } : {}),
    });
    const client = new AppServerClient(channel, options);
    client.child = channel.child;
    return client;
  }

  /** Sends a request and resolves with its result as it came; rejects with `RpcError`. */
  requestRaw(method: string, params?: unknown, id?: RequestId): Promise<unknown> {
    return this.peer.request(method, params, id === undefined ? {} : { id });
  }

  /** A typed request; the result is checked against the method's schema. */
  request<M extends app.ClientRequestMethod>(
    method: M,
    params: app.ParamsOf<M>,
  ): Promise<app.ResultOf<M>> {
    return this.peer.call(app.clientRequests, method, params);
  }

  notify(method: string, params?: unknown): void {
    this.peer.notify(method, params);
  }

  /** `initialize` then `initialized`. */
  async initialize(
    clientInfo: { name: string; version: string; title?: string },
    capabilities: { experimentalApi?: boolean; optOutNotificationMethods?: string[] } = {},
  ): Promise<app.InitializeResponse> {
    const result = await this.request('initialize', { clientInfo, capabilities });
    this.notify('initialized');
    return result;
  }

  /** Answers every server request with the handler's result (or its error). */
  onServerRequest(handler: (request: ReceivedServerRequest) => unknown): void {
    this.handler = handler;
  }

  respond(id: RequestId, result: unknown): void {
    this.forget(id);
    this.peer.respond(id, result);
  }

  respondError(id: RequestId, error: ErrorObject | RpcError): void {
    this.forget(id);
    this.peer.respondError(id, error);
  }

  /**
   * Resolves with the first notification of `method` at or after position `from` (default: the
   * oldest kept; take `notifications.cursor` before acting to see only what follows) that
   * matches, waiting for it if needed. Rejects after `timeoutMs`, when the connection closes, or
   * when `from` was already dropped from the log.
   */
  waitForNotification(
    method: string,
    predicate: (params: Record<string, unknown>) => boolean = () => true,
    options: { from?: number; timeoutMs?: number } = {},
  ): Promise<ReceivedNotification> {
    return this.notifications.wait(
      (n) => n.method === method && predicate(paramsRecord(n.params)),
      { ...options, what: `notification ${method}` },
    );
  }

  /** Resolves with the first unanswered server request of `method`, waiting for one. */
  waitForServerRequest(method: string, timeoutMs = 10_000): Promise<ReceivedServerRequest> {
    const what = `server request ${method}`;
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.serverRequests.find((r) => r.method === method);
        if (found) {
          done();
          resolve(found);
        } else if (this.ended) {
          done();
          reject(new Error(`connection closed while waiting for ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.requestWaiters.delete(check);
      };
      this.requestWaiters.add(check);
      check();
    });
  }

  /** Closes the connection (stdio: ends the child's stdin, which makes the server exit). */
  close(): void {
    this.peer.close();
  }

  /** Stops reading from the connection (the server sees a stalled reader); for tests and benches. */
  pauseSocket(): void {
    this.peer.channel.pause();
  }

  resumeSocket(): void {
    this.peer.channel.resume();
  }

  /** Whether the connection is still open. */
  get isOpen(): boolean {
    return this.peer.isOpen;
  }

  private forget(id: RequestId): void {
    const index = this.serverRequests.findIndex((r) => r.id === id);
    if (index !== -1) this.serverRequests.splice(index, 1);
  }

  private wakeRequestWaiters(): void {
    for (const check of [...this.requestWaiters]) check();
  }
}

/** Notification params as a record for predicates (absent or non-object params read as `{}`). */
function paramsRecord(params: unknown): Record<string, unknown> {
  return isRecord(params) ? params : {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schemas of the app-server wire, re-exported for callers that validate results. */
export const appSchemas = app;
