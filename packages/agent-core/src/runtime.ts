import type { app, ErrorObject, Logger } from '@tether/protocol';
import type { ResponseInputItem } from './model/index.js';

/**
 * A thread-scoped notification for the subscribers (`turn/*`, `item/*`, token usage, ...): one
 * member per server notification method, so a consumer that switches on `method` gets its params
 * typed by the protocol's table.
 */
export type ThreadNotification<
  M extends app.ServerNotificationMethod = app.ServerNotificationMethod,
> = NotificationEvents[M];

type NotificationEvents = {
  [M in app.ServerNotificationMethod]: {
    kind: 'notification';
    method: M;
    params: app.NotificationParamsOf<M>;
  };
};

/**
 * Builds a {@link ThreadNotification}: the signature checks `params` against `method`. TypeScript
 * cannot carry that tie from a generic `M` into the union (microsoft/TypeScript#30581), so this is
 * the one place that asserts it, for every emitter.
 */
export function threadNotification<M extends app.ServerNotificationMethod>(
  method: M,
  params: app.NotificationParamsOf<M>,
): ThreadNotification {
  return { kind: 'notification', method, params } as ThreadNotification;
}

/**
 * How a question to the thread's clients ended, as the runtime sees it: the first answer (its
 * result already checked against the method's result schema), an error answer, or no answer at all
 * (the turn was interrupted, the thread unloaded). Which connection answered is the app-server's
 * business, not the runtime's.
 */
export type ServerRequestOutcome<M extends app.ServerRequestMethod = app.ServerRequestMethod> =
  | { kind: 'result'; result: app.ServerRequestResultOf<M> }
  | { kind: 'error'; error: ErrorObject }
  | { kind: 'cancelled'; error?: ErrorObject };

/**
 * A question for the thread's subscribers (an approval): one member per server request method.
 * `reply` gets the first answer, or a cancellation when the thread unloads or the runtime cancels it.
 */
export type ThreadServerRequest<M extends app.ServerRequestMethod = app.ServerRequestMethod> =
  ServerRequestEvents[M];

/** Builds a {@link ThreadServerRequest}; as {@link threadNotification}, the one assertion of the tie. */
export function threadServerRequest<M extends app.ServerRequestMethod>(
  method: M,
  params: app.ServerRequestParamsOf<M>,
  reply: (outcome: ServerRequestOutcome<M>) => void,
): ThreadServerRequest {
  return { kind: 'serverRequest', method, params, reply } as ThreadServerRequest;
}

type ServerRequestEvents = {
  [M in app.ServerRequestMethod]: {
    kind: 'serverRequest';
    method: M;
    params: app.ServerRequestParamsOf<M>;
    reply: (outcome: ServerRequestOutcome<M>) => void;
  };
};

/**
 * What a thread runtime tells the app-server. The app-server's listener handles these one at a time,
 * in order, for each thread: it tracks the active turn, persists, and fans out to subscribers.
 */
export type ThreadEvent =
  | ThreadNotification
  /** The thread's status changed; broadcast to every initialized connection. */
  | { kind: 'status'; status: app.ThreadStatus }
  | ThreadServerRequest
  /** Cancels the thread's pending server requests (a turn was interrupted or ended). */
  | { kind: 'cancelServerRequests'; error?: ErrorObject }
  /**
   * Items the runtime added to the model-visible conversation (a user message, what the model
   * said, a tool call and its output), in order: persisted with the thread, never sent to
   * clients. `turnId` is null for items added between turns.
   */
  | { kind: 'conversation'; turnId: string | null; items: ResponseInputItem[] }
  /**
   * The conversation was compacted: `items` replace everything before them (persisted, so a
   * resumed thread continues from the compacted conversation).
   */
  | { kind: 'compacted'; turnId: string; items: ResponseInputItem[] }
  /**
   * The turn is over (just before the thread goes idle and `turn/completed` is sent): the owner
   * records how it ended, and may hold the announcement until that record is safe on disk.
   */
  | { kind: 'turnFinished'; turn: app.Turn };

