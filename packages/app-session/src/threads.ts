import { modeOfPolicy, type RuntimeFactory, type ThreadSettings } from '@tether/agent-core';
import type { OutboundRouter, ServerRequests } from '@tether/outbound-router';
import { app, invalidRequest, RpcError } from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import {
  type AppendRecord,
  previewOfItem,
  type StoredTokenUsage,
  type ThreadDescription,
  ThreadJournal,
  type ThreadStore,
  type UnreadableLine,
} from '@tether/thread-store';
import type { Logger } from '@tether/transport';
import { type ListenerThread, ThreadListener } from './listener.js';
import { serverNotification } from './notify.js';
import type { AfterReply } from './reply.js';
import {
  applyExtraOverrides,
  applyOverrides,
  DEFAULT_EXTRAS,
  extrasFromStored,
  initialSettings,
  type SettingsDefaults,
  type SettingsExtras,
  sessionResult,
  settingsFromStored,
} from './settings.js';
import { ThreadDurability } from './thread-durability.js';
import { storeError, threadErrors } from './thread-errors.js';
import { parseThreadId } from './thread-id.js';
import { ThreadViews } from './thread-views.js';

/** A thread this server has loaded: its runtime, listener and live state. */
export interface LoadedThread {
  readonly id: string;
  /** The thread as stored (no turns); status and environments are overlaid by `view`. */
  thread: app.Thread;
  settings: ThreadSettings;
  readonly listener: ThreadListener;
  status: app.ThreadStatus;
  readonly ephemeral: boolean;
  readonly journal: ThreadJournal | null;
  /** Read state and last token usage, kept current by the listener. */
  readonly record: ListenerThread;
  /** Settings reported and persisted that the agent does not read. */
  extras: SettingsExtras;
  goal: app.ThreadGoal | null;
  /** Submissions waiting for a turn (`thread/queue/*`). */
  queue: app.QueuedSubmission[];
  /** Whether a client used the queue since the thread was loaded (it then hears of every change). */
  queueUsed: boolean;
  /** The turn started last, until it completes (it may not have reached the listener yet). */
  runningTurn: string | null;
  /** Set while a delete, revert or archive takes the thread down: the queue does not drain. */
  closing: boolean;
  /** Lines of the rollout that could not be read when the thread was loaded (clients are told). */
  readonly unreadable: readonly UnreadableLine[];
  /** Idle unloading is held off until the journal's waiting records are on disk. */
  unloadHeld: boolean;
}

export interface ThreadManagerDeps {
  store: ThreadStore;
  state: ThreadStateManager;
  router: OutboundRouter;
  requests: ServerRequests;
  runtimeFactory: RuntimeFactory;
  defaults: SettingsDefaults | (() => SettingsDefaults);
  logger: Logger;
  /** The name of the first client, recorded as a new thread's originator. */
  originator: () => string | null;
  cliVersion: string;
  /** How long a finished turn waits for its records to reach the disk (default 30 s). */
  persistTimeoutMs?: number;
  /** First retry delay of records the disk refused (default 100 ms). */
  persistRetryDelayMs?: number;
  /** Most records kept waiting for the disk per thread (the journal's default when unset). */
  persistMaxPending?: number;
}

export const FULL_HISTORY_NOTICE = {
  summary:
    'Full-history hydration is deprecated for paginated threads; use `excludeTurns: true`, then page with `thread/turns/list` and `thread/items/list`.',
  details: null,
};

type ResumeResult = app.ResultOf<'thread/resume'>;

/** How long a finished turn waits for its records to reach a slow or full disk. */
export const DEFAULT_PERSIST_TIMEOUT_MS = 30_000;
/** How often records are retried while someone waits for them (closing a thread). */
const DEFAULT_PERSIST_RETRY_MS = 100;

/** What a thread is loaded with: its stored state, or a new thread's. */
interface LoadInput {
  thread: app.Thread;
  settings: ThreadSettings;
  extras?: SettingsExtras;
  ephemeral: boolean;
  conversation: readonly app.ResponseItem[];
  tokenUsage: StoredTokenUsage | null;
  readState: app.ThreadReadState | null;
  goal: app.ThreadGoal | null;
  queue?: app.QueuedSubmission[];
  unreadable?: readonly UnreadableLine[];
  /** The model the thread last ran with, when it is loaded onto another (a stored thread's). */
  previousModel?: string | null;
}

/**
 * The loaded threads of an app-server: their runtimes and listeners; start, resume, fork, revert,
 * delete and archive; subscriptions; idle unloading. Operations that change what a thread is
 * (load, delete, revert, archive, turn start) run one at a time per thread.
 */
export class ThreadManager {
  private readonly loaded = new Map<string, LoadedThread>();
  private readonly exclusive = new Map<string, Promise<unknown>>();
  private readonly persistTimeoutMs: number;
  /** How loaded threads read to clients. */
  readonly views: ThreadViews;
  private readonly durability: ThreadDurability;

  constructor(private readonly deps: ThreadManagerDeps) {
    this.persistTimeoutMs = deps.persistTimeoutMs ?? DEFAULT_PERSIST_TIMEOUT_MS;
    this.views = new ThreadViews(deps.store);
    this.durability = new ThreadDurability({
      timeoutMs: this.persistTimeoutMs,
      retryDelayMs: deps.persistRetryDelayMs ?? DEFAULT_PERSIST_RETRY_MS,
      logger: deps.logger,
    });
  }

  /** The defaults of new threads now (the configuration is read again for each). */
  private defaults(): SettingsDefaults {
    const { defaults } = this.deps;
    return typeof defaults === 'function' ? defaults() : defaults;
  }

  get store(): ThreadStore {
    return this.deps.store;
  }

  /** The settings a new thread would get (for `config/read`). */
  defaultSettings(): ThreadSettings {
    return initialSettings(this.defaults(), process.cwd());
  }

