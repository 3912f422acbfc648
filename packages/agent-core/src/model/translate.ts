import type { Logger } from '@tether/protocol';
import { ModelError } from './errors.js';
import { asRecord, type Json, num, str } from './json.js';
import { ReasoningStream } from './reasoning.js';
import { retryDelayFromMessage } from './retry.js';
import type { SseEvent } from './sse.js';
import type { ModelEvent, TokenUsage } from './types.js';

export interface TranslateStep {
  events: ModelEvent[];
  /** `response.completed` arrived: the response is over. */
  completed: boolean;
}

/** Turns one HTTP response's server-sent events into `ModelEvent`s (one per wire API). */
export interface StreamTranslator {
  translate(sse: SseEvent): TranslateStep;
  /**
   * The body ended without the translator reporting completion: the last events and whether the
   * response counts as complete; without this method (or when not complete) the client reports a
   * disconnected stream.
   */
  end?(): TranslateStep;
}

const NOTHING: TranslateStep = { events: [], completed: false };

/** API error codes after which the same request cannot succeed (see `ModelError.retryable`). */
const PERMANENT_API_CODES: ReadonlySet<string> = new Set([
  'context_length_exceeded',
  'insufficient_quota',
  'invalid_api_key',
  'invalid_prompt',
  'model_not_found',
  'usage_not_included',
  'usage_limit_reached',
]);

function retryAfterIn(message: string): { retryAfterMs?: number } {
  const ms = retryDelayFromMessage(message);
  return ms === undefined ? {} : { retryAfterMs: ms };
}

export function isPermanentApiCode(code: string | undefined): boolean {
  return code !== undefined && PERMANENT_API_CODES.has(code);
}

/**
 * Turns the Responses API's server-sent events into `ModelEvent`s: one translator per HTTP
 * response. Unknown event types and unparseable data are skipped; `response.failed`,
 * `response.incomplete` and `error` throw a `ModelError`.
 */
export class ResponseStreamTranslator implements StreamTranslator {
  private readonly started = new Set<string>();
  private readonly texts = new Map<string, string>();
  private readonly reasoning = new ReasoningStream();
  private responseId = '';

  constructor(private readonly logger: Logger) {}

  translate(sse: SseEvent): TranslateStep {
    const data = sse.data.trim();
    if (data === '' || data === '[DONE]') return NOTHING;
    let payload: Json;
    try {
      const parsed: unknown = JSON.parse(data);
      const record = asRecord(parsed);
      if (record === undefined) throw new Error('not an object');
      payload = record;
    } catch {
      this.logger.debug({ event: sse.event, data: data.slice(0, 200) }, 'model: unparseable event');
      return NOTHING;
    }
    const type = str(payload.type) ?? sse.event;
    switch (type) {
      case 'response.created': {
        this.responseId = str(asRecord(payload.response)?.id) ?? '';
        return step([{ type: 'created', responseId: this.responseId }]);
      }
      case 'response.output_item.added': {
        const item = asRecord(payload.item);
        if (item?.type === 'reasoning') return step(this.reasoning.added(item, payload));
        if (item?.type !== 'message') return NOTHING;
        const itemId = str(item.id) ?? indexId(payload);
        return step(this.start(itemId, []));
      }
      case 'response.output_text.delta': {
        const delta = str(payload.delta);
        if (delta === undefined) return NOTHING;
        const itemId = str(payload.item_id) ?? indexId(payload);
        const events = this.start(itemId, []);
        this.texts.set(itemId, (this.texts.get(itemId) ?? '') + delta);
        events.push({ type: 'textDelta', itemId, delta });
        return step(events);
      }
      case 'response.reasoning_summary_part.added':
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta':
        return step(this.reasoning.streamed(type, payload));
      case 'response.output_item.done':
        return this.itemDone(payload);
      case 'response.completed': {
        const response = asRecord(payload.response);
        const responseId = str(response?.id) ?? this.responseId;
        return {
          events: [{ type: 'completed', responseId, usage: usageOf(response?.usage) }],
          completed: true,
        };
      }
      case 'response.failed': {
        const error = asRecord(asRecord(payload.response)?.error);
        const apiCode = str(error?.code);
        const message = str(error?.message) ?? 'no reason given';
        throw new ModelError('response_failed', `model response failed: ${message}`, {
          retryable: !isPermanentApiCode(apiCode),
          apiCode,
          ...(str(error?.message) !== undefined ? { apiMessage: message } : {}),
          // an in-stream rate limit says how long to wait in its message only
          ...retryAfterIn(message),
        });
      }
      case 'response.incomplete': {
        const details = asRecord(asRecord(payload.response)?.incomplete_details);
        const reason = str(details?.reason) ?? 'no reason given';
        throw new ModelError('response_incomplete', `model response incomplete: ${reason}`, {
          retryable: false,
          apiCode: reason,
        });
      }
      case 'error': {
        const error = asRecord(payload.error) ?? payload;
        const apiCode = str(error.code) ?? str(error.type);
        const message = str(error.message) ?? 'no message';
        throw new ModelError('stream_error', `model stream error: ${message}`, {
          retryable: !isPermanentApiCode(apiCode),
          apiCode,
          apiMessage: message,
        });
      }
      default:
        return NOTHING;
    }
  }

