import type { app } from '@tether/protocol';
import { v7 as uuidv7 } from 'uuid';
import type { ModelStreamer } from './agent.js';
import { normalizeConversation } from './conversation.js';
import { completeItem, startItem } from './items.js';
import {
  isModelError,
  type ReasoningParam,
  type ResponseInputItem,
  type ResponseMessage,
  retryNoticeOf,
  type TokenUsage,
  turnErrorOf,
} from './model/index.js';
import {
  autoCompactTokenLimit,
  BUILT_IN_CATALOGUE,
  type ModelCatalogue,
  type ModelContextInfo,
  type ModelContextOverrides,
  reportedContextWindow,
} from './model-catalogue.js';
import type { TurnContext, TurnOutcome } from './turn-loop-runtime.js';

/**
 * The request that ends a compaction: the model is asked to write the summary the conversation
 * is then replaced with. Tether's own words for the reference's intent (a handoff note for a model
 * that continues from it alone).
 */
export const COMPACTION_PROMPT = `Context checkpoint. The conversation so far is about to be replaced by a summary that you write now; the work will continue from that summary and the user's recent messages alone.

Write a handoff summary that covers:
- what has been done so far, and the decisions made along the way
- what the next step needs to know: constraints, the user's preferences, the files, commands and results that matter
- what remains to be done, as concrete next steps
- exact data the work depends on (names, paths, values, short snippets)

Keep it brief and structured. Write only the summary.
`;

/** Opens the message that carries the summary into the compacted conversation. */
export const SUMMARY_PREFIX =
  'Earlier parts of this conversation were compacted. A model worked on this task before you and, before its context was cleared, wrote the summary below; the user messages above are the ones it had received, and the tool results it saw are gone. Continue the work from this summary: build on what it reports as done instead of repeating it. The summary:';

/** How many tokens of earlier user messages a compacted conversation keeps (the reference's). */
export const COMPACT_USER_MESSAGE_MAX_TOKENS = 20_000;

/**
 * User messages that are context the agent added, not something the user said (the interrupted
 * turn's note, project instructions, environment context): a compacted conversation leaves them
 * out, as the reference does.
 */
export const CONTEXT_MESSAGE_PREFIXES: readonly string[] = [
  '<turn_aborted>',
  '<environment_context>',
  '<user_instructions>',
  '# AGENTS.md instructions',
];

/** A rough token count (4 bytes a token), the same rule the reference estimates with. */
export function approxTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}

/** About how many tokens a request with these instructions and items takes. */
export function estimateTokens(instructions: string, items: readonly ResponseInputItem[]): number {
  let bytes = Buffer.byteLength(instructions, 'utf8');
  for (const item of items) bytes += Buffer.byteLength(JSON.stringify(item), 'utf8');
  return Math.ceil(bytes / 4);
}

/** The text of a message's text parts, joined by newlines; null for anything else. */
function messageText(item: ResponseInputItem): string | null {
  if (item.type !== 'message' || !Array.isArray(item.content)) return null;
  const parts: string[] = [];
  for (const part of item.content) {
    if (typeof part !== 'object' || part === null) continue;
    const text: unknown = 'text' in part ? part.text : undefined;
    if (typeof text === 'string' && text !== '') parts.push(text);
  }
  return parts.length > 0 ? parts.join('\n') : null;
}

export function isSummaryMessage(text: string): boolean {
  return text.startsWith(`${SUMMARY_PREFIX}\n`);
}

/** What the user said, oldest first: user messages without earlier summaries and added context. */
export function collectUserMessages(items: readonly ResponseInputItem[]): string[] {
  const messages: string[] = [];
  for (const item of items) {
    if (item.role !== 'user') continue;
    const text = messageText(item);
    if (text === null || isSummaryMessage(text)) continue;
    const start = text.trimStart();
    if (CONTEXT_MESSAGE_PREFIXES.some((prefix) => start.startsWith(prefix))) continue;
    messages.push(text);
  }
  return messages;
}

