import { type EncodedFrame, encodeMessage, type Message } from '@tether/protocol';
import { CloseCodes, type Connection, type Logger, silentLogger } from '@tether/transport';
import { OutboundQueue } from './outbound-queue.js';

/** What the router knows about a connection's wishes for outbound traffic. */
export interface ConnectionOutboundState {
  readonly connectionId: number;
  readonly origin: Connection['origin'];
  /** Set once the connection completed its handshake; broadcasts reach only these. */
  initialized: boolean;
  experimentalApi: boolean;
  /** Notification methods this connection asked not to receive. */
  optOutNotificationMethods: ReadonlySet<string>;
}

/**
 * Rewrites a message for one connection (for example to strip experimental fields); returns the
 * same object when nothing changes, or null to not send it at all.
 */
export type OutboundFilter = (message: Message, state: ConnectionOutboundState) => Message | null;

export interface OutboundRouterOptions {
  logger?: Logger;
  /** Socket connections: most frames queued before the connection counts as slow (65,536). */
  maxQueuedMessages?: number;
  /** Socket connections: most bytes queued, including the socket's own buffer (64 MiB). */
  maxQueuedBytes?: number;
  /** How long a socket may stay over its bound before it is disconnected with 1013 (5 s). */
  slowGraceMs?: number;
  /** stdio connections: frames queued before senders wait (backpressure) (128). */
  stdioQueueLimit?: number;
  filter?: OutboundFilter;
  /** Called when the router drops a connection for being too slow. */
  onSlowDisconnect?: (connectionId: number) => void;
}

export interface SendOptions {
  /** Fires once the frame has been handed to the socket, or with an error if it never will be. */
  onWritten?: (error?: Error) => void;
}

interface Route {
  connection: Connection;
  state: ConnectionOutboundState;
  queue: OutboundQueue;
  overSince: number | undefined;
  graceTimer: NodeJS.Timeout | undefined;
}

export const SLOW_CONSUMER_CLOSE_REASON = 'outbound queue full';

/**
 * Routes outbound messages to connections. Each message is serialized once however many
 * connections get it. stdio connections get backpressure (senders wait, nothing is dropped);
 * socket connections get a queue bounded in messages and bytes, and a socket that stays over that
 * bound for the grace window is disconnected with 1013 and forgotten, so one stalled reader never
 * holds back the others.
 */
export class OutboundRouter {
  private readonly routes = new Map<number, Route>();
  private readonly logger: Logger;
  private readonly maxMessages: number;
  private readonly maxBytes: number;
  private readonly graceMs: number;
  private readonly stdioLimit: number;
  private readonly filter: OutboundFilter | undefined;
  private readonly onSlowDisconnect: ((connectionId: number) => void) | undefined;

  constructor(options: OutboundRouterOptions = {}) {
    this.logger = options.logger ?? silentLogger();
    this.maxMessages = options.maxQueuedMessages ?? 64 * 1024;
    this.maxBytes = options.maxQueuedBytes ?? 64 * 1024 * 1024;
    this.graceMs = options.slowGraceMs ?? 5_000;
    this.stdioLimit = options.stdioQueueLimit ?? 128;
    this.filter = options.filter;
    this.onSlowDisconnect = options.onSlowDisconnect;
  }

  addConnection(connection: Connection): ConnectionOutboundState {
    const state: ConnectionOutboundState = {
      connectionId: connection.id,
      origin: connection.origin,
      initialized: false,
      experimentalApi: false,
      optOutNotificationMethods: new Set(),
    };
    const route: Route = {
      connection,
      state,
      queue: new OutboundQueue(connection.writer, () => this.checkBound(route)),
      overSince: undefined,
      graceTimer: undefined,
    };
    this.routes.set(connection.id, route);
    return state;
  }

  /** Forgets a connection; queued frames are dropped. */
  removeConnection(connectionId: number): void {
    const route = this.routes.get(connectionId);
    if (!route) return;
    this.routes.delete(connectionId);
    clearTimeout(route.graceTimer);
    route.queue.stop();
  }

  /** Marks a connection as initialized with its capabilities; broadcasts reach it from now on. */
  setInitialized(
    connectionId: number,
    capabilities: { experimentalApi?: boolean; optOutNotificationMethods?: Iterable<string> } = {},
  ): void {
    const route = this.routes.get(connectionId);
    if (!route) return;
    route.state.experimentalApi = capabilities.experimentalApi ?? false;
    route.state.optOutNotificationMethods = new Set(capabilities.optOutNotificationMethods ?? []);
    route.state.initialized = true;
  }

  state(connectionId: number): Readonly<ConnectionOutboundState> | undefined {
    return this.routes.get(connectionId)?.state;
  }

  has(connectionId: number): boolean {
    return this.routes.has(connectionId);
  }

  /** Frames queued for a connection and not yet handed to its socket. */
  queuedMessages(connectionId: number): number | undefined {
    return this.routes.get(connectionId)?.queue.length;
  }

  connectionIds(): number[] {
    return [...this.routes.keys()];
  }

  /**
   * Sends a message to one connection (responses, errors, targeted notifications, server
   * requests). Resolves once it is queued; for stdio that may wait for room (backpressure).
   */
  toConnection(connectionId: number, message: Message, options: SendOptions = {}): Promise<void> {
    const route = this.routes.get(connectionId);
    if (!route) {
      this.logger.debug({ connectionId }, 'dropping message for unknown connection');
      options.onWritten?.(new Error(`unknown connection ${connectionId}`));
      return Promise.resolve();
    }
    const cache = new Map<Message, string>();
    return this.deliver(route, message, cache, options.onWritten);
  }

