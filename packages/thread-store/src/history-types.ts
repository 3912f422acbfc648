/**
 * The shapes of the history tables' rows and positions, apart from the tables themselves so that
 * the package's public types do not depend on the SQLite binding's.
 */
import type { app } from '@tether/protocol';
import type { ThreadSummary } from './fold.js';

/** Bumped whenever the table layout or the meaning of a column changes. */
export const INDEX_SCHEMA_VERSION = 3;

export type SortColumn = 'created_at' | 'updated_at' | 'recency_at';

/** One thread as the index knows it. */
export interface IndexEntry {
  summary: ThreadSummary;
  path: string;
  /** Bytes of the rollout when this row was last written (how reconciliation spots stale rows). */
  size: number;
  archived: boolean;
}

/**
 * A thread's state beyond its summary that the index keeps too, so that describing a thread never
 * reads its rollout: its goal and its queue (the read state is in the summary).
 */
export interface ThreadState {
  goal: app.JsonObject | null;
  queue: app.QueuedSubmission[];
}

/** One turn as the index holds it (times in epoch ms). */
export interface TurnRow {
  ordinal: number;
  turnId: string;
  rootTurnId: string | null;
  /** `inProgress` when no `turn_completed` record was seen. */
  status: app.TurnStatus;
  error: app.TurnError | null;
  startedAt: number | null;
  completedAt: number | null;
  durationMs: number | null;
}

/** Where one item is: its turn, its position, and the line holding its latest state. */
export interface ItemRow {
  turnOrdinal: number;
  turnId: string;
  ordinal: number;
  itemId: string;
  itemType: string;
  /** Whether an `item_completed` record was seen (an item that never completed is left out of finished turns). */
  completed: boolean;
  offset: number;
  length: number;
}

/** A keyset position: rows after (or, with `includeAnchor`, at and after) `ordinal` in `direction`. */
export interface Anchor {
  ordinal: number;
  includeAnchor: boolean;
}

/** A message that mentions a search term. */
export interface MessageRow {
  ordinal: number;
  itemId: string;
  turnOrdinal: number;
  turnId: string;
  text: string;
}
