import { isAbsolute, resolve } from 'node:path';
import { app } from '@tether/protocol';
import {
  APPLY_PATCH_TOOL_NAME,
  type ApplyPatchToolType,
  applyPatchTool,
  applyPatchToolTypeFor,
  emitTurnDiff,
  patchFromArguments,
  runApplyPatchCall,
  TurnDiffTracker,
} from './apply-patch/index.js';
import {
  DECLINED_OUTPUT,
  decideCommand,
  offersRetryWithoutSandbox,
  prefixSavedMessage,
  RETRY_WITHOUT_SANDBOX_REASON,
  sessionApprovalKey,
} from './approvals.js';
import {
  canonicalizeCommandForApproval,
  commandsForExecPolicy,
  isKnownSafeShellCommand,
  loadShellParser,
  commandActions as parsedCommandActions,
  proposedPrefixAmendment,
  shlexJoin,
} from './command-safety.js';
import { ContextTracker } from './compaction.js';
import { normalizeConversation } from './conversation.js';
import {
  type Environment,
  plainEnv,
  type RunningCommand,
  type SandboxCapability,
} from './environment.js';
import { messageOf } from './errors.js';
import { commandEnvironment, execOutputText } from './exec-format.js';
import { renderModelSwitch, ThreadContext, tetherBaseInstructions } from './instructions/index.js';
import { agentMessageItem, completeItem, startItem } from './items.js';
import {
  type ModelEvent,
  type RateLimitSnapshot,
  type ReasoningDefaults,
  type ResponseInputItem,
  type ResponseMessage,
  type ResponsesRequest,
  reasoningParam,
  retryNoticeOf,
  type TokenUsage,
  turnErrorOf,
} from './model/index.js';
import { BUILT_IN_CATALOGUE, type ModelCatalogue } from './model-catalogue.js';
import { PlanModeMessage } from './proposed-plan.js';
import { isReasoningEvent, ReasoningItems } from './reasoning-items.js';
import type { RuntimeFactory } from './runtime.js';
import { isSandboxed, networkAllowed, sandboxContextFor } from './sandbox-policy.js';
import { LoginShells } from './shell-snapshot.js';
import { EXEC_COMMAND_TOOL, type ExecCommandArgs, parseExecCommandArgs } from './tools.js';
import { type TurnContext, TurnLoopRuntime, type TurnOutcome } from './turn-loop-runtime.js';
import { runUpdatePlan, UPDATE_PLAN_TOOL, UPDATE_PLAN_TOOL_NAME } from './update-plan.js';

/** What the agent needs from a model client (the Responses API client implements it). */
export interface ModelStreamer {
  stream(request: ResponsesRequest, signal?: AbortSignal): AsyncIterable<ModelEvent>;
}

/** A model to call, or why none can be called. */
export type ModelChoice = ModelStreamer | { missing: string };

export interface AgentOptions {
  /**
   * The model, or a message naming the missing setting when none is configured; a function is
   * asked before each turn (a key a client signs in with applies without a restart).
   */
  model: ModelChoice | (() => ModelChoice);
  /** Where commands run (shared by the threads of a server). */
  environment: () => Promise<Environment>;
  /** The system prompt of every thread that names none (`baseInstructions`); tether's own by default. */
  instructions?: string;
  /** tether's state directory: the user's own `AGENTS.md`, and `CODEX_HOME` of commands. */
  home?: string;
  /** Budget of a project's AGENTS.md files (`project_doc_max_bytes`, 32 KiB). */
  projectDocMaxBytes?: number;
  /** Most output kept in a command item's `aggregatedOutput` and sent to the model (1 MiB). */
  outputCapBytes?: number;
  /** Default command timeout (10 minutes). */
  commandTimeoutMs?: number;
  /** Environment of the commands (default: this process's). */
  commandEnv?: Record<string, string>;
  /**
   * The model's context window in tokens, for a model the catalogue does not know (default: the
   * catalogue's, else 272k); clients are told 95% of it, and compaction starts at 90%.
   */
  modelContextWindow?: number;
  /** Tokens in use at which the conversation is compacted (default 90% of the window). */
  modelAutoCompactTokenLimit?: number;
  /**
   * The user's exec-policy rules: commands they allow run without asking (and without the
   * sandbox, as in the reference); an accepted amendment is saved here.
   */
  execPolicy?: ExecPolicyRules;
  /**
   * The model's reasoning defaults for every model (default: the catalogue's for the turn's model,
   * the reference's for a model it does not know).
   */
  reasoningDefaults?: ReasoningDefaults;
  /**
   * How `apply_patch` is offered: `freeform` (a custom tool) or `function`. By default as the
   * reference offers it to the thread's model (see `applyPatchToolTypeFor`).
   */
  applyPatchTool?: ApplyPatchToolType;
  /**
   * The models tether knows (default: codex 0.169.0's catalogue): each turn's model gets its
   * context window and its default reasoning from here.
   */
  catalogue?: ModelCatalogue;
  /**
   * Offer the `update_plan` checklist tool (`turn/plan/updated`). Off by default, as in the
   * reference, where `tools.update_plan.enabled` turns it on.
   */
  updatePlanTool?: boolean;
}