  /**
   * Sends messages that are already serialized to one connection, in order (the hot path of a
   * stream of output). While nothing is queued for the connection and its writer keeps up they go
   * to the writer as one write; otherwise they queue like any other frame, so the connection's
   * bound and the slow-consumer rule apply to them. No filter or opt-out is applied: the caller
   * serialized them for this connection. `onWritten` fires once, after the last one.
   */
  toConnectionEncoded(
    connectionId: number,
    frames: readonly EncodedFrame[],
    options: SendOptions = {},
  ): Promise<void> {
    const route = this.routes.get(connectionId);
    if (!route) {
      this.logger.debug({ connectionId }, 'dropping messages for unknown connection');
      options.onWritten?.(new Error(`unknown connection ${connectionId}`));
      return Promise.resolve();
    }
    const writer = route.connection.writer;
    if (route.queue.length === 0 && !writer.full && !writer.closed) {
      writer.writeMany(frames, options.onWritten);
    } else {
      const last = frames.length - 1;
      for (let i = 0; i < frames.length; i++) {
        route.queue.enqueue(frames[i] as EncodedFrame, i === last ? options.onWritten : undefined);
      }
      if (frames.length === 0) options.onWritten?.();
    }
    if (!route.connection.canDisconnect) return route.queue.waitForRoom(this.stdioLimit);
    this.checkBound(route);
    return Promise.resolve();
  }

  /**
   * Sends a notification to every initialized connection that has not opted out of its method.
   * Never waits on a socket; waits only for stdio connections' room.
   */
  broadcast(message: Message): Promise<void> {
    const cache = new Map<Message, string>();
    const waits: Promise<void>[] = [];
    for (const route of this.routes.values()) {
      if (!route.state.initialized) continue;
      const wait = this.deliver(route, message, cache, undefined);
      if (route.connection.origin === 'stdio') waits.push(wait);
    }
    return waits.length ? Promise.all(waits).then(() => undefined) : Promise.resolve();
  }

  /** Sends to several connections (e.g. a thread's subscribers), serializing once. */
  toConnections(connectionIds: Iterable<number>, message: Message): Promise<void> {
    const cache = new Map<Message, string>();
    const waits: Promise<void>[] = [];
    for (const id of connectionIds) {
      const route = this.routes.get(id);
      if (!route) {
        this.logger.debug({ connectionId: id }, 'dropping message for unknown connection');
        continue;
      }
      const wait = this.deliver(route, message, cache, undefined);
      if (route.connection.origin === 'stdio') waits.push(wait);
    }
    return waits.length ? Promise.all(waits).then(() => undefined) : Promise.resolve();
  }

  private deliver(
    route: Route,
    original: Message,
    cache: Map<Message, string>,
    onWritten: ((error?: Error) => void) | undefined,
  ): Promise<void> {
    if (
      original.kind === 'notification' &&
      route.state.optOutNotificationMethods.has(original.method)
    ) {
      onWritten?.();
      return Promise.resolve();
    }
    const message = this.filter ? this.filter(original, route.state) : original;
    if (message === null) {
      onWritten?.();
      return Promise.resolve();
    }
    let frame = cache.get(message);
    if (frame === undefined) {
      frame = encodeMessage(message);
      cache.set(message, frame);
    }
    route.queue.enqueue(frame, onWritten);
    if (!route.connection.canDisconnect) return route.queue.waitForRoom(this.stdioLimit);
    this.checkBound(route);
    return Promise.resolve();
  }

  private isOver(route: Route, factor: number): boolean {
    return (
      route.queue.length > this.maxMessages * factor ||
      route.queue.pendingBytes > this.maxBytes * factor
    );
  }

  /** Starts, keeps or clears a socket's grace window; drops it at twice the bound at once. */
  private checkBound(route: Route): void {
    if (!route.connection.canDisconnect || !this.routes.has(route.state.connectionId)) return;
    if (!this.isOver(route, 1)) {
      if (route.overSince !== undefined) {
        route.overSince = undefined;
        clearTimeout(route.graceTimer);
        route.graceTimer = undefined;
      }
      return;
    }
    // far over (twice the bound) with a backlog of frames: cut now, memory must stay bounded; one
    // oversized frame alone gets the grace window instead
    if (route.queue.length > 1 && this.isOver(route, 2)) {
      this.disconnectSlow(route);
      return;
    }
    if (route.overSince === undefined) {
      route.overSince = Date.now();
      route.graceTimer = setTimeout(() => {
        route.graceTimer = undefined;
        if (this.isOver(route, 1)) this.disconnectSlow(route);
        else route.overSince = undefined;
      }, this.graceMs);
      route.graceTimer.unref?.();
    }
  }

  private disconnectSlow(route: Route): void {
    const id = route.state.connectionId;
    this.logger.warn(
      { connectionId: id, queued: route.queue.length, pendingBytes: route.queue.pendingBytes },
      'disconnecting slow connection after outbound queue filled',
    );
    this.removeConnection(id);
    route.connection.disconnect({
      code: CloseCodes.TryAgainLater,
      reason: SLOW_CONSUMER_CLOSE_REASON,
    });
    this.onSlowDisconnect?.(id);
  }
}
