/** Timer functions, injectable so tests can drive time. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => {
    const handle = setTimeout(callback, ms);
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ThreadStateOptions {
  /**
   * How long a thread with no subscribers must stay idle before it unloads, in ms. A function gets
   * the origin of the connection that left last (undefined when nobody ever subscribed).
   */
  unloadDelayMs: number | ((origin: string | undefined) => number);
  /** Called when a thread has been idle without subscribers for the delay. */
  onIdle: (threadId: string) => void;
  timers?: Timers;
}

export type SubscribeResult =
  | 'subscribed'
  | 'alreadySubscribed'
  | 'connectionClosed'
  | 'closing'
  | 'notLoaded';
export type UnsubscribeResult = 'unsubscribed' | 'notSubscribed' | 'notLoaded';

interface ThreadEntry {
  subscribers: Set<number>;
  /** The sorted subscriber list, rebuilt only after a change (it is read for every event). */
  sorted: readonly number[] | undefined;
  watchers: Set<(hasSubscribers: boolean) => void>;
  listenerGeneration: number;
  listenerInstalled: boolean;
  active: boolean;
  resumesInFlight: number;
  unloading: boolean;
  lastOrigin: string | undefined;
  timer: unknown;
}

/**
 * Live state of the loaded threads of one app-server: which initialized connections are live and
 * which threads each is subscribed to (both ways), an edge-triggered has-subscribers signal, listener
 * generations, resumes in flight, the pending-unload set and the unloading
 * policy. A thread becomes eligible to unload only after it has had no subscribers, no resume in
 * flight, and been idle for the delay, continuously; any activity or subscriber resets the clock.
 * Pure state and timers: no sockets, no model.
 */
export class ThreadStateManager {
  private readonly live = new Map<number, string>();
  private readonly threads = new Map<string, ThreadEntry>();
  private readonly byConnection = new Map<number, Set<string>>();
  private readonly timers: Timers;
  private readonly delay: (origin: string | undefined) => number;
  private readonly onIdle: (threadId: string) => void;

  constructor(options: ThreadStateOptions) {
    this.timers = options.timers ?? realTimers;
    const delay = options.unloadDelayMs;
    this.delay = typeof delay === 'function' ? delay : () => delay;
    this.onIdle = options.onIdle;
  }

  // ---- connections -------------------------------------------------------------------------

  /** An initialized connection; only these can subscribe. */
  connectionInitialized(connectionId: number, origin: string): void {
    this.live.set(connectionId, origin);
    if (!this.byConnection.has(connectionId)) this.byConnection.set(connectionId, new Set());
  }

  isLive(connectionId: number): boolean {
    return this.live.has(connectionId);
  }

  /**
   * A connection is gone: it is unsubscribed from everything and can never subscribe again. The
   * threads and their running turns go on. Returns the threads left without subscribers.
   */
  removeConnection(connectionId: number): string[] {
    const origin = this.live.get(connectionId);
    this.live.delete(connectionId);
    const threadIds = this.byConnection.get(connectionId) ?? new Set<string>();
    this.byConnection.delete(connectionId);
    const orphaned: string[] = [];
    for (const threadId of threadIds) {
      const entry = this.threads.get(threadId);
      if (!entry) continue;
      entry.subscribers.delete(connectionId);
      entry.sorted = undefined;
      if (origin !== undefined) entry.lastOrigin = origin;
      if (entry.subscribers.size === 0) {
        orphaned.push(threadId);
        this.edge(entry, false);
      }
      this.reschedule(threadId, entry);
    }
    return orphaned;
  }

  // ---- threads -----------------------------------------------------------------------------

  /** A thread was loaded. Without subscribers its idle clock starts now. */
  addThread(threadId: string): void {
    if (this.threads.has(threadId)) return;
    const entry: ThreadEntry = {
      subscribers: new Set(),
      sorted: undefined,
      watchers: new Set(),
      listenerGeneration: 0,
      listenerInstalled: false,
      active: false,
      resumesInFlight: 0,
      unloading: false,
      lastOrigin: undefined,
      timer: undefined,
    };
    this.threads.set(threadId, entry);
    this.reschedule(threadId, entry);
  }

