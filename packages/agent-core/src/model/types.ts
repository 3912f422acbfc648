import type { ModelError } from './errors.js';
import type { RateLimitSnapshot } from './rate-limits.js';

/** A JSON Schema object (the `parameters` of a function tool). */
export type JsonSchema = { readonly [key: string]: unknown };

export interface ResponseTextContent {
  type: 'input_text' | 'output_text';
  text: string;
}

/**
 * One item of the conversation sent to the model (the Responses API's `input`): a user, assistant
 * or developer `message`, a `function_call` and its `function_call_output`, a `reasoning` item, or
 * any other item type the API takes. The agent builds the first four; items the model produced are
 * carried forward exactly as they arrived.
 */
export type ResponseInputItem = { readonly type: string; readonly [key: string]: unknown };

/** A message as the agent builds it (a type alias, so it is a `ResponseInputItem` too). */
export type ResponseMessage = {
  type: 'message';
  role: 'user' | 'assistant' | 'developer' | 'system';
  content: ResponseTextContent[];
  id?: string;
};

/** A tool the model may call; `arguments` come back as a JSON string matching `parameters`. */
export interface FunctionTool {
  type: 'function';
  name: string;
  description: string;
  parameters: JsonSchema;
  strict?: boolean;
}

/**
 * A custom (freeform) tool: the model's input is plain text, constrained by `format` (a grammar),
 * and comes back as a `custom_tool_call` item whose output is a `custom_tool_call_output`.
 */
export interface CustomTool {
  type: 'custom';
  name: string;
  description: string;
  format: { type: 'grammar'; syntax: 'lark' | 'regex'; definition: string };
}

/**
 * What one model call asks for; the client adds `stream: true`, `store: false` and
 * `include: ["reasoning.encrypted_content"]`.
 */
export interface ResponsesRequest {
  /** The model for this call; the client's configured model when omitted or empty. */
  model?: string | null;
  instructions?: string;
  input: readonly ResponseInputItem[];
  tools?: Array<FunctionTool | CustomTool>;
  /** Sent as `parallel_tool_calls`; `false` when omitted. */
  parallelToolCalls?: boolean;
  /**
   * Sent as `reasoning` as it is (`{}` included); build it with `reasoningParam`. When absent,
   * `reasoningEffort` and `reasoningSummary` make one if either is set.
   */
  reasoning?: ReasoningParam;
  /** Sent as `reasoning: { effort }` when set and `reasoning` is absent. */
  reasoningEffort?: string | null;
  /** Sent as `reasoning: { summary }` when set and `reasoning` is absent. */
  reasoningSummary?: string | null;
  /** Sent as `service_tier` when set. */
  serviceTier?: string | null;
}

/** The request's `reasoning` field. */
export interface ReasoningParam {
  effort?: string;
  summary?: string;
}

/** Token counts of one response (`response.completed`'s `usage`). */
export interface TokenUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningOutputTokens: number;
  totalTokens: number;
}

/**
 * What the client yields while a response streams, in the server's order. Every `textDelta` and
 * `messageDone` of an item comes after that item's `messageStarted`; `completed` is last.
 */
export type ModelEvent =
  | { type: 'created'; responseId: string }
  | { type: 'messageStarted'; itemId: string }
  | { type: 'textDelta'; itemId: string; delta: string }
  /** `item` is the output item as the server sent it, to carry forward in the conversation. */
  | { type: 'messageDone'; itemId: string; text: string; item: ResponseInputItem }
  | {
      type: 'functionCall';
      itemId: string;
      callId: string;
      name: string;
      arguments: string;
      item: ResponseInputItem;
    }
  /** A `reasoning` item began (before any of its deltas). */
  | { type: 'reasoningStarted'; itemId: string }
  /** The reasoning item's summary gained part `summaryIndex`. */
  | { type: 'reasoningSummaryPartAdded'; itemId: string; summaryIndex: number }
  | { type: 'reasoningSummaryDelta'; itemId: string; summaryIndex: number; delta: string }
  /** Raw reasoning text (models that expose it). */
  | { type: 'reasoningTextDelta'; itemId: string; contentIndex: number; delta: string }
  /**
   * The reasoning item is complete: its summary parts and raw text, and `item` to carry forward
   * (with its encrypted content) in the next requests.
   */
  | {
      type: 'reasoningDone';
      itemId: string;
      summary: string[];
      content: string[];
      item: ResponseInputItem;
    }
  /** Any other finished output item, to carry forward as it is. */
  | { type: 'otherItem'; itemId: string; item: ResponseInputItem }
  | { type: 'completed'; responseId: string; usage: TokenUsage | null }
  /**
   * What the response's headers say about the account's rate limits (the `codex` family first),
   * before the response's own events, when it sent rate-limit headers; a failure after it is
   * still retried.
   */
  | { type: 'rateLimits'; snapshots: RateLimitSnapshot[] }
  /**
   * The request failed before saying anything and is tried again after `delayMs`: retry
   * `attempt` of `maxRetries` (`null`: the server could not be reached, retried without a bound).
   * Events of the new attempt follow, from `created`.
   */
  | {
      type: 'retry';
      attempt: number;
      maxRetries: number | null;
      delayMs: number;
      error: ModelError;
    };