  loadedIds(): string[] {
    return [...this.loaded.keys()];
  }

  isLoaded(threadId: string): boolean {
    return this.loaded.has(threadId);
  }

  /** The loaded thread, if this server has it and it is not unloading. */
  get(threadId: string): LoadedThread | undefined {
    const loaded = this.loaded.get(threadId);
    return loaded && !this.deps.state.isUnloading(threadId) ? loaded : undefined;
  }

  /** True while some loaded thread runs a turn. */
  anyActive(): boolean {
    for (const thread of this.loaded.values()) {
      if (thread.status.type === 'active') return true;
    }
    return false;
  }

  /** Runs `fn` after every earlier operation on the same thread, and before any later one. */
  serialized<T>(threadId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.exclusive.get(threadId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.exclusive.set(threadId, settled);
    void settled.then(() => {
      if (this.exclusive.get(threadId) === settled) this.exclusive.delete(threadId);
    });
    return run;
  }

  // ---- start / resume / fork ---------------------------------------------------------------

  async start(connectionId: number, params: app.ThreadStartParams, reply: AfterReply) {
    const base = initialSettings(this.defaults(), process.cwd());
    const settings = applyOverrides(base, params);
    const ephemeral = params.ephemeral === true;
    const input = {
      cwd: settings.cwd,
      model: settings.model,
      modelProvider: settings.modelProvider,
      // config's model_reasoning_effort: kept so a resumed thread reasons as it did
      reasoningEffort: settings.reasoningEffort,
      originator: this.deps.originator(),
      cliVersion: this.deps.cliVersion,
      settings: storedSettings(settings),
    };
    let thread: app.Thread;
    try {
      if (ephemeral) {
        thread = this.deps.store.describeEphemeralThread(input);
      } else {
        thread = this.deps.store.createThread(input).thread;
        this.claimNew(thread);
      }
    } catch (error) {
      throw storeError(error);
    }
    const loaded = this.load({
      thread,
      settings,
      ephemeral,
      conversation: [],
      tokenUsage: null,
      readState: null,
      goal: null,
    });
    this.deps.state.subscribe(loaded.id, connectionId);
    const sources = await this.instructionSources(loaded);
    reply.afterReply(() =>
      this.deps.router.broadcast(
        serverNotification('thread/started', { thread: this.views.view(loaded, []) }),
      ),
    );
    return sessionResult(this.views.view(loaded, []), settings, loaded.extras, sources);
  }

  /**
   * The AGENTS.md files the thread's turns read for its cwd (read now, as the reference reads them
   * when it loads a thread); none when they cannot be read.
   */
  private async instructionSources(loaded: LoadedThread): Promise<string[]> {
    try {
      return await loaded.listener.runtime.instructionSources(loaded.settings.cwd);
    } catch (error) {
      this.deps.logger.warn({ err: error, threadId: loaded.id }, 'reading AGENTS.md failed');
      return [];
    }
  }

  async fork(connectionId: number, params: app.ThreadForkParams, reply: AfterReply) {
    const sourceId = parseThreadId(params.threadId, { label: 'session' });
    const source = this.loaded.get(sourceId);
    if (source?.ephemeral || !this.deps.store.hasThread(sourceId)) {
      throw threadErrors.noRollout(sourceId);
    }
    const ephemeral = params.ephemeral === true;
    if (ephemeral && !params.excludeTurns) {
      throw new RpcError(
        invalidRequest('ephemeral paginated thread/fork requires `excludeTurns: true`'),
      );
    }
    if (!params.excludeTurns) {
      // the reference sends the notice once it has the source, even if the fork then fails
      await this.deps.router.toConnection(
        connectionId,
        serverNotification('deprecationNotice', FULL_HISTORY_NOTICE),
      );
    }
    if (params.lastTurnId != null && params.beforeTurnId != null) {
      throw new RpcError(invalidRequest('`beforeTurnId` cannot be combined with `lastTurnId`'));
    }
    if (source) await source.listener.settled();
    const options = {
      ...(params.lastTurnId != null ? { lastTurnId: params.lastTurnId } : {}),
      ...(params.beforeTurnId != null ? { beforeTurnId: params.beforeTurnId } : {}),
    };
    let forked: {
      thread: app.Thread;
      settings: app.JsonObject;
      tokenUsage: StoredTokenUsage | null;
      conversation: app.ResponseItem[];
    };
    try {
      if (ephemeral) {
        forked = this.deps.store.forkEphemeral(sourceId, {
          ...options,
          overrides: { gitInfo: null },
        });
      } else {
        forked = this.deps.store.fork(sourceId, {
          ...options,
          includeTurns: false,
          overrides: { gitInfo: null },
        });
        this.claimNew(forked.thread);
      }
    } catch (error) {
      throw storeError(error, sourceId);
    }
    const stored = settingsFromStored(forked.settings, forked.thread, this.defaults());
    // a fork reasons as configured, not with the effort the source was given (the reference's)
    const settings = applyOverrides(
      { ...stored, reasoningEffort: this.defaults().reasoningEffort ?? null },
      params,
    );
    const loaded = this.load({
      thread: forked.thread,
      settings,
      previousModel: stored.model,
      ephemeral,
      conversation: forked.conversation,
      tokenUsage: forked.tokenUsage,
      readState: null,
      goal: null,
    });
    if (persistedForm(settings) !== persistedForm(stored)) this.persistSettings(loaded);
    this.deps.state.subscribe(loaded.id, connectionId);
    const turns = params.excludeTurns ? [] : this.views.fullTurns(loaded);
    const sources = await this.instructionSources(loaded);
    reply.afterReply(() =>
      this.deps.router.broadcast(
        serverNotification('thread/started', { thread: this.views.view(loaded, []) }),
      ),
    );
    return sessionResult(this.views.view(loaded, turns), settings, loaded.extras, sources);
  }

  /**
   * Resume: a loaded thread is rejoined inside its listener (snapshot and subscription atomic
   * against the event stream; then the response, then the replay of pending server requests with
   * their original ids). A stored thread is loaded first (cold resume): every client hears it is
   * idle, and the resuming one gets the thread's last token usage.
   */
  async resume(connectionId: number, params: app.ThreadResumeParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId, { label: 'session' });
    const { state, router } = this.deps;
    const loadedNow = await this.serialized(threadId, async () => {
      let loaded = this.loaded.get(threadId);
      if (loaded?.ephemeral) throw threadErrors.noRollout(threadId);
      if (loaded && this.shouldRebuild(loaded, params)) {
        // an idle cached thread nobody watches is rebuilt with the new overrides, not reused
        await this.durability.requireDurable(loaded, 'thread/resume');
        await this.unloadNow(threadId, false);
        loaded = undefined;
      }
      if (loaded) return { loaded, cold: false, unreadable: loaded.unreadable };
      const stored = this.loadStored(threadId, params);
      return { ...stored, cold: true };
    });
    const current = loadedNow.loaded;
    const closing = () =>
      new RpcError(
        invalidRequest(
          `thread ${threadId} is closing; retry thread/resume after the thread is closed`,
        ),
      );
    if (!state.beginResume(threadId)) throw closing();
    let resuming = true;
    const endResume = () => {
      if (resuming) state.endResume(threadId);
      resuming = false;
    };
    try {
      return await new Promise<ResumeResult>((resolve, reject) => {
        current.listener
          .enqueue(async () => {
            const subscribed = state.subscribe(threadId, connectionId);
            if (subscribed === 'connectionClosed') {
              // the client is gone: the answer has nowhere to go
              reject(new RpcError(invalidRequest('connection closed')));
              return;
            }
            if (subscribed === 'closing' || subscribed === 'notLoaded') throw closing();
            await this.warnUnreadable(connectionId, current, loadedNow.unreadable);
            if (!params.excludeTurns) {
              await router.toConnection(
                connectionId,
                serverNotification('deprecationNotice', FULL_HISTORY_NOTICE),
              );
            }
            if (loadedNow.cold) {
              await router.broadcast(
                serverNotification('thread/status/changed', { threadId, status: current.status }),
              );
            }
            const turns = params.excludeTurns ? [] : this.views.fullTurns(current);
            const sources = await this.instructionSources(current);
            // the thread's events wait behind this task until the answer and what must follow
            // it (usage, goal, the replay of pending approvals) are out
            const followed = new Promise<void>((done) => {
              reply.afterReply(async () => {
                try {
                  await this.afterResume(connectionId, current, loadedNow.cold, params);
                } finally {
                  endResume();
                  done();
                }
              });
            });
            resolve({
              ...sessionResult(
                this.views.view(current, turns),
                current.settings,
                current.extras,
                sources,
              ),
              collaborationMode: this.views.collaborationMode(current),
              initialTurnsPage: params.initialTurnsPage
                ? this.views.initialTurnsPage(current, params.initialTurnsPage)
                : null,
              ...this.views.backwardsCursors(current),
            });
            await followed;
          })
          .catch(reject);
      });
    } catch (error) {
      endResume();
      throw error;
    }
  }

