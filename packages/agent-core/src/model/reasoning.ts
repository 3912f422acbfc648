import { asRecord, type Json, str } from './json.js';
import type { ModelEvent, ReasoningParam, ResponseInputItem } from './types.js';

/**
 * The reasoning part of a response stream: `reasoning` output items, their summary parts and
 * deltas, and their raw reasoning text. One per HTTP response, fed by the stream translator.
 * The Responses API sends each reasoning item as `output_item.added`, then
 * `reasoning_summary_part.added` / `reasoning_summary_text.delta` per summary part and
 * `reasoning_text.delta` for the raw text, then `output_item.done` with the whole item.
 */
export class ReasoningStream {
  private readonly started = new Set<string>();

  /** `response.output_item.added` with a `reasoning` item. */
  added(item: Json, payload: Json): ModelEvent[] {
    return this.start(str(item.id) ?? indexId(payload), []);
  }

  /**
   * A summary part, a summary delta or a raw reasoning delta; an event without the index the
   * reference needs is skipped, as the reference skips it.
   */
  streamed(type: string, payload: Json): ModelEvent[] {
    const itemId = str(payload.item_id) ?? indexId(payload);
    const summaryIndex = int(payload.summary_index);
    const contentIndex = int(payload.content_index);
    const delta = str(payload.delta);
    switch (type) {
      case 'response.reasoning_summary_part.added':
        if (summaryIndex === undefined) return [];
        return [
          ...this.start(itemId, []),
          { type: 'reasoningSummaryPartAdded', itemId, summaryIndex },
        ];
      case 'response.reasoning_summary_text.delta':
        if (summaryIndex === undefined || delta === undefined) return [];
        return [
          ...this.start(itemId, []),
          { type: 'reasoningSummaryDelta', itemId, summaryIndex, delta },
        ];
      case 'response.reasoning_text.delta':
        if (contentIndex === undefined || delta === undefined) return [];
        return [
          ...this.start(itemId, []),
          { type: 'reasoningTextDelta', itemId, contentIndex, delta },
        ];
      default:
        return [];
    }
  }

  /** `response.output_item.done` with a `reasoning` item. */
  done(item: Json, payload: Json): ModelEvent[] {
    const itemId = str(item.id) ?? indexId(payload);
    const events = this.start(itemId, []);
    events.push({
      type: 'reasoningDone',
      itemId,
      summary: texts(item.summary, 'summary_text'),
      content: texts(item.content, 'reasoning_text', 'text'),
      item: reasoningInputItem(item, itemId),
    });
    return events;
  }

  private start(itemId: string, events: ModelEvent[]): ModelEvent[] {
    if (!this.started.has(itemId)) {
      this.started.add(itemId);
      events.push({ type: 'reasoningStarted', itemId });
    }
    return events;
  }
}

/**
 * A reasoning item as the next request carries it, in the shape the reference sends back: `id`,
 * `summary`, `content` (kept when it holds raw reasoning text, `null` when the item had none, left
 * out when it holds only other parts) and `encrypted_content` (`null` when the server sent none).
 * With `store: false` the encrypted content is what lets the model continue its chain of thought.
 */
export function reasoningInputItem(item: Json, itemId: string): ResponseInputItem {
  const shaped: Record<string, unknown> = {
    type: 'reasoning',
    id: itemId,
    summary: Array.isArray(item.summary) ? item.summary : [],
  };
  const content = item.content;
  if (!Array.isArray(content)) {
    shaped.content = null;
  } else if (content.some((part) => asRecord(part)?.type === 'reasoning_text')) {
    shaped.content = content;
  }
  shaped.encrypted_content =
    typeof item.encrypted_content === 'string' ? item.encrypted_content : null;
  return { ...shaped, type: 'reasoning' };
}

/** What the settings ask of a model's reasoning, and the model's defaults for what they leave unset. */
export interface ReasoningDefaults {
  /** The model's default effort; null sends none (the server's default applies). */
  effort: string | null;
  /** The model's default summary mode. */
  summary: string;
  /** Whether the model takes `reasoning.summary` at all. */
  summaryParameter: boolean;
}

/**
 * The reference's defaults for a model it has no metadata for (every model tether serves: it has
 * no catalogue): no default effort, summaries `auto`.
 */
export const UNKNOWN_MODEL_REASONING: ReasoningDefaults = {
  effort: null,
  summary: 'auto',
  summaryParameter: true,
};

/**
 * The request's `reasoning` field as the reference builds it: always sent; `effort` is the turn's
 * (or the model's default) and left out when there is none; `summary` likewise, and left out when
 * it is `none` or the model takes no summary parameter (so `{}` is a valid answer).
 */
export function reasoningParam(
  settings: { reasoningEffort: string | null; reasoningSummary: string | null },
  defaults: ReasoningDefaults = UNKNOWN_MODEL_REASONING,
): ReasoningParam {
  const param: ReasoningParam = {};
  const effort = settings.reasoningEffort ?? defaults.effort;
  if (effort !== null) param.effort = effort;
  const summary = settings.reasoningSummary ?? defaults.summary;
  if (defaults.summaryParameter && summary !== 'none') param.summary = summary;
  return param;
}

/** The text of each part of `parts` whose type is one of `types`, in order. */
function texts(parts: unknown, ...types: string[]): string[] {
  if (!Array.isArray(parts)) return [];
  const out: string[] = [];
  for (const part of parts) {
    const record = asRecord(part);
    if (record && types.includes(String(record.type)) && typeof record.text === 'string') {
      out.push(record.text);
    }
  }
  return out;
}

function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** An id for an item the server sent without one, from its `output_index` (as the translator does). */
function indexId(payload: Json): string {
  const index = payload.output_index;
  return `item_${typeof index === 'number' && Number.isFinite(index) ? index : 0}`;
}