/** The text of the last assistant message, or "" when the model said nothing. */
function lastAssistantText(items: readonly ResponseInputItem[]): string {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i];
    if (item?.role !== 'assistant') continue;
    const text = messageText(item);
    if (text !== null) return text;
  }
  return '';
}

/**
 * Cuts `text` to about `maxTokens`, keeping its start and its end around a note of how much was
 * left out (the middle of a long paste matters least).
 */
export function truncateToTokens(text: string, maxTokens: number): string {
  const tokens = approxTokens(text);
  if (tokens <= maxTokens) return text;
  const chars = [...text];
  const keep = Math.max(0, maxTokens * 4);
  const head = chars.slice(0, Math.floor(keep / 2)).join('');
  const tail = chars.slice(chars.length - Math.ceil(keep / 2)).join('');
  const removed = tokens - approxTokens(head) - approxTokens(tail);
  return `${head}…${removed} tokens truncated…${tail}`;
}

const userMessage = (text: string): ResponseMessage => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text }],
});

const developerMessage = (text: string): ResponseMessage => ({
  type: 'message',
  role: 'developer',
  content: [{ type: 'input_text', text }],
});

/**
 * The conversation a compaction leaves: the most recent user messages that fit in `maxTokens`
 * (the oldest one that does not fit cut to what is left), oldest first, then the summary; the
 * `initialContext` messages go before the last of those user messages. Assistant messages, tool calls and their outputs are gone: the summary stands for them.
 */
export function buildCompactedHistory(
  userMessages: readonly string[],
  summary: string,
  maxTokens: number = COMPACT_USER_MESSAGE_MAX_TOKENS,
  initialContext: readonly ResponseMessage[] = [],
): ResponseMessage[] {
  const kept: string[] = [];
  let remaining = maxTokens;
  for (let i = userMessages.length - 1; i >= 0 && remaining > 0; i--) {
    const message = userMessages[i] ?? '';
    const tokens = approxTokens(message);
    if (tokens <= remaining) {
      kept.push(message);
      remaining -= tokens;
    } else {
      kept.push(truncateToTokens(message, remaining));
      break;
    }
  }
  kept.reverse();
  const summaryText = summary === '' ? '(no summary available)' : summary;
  const messages = kept.map(userMessage);
  // the context goes before the last user message (before the summary when none is kept), where
  // the reference puts it
  messages.splice(Math.max(0, messages.length - 1), 0, ...initialContext);
  return [...messages, userMessage(summaryText)];
}

/** What a compaction needs besides the turn. */
export interface CompactionDeps {
  model: ModelStreamer;
  /** The thread's system prompt: the summary request starts with it, the estimate counts it. */
  instructions: string;
  /** `modelContextWindow` as reported with token usage. */
  reportedWindow: number;
  /** How many tokens of the user's messages the compacted conversation keeps. */
  userMessageBudget: number;
  /** The model's context window: the compaction request must fit in it too. */
  contextWindow: number;
  /** The tokens the conversation takes now. */
  tokensInUse: number;
  /** Adds a response's usage to the thread's totals; returns what to report. */
  addUsage(usage: TokenUsage): { total: app.TokenUsageBreakdown; last: app.TokenUsageBreakdown };
  /** The context messages the compacted conversation starts with again (none: the next turn's). */
  initialContext?: () => Promise<ResponseMessage[]>;
  /** The summary request's `reasoning`, as the turn's requests send it. */
  reasoning?: ReasoningParam;
}

/** How a compaction ended: the tokens the new conversation takes, or how the turn ends. */
export type CompactionResult =
  | { kind: 'compacted'; contextTokens: number }
  | { kind: 'stopped'; outcome: TurnOutcome };

const zeroBreakdown = (): app.TokenUsageBreakdown => ({
  totalTokens: 0,
  inputTokens: 0,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  outputTokens: 0,
  reasoningOutputTokens: 0,
});

/**
 * Compacts the turn's conversation, as the reference does: an ordinary streamed request with the
 * whole conversation and the compaction prompt (no tools), whose answer becomes the summary; the
 * conversation is then replaced by the user's recent messages and that summary. Shown as a
 * `contextCompaction` item, with token usage reported as the reference reports it (the usage so
 * far, the compaction response's, then an estimate of the new conversation). The summary request
 * leaves out the oldest items when it would not fit the window, and again when the API says it
 * does not.
 */
