import type { app } from '@tether/protocol';
import { completeItem, type ItemEmitter, startItem } from './items.js';
import type { ModelEvent } from './model/index.js';

type ReasoningEvent = Extract<
  ModelEvent,
  {
    type:
      | 'reasoningStarted'
      | 'reasoningSummaryPartAdded'
      | 'reasoningSummaryDelta'
      | 'reasoningTextDelta'
      | 'reasoningDone';
  }
>;

/** True for the model events {@link ReasoningItems} turns into notifications. */
export function isReasoningEvent(event: ModelEvent): event is ReasoningEvent {
  return event.type.startsWith('reasoning');
}

/** A reasoning item as it stands (not completed: `completeItem` stamps that). */
function reasoningItem(
  id: string,
  summary: string[],
  content: string[],
  startedAtMs: number,
): app.ReasoningItem {
  return { type: 'reasoning', id, summary, content, startedAtMs, completedAtMs: null };
}

/**
 * The `reasoning` items of one model response, as the reference shows them: `item/started` when
 * the item begins, `item/reasoning/summaryPartAdded`, `summaryTextDelta` and `textDelta` as the
 * model streams them, and `item/completed` with the finished summary parts and raw text. A
 * response cut short (steer, interrupt) leaves its open item without a completion, as the
 * reference leaves it.
 */
export class ReasoningItems {
  private readonly startedAt = new Map<string, number>();

  constructor(private readonly turn: ItemEmitter) {}

  handle(event: ReasoningEvent): void {
    const ids = { threadId: this.turn.threadId, turnId: this.turn.turnId, itemId: event.itemId };
    switch (event.type) {
      case 'reasoningStarted': {
        const startedAtMs = Date.now();
        this.startedAt.set(event.itemId, startedAtMs);
        startItem(this.turn, reasoningItem(event.itemId, [], [], startedAtMs), startedAtMs);
        break;
      }
      case 'reasoningSummaryPartAdded':
        this.turn.emit('item/reasoning/summaryPartAdded', {
          ...ids,
          summaryIndex: event.summaryIndex,
        });
        break;
      case 'reasoningSummaryDelta':
        // the reference's member order: delta before the index
        this.turn.emit('item/reasoning/summaryTextDelta', {
          ...ids,
          delta: event.delta,
          summaryIndex: event.summaryIndex,
        });
        break;
      case 'reasoningTextDelta':
        this.turn.emit('item/reasoning/textDelta', {
          ...ids,
          delta: event.delta,
          contentIndex: event.contentIndex,
        });
        break;
      case 'reasoningDone': {
        const startedAtMs = this.startedAt.get(event.itemId) ?? Date.now();
        this.startedAt.delete(event.itemId);
        completeItem(
          this.turn,
          reasoningItem(event.itemId, event.summary, event.content, startedAtMs),
        );
        break;
      }
    }
  }
}