/** What the agent needs of the exec-policy rules. */
export interface ExecPolicyRules {
  /** True when every command is allowed by a rule. */
  allowsAll(commands: readonly (readonly string[])[]): boolean;
  /** Saves `prefix_rule(pattern=[…], decision="allow")`. */
  appendAllowPrefix(pattern: string[]): Promise<void>;
}

export const DEFAULT_OUTPUT_CAP_BYTES = 1024 * 1024;
export const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

/**
 * The user input of a turn as the model reads it: one `input_text` part per text element (other
 * kinds of input have no text to send yet). Null when there is no text at all.
 */
function userInputMessage(input: readonly app.UserInput[]): ResponseMessage | null {
  const content: ResponseMessage['content'] = [];
  for (const part of input) {
    if (part.type === 'text' && part.text !== '')
      content.push({ type: 'input_text', text: part.text });
  }
  return content.length > 0 ? { type: 'message', role: 'user', content } : null;
}

/**
 * What the conversation records when a turn is interrupted (the reference's words): the model
 * learns on the next turn that the previous one was cut short on purpose.
 */
export const TURN_ABORTED_TEXT =
  '<turn_aborted>\nThe user interrupted the previous turn on purpose. Any running unified exec processes may still be running in the background. If any tools/commands were aborted, they may have partially executed.\n</turn_aborted>';

const turnAbortedMessage = (): ResponseMessage => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text: TURN_ABORTED_TEXT }],
});

/**
 * Other output items carried forward into the next request (reasoning items have their own event
 * and are always carried, as the reference carries them).
 */
function keepsInConversation(item: ResponseInputItem): boolean {
  return (
    item.type === 'message' || item.type === 'function_call' || item.type === 'custom_tool_call'
  );
}

class Totals {
  readonly total: app.TokenUsageBreakdown;
  /** Continues from the thread's last reported totals (a resumed thread keeps counting). */
  constructor(from: app.TokenUsageBreakdown | undefined) {
    this.total = {
      totalTokens: from?.totalTokens ?? 0,
      inputTokens: from?.inputTokens ?? 0,
      cachedInputTokens: from?.cachedInputTokens ?? 0,
      cacheWriteInputTokens: from?.cacheWriteInputTokens ?? 0,
      outputTokens: from?.outputTokens ?? 0,
      reasoningOutputTokens: from?.reasoningOutputTokens ?? 0,
    };
  }
  add(usage: TokenUsage) {
    const last: app.TokenUsageBreakdown = {
      totalTokens: usage.totalTokens,
      inputTokens: usage.inputTokens,
      cachedInputTokens: usage.cachedInputTokens,
      cacheWriteInputTokens: 0,
      outputTokens: usage.outputTokens,
      reasoningOutputTokens: usage.reasoningOutputTokens,
    };
    const t = this.total;
    t.totalTokens += last.totalTokens;
    t.inputTokens += last.inputTokens;
    t.cachedInputTokens += last.cachedInputTokens;
    t.cacheWriteInputTokens += last.cacheWriteInputTokens;
    t.outputTokens += last.outputTokens;
    t.reasoningOutputTokens += last.reasoningOutputTokens;
    return { total: { ...t }, last };
  }
}

/** Per-thread agent state that outlives a turn. */
interface ThreadAgentState {
  /** Commands the user accepted for the session (exact command, cwd, escalation); in memory only. */
  approvedForSession: Set<string>;
  /** Files the user accepted patches to for the session (`acceptForSession`); in memory only. */
  approvedPatchPaths: Set<string>;
  totals: Totals;
  /** How full the context is; compacts it when full. */
  context: ContextTracker;
  /** The thread's AGENTS.md and the context messages its turns start with. */
  instructions: ThreadContext;
  /** Login shell for the thread's first command, its captured environment after that. */
  loginShells: LoginShells;
  /** The model of the thread's previous turn (none before its first). */
  previousModel: { model: string | null } | undefined;
}

/** The shell commands run in unless the model names another. */
const DEFAULT_SHELL = '/bin/bash';

function shellArgv(args: ExecCommandArgs): string[] {
  const shell = args.shell ?? DEFAULT_SHELL;
  return [shell, args.login === false ? '-c' : '-lc', args.cmd];
}

/** A command line as the reference shows it: shlex-quoted words (`/bin/bash -lc 'echo x'`). */
export function displayCommand(argv: readonly string[]): string {
  return shlexJoin(argv);
}

/**
 * The agent's turn: call the model with the conversation and the `exec_command` tool, stream its
 * reply as an agent message, run the commands it asks for (with approvals as the policy says),
 * feed their output back, and repeat until the model answers without tools.
 *
 * Everything the model sees is recorded in the thread's conversation as it becomes part of it: the
 * user's input when it is taken, a response's output items once the response completed (a
 * response cut short by steer or interrupt leaves nothing behind), each tool call's output, and the
 * reference's `<turn_aborted>` note when the turn is interrupted.
 */