  /** What a resuming client hears right after the answer: usage, the goal, pending approvals. */
  private async afterResume(
    connectionId: number,
    current: LoadedThread,
    cold: boolean,
    params: app.ThreadResumeParams,
  ): Promise<void> {
    const { router, requests } = this.deps;
    const threadId = current.id;
    const usage = current.record.tokenUsage;
    if (usage && (cold || !params.excludeTurns)) {
      await router.toConnection(
        connectionId,
        serverNotification('thread/tokenUsage/updated', { threadId, ...usage }),
      );
    }
    await router.broadcast(
      current.goal
        ? serverNotification('thread/goal/updated', { threadId, turnId: null, goal: current.goal })
        : serverNotification('thread/goal/cleared', { threadId }),
    );
    await requests.replayTo(connectionId, threadId);
  }

  /**
   * Claims a thread this server just created. Its id is new and random, so nobody else holds it;
   * if the lock cannot be taken at all (no room for the lock file), the thread is removed again
   * rather than left behind unowned.
   */
  private claimNew(thread: app.Thread): void {
    try {
      this.deps.store.claim(thread.id);
    } catch (error) {
      try {
        this.deps.store.discardNewThread(thread.id);
      } catch {
        // nothing more can be done than saying why the thread could not be started
      }
      throw error;
    }
  }

  private shouldRebuild(loaded: LoadedThread, params: app.ThreadResumeParams): boolean {
    if (loaded.status.type === 'active') return false;
    if (this.deps.state.subscribers(loaded.id).length > 0) return false;
    if (this.deps.state.isUnloading(loaded.id)) return false;
    const wanted = applyOverrides(loaded.settings, params);
    return (
      wanted.cwd !== loaded.settings.cwd ||
      wanted.model !== loaded.settings.model ||
      wanted.modelProvider !== loaded.settings.modelProvider
    );
  }

