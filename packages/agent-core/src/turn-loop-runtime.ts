import { app, internalError, invalidRequest, RpcError } from '@tether/protocol';
import { v7 as uuidv7 } from 'uuid';
import { AsyncQueue } from './async-queue.js';
import { normalizeConversation } from './conversation.js';
import { messageOf } from './errors.js';
import { completeItem, type ItemEmitter, startItem } from './items.js';
import type { ResponseInputItem } from './model/index.js';
import {
  type RuntimeContext,
  type RuntimeFactory,
  type ServerRequestOutcome,
  type ThreadEvent,
  type ThreadNotification,
  type ThreadRuntime,
  type ThreadSettings,
  type TurnRequest,
  threadNotification,
  threadServerRequest,
} from './runtime.js';

export interface TurnOutcome {
  /** `interrupted`: the body stopped the turn itself (an approval answered with `cancel`). */
  status: 'completed' | 'failed' | 'interrupted';
  error?: app.TurnError;
}

/** What a turn body can do while it runs. */
export interface TurnContext {
  readonly threadId: string;
  readonly turnId: string;
  readonly settings: ThreadSettings;
  /**
   * The model-visible conversation: earlier turns' items, then this turn's so far. Grows as the
   * turn calls {@link TurnContext.record}.
   */
  readonly conversation: readonly ResponseInputItem[];
  /** The thread's last reported token usage (null before the first model response). */
  readonly tokenUsage: app.ThreadTokenUsage | null;
  /**
   * Appends items to the conversation and to the thread's record (persisted, so that a later
   * request and a restarted thread see the same conversation).
   */
  record(...items: ResponseInputItem[]): void;
  /**
   * Replaces the whole conversation (a compaction): later requests, and a restarted thread, see
   * only `items`.
   */
  replaceConversation(items: ResponseInputItem[]): void;
  /** The input that started the turn, then any input added by steer, in order. */
  readonly inputs: readonly app.UserInput[][];
  /** Aborted when the turn is interrupted or the runtime shuts down. */
  readonly signal: AbortSignal;
  /** Aborted when new input arrives (steer): restart the model request with it. Replaced per attempt. */
  attemptSignal(): AbortSignal;
  /** Emits a thread-scoped notification (`item/*`, token usage, `error`, `warning`, ...). */
  emit<M extends app.ServerNotificationMethod>(
    method: M,
    params: app.NotificationParamsOf<M>,
  ): void;
  /** Asks the thread's subscribers a question (an approval); resolves with the first answer. */
  request<M extends app.ServerRequestMethod>(
    method: M,
    params: app.ServerRequestParamsOf<M>,
  ): Promise<ServerRequestOutcome<M>>;
  /** Marks the thread as waiting on an approval (`activeFlags: ["waitingOnApproval"]`) or not. */
  setWaitingOnApproval(waiting: boolean): void;
  /**
   * Records the items injected (`thread/inject_items`) since the turn started, after everything in
   * the conversation so far; true when there were any (the model should then be asked again). The
   * body calls it where no call waits for its output; what is left when the body returns is
   * recorded then.
   */
  takeInjected(): boolean;
}

/** The body of a turn: runs the agent loop and says how the turn ended. */
export type TurnBody = (context: TurnContext) => Promise<TurnOutcome>;

/** Optional parts of a runtime's turns besides the body. */
export interface TurnHooks {
  /**
   * Runs after `turn/started` and before the turn's input is shown or recorded (the reference
   * compacts there when the context is full); an outcome ends the turn without running the body.
   */
  beforeInput?: (context: TurnContext) => Promise<TurnOutcome | undefined>;
  /** The body of a turn started by `thread/compact/start` (none: the runtime cannot compact). */
  compact?: TurnBody;
  /**
   * The turn ended before its body took its input (`beforeInput` returned an outcome): records
   * `context.inputs` for the model, as the body would have, so the next turn sees what was said.
   */
  inputNotTaken?: (context: TurnContext) => void;
  /** The instruction files the turns read for a cwd (none: the runtime reads none). */
  instructionSources?: (cwd: string) => Promise<string[]>;
}