async function runAgentTurn(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
): Promise<TurnOutcome> {
  const model = typeof options.model === 'function' ? options.model() : options.model;
  if ('missing' in model) {
    return fail(turn, model.missing);
  }
  const aborted = (outcome: TurnOutcome): TurnOutcome => {
    turn.record(turnAbortedMessage());
    return outcome;
  };
  // what changed since the model was last told (everything, on a thread's first turn)
  await recordContext(turn, options, state);
  // the turn's net file changes, sent again after each response while there are any
  const patchDiff = new TurnDiffTracker(turn.settings.cwd);
  const tools = turnTools(turn, options);
  let consumedInputs = 0;
  const takeInputs = () => {
    for (; consumedInputs < turn.inputs.length; consumedInputs++) {
      const message = userInputMessage(turn.inputs[consumedInputs] ?? []);
      if (message) turn.record(message);
    }
    turn.takeInjected();
  };
  for (;;) {
    takeInputs();
    if (turn.signal.aborted) return aborted({ status: 'completed' });
    const attempt = turn.attemptSignal();
    const calls: ToolCall[] = [];
    const output: ResponseInputItem[] = [];
    let usage: TokenUsage | null = null;
    let rateLimits: RateLimitSnapshot[] = [];
    // a response's token usage is reported once its tool calls ran, as the reference orders it,
    // followed by what its headers said about the account's rate limits
    const reportUsage = () => {
      // the reference's order: usage, then the rate limits the response's headers carried, then
      // the turn's diff (sent again after each response)
      const responded = usage !== null;
      if (usage) {
        const totals = state.totals.add(usage);
        usage = null;
        turn.emit('thread/tokenUsage/updated', {
          threadId: turn.threadId,
          turnId: turn.turnId,
          tokenUsage: { ...totals, modelContextWindow: state.context.reportedWindow(turn) },
        });
      }
      for (const snapshot of rateLimits) {
        turn.emit('account/rateLimits/updated', { rateLimits: snapshot });
      }
      rateLimits = [];
      if (responded) emitTurnDiff(turn, patchDiff);
    };
    let openItem:
      | { id: string; text: string; startedAtMs: number; planMode?: PlanModeMessage }
      | undefined;
    const reasoning = new ReasoningItems(turn);
    try {
      const request: ResponsesRequest = {
        model: turn.settings.model,
        // every call answered, every output with its call: the API refuses anything else
        input: normalizeConversation(turn.conversation),
        tools,
        parallelToolCalls: false,
        reasoning: turnReasoning(turn, options),
        serviceTier: turn.settings.serviceTier,
      };
      request.input = [baseInstructionsMessage(turn, options, request.tools), ...request.input];
      for await (const event of model.stream(request, attempt)) {
        if (isReasoningEvent(event)) {
          reasoning.handle(event);
          // carried forward with its encrypted content, so the model keeps its chain of thought
          if (event.type === 'reasoningDone') output.push(event.item);
          continue;
        }
        switch (event.type) {
          case 'messageStarted':
            openItem = { id: event.itemId, text: '', startedAtMs: Date.now() };
            if (turn.settings.collaborationMode?.mode === 'plan') {
              // the reply's <proposed_plan> block becomes a plan item; the rest, the message
              openItem.planMode = new PlanModeMessage(turn, event.itemId, openItem.startedAtMs);
              break;
            }
            startItem(
              turn,
              agentMessageItem(openItem.id, '', openItem.startedAtMs),
              openItem.startedAtMs,
            );
            break;
          case 'textDelta':
            if (!openItem || openItem.id !== event.itemId) break;
            openItem.text += event.delta;
            if (openItem.planMode) {
              openItem.planMode.push(event.delta);
              break;
            }
            turn.emit('item/agentMessage/delta', {
              threadId: turn.threadId,
              turnId: turn.turnId,
              itemId: event.itemId,
              delta: event.delta,
            });
            break;
          case 'messageDone': {
            const startedAtMs = openItem?.startedAtMs ?? Date.now();
            if (openItem?.planMode) openItem.planMode.finish(event.text);
            else completeItem(turn, agentMessageItem(event.itemId, event.text, startedAtMs));
            output.push(event.item);
            openItem = undefined;
            break;
          }
          case 'functionCall':
            calls.push({ callId: event.callId, arguments: event.arguments, name: event.name });
            output.push(event.item);
            break;
          case 'otherItem': {
            const custom = customToolCall(event.item);
            if (custom) calls.push(custom);
            if (keepsInConversation(event.item)) output.push(event.item);
            break;
          }
          case 'completed':
            usage = event.usage;
            break;
          case 'rateLimits':
            rateLimits = event.snapshots;
            break;
          case 'retry': {
            const notice = retryNoticeOf(event.error, event.attempt, event.maxRetries);
            if (notice) {
              const ids = { threadId: turn.threadId, turnId: turn.turnId };
              turn.emit('error', { ...ids, error: notice, willRetry: true });
            }
            break;
          }
          default:
            break;
        }
      }
    } catch (error) {
      if (turn.signal.aborted) return aborted({ status: 'completed' });
      if (attempt.aborted) continue; // steered: new input arrived; ask again with it
      return fail(turn, error);
    }
    if (attempt.aborted && !turn.signal.aborted) continue;
    // the response completed: what it said is now part of the conversation
    turn.record(...output);
    state.context.noteResponse(turn, usage);
    if (calls.length === 0) {
      reportUsage();
      if (turn.signal.aborted) return aborted({ status: 'completed' });
      if (consumedInputs < turn.inputs.length) continue; // input arrived as the reply finished
      if (turn.takeInjected()) continue; // items injected meanwhile: the model answers them too
      return { status: 'completed' };
    }
    let stop: TurnOutcome | undefined;
    for (const call of calls) {
      // every call the conversation holds gets an output, or the next request would be refused
      const result: ToolResult = stop
        ? { output: 'aborted' }
        : await answerToolCall(turn, options, state, call, patchDiff);
      turn.record({
        type: call.custom ? 'custom_tool_call_output' : 'function_call_output',
        call_id: call.callId,
        output: result.output,
      });
      if (result.followUp) turn.record(...result.followUp);
      stop ??= result.stop;
    }
    reportUsage();
    if (stop) return stop.status === 'failed' ? stop : aborted(stop);
    if (turn.signal.aborted) return aborted({ status: 'completed' });
    // the model has more to do: a full context is compacted before it is asked again
    if (state.context.needsCompaction(turn)) {
      const compaction = await state.context.compact(
        turn,
        model,
        (u) => state.totals.add(u),
        () => fullContext(turn, state),
      );
      if (compaction.kind === 'stopped') return compaction.outcome;
      // the compacted conversation has the context messages again (before the last user
      // message); whatever else changed is told now
      await recordContext(turn, options, state);
    }
  }
}