  /** Loads a stored thread for writing: its writer lock, its conversation, its live state. */
  private loadStored(
    threadId: string,
    params: app.ThreadResumeParams,
  ): { loaded: LoadedThread; unreadable: UnreadableLine[] } {
    const { store } = this.deps;
    if (!store.hasThread(threadId)) throw threadErrors.noRollout(threadId);
    try {
      store.claim(threadId);
    } catch (error) {
      throw storeError(error, threadId);
    }
    try {
      const stored = store.readThread(threadId);
      if (stored.archived) {
        throw new RpcError(invalidRequest(`thread ${threadId} is archived; unarchive it first`));
      }
      const last = settingsFromStored(stored.settings, stored.thread, this.defaults());
      // resumed with a model named, it reasons as configured; else with the effort it had (the
      // reference's rule, even when the named model is the one it had)
      const base =
        params.model != null
          ? { ...last, reasoningEffort: this.defaults().reasoningEffort ?? null }
          : last;
      const settings = applyOverrides(base, params);
      const goal = app.ThreadGoal.safeParse(stored.goal);
      const loaded = this.load({
        thread: stored.thread,
        settings,
        previousModel: last.model,
        extras: extrasFromStored(stored.settings),
        ephemeral: false,
        conversation: stored.conversation,
        tokenUsage: stored.tokenUsage,
        readState: stored.readState,
        goal: goal.success ? goal.data : null,
        queue: stored.queue,
        unreadable: stored.unreadable,
      });
      // what the resume changed (another model, cwd, …) is the thread's from now on
      if (persistedForm(settings) !== persistedForm(last)) this.persistSettings(loaded);
      return { loaded, unreadable: stored.unreadable };
    } catch (error) {
      store.release(threadId);
      throw storeError(error, threadId);
    }
  }

  private load(input: LoadInput): LoadedThread {
    const { state, runtimeFactory, logger, store, router } = this.deps;
    const id = input.thread.id;
    state.addThread(id);
    const record: ListenerThread = {
      persisted: !input.ephemeral,
      readState: input.readState,
      tokenUsage: input.tokenUsage,
      turnTokens: new Map(),
    };
    // one warning per episode of dropped records, not one per record
    let droppedWarned = false;
    const journal = input.ephemeral
      ? null
      : new ThreadJournal(store, id, {
          logger,
          ...(this.deps.persistRetryDelayMs !== undefined
            ? { retryDelayMs: this.deps.persistRetryDelayMs }
            : {}),
          ...(this.deps.persistMaxPending !== undefined
            ? { maxPending: this.deps.persistMaxPending }
            : {}),
          onTrouble: (trouble) => {
            const message = `tether cannot save this thread to ${trouble.path ?? 'its rollout'}: ${trouble.errno} (${trouble.message}); ${trouble.pending} record(s) are kept in memory and retried until the disk takes them`;
            const subscribers = state.subscribers(id);
            void router.toConnections(
              subscribers,
              serverNotification('warning', { threadId: id, message }),
            );
            const turnId = this.loaded.get(id)?.listener.liveTurnId();
            if (turnId) {
              void router.toConnections(
                subscribers,
                serverNotification('error', {
                  threadId: id,
                  turnId,
                  error: { message, codexErrorInfo: null, additionalDetails: null },
                  willRetry: true,
                }),
              );
            }
          },
          onDropped: () => {
            // the running turn hears it from its journal (reported failed); subscribers now
            if (droppedWarned) return;
            droppedWarned = true;
            void router.toConnections(
              state.subscribers(id),
              serverNotification('warning', {
                threadId: id,
                message:
                  'tether dropped records of this thread: too many were waiting for the disk; the saved thread will miss them (a running turn is reported failed)',
              }),
            );
          },
          onRecovered: () => {
            droppedWarned = false;
            const loaded = this.loaded.get(id);
            if (loaded) this.releaseUnloadHold(loaded);
            void router.toConnections(
              state.subscribers(id),
              serverNotification('warning', {
                threadId: id,
                message:
                  'tether saved the records it was holding for this thread; nothing was lost',
              }),
            );
          },
        });
    const runtime = runtimeFactory({
      threadId: id,
      settings: input.settings,
      conversation: input.conversation,
      tokenUsage: input.tokenUsage?.tokenUsage ?? null,
      ...(input.previousModel !== undefined ? { previousModel: input.previousModel } : {}),
      logger: logger.child({ threadId: id }),
    });
    const statusHolder: { loaded?: LoadedThread } = {};
    const listener = new ThreadListener(id, runtime, {
      router: this.deps.router,
      requests: this.deps.requests,
      state,
      logger,
      journal,
      thread: record,
      persistTimeoutMs: this.persistTimeoutMs,
      onStatus: (status) => {
        if (statusHolder.loaded) statusHolder.loaded.status = status;
      },
      onItemCompleted: (item) => {
        const loaded = statusHolder.loaded;
        // an ephemeral thread keeps the preview it was created with, as on the reference
        if (loaded?.thread.preview !== '' || loaded.ephemeral) return;
        const preview = previewOfItem(item);
        if (preview) loaded.thread = { ...loaded.thread, preview };
      },
      onTurnCompleted: (turn) => {
        const now = Math.floor(Date.now() / 1000);
        const loaded = statusHolder.loaded;
        if (!loaded) return;
        if (loaded.runningTurn === turn.id) loaded.runningTurn = null;
        loaded.thread = { ...loaded.thread, updatedAt: now, recencyAt: now };
        this.accountGoal(loaded, turn);
        // the queue moves on after a turn that completed, not after an interrupt
        if (turn.status === 'completed') void this.drainQueue(loaded);
      },
    });
    const loaded: LoadedThread = {
      id,
      thread: { ...input.thread, turns: [] },
      settings: input.settings,
      listener,
      status: { type: 'idle' },
      ephemeral: input.ephemeral,
      journal,
      record,
      extras: input.extras ?? DEFAULT_EXTRAS,
      goal: input.goal,
      queue: input.queue ?? [],
      queueUsed: (input.queue?.length ?? 0) > 0,
      runningTurn: null,
      closing: false,
      unreadable: input.unreadable ?? [],
      unloadHeld: false,
    };
    statusHolder.loaded = loaded;
    this.loaded.set(id, loaded);
    return loaded;
  }

  /** The threads each connection was told about unreadable lines of (forgotten when it closes). */
  private readonly warned = new Map<number, Set<string>>();

