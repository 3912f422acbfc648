import { isAbsolute, resolve } from 'node:path';
import type { app } from '@tether/protocol';
import { normalizeConversation } from './conversation.js';
import { type Environment, plainEnv, type RunningCommand } from './environment.js';
import type {
  ModelEvent,
  ResponseInputItem,
  ResponseMessage,
  ResponsesRequest,
  TokenUsage,
} from './model/index.js';
import type { RuntimeFactory } from './runtime.js';
import {
  commandPrefix,
  EXEC_COMMAND_TOOL,
  type ExecCommandArgs,
  isKnownSafe,
  parseExecCommandArgs,
} from './tools.js';
import { type TurnContext, TurnLoopRuntime, type TurnOutcome } from './turn-loop-runtime.js';

/** What the agent needs from a model client (the Responses API client implements it). */
export interface ModelStreamer {
  stream(request: ResponsesRequest, signal?: AbortSignal): AsyncIterable<ModelEvent>;
}

export interface AgentOptions {
  /** The model, or a message naming the missing setting when none is configured. */
  model: ModelStreamer | { missing: string };
  /** Where commands run (shared by the threads of a server). */
  environment: () => Promise<Environment>;
  instructions?: string;
  /** Most output kept in a command item's `aggregatedOutput` and sent to the model (1 MiB). */
  outputCapBytes?: number;
  /** Default command timeout (10 minutes). */
  commandTimeoutMs?: number;
  /** Environment of the commands (default: this process's). */
  commandEnv?: Record<string, string>;
  /** Context window reported with token usage. */
  modelContextWindow?: number | null;
}

export const DEFAULT_OUTPUT_CAP_BYTES = 1024 * 1024;
export const DEFAULT_COMMAND_TIMEOUT_MS = 10 * 60 * 1000;

const DEFAULT_INSTRUCTIONS =
  'You are a coding agent running in a terminal-based environment. Use the exec_command tool to run shell commands when you need to inspect or change files. Be concise.';

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
 * Output items carried forward into the next request: messages and tool calls always, reasoning
 * only with its encrypted content (a reasoning item the server did not keep cannot be sent back).
 */
function keepsInConversation(item: ResponseInputItem): boolean {
  if (item.type === 'reasoning') {
    return typeof item.encrypted_content === 'string' && item.encrypted_content !== '';
  }
  return item.type === 'message' || item.type === 'function_call';
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
  approvedPrefixes: Set<string>;
  totals: Totals;
}

function shellArgv(args: ExecCommandArgs): string[] {
  const shell = args.shell ?? '/bin/bash';
  return [shell, args.login === false ? '-c' : '-lc', args.cmd];
}

function displayCommand(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
}