  hasThread(threadId: string): boolean {
    return this.threads.has(threadId);
  }

  loadedThreadIds(): string[] {
    return [...this.threads.keys()];
  }

  /** Forgets a thread entirely (after it unloaded): subscriptions both ways, listener, timers. */
  removeThread(threadId: string): void {
    const entry = this.threads.get(threadId);
    if (!entry) return;
    this.timers.clearTimeout(entry.timer);
    for (const connectionId of entry.subscribers)
      this.byConnection.get(connectionId)?.delete(threadId);
    if (entry.subscribers.size > 0) this.edge(entry, false);
    entry.subscribers.clear();
    entry.sorted = undefined;
    entry.listenerInstalled = false;
    this.threads.delete(threadId);
  }

  // ---- subscriptions -----------------------------------------------------------------------

  /** Subscribes a live connection. A closed connection or a closing thread is refused. */
  subscribe(threadId: string, connectionId: number): SubscribeResult {
    const entry = this.threads.get(threadId);
    if (!entry) return 'notLoaded';
    if (entry.unloading) return 'closing';
    if (!this.live.has(connectionId)) return 'connectionClosed';
    if (entry.subscribers.has(connectionId)) return 'alreadySubscribed';
    entry.subscribers.add(connectionId);
    entry.sorted = undefined;
    this.byConnection.get(connectionId)?.add(threadId);
    if (entry.subscribers.size === 1) this.edge(entry, true);
    this.reschedule(threadId, entry);
    return 'subscribed';
  }

  unsubscribe(threadId: string, connectionId: number): UnsubscribeResult {
    const entry = this.threads.get(threadId);
    if (!entry) return 'notLoaded';
    if (!entry.subscribers.delete(connectionId)) return 'notSubscribed';
    entry.sorted = undefined;
    this.byConnection.get(connectionId)?.delete(threadId);
    entry.lastOrigin = this.live.get(connectionId) ?? entry.lastOrigin;
    if (entry.subscribers.size === 0) this.edge(entry, false);
    this.reschedule(threadId, entry);
    return 'unsubscribed';
  }

  isSubscribed(threadId: string, connectionId: number): boolean {
    return this.threads.get(threadId)?.subscribers.has(connectionId) ?? false;
  }

  /** Current subscribers in ascending id order (read per event: fan-out follows changes). */
  subscribers(threadId: string): readonly number[] {
    const entry = this.threads.get(threadId);
    if (!entry) return [];
    entry.sorted ??= [...entry.subscribers].sort((a, b) => a - b);
    return entry.sorted;
  }

  threadsOf(connectionId: number): string[] {
    return [...(this.byConnection.get(connectionId) ?? [])];
  }

  /**
   * Calls `watcher` on each change between "has subscribers" and "has none" (edges only, never
   * twice for the same state). Returns an unsubscribe function.
   */
  watchHasSubscribers(threadId: string, watcher: (hasSubscribers: boolean) => void): () => void {
    const entry = this.threads.get(threadId);
    if (!entry) return () => undefined;
    entry.watchers.add(watcher);
    return () => entry.watchers.delete(watcher);
  }

  // ---- listeners ---------------------------------------------------------------------------

  /** Installs a new listener for the thread; returns its generation (older ones are superseded). */
  installListener(threadId: string): number {
    const entry = this.require(threadId);
    entry.listenerGeneration += 1;
    entry.listenerInstalled = true;
    return entry.listenerGeneration;
  }

  isCurrentListener(threadId: string, generation: number): boolean {
    const entry = this.threads.get(threadId);
    return entry?.listenerInstalled === true && entry.listenerGeneration === generation;
  }