  /** Tells a client, once per thread and connection, which lines of the rollout it could not read. */
  async warnUnreadable(
    connectionId: number,
    loaded: { id: string; thread: app.Thread },
    lines: readonly UnreadableLine[],
  ): Promise<void> {
    if (lines.length === 0) return;
    let told = this.warned.get(connectionId);
    if (told?.has(loaded.id)) return;
    if (!this.deps.state.isLive(connectionId)) return; // closed (or never initialized)
    if (!told) {
      told = new Set();
      this.warned.set(connectionId, told);
    }
    told.add(loaded.id);
    const listed = lines.map((line) => `line ${line.line} (${line.reason})`).join('; ');
    await this.deps.router.toConnection(
      connectionId,
      serverNotification('warning', {
        threadId: loaded.id,
        message: `skipped ${lines.length} unreadable line(s) of ${loaded.thread.path ?? 'the rollout'}: ${listed}; the rest of the thread loaded`,
      }),
    );
  }

  /** A connection closed: forget which warnings it had. */
  connectionClosed(connectionId: number): void {
    this.warned.delete(connectionId);
  }

  // ---- turns -------------------------------------------------------------------------------

  /** The loaded thread a turn method names, or the reference's `thread not found`. */
  requireLoaded(rawThreadId: string): LoadedThread {
    const threadId = parseThreadId(rawThreadId);
    const loaded = this.get(threadId);
    if (!loaded) throw threadErrors.notFound(threadId);
    return loaded;
  }

  /**
   * Starts a turn (or adds the input to the running one). Overrides stick for later turns; when
   * they change the settings, the change is persisted and subscribers hear it first.
   */
  startTurn(params: app.TurnStartParams): Promise<app.Turn> {
    const threadId = parseThreadId(params.threadId);
    return this.serialized(threadId, async () => {
      const loaded = this.requireLoaded(threadId);
      const before = JSON.stringify(this.views.settingsView(loaded));
      loaded.settings = applyOverrides(loaded.settings, params);
      loaded.extras = applyExtraOverrides(loaded.extras, params);
      const view = this.views.settingsView(loaded);
      if (JSON.stringify(view) !== before) {
        this.persistSettings(loaded);
        await this.deps.router.toConnections(
          this.deps.state.subscribers(threadId),
          serverNotification('thread/settings/updated', { threadId, threadSettings: view }),
        );
      }
      const turn = await loaded.listener.runtime.startTurn({
        input: params.input,
        clientUserMessageId: params.clientUserMessageId ?? null,
        settings: loaded.settings,
      });
      loaded.runningTurn = turn.id;
      return turn;
    });
  }

  /** Whether a turn runs or was just started (the queue waits for it). */
  busy(loaded: LoadedThread): boolean {
    return loaded.runningTurn !== null || loaded.listener.liveTurnId() !== null;
  }

  /** Writes the thread's settings as they are now (read back when it is resumed). */
  persistSettings(loaded: LoadedThread): void {
    if (!loaded.journal) return;
    const s = loaded.settings;
    this.append(loaded, {
      type: 'thread_settings',
      ...persistedSettings(s),
      settings: { ...storedSettings(s), ...loaded.extras },
    });
  }

  /** A stored thread's goal (for a thread this server has not loaded), from the index. */
  storedGoal(threadId: string): app.ThreadGoal | null {
    const goal = app.ThreadGoal.safeParse(this.describeStored(threadId).goal);
    return goal.success ? goal.data : null;
  }

  /** A stored thread's queue (for a thread this server has not loaded), from the index. */
  storedQueue(threadId: string): app.QueuedSubmission[] {
    return this.describeStored(threadId).queue;
  }

  /**
   * Writes a record through a loaded thread's journal from a place that must not throw (a listener
   * callback): a record the store refuses for good is logged and its subscribers are told.
   */
  private append(loaded: LoadedThread, record: AppendRecord): void {
    try {
      loaded.journal?.append(record);
    } catch (error) {
      this.deps.logger.error(
        { err: error, threadId: loaded.id, type: record.type },
        'rollout record refused',
      );
      void this.deps.router.toConnections(
        this.deps.state.subscribers(loaded.id),
        serverNotification('warning', {
          threadId: loaded.id,
          message: `tether could not save part of this thread: ${error instanceof Error ? error.message : String(error)}`,
        }),
      );
    }
  }

  /** What the index holds of a stored thread (the rollout is read only when the index is behind). */
  private describeStored(threadId: string): ThreadDescription {
    let described: ThreadDescription | undefined;
    try {
      described = this.deps.store.describeThread(threadId);
    } catch (error) {
      throw storeError(error, threadId);
    }
    if (!described) throw threadErrors.noRollout(threadId);
    return described;
  }

  /**
   * Counts a finished turn against an active goal: its tokens and time; a goal whose budget ran
   * out becomes `budgetLimited`. Every client hears the new totals.
   */
  private accountGoal(loaded: LoadedThread, turn: app.Turn): void {
    const goal = loaded.goal;
    if (goal?.status !== 'active') return;
    const tokens = loaded.record.turnTokens.get(turn.id) ?? 0;
    loaded.record.turnTokens.delete(turn.id);
    const tokensUsed = goal.tokensUsed + tokens;
    const next: app.ThreadGoal = {
      ...goal,
      tokensUsed,
      timeUsedSeconds: goal.timeUsedSeconds + Math.round((turn.durationMs ?? 0) / 1000),
      status:
        goal.tokenBudget !== null && tokensUsed >= goal.tokenBudget ? 'budgetLimited' : 'active',
      updatedAt: Math.floor(Date.now() / 1000),
    };
    loaded.goal = next;
    this.append(loaded, { type: 'thread_goal', goal: next });
    void this.deps.router.broadcast(
      serverNotification('thread/goal/updated', {
        threadId: loaded.id,
        turnId: turn.id,
        goal: next,
      }),
    );
  }