/**
 * Records the context messages the conversation lacks for the turn's settings, led by the
 * reference's `<model_switch>` message when the turn runs on another model than the previous one.
 */
async function recordContext(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
): Promise<void> {
  const previous = state.previousModel;
  const switched = previous !== undefined && previous.model !== turn.settings.model;
  state.previousModel = { model: turn.settings.model };
  turn.record(
    ...(await state.instructions.turnMessages(
      turn.settings,
      turn.conversation,
      (message) => turn.emit('warning', { threadId: turn.threadId, message }),
      switched ? renderModelSwitch(systemPrompt(turn, options)) : undefined,
    )),
  );
}

/**
 * The whole context a compacted conversation starts with again (the reference puts it before the
 * last user message): what a first turn with these settings is told.
 */
function fullContext(turn: TurnContext, state: ThreadAgentState): Promise<ResponseMessage[]> {
  return state.instructions.turnMessages(turn.settings, [], (message) =>
    turn.emit('warning', { threadId: turn.threadId, message }),
  );
}

/**
 * The system prompt of the thread's requests, its compaction's included: the thread's
 * `baseInstructions`, else the server's, else tether's own for the tools offered.
 */
function systemPrompt(
  turn: TurnContext,
  options: AgentOptions,
  tools: ResponsesRequest['tools'] = turnTools(turn, options),
): string {
  return (
    turn.settings.baseInstructions ??
    options.instructions ??
    tetherBaseInstructions((tools ?? []).map((tool) => tool.name))
  );
}

/** The `reasoning` of a turn's requests: its effort and summary, else the model's defaults. */
function turnReasoning(turn: TurnContext, options: AgentOptions) {
  return reasoningParam(
    turn.settings,
    options.reasoningDefaults ??
      (options.catalogue ?? BUILT_IN_CATALOGUE).reasoningDefaults(turn.settings.model),
  );
}

/** The tools a turn offers the model (tether's prompt names exactly these). */
function turnTools(
  turn: TurnContext,
  options: AgentOptions,
): NonNullable<ResponsesRequest['tools']> {
  return [
    EXEC_COMMAND_TOOL,
    applyPatchTool(options.applyPatchTool ?? applyPatchToolTypeFor(turn.settings.model ?? '')),
    ...(options.updatePlanTool ? [UPDATE_PLAN_TOOL] : []),
  ];
}

/**
 * Compaction outside the turn loop: before a turn's input when the context is full, and the
 * `thread/compact/start` turn. Undefined from `beforeInput` lets the turn go on.
 */
async function compactTurn(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
  when: 'beforeInput' | 'requested',
): Promise<TurnOutcome | undefined> {
  if (when === 'beforeInput' && !state.context.needsCompaction(turn)) return undefined;
  const model = typeof options.model === 'function' ? options.model() : options.model;
  if ('missing' in model) return fail(turn, model.missing);
  // a requested compaction puts the context back in the conversation, as the reference does; the
  // turn a full context compacts before records it with its input
  const compaction = await state.context.compact(
    turn,
    model,
    (u) => state.totals.add(u),
    when === 'requested' ? () => fullContext(turn, state) : undefined,
  );
  if (compaction.kind === 'stopped') return compaction.outcome;
  return when === 'requested' ? { status: 'completed' } : undefined;
}