function needsApproval(
  policy: app.AskForApproval,
  args: ExecCommandArgs,
  state: ThreadAgentState,
): boolean {
  if (state.approvedPrefixes.has(commandPrefix(args.cmd))) return false;
  if (policy === 'never') return false;
  if (policy === 'untrusted') return !isKnownSafe(args.cmd);
  // on-request (and granular policies): ask when the model asks to leave the sandbox; on-failure:
  // tether has no sandbox that could deny a command, so there is no failure to escalate from
  if (policy === 'on-failure') return false;
  return args.escalated === true;
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
  const model = options.model;
  if ('missing' in model) {
    return fail(turn, model.missing);
  }
  const aborted = (outcome: TurnOutcome): TurnOutcome => {
    turn.record(turnAbortedMessage());
    return outcome;
  };
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
    const calls: Array<{ callId: string; arguments: string; name: string }> = [];
    const output: ResponseInputItem[] = [];
    let usage: TokenUsage | null = null;
    // a response's token usage is reported once its tool calls ran, as the reference orders it
    const reportUsage = () => {
      if (!usage) return;
      const totals = state.totals.add(usage);
      usage = null;
      turn.emit('thread/tokenUsage/updated', {
        threadId: turn.threadId,
        turnId: turn.turnId,
        tokenUsage: { ...totals, modelContextWindow: options.modelContextWindow ?? null },
      });
    };
    let openItem: { id: string; text: string; startedAtMs: number } | undefined;
    try {
      const request: ResponsesRequest = {
        model: turn.settings.model,
        instructions: options.instructions ?? DEFAULT_INSTRUCTIONS,
        // every call answered, every output with its call: the API refuses anything else
        input: normalizeConversation(turn.conversation),
        tools: [EXEC_COMMAND_TOOL],
        parallelToolCalls: false,
        reasoningEffort: turn.settings.reasoningEffort,
        reasoningSummary: turn.settings.reasoningSummary,
        serviceTier: turn.settings.serviceTier,
      };
      for await (const event of model.stream(request, attempt)) {
        switch (event.type) {
          case 'messageStarted':
            openItem = { id: event.itemId, text: '', startedAtMs: Date.now() };
            turn.emit('item/started', {
              item: agentMessageItem(openItem.id, '', openItem.startedAtMs, null),
              threadId: turn.threadId,
              turnId: turn.turnId,
              startedAtMs: openItem.startedAtMs,
            });
            break;
          case 'textDelta':
            if (!openItem || openItem.id !== event.itemId) break;
            openItem.text += event.delta;
            turn.emit('item/agentMessage/delta', {
              threadId: turn.threadId,
              turnId: turn.turnId,
              itemId: event.itemId,
              delta: event.delta,
            });
            break;
          case 'messageDone': {
            const startedAtMs = openItem?.startedAtMs ?? Date.now();
            const completedAtMs = Date.now();
            turn.emit('item/completed', {
              item: agentMessageItem(event.itemId, event.text, startedAtMs, completedAtMs),
              threadId: turn.threadId,
              turnId: turn.turnId,
              contentTokenCount: null,
              completedAtMs,
            });
            output.push(event.item);
            openItem = undefined;
            break;
          }
          case 'functionCall':
            calls.push({ callId: event.callId, arguments: event.arguments, name: event.name });
            output.push(event.item);
            break;
          case 'otherItem':
            if (keepsInConversation(event.item)) output.push(event.item);
            break;
          case 'completed':
            usage = event.usage;
            break;
          default:
            break;
        }
      }
    } catch (error) {
      if (turn.signal.aborted) return aborted({ status: 'completed' });
      if (attempt.aborted) continue; // steered: new input arrived; ask again with it
      return fail(turn, (error as Error).message);
    }
    if (attempt.aborted && !turn.signal.aborted) continue;
    // the response completed: what it said is now part of the conversation
    turn.record(...output);
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
      const result = stop
        ? { output: 'aborted' }
        : await answerToolCall(turn, options, state, call);
      turn.record({ type: 'function_call_output', call_id: call.callId, output: result.output });
      stop ??= result.stop;
    }
    reportUsage();
    if (stop) return stop.status === 'failed' ? stop : aborted(stop);
    if (turn.signal.aborted) return aborted({ status: 'completed' });
  }
}

function fail(turn: TurnContext, message: string): TurnOutcome {
  const error = { message, codexErrorInfo: null, additionalDetails: null };
  turn.emit('error', { threadId: turn.threadId, turnId: turn.turnId, error, willRetry: false });
  return { status: 'failed', error };
}

function agentMessageItem(
  id: string,
  text: string,
  startedAtMs: number,
  completedAtMs: number | null,
): app.AgentMessageItem {
  return {
    type: 'agentMessage',
    moderation: null,
    id,
    text,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    startedAtMs,
    completedAtMs,
  };
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
  call: { callId: string; arguments: string; name: string },
): Promise<{ output: string; stop?: TurnOutcome }> {
  try {
    return await runToolCall(turn, options, state, call);
  } catch (error) {
    const message = `${call.name} failed: ${error instanceof Error ? error.message : String(error)}`;
    if (turn.signal.aborted) return { output: 'aborted', stop: { status: 'completed' } };
    return { output: message, stop: fail(turn, message) };
  }
}