  /**
   * Starts the next queued submission when the thread is idle (after a completed turn, or an add);
   * a thread whose queue is in use tells its subscribers the queue changed.
   */
  drainQueue(loaded: LoadedThread): Promise<void> {
    // one at a time with delete, revert, archive and turn/start: a turn started here can never
    // land in a thread that is being taken down
    return this.serialized(loaded.id, async () => {
      if (!loaded.queueUsed || loaded.closing || this.get(loaded.id) !== loaded) return;
      const next = loaded.queue[0];
      if (next && !this.busy(loaded)) {
        await this.takeQueued(loaded, next).catch((error: unknown) =>
          this.deps.logger.warn(
            { err: error, threadId: loaded.id },
            'queued submission not started',
          ),
        );
      }
      await this.deps.router.toConnections(
        this.deps.state.subscribers(loaded.id),
        serverNotification('thread/queue/changed', { threadId: loaded.id }),
      );
    });
  }

  /** Takes a submission out of the queue and starts a turn with it (`thread/queue/start`). */
  startQueued(loaded: LoadedThread, submission: app.QueuedSubmission): Promise<app.Turn> {
    return this.serialized(loaded.id, async () => {
      if (loaded.closing || this.get(loaded.id) !== loaded) throw threadErrors.notFound(loaded.id);
      if (this.busy(loaded)) {
        throw new RpcError(invalidRequest('thread already has an active or pending turn'));
      }
      return this.takeQueued(loaded, submission);
    });
  }

  private async takeQueued(
    loaded: LoadedThread,
    submission: app.QueuedSubmission,
  ): Promise<app.Turn> {
    loaded.queue = loaded.queue.filter((entry) => entry.id !== submission.id);
    loaded.journal?.append({ type: 'thread_queue', queue: loaded.queue });
    const turn = await loaded.listener.runtime.startTurn({
      input: submission.input,
      clientUserMessageId: submission.clientUserMessageId,
      settings: loaded.settings,
    });
    loaded.runningTurn = turn.id;
    return turn;
  }

  steer(params: app.TurnSteerParams): Promise<string> {
    const loaded = this.requireLoaded(params.threadId);
    return loaded.listener.runtime.steer(
      {
        input: params.input,
        clientUserMessageId: params.clientUserMessageId ?? null,
        settings: loaded.settings,
      },
      params.expectedTurnId,
    );
  }

  interrupt(params: app.TurnInterruptParams): Promise<void> {
    return this.requireLoaded(params.threadId).listener.runtime.interrupt(params.turnId);
  }

  /** Interrupts the running turn, if any, and waits until its completion went out. */
  private async stopActiveTurn(loaded: LoadedThread): Promise<void> {
    const live = loaded.listener.liveTurnId();
    if (!live || loaded.status.type !== 'active') return;
    const ended = new Promise<void>((resolve) => {
      const check = () => {
        if (loaded.listener.liveTurnId() !== live) resolve();
        else setTimeout(check, 5);
      };
      check();
    });
    await loaded.listener.runtime.interrupt(live).catch(() => undefined);
    await ended;
    await loaded.listener.settled();
  }

  // ---- subscriptions, archive, delete, revert ------------------------------------------------

  unsubscribe(connectionId: number, params: app.ThreadUnsubscribeParams) {
    const threadId = parseThreadId(params.threadId);
    return { status: this.deps.state.unsubscribe(threadId, connectionId) };
  }

  loadedList(params: app.ThreadLoadedListParams) {
    const ids = this.loadedIds().sort();
    const start = params.cursor ? Math.max(0, ids.indexOf(params.cursor) + 1) : 0;
    const limit = params.limit ?? ids.length;
    const data = ids.slice(start, start + limit);
    const next = start + limit < ids.length ? (data[data.length - 1] ?? null) : null;
    return { data, nextCursor: next };
  }