export async function runCompaction(
  turn: TurnContext,
  deps: CompactionDeps,
): Promise<CompactionResult> {
  const ids = { threadId: turn.threadId, turnId: turn.turnId };
  const startedAtMs = Date.now();
  const item: app.ContextCompactionItem = {
    type: 'contextCompaction',
    id: uuidv7(),
    startedAtMs,
    completedAtMs: null,
  };
  startItem(turn, item, startedAtMs);
  const before = turn.tokenUsage;
  if (before) turn.emit('thread/tokenUsage/updated', { ...ids, tokenUsage: before });

  const history = [...normalizeConversation(turn.conversation)];
  const systemPrompt = developerMessage(deps.instructions);
  const prompt = userMessage(COMPACTION_PROMPT);
  // the summary request must fit the window as well: the oldest items go first until it does
  // (the reference waits for the API to refuse it; tether does not send what it knows is too big)
  let size = deps.tokensInUse + estimateTokens('', [prompt]);
  while (size > deps.contextWindow && history.length > 1) {
    const dropped = history.shift();
    if (dropped) size -= estimateTokens('', [dropped]);
  }
  let output: ResponseInputItem[] = [];
  for (;;) {
    output = [];
    let usage: TokenUsage | null = null;
    try {
      const request = {
        model: turn.settings.model,
        // the system prompt leads, as in the turn's own requests (the reference's too)
        input: [systemPrompt, ...normalizeConversation(history), prompt],
        // the turn's reasoning (the model's default effort included), as the reference sends it
        ...(deps.reasoning
          ? { reasoning: deps.reasoning }
          : {
              reasoningEffort: turn.settings.reasoningEffort,
              reasoningSummary: turn.settings.reasoningSummary,
            }),
        serviceTier: turn.settings.serviceTier,
      };
      for await (const event of deps.model.stream(request, turn.signal)) {
        if (event.type === 'messageDone') output.push(event.item);
        else if (event.type === 'completed') usage = event.usage;
        else if (event.type === 'retry') {
          // the summary request's retries are announced like a turn's, as the reference does
          const notice = retryNoticeOf(event.error, event.attempt, event.maxRetries);
          if (notice) turn.emit('error', { ...ids, error: notice, willRetry: true });
        }
      }
    } catch (error) {
      if (turn.signal.aborted) return { kind: 'stopped', outcome: { status: 'completed' } };
      if (
        isModelError(error) &&
        error.apiCode === 'context_length_exceeded' &&
        history.length > 0
      ) {
        // the oldest item goes first: the recent work matters most to the summary
        history.shift();
        continue;
      }
      const failure = turnErrorOf(error);
      turn.emit('error', { ...ids, error: failure, willRetry: false });
      return { kind: 'stopped', outcome: { status: 'failed', error: failure } };
    }
    if (turn.signal.aborted) return { kind: 'stopped', outcome: { status: 'completed' } };
    if (usage) {
      const totals = deps.addUsage(usage);
      turn.emit('thread/tokenUsage/updated', {
        ...ids,
        tokenUsage: { ...totals, modelContextWindow: deps.reportedWindow },
      });
    }
    break;
  }

  const summary = `${SUMMARY_PREFIX}\n${lastAssistantText(output)}`;
  const replacement = buildCompactedHistory(
    collectUserMessages(turn.conversation),
    summary,
    deps.userMessageBudget,
    (await deps.initialContext?.()) ?? [],
  );
  turn.replaceConversation(replacement);
  // the system prompt as it is sent, and the new conversation (with its context messages, when it
  // got them back); what is recorded next counts as added items
  const contextTokens = estimateTokens('', [systemPrompt, ...replacement]);
  // the reference's estimate of the new conversation: `last` holds only the token count
  turn.emit('thread/tokenUsage/updated', {
    ...ids,
    tokenUsage: {
      total: turn.tokenUsage?.total ?? zeroBreakdown(),
      last: { ...zeroBreakdown(), totalTokens: contextTokens },
      modelContextWindow: deps.reportedWindow,
    },
  });
  completeItem(turn, item);
  return { kind: 'compacted', contextTokens };
}