/** Fails the turn with the error as the reference reports it (a model failure classified). */
function fail(turn: TurnContext, cause: unknown): TurnOutcome {
  const error = turnErrorOf(cause);
  turn.emit('error', { threadId: turn.threadId, turnId: turn.turnId, error, willRetry: false });
  return { status: 'failed', error };
}

/**
 * Runs a tool call and always comes back with its output: a tool that throws is answered with
 * what went wrong and ends the turn as failed, so the conversation never keeps a call without an
 * output (the next request would be refused).
 */
async function answerToolCall(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
  call: ToolCall,
  patchDiff: TurnDiffTracker,
): Promise<ToolResult> {
  try {
    if (call.name === APPLY_PATCH_TOOL_NAME) {
      return await applyPatchCall(turn, options, state, call, patchDiff);
    }
    return await runToolCall(turn, options, state, call);
  } catch (error) {
    const message = `${call.name} failed: ${error instanceof Error ? error.message : String(error)}`;
    if (turn.signal.aborted) return { output: 'aborted', stop: { status: 'completed' } };
    return { output: message, stop: fail(turn, message) };
  }
}

/** A tool call of a response: a function call, or a custom tool call (`arguments` is its input). */
interface ToolCall {
  callId: string;
  arguments: string;
  name: string;
  custom?: boolean;
}

/** A `custom_tool_call` output item as a call to answer (its output must be a custom one). */
function customToolCall(item: ResponseInputItem): ToolCall | undefined {
  if (item.type !== 'custom_tool_call') return undefined;
  const { call_id: callId, name, input } = item;
  if (typeof callId !== 'string' || typeof name !== 'string') return undefined;
  return { callId, name, arguments: typeof input === 'string' ? input : '', custom: true };
}

/** `apply_patch`, freeform (the input is the patch) or as a function (`{"input": patch}`). */
async function applyPatchCall(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
  call: ToolCall,
  patchDiff: TurnDiffTracker,
): Promise<ToolResult> {
  const args = call.custom ? { patch: call.arguments } : patchFromArguments(call.arguments);
  if ('error' in args) return { output: args.error };
  let environment: Environment;
  try {
    environment = await options.environment();
  } catch (error) {
    return { output: `apply_patch verification failed: ${messageOf(error)}` };
  }
  return runApplyPatchCall(
    {
      turn,
      files: environment.files,
      tracker: patchDiff,
      approvedPaths: state.approvedPatchPaths,
      tmpdir: (options.commandEnv ?? process.env).TMPDIR,
    },
    call.callId,
    args.patch,
  );
}

/** What a tool call hands back: the model's output, what to add after it, and whether to stop. */
interface ToolResult {
  output: string;
  /** Items recorded right after the call's output (the reference's note of a saved rule). */
  followUp?: ResponseInputItem[];
  stop?: TurnOutcome;
}

/** How the command the model asked for ran. */
interface CommandRun {
  processId: string;
  exitCode: number | null;
  aggregated: string;
  /** Bytes the command wrote in all (more than `aggregated` holds when the cap cut it). */
  originalBytes?: number;
  /** The environment lost the process (its output is incomplete). */
  lost?: string;
}

