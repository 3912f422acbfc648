import { randomUUID } from 'node:crypto';
import type {
  ThreadEvent,
  ThreadNotification,
  ThreadRuntime,
  ThreadServerRequest,
} from '@tether/agent-core';
import type {
  OutboundRouter,
  ServerRequestOutcome as RoutedOutcome,
  ServerRequests,
} from '@tether/outbound-router';
import { app, invalidRequest } from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import type { AppendRecord, JournalTrouble, WhenDurableOptions } from '@tether/thread-store';
import type { Logger } from '@tether/transport';
import { serverNotification } from './notify.js';

/** Where the listener writes what happened: the thread's journal (none for an ephemeral thread). */
export interface ListenerJournal {
  append(record: AppendRecord): void;
  /**
   * Resolves true once everything appended so far (after `since`) is on disk; false after
   * `timeoutMs`, or once one of those records was dropped.
   */
  whenDurable(timeoutMs: number, options?: WhenDurableOptions): Promise<boolean>;
  /** Records appended so far (a point to pass as `since`). */
  readonly appended: number;
  /** Records dropped so far (too many were waiting for the disk). */
  readonly dropped: number;
  /** Replaces waiting records (a turn that could not be saved is written as failed). */
  rewritePending(change: (record: AppendRecord) => AppendRecord): number;
  readonly trouble: JournalTrouble | null;
}

/** The per-thread state the listener keeps current as events pass. */
export interface ListenerThread {
  /** Whether the thread is persisted (an ephemeral one keeps no read state). */
  readonly persisted: boolean;
  readState: app.ThreadReadState | null;
  /** The last token usage reported (a resuming client gets it replayed). */
  tokenUsage: { turnId: string; tokenUsage: app.ThreadTokenUsage } | null;
  /** Tokens each running or just finished turn used (a goal counts them). */
  readonly turnTokens: Map<string, number>;
}

export interface ListenerDeps {
  router: OutboundRouter;
  requests: ServerRequests;
  state: ThreadStateManager;
  logger: Logger;
  journal: ListenerJournal | null;
  thread: ListenerThread;
  /** How long a finished turn waits for its records to reach the disk before it is failed. */
  persistTimeoutMs: number;
  /** Called when the thread's status changes (the manager caches and broadcasts it). */
  onStatus: (status: app.ThreadStatus) => void;
  /** Called after `turn/completed` went out (the queue starts its next submission). */
  onTurnCompleted?: (turn: app.Turn) => void;
  /** Called with each completed item (the first user message becomes the preview). */
  onItemCompleted?: (item: app.ThreadItem) => void;
}

/** What the listener needs of a result schema: a parse that says what it found wrong. */
interface ResultSchema<T> {
  safeParse(raw: unknown): { success: true; data: T } | { success: false; error: Error };
}

/**
 * The result schema of each server request, typed per method so that a parse for a generic method
 * gives that method's result type (the protocol's table, checked against this shape here).
 */
const resultSchemas: {
  readonly [M in app.ServerRequestMethod]: {
    readonly result: ResultSchema<app.ServerRequestResultOf<M>>;
  };
} = app.serverRequests;

/**
 * The one place where a loaded thread's events are handled, strictly in order: runtime events and
 * commands (resume snapshots, resolved server requests) go through the same queue, so a snapshot
 * taken by a command and the subscription made with it are atomic with respect to the event
 * stream: a resuming client sees every later event exactly once.
 *
 * It also writes the thread's record: every turn, item, token count and conversation item goes to
 * the journal in event order, and a finished turn is announced only once its records are on disk
 * (or, when the disk will not take them in time, announced as failed with the reason).
 */
export class ThreadListener {
  private readonly jobs: Array<() => Promise<void>> = [];
  private draining = false;
  readonly generation: number;
  private active: app.Turn | undefined;
  /** A turn whose records could not be saved: its completion is reported as failed. */
  private unsaved: { turnId: string; error: app.TurnError } | undefined;
  /** The journal's counts when the running turn started: its records come after these. */
  private turnMark = { appended: 0, dropped: 0 };
  private stopped = false;
  readonly done: Promise<void>;

  constructor(
    readonly threadId: string,
    readonly runtime: ThreadRuntime,
    private readonly deps: ListenerDeps,
  ) {
    this.generation = deps.state.installListener(threadId);
    this.done = this.pump();
  }

  /** The active turn so far (items included), if a turn is running. */
  activeTurn(): app.Turn | undefined {
    return this.active ? { ...this.active, items: [...this.active.items] } : undefined;
  }

  /** The id of the running turn, if any. */
  liveTurnId(): string | null {
    return this.active?.id ?? null;
  }