/**
 * The user messages a compaction keeps: the reference's 20k tokens, and never more than a quarter
 * of the window, so that a small window is not filled by the kept messages alone (the reference
 * keeps 20k whatever the window; for its windows of 80k and more the two agree).
 */
export function userMessageBudget(info: ModelContextInfo): number {
  return Math.min(COMPACT_USER_MESSAGE_MAX_TOKENS, Math.floor(info.contextWindow / 4));
}

/** What a thread's {@link ContextTracker} is built from. */
export interface ContextTrackerOptions {
  /** The system prompt the thread's requests start with (the compaction request's too). */
  instructions: (turn: TurnContext) => string;
  /** The `reasoning` of the thread's requests (the compaction request's too). */
  reasoning?: (turn: TurnContext) => ReasoningParam;
  /** Window and compaction limit settings that override the model catalogue. */
  overrides?: ModelContextOverrides;
  /** Where the model's window comes from (default: the built-in catalogue). */
  catalogue?: ModelCatalogue | undefined;
  /** The thread's last reported usage: a resumed thread starts from it. */
  lastUsage: app.ThreadTokenUsage | null;
  /** How long the conversation was when that usage was reported. */
  conversationLength: number;
}

/**
 * How full a thread's context is, and compaction when it is full. The tokens in use are the last
 * response's total (its input and output) plus an estimate of what was added since (tool
 * outputs); the reference compacts when that reaches the model's auto-compact limit, before a
 * turn's first request and between a tool call's output and the follow-up request.
 */
export class ContextTracker {
  private tokensAtMark: number;
  private mark: number;

  constructor(private readonly options: ContextTrackerOptions) {
    this.tokensAtMark = options.lastUsage?.last.totalTokens ?? 0;
    this.mark = options.conversationLength;
  }

  private info(turn: TurnContext): ModelContextInfo {
    const catalogue = this.options.catalogue ?? BUILT_IN_CATALOGUE;
    return catalogue.contextInfo(turn.settings.model, this.options.overrides);
  }

  /** `modelContextWindow` for the turn's model. */
  reportedWindow(turn: TurnContext): number {
    return reportedContextWindow(this.info(turn));
  }

  /** A response completed and its output was recorded: its usage is what is in use now. */
  noteResponse(turn: TurnContext, usage: TokenUsage | null): void {
    if (!usage) return;
    this.tokensAtMark = usage.totalTokens;
    this.mark = turn.conversation.length;
  }

  /** About how many tokens the next request takes. */
  tokensInUse(turn: TurnContext): number {
    const added = turn.conversation.slice(this.mark);
    return this.tokensAtMark + (added.length > 0 ? estimateTokens('', added) : 0);
  }

  /** Whether the context passed the model's auto-compact limit. */
  needsCompaction(turn: TurnContext): boolean {
    return this.tokensInUse(turn) >= autoCompactTokenLimit(this.info(turn));
  }

  /** Compacts now; afterwards the estimate of the new conversation is what is in use. */
  async compact(
    turn: TurnContext,
    model: ModelStreamer,
    addUsage: CompactionDeps['addUsage'],
    initialContext?: CompactionDeps['initialContext'],
  ): Promise<CompactionResult> {
    const info = this.info(turn);
    const result = await runCompaction(turn, {
      model,
      instructions: this.options.instructions(turn),
      reportedWindow: reportedContextWindow(info),
      userMessageBudget: userMessageBudget(info),
      contextWindow: info.contextWindow,
      tokensInUse: this.tokensInUse(turn),
      addUsage,
      ...(initialContext ? { initialContext } : {}),
      ...(this.options.reasoning ? { reasoning: this.options.reasoning(turn) } : {}),
    });
    if (result.kind === 'compacted') {
      this.tokensAtMark = result.contextTokens;
      this.mark = turn.conversation.length;
    }
    return result;
  }
}