async function runToolCall(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
  call: ToolCall,
): Promise<ToolResult> {
  if (call.name === UPDATE_PLAN_TOOL_NAME && options.updatePlanTool) {
    return { output: runUpdatePlan(turn, call.arguments) };
  }
  if (call.name !== 'exec_command') return { output: `unsupported call: ${call.name}` };
  const args = parseExecCommandArgs(call.arguments);
  if ('error' in args) return { output: args.error };
  const cwd = args.workdir
    ? isAbsolute(args.workdir)
      ? args.workdir
      : resolve(turn.settings.cwd, args.workdir)
    : turn.settings.cwd;
  const argv = shellArgv(args);
  const command = displayCommand(argv);
  // the command line is judged from a real parse of it (tree-sitter's bash grammar)
  await loadShellParser();
  const { commands } = commandsForExecPolicy(argv);
  const commandActions = parsedCommandActions(argv, cwd);
  const escalated = args.escalated === true;
  const policy = options.execPolicy;
  const rulesAllow = (parts: readonly (readonly string[])[]) =>
    parts.length > 0 && policy !== undefined && policy.allowsAll(parts);
  const amendmentFor = () => proposedPrefixAmendment(argv, (part) => rulesAllow([part]));
  const sessionKey = sessionApprovalKey(canonicalizeCommandForApproval(argv), cwd, escalated);
  const ids = { threadId: turn.threadId, turnId: turn.turnId };
  const startedAtMs = Date.now();
  // the item as the model asked for it; each way it can end is completed from this
  const base: app.CommandExecutionItem = {
    type: 'commandExecution',
    id: call.callId,
    command,
    cwd,
    processId: null,
    source: 'agent',
    status: 'inProgress',
    commandActions,
    aggregatedOutput: null,
    exitCode: null,
    durationMs: null,
    pluginId: null,
    scriptPath: null,
    startedAtMs,
    completedAtMs: null,
  };
  const complete = (ending: Partial<app.CommandExecutionItem>) =>
    completeItem(turn, { ...base, ...ending });

  let environment: Environment;
  let capability: SandboxCapability = { available: true };
  try {
    // an environment that cannot be reached (a remote exec-server down) fails this command only
    environment = await options.environment();
    if (isSandboxed(turn.settings.sandbox)) capability = await environment.sandboxCapability();
  } catch (error) {
    const message = `failed to start command: ${messageOf(error)}`;
    startItem(turn, base, startedAtMs);
    complete({ status: 'failed', aggregatedOutput: message, durationMs: Date.now() - startedAtMs });
    return { output: message };
  }

  const decision = decideCommand({
    approvalPolicy: turn.settings.approvalPolicy,
    sandbox: turn.settings.sandbox,
    escalated,
    justification: args.justification,
    allowedByRules: rulesAllow(commands),
    knownSafe: isKnownSafeShellCommand(argv),
    approvedForSession: state.approvedForSession.has(sessionKey),
    sandboxAvailable: capability.available,
    sandboxProblem: capability.problem,
  });
  // refused outright (an escalation under `never`): the model is told, no item is shown
  if (decision.kind === 'reject') return { output: decision.message };

  const ask = (reason: string | undefined) =>
    askApproval(turn, {
      ...ids,
      itemId: call.callId,
      startedAtMs,
      command,
      cwd,
      commandActions,
      amendment: amendmentFor(),
      ...(reason !== undefined ? { reason } : {}),
    });
  let sandboxed = decision.kind === 'run' && decision.sandboxed;
  const followUp: ResponseInputItem[] = [];
  if (decision.kind === 'ask') {
    // the reference's order: waitingOnApproval, the item, then the question
    turn.setWaitingOnApproval(true);
    startItem(turn, base, startedAtMs);
    const answer = await ask(decision.reason);
    if (answer.kind === 'gone') return { output: 'aborted', stop: { status: 'completed' } };
    if (answer.kind === 'decline' || answer.kind === 'cancel') {
      // the reference's order: the declined item, then the flag cleared
      complete({ status: 'declined', aggregatedOutput: null, exitCode: null, durationMs: null });
      turn.setWaitingOnApproval(false);
      if (answer.kind === 'decline') return { output: DECLINED_OUTPUT };
      const seconds = ((Date.now() - startedAtMs) / 1000).toFixed(1);
      return {
        output: `Wall time: ${seconds} seconds\naborted by user`,
        stop: { status: 'interrupted' },
      };
    }
    turn.setWaitingOnApproval(false);
    if (answer.kind === 'acceptForSession') state.approvedForSession.add(sessionKey);
    if (answer.kind === 'acceptWithAmendment' && policy) {
      try {
        await policy.appendAllowPrefix(answer.pattern);
        followUp.push(developerMessage(prefixSavedMessage(answer.pattern)));
      } catch (error) {
        turn.emit('warning', {
          threadId: turn.threadId,
          message: `could not save the approved command prefix: ${messageOf(error)}`,
        });
      }
    }
    sandboxed = decision.sandboxedOnAccept;
  }

  let run = await runCommand(turn, options, environment, {
    argv,
    shells: state.loginShells,
    cwd,
    args,
    item: base,
    startedAtMs,
    sandboxed,
    announce: decision.kind === 'run',
  });
  if (run === 'aborted') return { output: 'aborted', stop: { status: 'completed' } };
  if (
    sandboxed &&
    run.exitCode !== null &&
    offersRetryWithoutSandbox(turn.settings.approvalPolicy, run.exitCode, run.aggregated)
  ) {
    const answer = await ask(RETRY_WITHOUT_SANDBOX_REASON);
    if (answer.kind === 'gone') return { output: 'aborted', stop: { status: 'completed' } };
    turn.setWaitingOnApproval(false);
    if (
      answer.kind === 'accept' ||
      answer.kind === 'acceptForSession' ||
      answer.kind === 'acceptWithAmendment'
    ) {
      const again = await runCommand(turn, options, environment, {
        argv,
        shells: state.loginShells,
        cwd,
        args,
        item: base,
        startedAtMs,
        sandboxed: false,
        announce: false,
      });
      if (again === 'aborted') return { output: 'aborted', stop: { status: 'completed' } };
      run = again;
    }
  }
  const durationMs = Date.now() - startedAtMs;
  if (run.lost !== undefined) {
    complete({
      processId: run.processId,
      source: 'unifiedExecStartup',
      status: 'failed',
      aggregatedOutput: `${run.aggregated}\n[${run.lost}]`,
      exitCode: null,
      durationMs,
    });
    return { output: run.lost };
  }
  complete({
    processId: run.processId,
    source: 'unifiedExecStartup',
    status: run.exitCode === 0 ? 'completed' : 'failed',
    // the reference reports no output as null, not ""
    aggregatedOutput: run.aggregated === '' ? null : run.aggregated,
    exitCode: run.exitCode,
    durationMs,
  });
  return {
    output: execOutputText({
      wallMs: durationMs,
      exitCode: run.exitCode ?? -1,
      output: run.aggregated,
      originalBytes: run.originalBytes ?? Buffer.byteLength(run.aggregated),
    }),
    ...(followUp.length > 0 ? { followUp } : {}),
  };
}