  /** Runs `job` in the thread's event order. */
  enqueue<T>(job: () => Promise<T> | T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(async () => {
        try {
          resolve(await job());
        } catch (error) {
          reject(error);
        }
      });
      void this.drain();
    });
  }

  /** Resolves once every job queued so far has run. */
  settled(): Promise<void> {
    return this.enqueue(() => undefined);
  }

  stop(): void {
    this.stopped = true;
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    for (let job = this.jobs.shift(); job; job = this.jobs.shift()) await job();
    this.draining = false;
  }

  private async pump(): Promise<void> {
    try {
      for await (const event of this.runtime.events()) {
        if (this.stopped) break;
        // one event that cannot be handled must not end the thread's events: say so, go on
        await this.enqueue(() => this.handle(event)).catch((error: unknown) => {
          this.deps.logger.error(
            { err: error, threadId: this.threadId, kind: event.kind },
            'thread event not handled',
          );
        });
      }
    } catch (error) {
      this.deps.logger.error({ err: error, threadId: this.threadId }, 'thread event stream failed');
    } finally {
      this.deps.state.clearListener(this.threadId, this.generation);
    }
  }

  private subscribers(): readonly number[] {
    return this.deps.state.subscribers(this.threadId);
  }

  private notifySubscribers<M extends app.ServerNotificationMethod>(
    method: M,
    params: app.NotificationParamsOf<M>,
  ): Promise<void> {
    return this.deps.router.toConnections(this.subscribers(), serverNotification(method, params));
  }

  /**
   * Hands a client's answer to the runtime: which connection answered stays here, and a result is
   * parsed against the method's result schema (one that does not match is an error answer).
   */
  private answer<M extends app.ServerRequestMethod>(
    request: ThreadServerRequest<M>,
    outcome: RoutedOutcome,
  ): void {
    switch (outcome.kind) {
      case 'result': {
        const parsed = resultSchemas[request.method].result.safeParse(outcome.result);
        if (parsed.success) {
          request.reply({ kind: 'result', result: parsed.data });
          return;
        }
        this.deps.logger.warn(
          { threadId: this.threadId, method: request.method, connectionId: outcome.connectionId },
          'server request answered with a result that does not match its schema',
        );
        request.reply({
          kind: 'error',
          error: invalidRequest(
            `the answer to ${request.method} does not match its schema: ${parsed.error.message}`,
          ),
        });
        return;
      }
      case 'error':
        request.reply({ kind: 'error', error: outcome.error });
        return;
      case 'cancelled':
        request.reply(
          outcome.error ? { kind: 'cancelled', error: outcome.error } : { kind: 'cancelled' },
        );
        return;
    }
  }

  private async handle(event: ThreadEvent): Promise<void> {
    const { router, state, requests } = this.deps;
    state.noteActivity(this.threadId);
    switch (event.kind) {
      case 'status': {
        let status = event.status;
        if (this.unsaved && status.type === 'idle') status = { type: 'systemError' };
        state.setActive(this.threadId, status.type === 'active');
        this.deps.onStatus(status);
        await router.broadcast(
          serverNotification('thread/status/changed', { threadId: this.threadId, status }),
        );
        return;
      }
      case 'notification': {
        const sent = this.track(event);
        await this.notifySubscribers(sent.method, sent.params);
        if (sent.method === 'turn/completed') this.deps.onTurnCompleted?.(sent.params.turn);
        return;
      }
      case 'conversation':
        for (const item of event.items) {
          this.record({ type: 'response_item', turnId: event.turnId, item });
        }
        return;
      case 'compacted':
        this.record({
          type: 'compacted',
          turnId: event.turnId,
          replacementHistory: event.items,
        });
        return;
      case 'turnFinished':
        await this.finishTurn(event.turn);
        return;
      case 'serverRequest': {
        const sent = requests.send({
          method: event.method,
          params: event.params,
          threadId: this.threadId,
          connectionIds: this.subscribers(),
        });
        void sent.outcome.then((outcome) =>
          this.enqueue(async () => {
            // resolution is announced in event order, after the request itself
            await this.notifySubscribers('serverRequest/resolved', {
              threadId: this.threadId,
              requestId: sent.id,
            });
            this.answer(event, outcome);
          }),
        );
        return;
      }
      case 'cancelServerRequests': {
        requests.cancelForThread(this.threadId, event.error);
        return;
      }
    }
  }

  private record(record: AppendRecord): void {
    const journal = this.deps.journal;
    if (!journal) return;
    try {
      journal.append(record);
    } catch (error) {
      // a record that can never be written is a bug in whoever built it: say so loudly
      this.deps.logger.error(
        { err: error, threadId: this.threadId, type: record.type },
        'rollout record refused',
      );
      const reason = error instanceof Error ? error.message : String(error);
      void this.notifySubscribers('warning', {
        threadId: this.threadId,
        message: `tether could not save part of this thread: ${reason}`,
      });
    }
  }

  /**
   * Keeps the active turn current and writes the event's record. Returns the notification to send
   * (a turn whose records could not be saved is reported failed).
   */
  private track(event: ThreadNotification): ThreadNotification {
    switch (event.method) {
      case 'turn/started': {
        const turn = event.params.turn;
        this.active = { ...turn, items: [] };
        const journal = this.deps.journal;
        this.turnMark = { appended: journal?.appended ?? 0, dropped: journal?.dropped ?? 0 };
        this.record({
          type: 'turn_started',
          turnId: turn.id,
          rootTurnId: turn.rootTurnId,
          ...(turn.startedAt !== null ? { startedAt: turn.startedAt * 1000 } : {}),
        });
        return event;
      }
      case 'item/started': {
        const { turnId, item } = event.params;
        this.trackItem(turnId, item);
        this.record({ type: 'item_started', turnId, item });
        return event;
      }
      case 'item/completed': {
        const { turnId, item } = event.params;
        this.trackItem(turnId, item);
        this.record({ type: 'item_completed', turnId, item });
        this.deps.onItemCompleted?.(item);
        return event;
      }
      case 'turn/completed': {
        this.active = undefined;
        const turn = event.params.turn;
        const unsaved = this.unsaved;
        if (unsaved && unsaved.turnId === turn.id) {
          this.unsaved = undefined;
          const failed: app.Turn = { ...turn, status: 'failed', error: unsaved.error };
          return { ...event, params: { ...event.params, turn: failed } };
        }
        return event;
      }
      case 'thread/tokenUsage/updated': {
        const { turnId, tokenUsage } = event.params;
        const thread = this.deps.thread;
        thread.tokenUsage = { turnId, tokenUsage };
        thread.turnTokens.set(
          turnId,
          (thread.turnTokens.get(turnId) ?? 0) + tokenUsage.last.totalTokens,
        );
        this.record({ type: 'token_usage', turnId, tokenUsage });
        return event;
      }
      default:
        return event;
    }
  }

  /** The running turn's items as they stand (a later event of an item replaces the earlier). */
  private trackItem(turnId: string, item: app.ThreadItem): void {
    const active = this.active;
    if (!active || active.id !== turnId) return;
    const index = active.items.findIndex((i) => i.id === item.id);
    if (index === -1) active.items.push(item);
    else active.items[index] = item;
  }

  /**
   * Records how the turn ended and holds its announcement until that is on disk. A turn that
   * completed makes the thread unread (its first unread turn stays the earliest one).
   */
  private async finishTurn(turn: app.Turn): Promise<void> {
    const journal = this.deps.journal;
    const status = turn.status === 'inProgress' ? 'interrupted' : turn.status;
    const incomplete: app.TurnError = {
      message:
        'this turn could not be saved whole: too many records were waiting for the disk, and some of its records were dropped',
      codexErrorInfo: null,
      additionalDetails: null,
    };
    // a turn that lost records is saved as failed, as it is reported
    const mark = this.turnMark;
    const lost = (journal?.dropped ?? 0) > mark.dropped;
    this.record({
      type: 'turn_completed',
      turnId: turn.id,
      status: lost ? 'failed' : status,
      error: lost ? incomplete : turn.error,
      // when the turn ended, not when the record reached the disk (after a full disk, much later)
      ...(turn.completedAt !== null ? { completedAt: turn.completedAt * 1000 } : {}),
      durationMs: turn.durationMs,
    });
    const durable =
      !journal || (await journal.whenDurable(this.deps.persistTimeoutMs, { since: mark.appended }));
    if (journal && !durable) {
      const trouble = journal.trouble;
      const error: app.TurnError =
        journal.dropped > mark.dropped
          ? incomplete
          : {
              message: `this turn could not be saved: ${trouble?.path ?? 'the rollout'}: ${trouble?.errno ?? 'write failed'} (${trouble?.message ?? 'unknown error'}); tether keeps retrying`,
              codexErrorInfo: null,
              additionalDetails: null,
            };
      this.unsaved = { turnId: turn.id, error };
      journal.rewritePending((record) =>
        record.type === 'turn_completed' && record.turnId === turn.id
          ? { ...record, status: 'failed', error }
          : record,
      );
      return;
    }
    const thread = this.deps.thread;
    if (status !== 'completed' || !thread.persisted) return;
    // a turn with no user input (thread/compact/start's) leaves the read state alone, as the
    // reference's does
    const active = this.active;
    const fromUser = active?.id !== turn.id || active.items.some((i) => i.type === 'userMessage');
    if (!fromUser) return;
    const readState: app.ThreadReadState = {
      firstUnread: thread.readState?.firstUnread ?? { type: 'turn', turnId: turn.id },
      revision: randomUUID(),
    };
    thread.readState = readState;
    this.record({ type: 'read_state', ...readState });
    await this.notifySubscribers('thread/readState/changed', {
      threadId: this.threadId,
      readState,
    });
  }
}