  async archive(params: app.ThreadArchiveParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId, { label: 'session' });
    return this.serialized(threadId, async () => {
      const loaded = this.loaded.get(threadId);
      if (loaded?.ephemeral) throw threadErrors.noRollout(threadId);
      if (!this.deps.store.hasThread(threadId)) throw threadErrors.noRollout(threadId);
      if (loaded) {
        if (loaded.status.type === 'active') {
          throw new RpcError(
            invalidRequest(`thread ${threadId} has a running turn; interrupt it first`),
          );
        }
        await this.closing(loaded, async () => {
          // the rollout moves: what waits for the disk must be in it first
          await this.durability.requireDurable(loaded, 'thread/archive');
          await this.unloadNow(threadId, false);
        });
      }
      try {
        this.deps.store.archive(threadId);
      } catch (error) {
        throw storeError(error, threadId);
      }
      await this.deps.router.broadcast(
        serverNotification('thread/status/changed', { threadId, status: { type: 'notLoaded' } }),
      );
      reply.afterReply(() =>
        this.deps.router.broadcast(serverNotification('thread/archived', { threadId })),
      );
      return {};
    });
  }

  async unarchive(params: app.ThreadUnarchiveParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId);
    let thread: app.Thread;
    try {
      thread = this.deps.store.unarchive(threadId);
    } catch (error) {
      throw storeError(error, threadId);
    }
    reply.afterReply(() =>
      this.deps.router.broadcast(serverNotification('thread/unarchived', { threadId })),
    );
    return { thread };
  }

  /**
   * Deletes a thread for good: a running turn is interrupted, the thread unloads (every client
   * hears it is `notLoaded`), its rollout and index rows go, and every client hears
   * `thread/deleted`; clients that were subscribed also get `thread/closed`.
   */
  async delete(params: app.ThreadDeleteParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId);
    return this.serialized(threadId, async () => {
      const loaded = this.loaded.get(threadId);
      if (loaded?.ephemeral) {
        throw new RpcError(
          invalidRequest(`thread is not persisted and cannot be deleted: ${threadId}`),
        );
      }
      if (!this.deps.store.hasThread(threadId)) throw threadErrors.noRollout(threadId);
      const subscribers = [...this.deps.state.subscribers(threadId)];
      if (loaded) {
        await this.closing(loaded, async () => {
          await this.stopActiveTurn(loaded);
          // records still waiting for the disk go with the thread: nothing is left to keep them
          // for, and a full disk is when deleting threads matters most
          await this.unloadNow(threadId, false, { discardPending: true });
        });
        await this.deps.router.broadcast(
          serverNotification('thread/status/changed', {
            threadId,
            status: { type: 'notLoaded' },
          }),
        );
      }
      try {
        this.deps.store.deleteThread(threadId);
      } catch (error) {
        throw storeError(error, threadId);
      }
      reply.afterReply(async () => {
        await this.deps.router.broadcast(serverNotification('thread/deleted', { threadId }));
        if (subscribers.length > 0) {
          await this.deps.router.toConnections(
            subscribers,
            serverNotification('thread/closed', { threadId }),
          );
        }
      });
      return {};
    });
  }

  /**
   * Replaces the thread's history with the part before `beforeTurnId` (file changes are not
   * undone): a running turn is interrupted, the thread is unloaded, its rollout rewritten in one
   * step, and it is loaded again from that rollout, so the model's next request sees only what
   * remains. The caller is subscribed, as on the reference.
   */
  async revert(connectionId: number, params: app.ThreadRevertParams, reply: AfterReply) {
    const threadId = parseThreadId(params.threadId);
    return this.serialized(threadId, async () => {
      const loaded = this.get(threadId);
      if (!loaded) throw threadErrors.notFound(threadId);
      if (loaded.ephemeral) {
        throw new RpcError(invalidRequest('ephemeral threads do not support thread/revert'));
      }
      const { router, store } = this.deps;
      const settings = loaded.settings;
      let subscribers: number[] = [];
      await this.closing(loaded, async () => {
        await this.stopActiveTurn(loaded);
        // the rollout is rewritten from what is on disk: what waits must be there first
        await this.durability.requireDurable(loaded, 'thread/revert');
        subscribers = [...this.deps.state.subscribers(threadId)];
        await this.unloadNow(threadId, false);
      });
      await router.broadcast(
        serverNotification('thread/status/changed', { threadId, status: { type: 'notLoaded' } }),
      );
      let failure: unknown;
      try {
        store.revert(threadId, params.beforeTurnId);
      } catch (error) {
        failure = error;
      }
      // reloaded either way: a revert that failed leaves the thread as it was, loaded again
      const reloaded = this.loadStored(threadId, {
        threadId,
        cwd: settings.cwd,
        model: settings.model,
        approvalPolicy: settings.approvalPolicy,
      }).loaded;
      reloaded.settings = settings;
      for (const subscriber of new Set([...subscribers, connectionId])) {
        this.deps.state.subscribe(threadId, subscriber);
      }
      await router.broadcast(
        serverNotification('thread/status/changed', { threadId, status: reloaded.status }),
      );
      if (failure !== undefined) throw storeError(failure, threadId);
      reply.afterReply(() => router.broadcast(serverNotification('thread/reverted', { threadId })));
      return { thread: this.views.view(reloaded, []), ...this.views.backwardsCursors(reloaded) };
    });
  }

  /** Appends raw Responses API items to the model-visible conversation (`thread/inject_items`). */
  async injectItems(params: app.ThreadInjectItemsParams): Promise<Record<string, never>> {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.get(threadId);
    if (!loaded) throw threadErrors.notFound(threadId);
    if (params.items.length === 0) throw new RpcError(invalidRequest('items must not be empty'));
    const items: app.ResponseItem[] = [];
    params.items.forEach((raw, i) => {
      const parsed = app.ResponseItem.safeParse(raw);
      if (!parsed.success) {
        throw new RpcError(
          invalidRequest(`items[${i}] is not a valid response item: ${describeItemProblem(raw)}`),
        );
      }
      items.push(parsed.data);
    });
    await loaded.listener.runtime.injectItems(items);
    return {};
  }

  /**
   * Compacts the thread's conversation in a turn of its own (`thread/compact/start`), with the
   * thread's current settings; a running turn is interrupted first, as the reference does.
   */
  compact(params: app.ThreadCompactStartParams): Promise<Record<string, never>> {
    const threadId = parseThreadId(params.threadId);
    return this.serialized(threadId, async () => {
      const loaded = this.requireLoaded(threadId);
      const turn = await loaded.listener.runtime.compact(loaded.settings);
      loaded.runningTurn = turn.id;
      return {};
    });
  }

  // ---- unloading ---------------------------------------------------------------------------

  /**
   * Called by the idle policy: claim, shut the runtime down, forget the thread, say so. A thread
   * whose records still wait for the disk stays loaded (its journal keeps retrying) until they are
   * written; the idle clock starts again then.
   */
  async unloadIdle(threadId: string): Promise<void> {
    const { state, logger } = this.deps;
    if (!state.beginUnload(threadId)) return;
    const loaded = this.loaded.get(threadId);
    const journal = loaded?.journal;
    if (loaded && journal && journal.pending > 0 && !journal.flush()) {
      state.cancelUnload(threadId);
      if (!loaded.unloadHeld) {
        logger.info(
          { threadId, pending: journal.pending },
          'thread stays loaded until its records are on disk',
        );
        // held like a resume in flight: not eligible to unload until the disk took everything
        // (released when the journal has written what waited)
        loaded.unloadHeld = state.beginResume(threadId);
      }
      return;
    }
    await this.finishUnload(threadId, true);
  }

  private releaseUnloadHold(loaded: LoadedThread): void {
    if (!loaded.unloadHeld) return;
    loaded.unloadHeld = false;
    if (this.loaded.get(loaded.id) === loaded) this.deps.state.endResume(loaded.id);
  }

  /** Runs `fn` with the thread marked closing (its queue does not drain meanwhile). */
  private async closing<T>(loaded: LoadedThread, fn: () => Promise<T>): Promise<T> {
    loaded.closing = true;
    try {
      return await fn();
    } finally {
      loaded.closing = false;
    }
  }

  /**
   * Unloads a thread now (delete, revert, archive, a resume that rebuilds it). Refuses, leaving the
   * thread and its subscribers as they were, while a turn runs or a resume is in flight.
   */
  private async unloadNow(
    threadId: string,
    announce: boolean,
    options: { discardPending?: boolean } = {},
  ): Promise<void> {
    const { state } = this.deps;
    const busy = () => new RpcError(invalidRequest(`thread ${threadId} is busy; retry later`));
    if (state.isActive(threadId) || state.isUnloading(threadId)) throw busy();
    const loaded = this.loaded.get(threadId);
    // records on disk by now (the caller waited for them), or given up: nothing left to hold for
    if (loaded && (options.discardPending || (loaded.journal?.pending ?? 0) === 0)) {
      this.releaseUnloadHold(loaded);
    }
    const subscribers = [...state.subscribers(threadId)];
    for (const connectionId of subscribers) state.unsubscribe(threadId, connectionId);
    if (!state.beginUnload(threadId)) {
      // a resume in flight: the thread stays, and so do its subscribers
      for (const connectionId of subscribers) state.subscribe(threadId, connectionId);
      throw busy();
    }
    await this.finishUnload(threadId, announce, options);
  }

  private async finishUnload(
    threadId: string,
    announce: boolean,
    options: { discardPending?: boolean } = {},
  ): Promise<void> {
    const { state, requests, logger, router, store } = this.deps;
    const loaded = this.loaded.get(threadId);
    if (!loaded) {
      state.removeThread(threadId);
      return;
    }
    logger.info({ threadId }, 'thread has no subscribers and is idle; shutting down');
    requests.cancelForThread(threadId);
    try {
      await loaded.listener.runtime.shutdown();
      await loaded.listener.done;
    } catch (error) {
      logger.warn({ err: error, threadId }, 'thread runtime failed to shut down');
    }
    // a resume may have replaced the runtime meanwhile: only remove the one we shut down
    if (this.loaded.get(threadId) === loaded) {
      this.loaded.delete(threadId);
      this.releaseUnloadHold(loaded);
      await this.durability.closeJournal(
        loaded,
        options.discardPending ? null : this.persistTimeoutMs,
      );
      if (!loaded.ephemeral) store.release(threadId);
    } else {
      logger.warn({ threadId }, 'thread was replaced before teardown finalized');
    }
    state.removeThread(threadId);
    if (announce) {
      await router.broadcast(
        serverNotification('thread/status/changed', { threadId, status: { type: 'notLoaded' } }),
      );
      await router.broadcast(serverNotification('thread/closed', { threadId }));
    }
  }

  /**
   * Shuts every runtime down (server shutdown). Records waiting for the disk get as long as a
   * finished turn would to be written; the log says how many of each thread's were lost.
   */
  async shutdownAll(): Promise<void> {
    await Promise.all(
      [...this.loaded.values()].map(async (loaded) => {
        this.deps.requests.cancelForThread(loaded.id);
        await loaded.listener.runtime.shutdown().catch(() => undefined);
        await loaded.listener.done;
        await this.durability.closeJournal(loaded, this.persistTimeoutMs);
        if (!loaded.ephemeral) this.deps.store.release(loaded.id);
      }),
    );
  }

  /** Resolves once no thread runs a turn. */
  async waitForIdle(pollMs = 50): Promise<void> {
    while (this.anyActive()) await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}