/** The settings a turn runs with (from thread/start, thread/resume and turn/start overrides). */
export interface ThreadSettings {
  cwd: string;
  model: string | null;
  modelProvider: string;
  approvalPolicy: app.AskForApproval;
  /** What commands may touch (the full policy the reference reports). */
  sandbox: app.SandboxPolicy;
  /** The named permission profile the policy came from (`:read-only`, …), when it came from one. */
  activePermissionProfile: app.ActivePermissionProfile | null;
  reasoningEffort: app.ReasoningEffort | null;
  /** Sent as `reasoning.summary` when set. */
  reasoningSummary: app.ReasoningSummary | null;
  /** Sent as `service_tier` when set. */
  serviceTier: string | null;
  baseInstructions: string | null;
  developerInstructions: string | null;
  /**
   * The collaboration mode of `turn/start` (sticky for later turns). In `plan` mode the agent
   * streams the reply's `<proposed_plan>` block as a `plan` item and refuses `update_plan`.
   */
  collaborationMode?: app.CollaborationMode | null;
}

export interface TurnRequest {
  input: app.UserInput[];
  clientUserMessageId: string | null;
  /** Settings for this turn and the following ones (turn/start overrides applied). */
  settings: ThreadSettings;
}

/**
 * The agent that runs inside a thread. The app-server owns connections, persistence and fan-out;
 * the runtime owns turns. Errors meant for the client are thrown as `RpcError`.
 */
export interface ThreadRuntime {
  /**
   * Starts a turn with the input, or, when a turn is running, adds the input to it (like steer)
   * and returns the running turn. While an interrupted turn finishes, the new turn runs after it;
   * during a compaction (which takes no input) it is refused with the reference's error.
   */
  startTurn(request: TurnRequest): Promise<app.Turn>;
  /** Adds input to the running turn; `expectedTurnId` must name it. Returns the turn id. */
  steer(request: TurnRequest, expectedTurnId: string): Promise<string>;
  /** Interrupts the running turn, which then completes as `interrupted`. */
  interrupt(turnId: string): Promise<void>;
  /**
   * Appends raw Responses API items to the model-visible conversation (`thread/inject_items`):
   * the next model request, and every later one, carries them.
   */
  injectItems(items: ResponseInputItem[]): Promise<void>;
  /**
   * Starts a turn that compacts the conversation (`thread/compact/start`), interrupting a running
   * turn first; returns the compaction turn.
   */
  compact(settings: ThreadSettings): Promise<app.Turn>;
  /** The thread's events; read by exactly one consumer until `shutdown` ends it. */
  events(): AsyncIterable<ThreadEvent>;
  /**
   * The instruction files (AGENTS.md) the thread's turns give the model for this cwd, as
   * `instructionSources` lists them; read when asked first (a thread being loaded), and again
   * when the cwd changes.
   */
  instructionSources(cwd: string): Promise<string[]>;
  /** Stops any running turn and ends the event stream. */
  shutdown(): Promise<void>;
}

export interface RuntimeContext {
  threadId: string;
  settings: ThreadSettings;
  /**
   * The model-visible conversation so far, oldest first, as the thread's record holds it: the
   * `conversation` events of earlier turns (rebuilt from the rollout after a restart).
   */
  conversation: readonly ResponseInputItem[];
  /** The last token usage reported for the thread (running totals continue from it). */
  tokenUsage: app.ThreadTokenUsage | null;
  /**
   * The model the thread's previous turn ran with, when that was another than `settings.model`
   * (a thread resumed or forked onto another model): its next turn tells the model of the switch.
   * By default `settings.model`; a thread without a conversation had no turn, so no switch.
   */
  previousModel?: string | null;
  logger: Logger;
}

/** Builds the runtime of a thread when it is started, resumed or forked. */
export type RuntimeFactory = (context: RuntimeContext) => ThreadRuntime;