async function runToolCall(
  turn: TurnContext,
  options: AgentOptions,
  state: ThreadAgentState,
  call: { callId: string; arguments: string; name: string },
): Promise<{ output: string; stop?: TurnOutcome }> {
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
  const commandActions: app.CommandAction[] = [{ type: 'unknown', command: args.cmd }];
  const startedAtMs = Date.now();
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
  const ids = { threadId: turn.threadId, turnId: turn.turnId };

  if (needsApproval(turn.settings.approvalPolicy, args, state)) {
    turn.setWaitingOnApproval(true);
    turn.emit('item/started', { item: base, ...ids, startedAtMs });
    const outcome = await turn.request('item/commandExecution/requestApproval', {
      kind: 'command',
      ...ids,
      itemId: call.callId,
      startedAtMs,
      environmentId: 'local',
      command,
      cwd,
      commandActions,
      ...(args.justification ? { reason: args.justification } : {}),
      availableDecisions: ['accept', 'acceptForSession', 'decline', 'cancel'],
    });
    turn.setWaitingOnApproval(false);
    if (outcome.kind === 'cancelled') return { output: 'aborted', stop: { status: 'completed' } };
    const decision =
      outcome.kind === 'result' ? (outcome.result as { decision?: unknown }).decision : 'decline';
    if (decision === 'cancel')
      return { output: 'aborted by user', stop: { status: 'interrupted' } };
    if (decision === 'acceptForSession') state.approvedPrefixes.add(commandPrefix(args.cmd));
    const accepted =
      decision === 'accept' ||
      decision === 'acceptForSession' ||
      (typeof decision === 'object' && decision !== null);
    if (!accepted) {
      const completedAtMs = Date.now();
      turn.emit('item/completed', {
        item: { ...base, status: 'declined', completedAtMs },
        ...ids,
        contentTokenCount: null,
        completedAtMs,
      });
      return { output: 'exec_command was rejected by the user: do not run this command again' };
    }
  } else {
    turn.emit('item/started', { item: base, ...ids, startedAtMs });
  }

  const cap = Math.min(
    options.outputCapBytes ?? DEFAULT_OUTPUT_CAP_BYTES,
    args.maxOutputBytes ?? Infinity,
  );
  let running: RunningCommand;
  try {
    // an environment that cannot be reached (a remote exec-server down) fails this command only
    const environment: Environment = await options.environment();
    running = await environment.run({
      argv,
      cwd,
      env: options.commandEnv ?? plainEnv(process.env),
    });
  } catch (error) {
    const completedAtMs = Date.now();
    const message = `failed to start command: ${(error as Error).message}`;
    turn.emit('item/completed', {
      item: {
        ...base,
        status: 'failed',
        aggregatedOutput: message,
        completedAtMs,
        durationMs: completedAtMs - startedAtMs,
      },
      ...ids,
      contentTokenCount: null,
      completedAtMs,
    });
    return { output: message };
  }
  const onAbort = () => void running.terminate();
  turn.signal.addEventListener('abort', onAbort, { once: true });
  const timeoutMs = args.timeoutMs ?? options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
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
          itemId: call.callId,
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
    lostError = error as Error;
  }
  const exitCode = lostError ? -1 : await running.exitCode;
  clearTimeout(timer);
  turn.signal.removeEventListener('abort', onAbort);
  if (lostError) {
    const completedAtMs = Date.now();
    const message = `the command's output was lost: ${lostError.message}`;
    turn.emit('item/completed', {
      item: {
        ...base,
        processId: running.processId,
        status: 'failed',
        aggregatedOutput: `${Buffer.concat(kept).toString('utf8')}\n[${message}]`,
        exitCode: null,
        durationMs: completedAtMs - startedAtMs,
        completedAtMs,
      },
      ...ids,
      contentTokenCount: null,
      completedAtMs,
    });
    return { output: message };
  }
  if (turn.signal.aborted) return { output: 'aborted', stop: { status: 'completed' } };
  let aggregated = Buffer.concat(kept).toString('utf8');
  if (droppedBytes > 0) {
    aggregated += `\n[output truncated: ${droppedBytes} more bytes not shown; the cap is ${cap} bytes]`;
  }
  if (timedOut) aggregated += `\n[command timed out after ${timeoutMs} ms and was killed]`;
  const completedAtMs = Date.now();
  const durationMs = completedAtMs - startedAtMs;
  turn.emit('item/completed', {
    item: {
      ...base,
      processId: running.processId,
      status: exitCode === 0 ? 'completed' : 'failed',
      aggregatedOutput: aggregated,
      exitCode,
      durationMs,
      completedAtMs,
    },
    ...ids,
    contentTokenCount: null,
    completedAtMs,
  });
  return {
    output: `Process exited with code ${exitCode}\nWall time: ${(durationMs / 1000).toFixed(1)} seconds\nOutput:\n${aggregated}`,
  };
}

/** A runtime factory running the agent in every thread. */
export function agentRuntimeFactory(options: AgentOptions): RuntimeFactory {
  return (context) => {
    const state: ThreadAgentState = {
      approvedPrefixes: new Set(),
      totals: new Totals(context.tokenUsage?.total),
    };
    return new TurnLoopRuntime(context, (turn) => runAgentTurn(turn, options, state));
  };
}