interface ActiveTurn {
  /** A turn with input, or a compaction (`thread/compact/start`), which takes no input. */
  kind: 'turn' | 'compact';
  turn: app.Turn;
  inputs: app.UserInput[][];
  controller: AbortController;
  attempt: AbortController;
  interrupted: boolean;
  lastAgentMessage: app.ThreadItem | undefined;
  startedAtMs: number;
  /** Items injected while the turn runs, waiting for a point where the conversation is whole. */
  injected: ResponseInputItem[];
  /**
   * Input added before the turn showed its own (it waits behind an earlier turn, or in the
   * pre-input compaction): shown and taken after the turn's first input, in order.
   */
  early: TurnRequest[] | undefined;
}

/** The reference's refusal of input for a compaction turn (`turn/steer`). */
function notSteerable(): RpcError {
  const message = 'cannot steer a compact turn';
  return new RpcError(
    invalidRequest(message, {
      message,
      codexErrorInfo: { activeTurnNotSteerable: { turnKind: 'compact' } },
      additionalDetails: null,
    }),
  );
}

/**
 * The reference's refusal of `turn/start` during a compaction: the input would go to the running
 * turn, which takes none (an internal error, in its words).
 */
function compactionRunning(): RpcError {
  return new RpcError(
    internalError('failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Compact }'),
  );
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function userMessageItem(input: app.UserInput[], clientId: string | null): app.UserMessageItem {
  const now = Date.now();
  const content = input.map((part) =>
    part.type === 'text' ? { ...part, text_elements: part.text_elements ?? [] } : part,
  );
  return {
    type: 'userMessage',
    id: uuidv7(),
    clientId,
    content,
    startedAtMs: now,
    completedAtMs: null,
  };
}

/**
 * A `ThreadRuntime` that does the bookkeeping every runtime shares: turn ids, the exact notification
 * order of a turn (status active, `turn/started`, the user message item, the body's items, status
 * idle, `turn/completed`), steering into a running turn, interrupts and the reference's error
 * messages. What happens inside a turn is the `TurnBody`.
 */
export class TurnLoopRuntime implements ThreadRuntime {
  private readonly queue = new AsyncQueue<ThreadEvent>();
  /**
   * Turns not finished yet, in the order they run: the running one first, then those waiting for
   * it (a turn started while an interrupted one finishes, a compaction that interrupted a turn).
   * One runs at a time; each runs after the one before it ended.
   */
  private readonly turns: ActiveTurn[] = [];
  private currentStatus: app.ThreadStatus = { type: 'idle' };
  private readonly conversation: ResponseInputItem[];
  private lastTokenUsage: app.ThreadTokenUsage | null;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly context: RuntimeContext,
    private readonly body: TurnBody,
    private readonly hooks: TurnHooks = {},
  ) {
    // a conversation stored by a server that died in the middle of a command has a call without
    // its output: the model is sent the reference's `aborted` output for it
    this.conversation = [...normalizeConversation(context.conversation)];
    this.lastTokenUsage = context.tokenUsage;
  }

  events(): AsyncIterable<ThreadEvent> {
    return this.queue;
  }

  async instructionSources(cwd: string): Promise<string[]> {
    return (await this.hooks.instructionSources?.(cwd)) ?? [];
  }

  /** The turn new input goes to: the last one started, unless it was interrupted. */
  private get active(): ActiveTurn | undefined {
    const last = this.turns.at(-1);
    return last && !last.interrupted ? last : undefined;
  }

  async startTurn(request: TurnRequest): Promise<app.Turn> {
    if (this.stopped) throw new RpcError(invalidRequest('thread is shutting down'));
    const active = this.active;
    // a compaction takes no input, and no turn starts until it ended, as in the reference
    if (active?.kind === 'compact') throw compactionRunning();
    if (active) {
      this.addInput(active, request);
      return { ...active.turn, items: [], itemsView: 'notLoaded', startedAt: null };
    }
    const { active: next, context } = this.newTurn('turn', request.settings);
    this.enqueue(next, context, request);
    return { ...next.turn };
  }

  /**
   * Starts a turn that compacts the conversation (`thread/compact/start`); a running turn is
   * interrupted first, as the reference does. Returns the compaction turn.
   */
  async compact(settings: ThreadSettings): Promise<app.Turn> {
    if (this.stopped) throw new RpcError(invalidRequest('thread is shutting down'));
    if (!this.hooks.compact) {
      throw new RpcError(invalidRequest("this thread's agent cannot compact its context"));
    }
    for (const earlier of this.turns) {
      if (earlier.interrupted) continue;
      earlier.interrupted = true;
      earlier.controller.abort(new Error('turn interrupted by compaction'));
    }
    const { active, context } = this.newTurn('compact', settings);
    this.enqueue(active, context, null);
    return { ...active.turn };
  }

  /**
   * Makes the turn the active one at once (input, steer and interrupt see it from now on) and runs
   * it after the caller's response and after every earlier turn has finished.
   */
  private enqueue(active: ActiveTurn, context: TurnContext, request: TurnRequest | null): void {
    this.turns.push(active);
    this.running = this.running
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => this.run(active, context, request));
  }

  private newTurn(
    kind: ActiveTurn['kind'],
    settings: ThreadSettings,
  ): { active: ActiveTurn; context: TurnContext } {
    const turnId = uuidv7();
    const turn: app.Turn = {
      id: turnId,
      rootTurnId: turnId,
      items: [],
      itemsView: 'notLoaded',
      status: 'inProgress',
      error: null,
      startedAt: null,
      completedAt: null,
      durationMs: null,
    };
    const controller = new AbortController();
    const active: ActiveTurn = {
      kind,
      turn,
      inputs: [],
      controller,
      attempt: new AbortController(),
      interrupted: false,
      lastAgentMessage: undefined,
      startedAtMs: Date.now(),
      injected: [],
      early: [],
    };
    return { active, context: this.makeContext(active, settings) };
  }

  async steer(request: TurnRequest, expectedTurnId: string): Promise<string> {
    const active = this.active;
    if (!active || active.interrupted)
      throw new RpcError(invalidRequest('no active turn to steer'));
    if (active.turn.id !== expectedTurnId) {
      throw new RpcError(
        invalidRequest(
          `expected active turn id \`${expectedTurnId}\` but found \`${active.turn.id}\``,
        ),
      );
    }
    if (active.kind === 'compact') throw notSteerable();
    this.addInput(active, request);
    return active.turn.id;
  }

  async interrupt(turnId: string): Promise<void> {
    const active = this.active;
    if (!active) throw new RpcError(invalidRequest('no active turn to interrupt'));
    // the turn named, wherever it is in the line (the running one, or one waiting on an
    // interrupted turn's end)
    const target = this.turns.find((t) => t.turn.id === turnId && !t.interrupted);
    if (!target) {
      throw new RpcError(
        invalidRequest(`expected active turn id ${turnId} but found ${active.turn.id}`),
      );
    }
    target.interrupted = true;
    target.controller.abort(new Error('turn interrupted'));
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const active of this.turns) {
      if (active.interrupted) continue;
      active.interrupted = true;
      active.controller.abort(new Error('thread shutting down'));
    }
    await this.running;
    this.queue.end();
  }

  private emit(event: ThreadEvent): void {
    this.queue.push(event);
  }

  /** Appends to the conversation and tells the thread's record, in event order. */
  private record(turnId: string | null, items: ResponseInputItem[]): void {
    if (items.length === 0) return;
    this.conversation.push(...items);
    this.emit({ kind: 'conversation', turnId, items });
  }

  /**
   * Between turns the items join the conversation at once. During a turn they wait for the turn
   * body to take them where the conversation is whole (never between a call and its output), and
   * the running turn asks the model again with them, as the reference's running turn does.
   */
  async injectItems(items: ResponseInputItem[]): Promise<void> {
    if (this.stopped) throw new RpcError(invalidRequest('thread is shutting down'));
    // an interrupted turn that is still finishing takes them too (it may be between a call and its
    // output)
    const active = this.turns.at(-1);
    if (active) {
      active.injected.push(...items);
      return;
    }
    this.record(null, items);
  }

  /** Replaces the conversation and tells the thread's record (a compaction). */
  private replaceConversation(turnId: string, items: ResponseInputItem[]): void {
    this.conversation.splice(0, this.conversation.length, ...items);
    this.emit({ kind: 'compacted', turnId, items });
  }

  private takeInjected(active: ActiveTurn): boolean {
    if (active.injected.length === 0) return false;
    this.record(active.turn.id, active.injected.splice(0));
    return true;
  }

  private setStatus(status: app.ThreadStatus): void {
    this.currentStatus = status;
    this.emit({ kind: 'status', status });
  }

  private addInput(active: ActiveTurn, request: TurnRequest): void {
    if (active.early) {
      // the turn has not shown its own input yet: this follows it
      active.early.push(request);
      return;
    }
    active.inputs.push(request.input);
    const item = userMessageItem(request.input, request.clientUserMessageId);
    this.emitItem(active, item);
    const previous = active.attempt;
    active.attempt = new AbortController();
    previous.abort(new Error('new input'));
  }

  /** Emits a notification of the thread (whether or not the turn was interrupted). */
  private notify<M extends app.ServerNotificationMethod>(
    method: M,
    params: app.NotificationParamsOf<M>,
  ): void {
    this.emit(threadNotification(method, params));
  }

  /** An item that starts and completes at once (a user message). */
  private emitItem(active: ActiveTurn, item: app.ThreadItem): void {
    const emitter: ItemEmitter = {
      threadId: this.context.threadId,
      turnId: active.turn.id,
      emit: (method, params) => this.notify(method, params),
    };
    startItem(emitter, item, Date.now());
    completeItem(emitter, item);
  }

  private makeContext(active: ActiveTurn, settings: ThreadSettings): TurnContext {
    const threadId = this.context.threadId;
    const runtime = this;
    return {
      threadId,
      turnId: active.turn.id,
      settings,
      conversation: this.conversation,
      get tokenUsage() {
        return runtime.lastTokenUsage;
      },
      record: (...items) => this.record(active.turn.id, items),
      replaceConversation: (items) => this.replaceConversation(active.turn.id, items),
      inputs: active.inputs,
      signal: active.controller.signal,
      attemptSignal: () => AbortSignal.any([active.attempt.signal, active.controller.signal]),
      emit: (method, params) => {
        if (active.interrupted) return;
        const event: ThreadNotification = threadNotification(method, params);
        // what the turn's completion and a resumed thread's totals are made of
        if (event.method === 'item/completed') {
          const item = event.params.item;
          if (app.isKnownThreadItem(item) && item.type === 'agentMessage') {
            active.lastAgentMessage = item;
          }
        } else if (event.method === 'thread/tokenUsage/updated') {
          this.lastTokenUsage = event.params.tokenUsage;
        }
        this.emit(event);
      },
      request: <M extends app.ServerRequestMethod>(
        method: M,
        params: app.ServerRequestParamsOf<M>,
      ) =>
        new Promise<ServerRequestOutcome<M>>((resolve) => {
          if (active.interrupted) {
            resolve({ kind: 'cancelled' });
            return;
          }
          // an interrupt or shutdown ends the wait even if nobody answers
          const onAbort = () => resolve({ kind: 'cancelled' });
          active.controller.signal.addEventListener('abort', onAbort, { once: true });
          const reply = (outcome: ServerRequestOutcome<M>) => {
            active.controller.signal.removeEventListener('abort', onAbort);
            resolve(outcome);
          };
          this.emit(threadServerRequest(method, params, reply));
        }),
      setWaitingOnApproval: (waiting) => {
        if (active.interrupted) return;
        const current = this.currentStatus;
        const already =
          current.type === 'active' && current.activeFlags.includes('waitingOnApproval');
        if (already === waiting) return; // no status change to announce
        this.setStatus({ type: 'active', activeFlags: waiting ? ['waitingOnApproval'] : [] });
      },
      takeInjected: () => this.takeInjected(active),
    };
  }

  /** What a turn runs: the compaction body, or the pre-input hook, then the input and the body. */
  private async runBody(
    active: ActiveTurn,
    context: TurnContext,
    request: TurnRequest | null,
  ): Promise<TurnOutcome> {
    if (request === null) {
      // interrupted while it waited to run: nothing to compact for
      if (active.interrupted || !this.hooks.compact) return { status: 'completed' };
      return this.hooks.compact(context);
    }
    active.inputs.push(request.input);
    // a turn interrupted while it waited to run skips the hook's work (a compaction's model call)
    const outcome = active.interrupted ? undefined : await this.hooks.beforeInput?.(context);
    // the input is shown even when the turn ends here (the hook's compaction failed): the thread's
    // history keeps what the user said, and `inputNotTaken` records it for the model
    const shown = [request, ...(active.early ?? [])];
    active.early = undefined;
    for (const [index, input] of shown.entries()) {
      if (index > 0) active.inputs.push(input.input);
      this.emitItem(active, userMessageItem(input.input, input.clientUserMessageId));
    }
    if (outcome) {
      this.hooks.inputNotTaken?.(context);
      return outcome;
    }
    return this.body(context);
  }

  /** Runs a turn; `request` null: a compaction turn (no input). */
  private async run(
    active: ActiveTurn,
    context: TurnContext,
    request: TurnRequest | null,
  ): Promise<void> {
    const threadId = this.context.threadId;
    const startedAt = nowSeconds();
    active.turn.startedAt = startedAt;
    this.setStatus({ type: 'active', activeFlags: [] });
    this.notify('turn/started', { threadId, turn: { ...active.turn, items: [] } });

    let outcome: TurnOutcome;
    try {
      outcome = await this.runBody(active, context, request);
    } catch (error) {
      outcome = active.interrupted
        ? { status: 'completed' }
        : { status: 'failed', error: { message: messageOf(error) } };
    }
    if (outcome.status === 'interrupted') active.interrupted = true;
    if (active.interrupted) {
      // the interrupt's response goes out first; then idle, completion, and resolution of any
      // pending question, in the reference's order
      await new Promise((resolve) => setImmediate(resolve));
    }
    const completedAt = nowSeconds();
    const status: app.TurnStatus = active.interrupted
      ? 'interrupted'
      : outcome.status === 'failed'
        ? 'failed'
        : 'completed';
    const finished: app.Turn = {
      ...active.turn,
      items: status === 'interrupted' || !active.lastAgentMessage ? [] : [active.lastAgentMessage],
      // a compaction turn completes with its items not loaded, as the reference's does
      itemsView: status === 'interrupted' || request === null ? 'notLoaded' : 'summary',
      status,
      error: status === 'failed' ? (outcome.error ?? { message: 'turn failed' }) : null,
      startedAt,
      completedAt,
      durationMs: Date.now() - active.startedAtMs,
    };
    // items injected too late for the model to see in this turn: the next turn's request has them
    this.takeInjected(active);
    this.turns.splice(this.turns.indexOf(active), 1);
    this.emit({ kind: 'turnFinished', turn: finished });
    this.setStatus(status === 'failed' ? { type: 'systemError' } : { type: 'idle' });
    this.notify('turn/completed', { threadId, turn: finished });
    this.emit({ kind: 'cancelServerRequests' });
  }
}

/** A runtime factory whose turns run `body` (tests, benchmarks, embedders with their own agent). */
export function turnLoopRuntimeFactory(body: TurnBody): RuntimeFactory {
  return (context) => new TurnLoopRuntime(context, body);
}
