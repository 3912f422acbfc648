import { randomUUID } from 'node:crypto';
import type { Logger } from '@tether/protocol';
import { ModelError } from '../errors.js';
import { asRecord, type Json, num, str } from '../json.js';
import type { SseEvent } from '../sse.js';
import { isPermanentApiCode, type StreamTranslator, type TranslateStep } from '../translate.js';
import type { ModelEvent, ResponseInputItem, TokenUsage } from '../types.js';

const NOTHING: TranslateStep = { events: [], completed: false };

/** A tool call being assembled from its deltas. */
interface PendingCall {
  id: string | undefined;
  name: string;
  arguments: string;
}

/**
 * Turns a Chat Completions stream (`chat.completion.chunk` objects, then `data: [DONE]`) into the
 * same `ModelEvent`s as the Responses API's, so the turn loop cannot tell the wire APIs apart:
 * content deltas open one assistant message; tool calls are assembled from their deltas (by
 * `index`, arguments arriving in pieces, several calls at once) and reported when the choice
 * finishes; reasoning text that local servers stream (`reasoning_content`, `reasoning`) becomes a
 * `reasoning` item; the usage chunk that `include_usage` asks for becomes the completion's usage.
 * An `error` object in the stream and the finish reasons `length` and `content_filter` throw a
 * `ModelError` as the Responses API's failures do.
 */
export class ChatStreamTranslator implements StreamTranslator {
  private responseId = '';
  private created = false;
  private messageId: string | undefined;
  private text = '';
  private reasoning = '';
  private reasoningId: string | undefined;
  private readonly calls: PendingCall[] = [];
  /** Which pending call each `index` (or, for servers that send none, call id) fills. */
  private readonly callAt = new Map<string, PendingCall>();
  private lastCall: PendingCall | undefined;
  private finished = false;
  private usage: TokenUsage | null = null;

  constructor(private readonly logger: Logger) {}

  translate(sse: SseEvent): TranslateStep {
    const data = sse.data.trim();
    if (data === '') return NOTHING;
    if (data === '[DONE]') return this.complete();
    let chunk: Json;
    try {
      const parsed = asRecord(JSON.parse(data));
      if (parsed === undefined) throw new Error('not an object');
      chunk = parsed;
    } catch {
      this.logger.debug({ data: data.slice(0, 200) }, 'model: unparseable chat chunk');
      return NOTHING;
    }
    const error = asRecord(chunk.error);
    if (error !== undefined) throw streamError(error);
    const events: ModelEvent[] = [];
    if (!this.created) {
      this.created = true;
      this.responseId = str(chunk.id) ?? '';
      events.push({ type: 'created', responseId: this.responseId });
    }
    const usage = usageOf(chunk.usage);
    if (usage !== null) this.usage = usage;
    const choices = Array.isArray(chunk.choices) ? chunk.choices : [];
    for (const entry of choices) {
      const choice = asRecord(entry);
      // one choice is asked for; a server that sends more has its others ignored
      if (choice === undefined || (choice.index !== undefined && choice.index !== 0)) continue;
      const delta = asRecord(choice.delta) ?? asRecord(choice.message);
      if (delta !== undefined) this.delta(delta, events);
      const reason = str(choice.finish_reason);
      if (reason !== undefined && !this.finished) this.finish(reason, events);
    }
    return { events, completed: false };
  }

  /**
   * The body ended without `[DONE]`: complete once the choice has finished (a server may close
   * the stream right after its last chunk), or report the stream as cut short so it is retried.
   */
  end(): TranslateStep {
    if (this.finished) return this.complete();
    throw new ModelError(
      'stream_disconnected',
      'model stream ended before the chat completion finished (no finish_reason)',
      { retryable: true },
    );
  }