  private start(itemId: string, events: ModelEvent[]): ModelEvent[] {
    if (!this.started.has(itemId)) {
      this.started.add(itemId);
      events.push({ type: 'messageStarted', itemId });
    }
    return events;
  }

  private itemDone(payload: Json): TranslateStep {
    const item = asRecord(payload.item);
    if (item === undefined) return NOTHING;
    const itemId = str(item.id) ?? indexId(payload);
    if (item.type === 'message') {
      const events = this.start(itemId, []);
      const text = textOf(item.content) ?? this.texts.get(itemId) ?? '';
      // a server that sent the text only as deltas gets it filled in, so the item carried
      // forward says what the model said
      const content =
        textOf(item.content) === undefined ? [{ type: 'output_text', text }] : item.content;
      events.push({
        type: 'messageDone',
        itemId,
        text,
        item: { ...item, type: 'message', content },
      });
      return step(events);
    }
    if (item.type === 'reasoning') return step(this.reasoning.done(item, payload));
    if (item.type === 'function_call') {
      const name = str(item.name);
      if (name === undefined) {
        this.logger.debug({ itemId }, 'model: function_call without a name skipped');
        return NOTHING;
      }
      const args = item.arguments;
      return step([
        {
          type: 'functionCall',
          itemId,
          callId: str(item.call_id) ?? itemId,
          name,
          arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
          // carried forward as the API takes it back: string arguments and a call id
          item: {
            ...item,
            type: 'function_call',
            call_id: str(item.call_id) ?? itemId,
            arguments: typeof args === 'string' ? args : JSON.stringify(args ?? {}),
          },
        },
      ]);
    }
    if (typeof item.type === 'string') {
      return step([{ type: 'otherItem', itemId, item: { ...item, type: item.type } }]);
    }
    return NOTHING;
  }
}

function step(events: ModelEvent[]): TranslateStep {
  return { events, completed: false };
}

/** An id for an item the server sent without one, from its `output_index`. */
function indexId(payload: Json): string {
  return `item_${num(payload.output_index)}`;
}

/** The text of a message item's `output_text` parts, or `undefined` when it has none. */
function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text: string | undefined;
  for (const part of content) {
    const record = asRecord(part);
    if (record?.type === 'output_text' && typeof record.text === 'string') {
      text = (text ?? '') + record.text;
    }
  }
  return text;
}

function usageOf(value: unknown): TokenUsage | null {
  const usage = asRecord(value);
  if (usage === undefined) return null;
  const inputTokens = num(usage.input_tokens);
  const outputTokens = num(usage.output_tokens);
  return {
    inputTokens,
    cachedInputTokens: num(asRecord(usage.input_tokens_details)?.cached_tokens),
    outputTokens,
    reasoningOutputTokens: num(asRecord(usage.output_tokens_details)?.reasoning_tokens),
    totalTokens:
      usage.total_tokens === undefined ? inputTokens + outputTokens : num(usage.total_tokens),
  };
}