function developerMessage(text: string): ResponseMessage {
  return { type: 'message', role: 'developer', content: [{ type: 'input_text', text }] };
}

/**
 * The system prompt, first in every request as the reference sends it (a developer message, not
 * the `instructions` field): the thread's `baseInstructions`, else the server's, else tether's
 * own for the tools offered. Never recorded: a thread resumed or forked with other base
 * instructions sends those.
 */
function baseInstructionsMessage(
  turn: TurnContext,
  options: AgentOptions,
  tools: ResponsesRequest['tools'],
): ResponseMessage {
  return developerMessage(systemPrompt(turn, options, tools));
}

type ApprovalAnswer =
  | { kind: 'accept' }
  | { kind: 'acceptForSession' }
  | { kind: 'acceptWithAmendment'; pattern: string[] }
  | { kind: 'decline' }
  | { kind: 'cancel' }
  /** Nobody will answer (the turn was interrupted or the thread unloaded). */
  | { kind: 'gone' };

/**
 * Asks the thread's clients whether to run a command, with the choices the reference offers
 * (`accept`, accept and save the proposed prefix as a rule, `cancel`; `decline` and
 * `acceptForSession` are understood too), and reads the answer.
 */
async function askApproval(
  turn: TurnContext,
  request: {
    threadId: string;
    turnId: string;
    itemId: string;
    startedAtMs: number;
    command: string;
    cwd: string;
    commandActions: app.CommandAction[];
    /** The command prefix offered to save as a rule (none for a line no rule could match). */
    amendment: string[] | undefined;
    reason?: string;
  },
): Promise<ApprovalAnswer> {
  // waitingOnApproval is set here and cleared by the caller, where the reference clears it
  turn.setWaitingOnApproval(true);
  const { amendment, reason } = request;
  // the reference's member order
  const outcome = await turn.request('item/commandExecution/requestApproval', {
    kind: 'command',
    threadId: request.threadId,
    turnId: request.turnId,
    itemId: request.itemId,
    startedAtMs: request.startedAtMs,
    environmentId: 'local',
    command: request.command,
    cwd: request.cwd,
    commandActions: request.commandActions,
    ...(reason !== undefined ? { reason } : {}),
    ...(amendment ? { proposedExecpolicyAmendment: amendment } : {}),
    availableDecisions: amendment
      ? ['accept', { acceptWithExecpolicyAmendment: { execpolicy_amendment: amendment } }, 'cancel']
      : ['accept', 'cancel'],
  });
  if (outcome.kind === 'cancelled') return { kind: 'gone' };
  // an error answer (or one that did not match the result schema) declines
  if (outcome.kind !== 'result') return { kind: 'decline' };
  const decision = outcome.result.decision;
  if (decision === 'accept') return { kind: 'accept' };
  if (decision === 'acceptForSession') return { kind: 'acceptForSession' };
  if (decision === 'cancel') return { kind: 'cancel' };
  const amended = app.AcceptWithExecpolicyAmendmentDecision.safeParse(decision);
  if (amended.success) {
    return {
      kind: 'acceptWithAmendment',
      pattern: amended.data.acceptWithExecpolicyAmendment.execpolicy_amendment,
    };
  }
  return { kind: 'decline' };
}

/**
 * Runs the command in the environment (inside the thread's sandbox when `sandboxed`), streaming
 * its output as deltas of the item; `announce` sends `item/started` once it runs. Bounded by the
 * output cap and the timeout; killed when the turn is interrupted.
 */