  private delta(delta: Json, events: ModelEvent[]): void {
    const thought = reasoningText(delta.reasoning_content) ?? reasoningText(delta.reasoning);
    if (thought !== undefined && thought !== '') {
      // streamed as the Responses API's raw reasoning text, so clients see it as it comes
      if (this.reasoningId === undefined) {
        this.reasoningId = `rs_${randomUUID()}`;
        events.push({ type: 'reasoningStarted', itemId: this.reasoningId });
      }
      this.reasoning += thought;
      events.push({
        type: 'reasoningTextDelta',
        itemId: this.reasoningId,
        contentIndex: 0,
        delta: thought,
      });
    }
    const text = contentText(delta.content);
    if (text !== undefined && text !== '') {
      if (this.messageId === undefined) {
        this.messageId = `msg_${randomUUID()}`;
        events.push({ type: 'messageStarted', itemId: this.messageId });
      }
      this.text += text;
      events.push({ type: 'textDelta', itemId: this.messageId, delta: text });
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const entry of delta.tool_calls) {
        const call = asRecord(entry);
        if (call !== undefined) this.toolCallDelta(call);
      }
    }
  }

  private toolCallDelta(delta: Json): void {
    const id = str(delta.id) || undefined;
    const fn = asRecord(delta.function);
    const key = typeof delta.index === 'number' ? `index:${delta.index}` : undefined;
    let call = key !== undefined ? this.callAt.get(key) : undefined;
    if (key === undefined) {
      // no index: a call id names its call; a delta without one continues the last call
      call = id !== undefined ? this.callAt.get(`id:${id}`) : this.lastCall;
    }
    if (call !== undefined && id !== undefined && call.id !== undefined && call.id !== id) {
      // a server that reuses one index for several calls: a new id is a new call
      call = undefined;
    }
    if (call === undefined) {
      call = { id, name: '', arguments: '' };
      this.calls.push(call);
    }
    if (key !== undefined) this.callAt.set(key, call);
    if (id !== undefined) {
      call.id ??= id;
      this.callAt.set(`id:${id}`, call);
    }
    this.lastCall = call;
    const name = str(fn?.name);
    if (name !== undefined && name !== '') call.name = name;
    const args = fn?.arguments;
    if (typeof args === 'string') call.arguments += args;
    else if (asRecord(args) !== undefined) call.arguments += JSON.stringify(args);
  }

  /** The choice is over: its reasoning, message and tool calls are complete. */
  private finish(reason: string, events: ModelEvent[]): void {
    this.finished = true;
    if (reason === 'length' || reason === 'content_filter') {
      // the Responses API's words for the same ends, so a turn fails the same way on both
      const apiCode = reason === 'length' ? 'max_output_tokens' : 'content_filter';
      throw new ModelError(
        'response_incomplete',
        `model response incomplete: ${apiCode} (finish_reason "${reason}")`,
        { retryable: false, apiCode },
      );
    }
    if (this.reasoningId !== undefined) {
      const itemId = this.reasoningId;
      const item: ResponseInputItem = {
        type: 'reasoning',
        id: itemId,
        summary: [],
        content: [{ type: 'reasoning_text', text: this.reasoning }],
      };
      events.push({ type: 'reasoningDone', itemId, summary: [], content: [this.reasoning], item });
    }
    if (this.messageId !== undefined) {
      events.push({
        type: 'messageDone',
        itemId: this.messageId,
        text: this.text,
        item: {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: this.text }],
        },
      });
    }
    // tool calls are reported whatever the finish reason says: some servers finish a choice
    // that called tools with "stop"
    for (const call of this.calls) {
      if (call.name === '') {
        this.logger.debug({ callId: call.id }, 'model: chat tool call without a name skipped');
        continue;
      }
      const callId = call.id ?? `call_${randomUUID()}`;
      const args = call.arguments === '' ? '{}' : call.arguments;
      const itemId = `fc_${randomUUID()}`;
      events.push({
        type: 'functionCall',
        itemId,
        callId,
        name: call.name,
        arguments: args,
        item: { type: 'function_call', call_id: callId, name: call.name, arguments: args },
      });
    }
  }

  private complete(): TranslateStep {
    const events: ModelEvent[] = [];
    if (!this.created) {
      this.created = true;
      events.push({ type: 'created', responseId: this.responseId });
    }
    // `[DONE]` without a finish reason: what arrived is all there is
    if (!this.finished) this.finish('stop', events);
    events.push({ type: 'completed', responseId: this.responseId, usage: this.usage });
    return { events, completed: true };
  }
}

/** The text of a content delta: a string, or the text of its parts. */
function contentText(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content) text += str(asRecord(part)?.text) ?? '';
  return text;
}

/** Reasoning text as local servers stream it: a string, or an object with `text` or `content`. */
function reasoningText(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  const object = asRecord(value);
  if (object === undefined) return undefined;
  return str(object.text) || str(object.content) || undefined;
}

/** An `error` object sent in the stream (vLLM, llama.cpp and gateways do this mid-stream). */
function streamError(error: Json): ModelError {
  const apiCode = str(error.code) ?? str(error.type);
  const message = str(error.message) ?? 'no message';
  return new ModelError('stream_error', `model stream error: ${message}`, {
    retryable: !isPermanentApiCode(apiCode),
    apiCode,
  });
}

/** `usage` of a chunk (`prompt_tokens`, `completion_tokens` and their details), else null. */
function usageOf(value: unknown): TokenUsage | null {
  const usage = asRecord(value);
  if (usage === undefined) return null;
  const inputTokens = num(usage.prompt_tokens);
  const outputTokens = num(usage.completion_tokens);
  return {
    inputTokens,
    cachedInputTokens: num(asRecord(usage.prompt_tokens_details)?.cached_tokens),
    outputTokens,
    reasoningOutputTokens: num(asRecord(usage.completion_tokens_details)?.reasoning_tokens),
    totalTokens:
      typeof usage.total_tokens === 'number' ? num(usage.total_tokens) : inputTokens + outputTokens,
  };
}
