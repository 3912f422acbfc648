import type { app } from '@tether/protocol';
import type { TurnContext } from './turn-loop-runtime.js';

/** Where an item's notifications go: a running turn, or anything that emits for one. */
export type ItemEmitter = Pick<TurnContext, 'threadId' | 'turnId' | 'emit'>;

/** Announces an item (`item/started`, in the reference's member order). */
export function startItem(turn: ItemEmitter, item: app.ThreadItem, startedAtMs: number): void {
  turn.emit('item/started', { item, threadId: turn.threadId, turnId: turn.turnId, startedAtMs });
}

/**
 * Completes an item: `item/completed` with the item stamped `completedAtMs` (now by default), the
 * same time on the item and on the notification, in the reference's member order. Returns the
 * item as it was sent.
 */
export function completeItem<T extends app.ThreadItem>(
  turn: ItemEmitter,
  item: T,
  completedAtMs: number = Date.now(),
): T & { completedAtMs: number } {
  const completed = { ...item, completedAtMs };
  turn.emit('item/completed', {
    item: completed,
    threadId: turn.threadId,
    turnId: turn.turnId,
    contentTokenCount: null,
    completedAtMs,
  });
  return completed;
}

/** An agent message as it stands (not completed: {@link completeItem} stamps that). */
export function agentMessageItem(
  id: string,
  text: string,
  startedAtMs: number = Date.now(),
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
    completedAtMs: null,
  };
}
