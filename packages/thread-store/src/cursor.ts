/**
 * Opaque `thread/list` cursors: base64url of the sort they belong to and the keyset position of
 * the last thread of the page (its sort value and id). A cursor used with another sort is refused.
 */
import { z } from 'zod';
import { ThreadStoreError } from './errors.js';
import type { SortColumn } from './history-types.js';

export interface CursorPosition {
  sortColumn: SortColumn;
  direction: 'asc' | 'desc';
  value: number;
  id: string;
  /** The page starts at this thread (a backwards cursor), not after it. */
  inclusive?: boolean;
}

const CursorJson = z.object({
  k: z.enum(['created_at', 'updated_at', 'recency_at']),
  d: z.enum(['asc', 'desc']),
  v: z.number().finite(),
  i: z.string().min(1),
  x: z.boolean().optional(),
});

export function encodeCursor(position: CursorPosition): string {
  const json = JSON.stringify({
    k: position.sortColumn,
    d: position.direction,
    v: position.value,
    i: position.id,
    ...(position.inclusive ? { x: true } : {}),
  });
  return Buffer.from(json, 'utf8').toString('base64url');
}

/** Decodes a cursor issued for the same sort, or throws `INVALID_CURSOR`. */
export function decodeCursor(
  cursor: string,
  sortColumn: SortColumn,
  direction: 'asc' | 'desc',
): CursorPosition {
  let parsed: z.infer<typeof CursorJson>;
  try {
    parsed = CursorJson.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch (cause) {
    throw new ThreadStoreError('INVALID_CURSOR', `invalid cursor: ${cursor}`, { cause });
  }
  if (parsed.k !== sortColumn || parsed.d !== direction) {
    throw new ThreadStoreError(
      'INVALID_CURSOR',
      `cursor was issued for sort ${parsed.k} ${parsed.d}, not ${sortColumn} ${direction}`,
    );
  }
  return {
    sortColumn,
    direction,
    value: parsed.v,
    id: parsed.i,
    ...(parsed.x ? { inclusive: true } : {}),
  };
}

/** The cursor that continues after `summary` in the given sort. */
export function cursorFor(
  summary: { id: string; createdAt: number; updatedAt: number; recencyAt: number },
  sortColumn: SortColumn,
  direction: 'asc' | 'desc',
  inclusive = false,
): string {
  const value =
    sortColumn === 'created_at'
      ? summary.createdAt
      : sortColumn === 'updated_at'
        ? summary.updatedAt
        : summary.recencyAt;
  return encodeCursor({ sortColumn, direction, value, id: summary.id, inclusive });
}
