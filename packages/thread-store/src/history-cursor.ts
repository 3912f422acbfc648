/**
 * Cursors of `thread/turns/list` and `thread/items/list`, in the reference's format: a JSON object
 * in a string (not base64), naming the thread it was issued for, a position (`rolloutOrdinal`:
 * here the byte offset of the turn's or item's first record) and whether a page starting there
 * includes that position. A cursor records no direction: the same position continues a page in
 * either direction.
 */
import { z } from 'zod';
import { ThreadStoreError } from './errors.js';
import type { Anchor } from './history-types.js';

export type HistoryScope = 'turns' | 'itemsByCreatedAtOrdinal';

const HistoryCursorJson = z.object({
  requestedThreadId: z.string(),
  rolloutOrdinal: z.number().int().nonnegative(),
  includeAnchor: z.boolean(),
  scope: z.object({ kind: z.enum(['turns', 'itemsByCreatedAtOrdinal']) }),
});

export function encodeHistoryCursor(threadId: string, scope: HistoryScope, anchor: Anchor): string {
  return JSON.stringify({
    requestedThreadId: threadId,
    rolloutOrdinal: anchor.ordinal,
    includeAnchor: anchor.includeAnchor,
    scope: { kind: scope },
  });
}

/** The position of a cursor issued for this thread and scope, or `INVALID_CURSOR`. */
export function decodeHistoryCursor(cursor: string, threadId: string, scope: HistoryScope): Anchor {
  let parsed: z.infer<typeof HistoryCursorJson>;
  try {
    parsed = HistoryCursorJson.parse(JSON.parse(cursor));
  } catch (cause) {
    throw new ThreadStoreError('INVALID_CURSOR', `invalid cursor: ${cursor}`, { cause });
  }
  if (parsed.scope.kind !== scope || parsed.requestedThreadId.toLowerCase() !== threadId) {
    throw new ThreadStoreError('INVALID_CURSOR', `invalid cursor: ${cursor}`);
  }
  return { ordinal: parsed.rolloutOrdinal, includeAnchor: parsed.includeAnchor };
}