/** The settings a `thread_settings` record holds besides the extras. */
function persistedSettings(s: ThreadSettings) {
  return {
    cwd: s.cwd,
    model: s.model,
    modelProvider: s.modelProvider,
    reasoningEffort: s.reasoningEffort,
  };
}

/** What of the settings is stored, to tell whether they changed. */
function persistedForm(s: ThreadSettings): string {
  return JSON.stringify({ ...persistedSettings(s), ...storedSettings(s) });
}

function storedSettings(settings: ThreadSettings): app.JsonObject {
  return {
    approvalPolicy: settings.approvalPolicy,
    sandbox: modeOfPolicy(settings.sandbox),
    sandboxPolicy: settings.sandbox,
    activePermissionProfile: settings.activePermissionProfile,
    baseInstructions: settings.baseInstructions,
    developerInstructions: settings.developerInstructions,
    // read back by settingsFromStored: a resumed thread keeps its summary mode and tier
    reasoningSummary: settings.reasoningSummary,
    serviceTier: settings.serviceTier,
  };
}

/** Why a value is not a Responses API item, in the reference's (serde's) words. */
function describeItemProblem(raw: unknown): string {
  if (raw === null) return 'invalid type: null, expected internally tagged enum ResponseItem';
  if (typeof raw === 'number') {
    return `invalid type: ${Number.isInteger(raw) ? 'integer' : 'floating point'} \`${raw}\`, expected internally tagged enum ResponseItem`;
  }
  if (typeof raw === 'string') {
    return `invalid type: string ${JSON.stringify(raw)}, expected internally tagged enum ResponseItem`;
  }
  if (typeof raw === 'boolean') {
    return `invalid type: boolean \`${raw}\`, expected internally tagged enum ResponseItem`;
  }
  if (Array.isArray(raw))
    return 'invalid type: sequence, expected internally tagged enum ResponseItem';
  return 'missing field `type`';
}