  /**
   * Clears the listener only if `generation` is still the current one: a superseded listener that
   * exits late never clears its replacement. Returns whether it cleared.
   */
  clearListener(threadId: string, generation: number): boolean {
    const entry = this.threads.get(threadId);
    if (!entry?.listenerInstalled || entry.listenerGeneration !== generation) return false;
    entry.listenerInstalled = false;
    return true;
  }

  // ---- activity ----------------------------------------------------------------------------

  /** The thread started or stopped running a turn; a running thread never unloads. */
  setActive(threadId: string, active: boolean): void {
    const entry = this.threads.get(threadId);
    if (!entry || entry.active === active) return;
    entry.active = active;
    this.reschedule(threadId, entry);
  }

  isActive(threadId: string): boolean {
    return this.threads.get(threadId)?.active ?? false;
  }

  /** Any activity on the thread restarts its idle clock. */
  noteActivity(threadId: string): void {
    const entry = this.threads.get(threadId);
    if (entry && entry.timer !== undefined) this.reschedule(threadId, entry, true);
  }

  // ---- resume and unload -------------------------------------------------------------------

  /** Marks a resume in flight (holds off unloading); false if the thread is closing or gone. */
  beginResume(threadId: string): boolean {
    const entry = this.threads.get(threadId);
    if (!entry || entry.unloading) return false;
    entry.resumesInFlight += 1;
    this.reschedule(threadId, entry);
    return true;
  }

  endResume(threadId: string): void {
    const entry = this.threads.get(threadId);
    if (!entry || entry.resumesInFlight === 0) return;
    entry.resumesInFlight -= 1;
    this.reschedule(threadId, entry);
  }

  /** True when the thread may unload now: loaded, no subscribers, idle, no resume in flight. */
  canUnload(threadId: string): boolean {
    const entry = this.threads.get(threadId);
    return entry !== undefined && this.eligible(entry);
  }

  /**
   * Claims the unload of a thread after re-checking the policy. While claimed, subscribes and
   * resumes are refused ("closing"). False if already claimed or no longer eligible.
   */
  beginUnload(threadId: string): boolean {
    const entry = this.threads.get(threadId);
    if (!entry || !this.eligible(entry)) return false;
    entry.unloading = true;
    this.timers.clearTimeout(entry.timer);
    entry.timer = undefined;
    return true;
  }

  isUnloading(threadId: string): boolean {
    return this.threads.get(threadId)?.unloading ?? false;
  }

  /** Gives up a claimed unload (for example when the runtime refused to shut down). */
  cancelUnload(threadId: string): void {
    const entry = this.threads.get(threadId);
    if (!entry?.unloading) return;
    entry.unloading = false;
    this.reschedule(threadId, entry);
  }

  // ---- internals ---------------------------------------------------------------------------

  private require(threadId: string): ThreadEntry {
    const entry = this.threads.get(threadId);
    if (!entry) throw new Error(`thread not loaded: ${threadId}`);
    return entry;
  }

  private eligible(entry: ThreadEntry): boolean {
    return (
      !entry.unloading &&
      entry.subscribers.size === 0 &&
      !entry.active &&
      entry.resumesInFlight === 0
    );
  }

  private edge(entry: ThreadEntry, hasSubscribers: boolean): void {
    for (const watcher of [...entry.watchers]) watcher(hasSubscribers);
  }

  /** Arms the idle timer when the thread is eligible, disarms it otherwise. */
  private reschedule(threadId: string, entry: ThreadEntry, restart = false): void {
    const eligible = this.eligible(entry);
    if (entry.timer !== undefined && (!eligible || restart)) {
      this.timers.clearTimeout(entry.timer);
      entry.timer = undefined;
    }
    if (eligible && entry.timer === undefined) {
      entry.timer = this.timers.setTimeout(() => {
        entry.timer = undefined;
        if (this.threads.get(threadId) === entry && this.eligible(entry)) this.onIdle(threadId);
      }, this.delay(entry.lastOrigin));
    }
  }
}