async function runCommand(
  turn: TurnContext,
  options: AgentOptions,
  environment: Environment,
  run: {
    argv: string[];
    shells: LoginShells;
    cwd: string;
    args: ExecCommandArgs;
    item: app.CommandExecutionItem;
    /** When the item started (the model asked), which its `item/started` reports. */
    startedAtMs: number;
    sandboxed: boolean;
    announce: boolean;
  },
): Promise<CommandRun | 'aborted'> {
  const ids = { threadId: turn.threadId, turnId: turn.turnId };
  const settings = turn.settings;
  const sandbox = run.sandboxed ? sandboxContextFor(settings.sandbox, run.cwd) : undefined;
  const how = await run.shells.prepare(
    run.argv,
    options.commandEnv ?? plainEnv(process.env),
    environment,
    run.cwd,
    sandbox,
  );
  const env = commandEnvironment(how.base, {
    threadId: turn.threadId,
    callId: run.item.id,
    home: options.home,
  });
  if (sandbox && !networkAllowed(settings.sandbox)) env.CODEX_SANDBOX_NETWORK_DISABLED = '1';
  let running: RunningCommand;
  try {
    running = await environment.run({
      argv: how.argv,
      cwd: run.cwd,
      env,
      ...(sandbox ? { sandbox } : {}),
    });
  } catch (error) {
    const message = `failed to start command: ${messageOf(error)}`;
    if (run.announce) startItem(turn, run.item, run.startedAtMs);
    return { processId: '', exitCode: null, aggregated: '', lost: message };
  }
  if (run.announce) {
    startItem(
      turn,
      { ...run.item, processId: running.processId, source: 'unifiedExecStartup' },
      run.startedAtMs,
    );
  }
  const cap = Math.min(
    options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES,
    run.args.maxOutputBytes ?? Infinity,
  );
  const onAbort = () => void running.terminate();
  turn.signal.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = run.args.timeoutMs ?? options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void running.terminate();
  }, timeoutMs);
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let droppedBytes = 0;
  let lostError: Error | undefined;
  try {
    for await (const chunk of running.output) {
      if (!turn.signal.aborted) {
        turn.emit('item/commandExecution/outputDelta', {
          ...ids,
          itemId: run.item.id,
          delta: chunk.data.toString('utf8'),
        });
      }
      const room = cap - keptBytes;
      if (room > 0) {
        const piece = chunk.data.length > room ? chunk.data.subarray(0, room) : chunk.data;
        kept.push(piece);
        keptBytes += piece.length;
      }
      droppedBytes += Math.max(0, chunk.data.length - Math.max(0, room));
    }
  } catch (error) {
    // the environment lost the process (a remote session that could not be resumed)
    lostError = error instanceof Error ? error : new Error(String(error));
  }
  const exitCode = lostError ? -1 : await running.exitCode;
  clearTimeout(timer);
  turn.signal.removeEventListener('abort', onAbort);
  let aggregated = Buffer.concat(kept).toString('utf8');
  if (lostError) {
    return {
      processId: running.processId,
      exitCode: null,
      aggregated,
      lost: `the command's output was lost: ${lostError.message}`,
    };
  }
  if (turn.signal.aborted) return 'aborted';
  if (droppedBytes > 0) {
    aggregated += `\n[output truncated: ${droppedBytes} more bytes not shown; the cap is ${cap} bytes]`;
  }
  if (timedOut) aggregated += `\n[command timed out after ${timeoutMs} ms and was killed]`;
  return {
    processId: running.processId,
    exitCode,
    aggregated,
    originalBytes: keptBytes + droppedBytes,
  };
}

/** A runtime factory running the agent in every thread. */
export function agentRuntimeFactory(options: AgentOptions): RuntimeFactory {
  return (context) => {
    const state: ThreadAgentState = {
      approvedForSession: new Set(),
      approvedPatchPaths: new Set(),
      totals: new Totals(context.tokenUsage?.total),
      context: new ContextTracker({
        instructions: (turn) => systemPrompt(turn, options),
        reasoning: (turn) => turnReasoning(turn, options),
        overrides: {
          contextWindow: options.modelContextWindow,
          autoCompactTokenLimit: options.modelAutoCompactTokenLimit,
        },
        catalogue: options.catalogue,
        lastUsage: context.tokenUsage,
        conversationLength: context.conversation.length,
      }),
      instructions: new ThreadContext({
        home: options.home,
        projectDocMaxBytes: options.projectDocMaxBytes,
        // the project's AGENTS.md is read where the thread's commands run
        files: async () => (await options.environment()).files,
        shell: DEFAULT_SHELL,
        tmpdir: (options.commandEnv ?? process.env).TMPDIR,
        updatePlanTool: options.updatePlanTool === true,
      }),
      loginShells: new LoginShells(DEFAULT_SHELL),
      // a thread with a conversation had a turn: on its model unless the loader says otherwise
      previousModel:
        context.conversation.length === 0
          ? undefined
          : {
              model:
                context.previousModel !== undefined
                  ? context.previousModel
                  : context.settings.model,
            },
    };
    return new TurnLoopRuntime(context, (turn) => runAgentTurn(turn, options, state), {
      beforeInput: (turn) => compactTurn(turn, options, state, 'beforeInput'),
      // the compaction before the input failed: the input still joins the conversation
      inputNotTaken: (turn) => {
        for (const input of turn.inputs) {
          const message = userInputMessage(input);
          if (message) turn.record(message);
        }
      },
      compact: async (turn) => {
        const outcome = (await compactTurn(turn, options, state, 'requested')) ?? {
          status: 'completed',
        };
        // an interrupted compaction leaves the reference's note, as an interrupted turn does
        if (turn.signal.aborted) turn.record(turnAbortedMessage());
        return outcome;
      },
      instructionSources: async (cwd) => (await state.instructions.agentsMd(cwd)).sources,
    });
  };
}
