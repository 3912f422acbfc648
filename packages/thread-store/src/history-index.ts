/**
 * The turn and item tables of the index: where each turn and item of every thread is, so that a
 * page of a thread's history is a query plus a few positional reads of its rollout, never a read
 * of the whole file.
 *
 * Positions are byte offsets in the rollout. A turn's `ordinal` is the offset of the first record
 * that named it, an item's the offset of its first record: both grow in file order, so they order
 * turns and items the way the rollout does and make stable keyset cursors. An item row also points
 * at the item's latest record (`offset`, `length`), which holds the item as it is now.
 *
 * The rows are maintained record by record ({@link HistoryIndex.apply}) with the same rules as
 * `foldRecords`, whether the record was just appended or is being re-read in a rebuild.
 */
import type { app } from '@tether/protocol';
import type Database from 'better-sqlite3';
import { STREAMED_TEXT_TYPES } from './fold.js';
import type { Anchor, ItemRow, MessageRow, TurnRow } from './history-types.js';
import type { FinishedTurnStatus, RolloutRecord } from './records.js';
import type { LineSpan } from './rollout-writer.js';
import { messageMatch } from './search.js';

export const HISTORY_SCHEMA = `
CREATE TABLE turns (
  thread_id TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  turn_id TEXT NOT NULL,
  root_turn_id TEXT,
  status TEXT NOT NULL,
  error TEXT,
  started_at INTEGER,
  completed_at INTEGER,
  duration_ms INTEGER,
  PRIMARY KEY (thread_id, ordinal)
) WITHOUT ROWID;
CREATE UNIQUE INDEX turns_by_id ON turns (thread_id, turn_id);
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  thread_id TEXT NOT NULL,
  turn_ordinal INTEGER NOT NULL,
  ordinal INTEGER NOT NULL,
  item_id TEXT NOT NULL,
  item_type TEXT NOT NULL,
  completed INTEGER NOT NULL,
  offset INTEGER NOT NULL,
  length INTEGER NOT NULL
);
CREATE UNIQUE INDEX items_by_position ON items (thread_id, ordinal);
CREATE UNIQUE INDEX items_by_turn ON items (thread_id, turn_ordinal, item_id);
CREATE VIRTUAL TABLE message_text USING fts5 (text, tokenize = 'trigram');
`;

export type { Anchor, ItemRow, MessageRow, TurnRow };

export interface PageQuery {
  threadId: string;
  direction: 'asc' | 'desc';
  anchor: Anchor | null;
  limit: number;
}

interface RawTurn {
  ordinal: number;
  turn_id: string;
  root_turn_id: string | null;
  status: string;
  error: string | null;
  started_at: number | null;
  completed_at: number | null;
  duration_ms: number | null;
}

interface RawItem {
  id: number;
  turn_ordinal: number;
  turn_id: string;
  ordinal: number;
  item_id: string;
  item_type: string;
  completed: number;
  offset: number;
  length: number;
}

const TURN_COLUMNS =
  'ordinal, turn_id, root_turn_id, status, error, started_at, completed_at, duration_ms';
const ITEM_COLUMNS =
  'items.id AS id, turn_ordinal, turns.turn_id AS turn_id, items.ordinal AS ordinal, item_id, item_type, completed, offset, length';
const ITEM_JOIN =
  'items JOIN turns ON turns.thread_id = items.thread_id AND turns.ordinal = items.turn_ordinal';

/**
 * Rows that are part of the history: completed items, and items of other kinds that never
 * completed (a command cut short keeps its last state). A reply that has not completed, or never
 * will (cut short by an interrupt or a steer), is left out, as `foldRecords` leaves it out of
 * finished turns and as the reference lists a running turn.
 */
const VISIBLE = `AND (items.completed = 1 OR items.item_type NOT IN (${STREAMED_TEXT_TYPES.map((t) => `'${t}'`).join(', ')}))`;

const TURN_STATUSES: ReadonlySet<string> = new Set(['completed', 'interrupted', 'failed']);

function toTurn(raw: RawTurn): TurnRow {
  let error: app.TurnError | null = null;
  if (raw.error !== null) {
    try {
      error = JSON.parse(raw.error) as app.TurnError;
    } catch {
      error = { message: raw.error };
    }
  }
  return {
    ordinal: raw.ordinal,
    turnId: raw.turn_id,
    rootTurnId: raw.root_turn_id,
    status: TURN_STATUSES.has(raw.status) ? (raw.status as FinishedTurnStatus) : 'inProgress',
    error,
    startedAt: raw.started_at,
    completedAt: raw.completed_at,
    durationMs: raw.duration_ms,
  };
}

function toItem(raw: RawItem): ItemRow {
  return {
    turnOrdinal: raw.turn_ordinal,
    turnId: raw.turn_id,
    ordinal: raw.ordinal,
    itemId: raw.item_id,
    itemType: raw.item_type,
    completed: raw.completed !== 0,
    offset: raw.offset,
    length: raw.length,
  };
}

/** The text a message item contributes to search: a user message's text inputs, an agent's reply. */
export function searchableText(item: app.ThreadItem): string {
  if (item.type === 'agentMessage' && typeof item.text === 'string') return item.text;
  if (item.type !== 'userMessage' || !Array.isArray(item.content)) return '';
  const texts: string[] = [];
  for (const part of item.content) {
    if (part.type === 'text') texts.push(part.text);
  }
  return texts.join('\n');
}

export class HistoryIndex {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  clearStatements(): void {
    this.#statements.clear();
  }

  /** Applies one record (just appended, or re-read in a rebuild) at `span` of the thread's rollout. */
  apply(threadId: string, record: RolloutRecord, span: LineSpan): void {
    switch (record.type) {
      case 'turn_started': {
        this.#turnOrdinal(threadId, record.turnId, span.offset);
        this.#statement(
          'UPDATE turns SET root_turn_id = ?, started_at = ? WHERE thread_id = ? AND turn_id = ?',
        ).run(record.rootTurnId, record.startedAt, threadId, record.turnId);
        return;
      }
      case 'turn_completed': {
        this.#turnOrdinal(threadId, record.turnId, span.offset);
        this.#statement(
          `UPDATE turns SET status = @status, error = @error, completed_at = @completedAt,
             duration_ms = coalesce(@durationMs, CASE WHEN started_at IS NULL THEN NULL
               ELSE max(0, @completedAt - started_at) END)
           WHERE thread_id = @threadId AND turn_id = @turnId`,
        ).run({
          status: record.status,
          error: record.error === null ? null : JSON.stringify(record.error),
          completedAt: record.completedAt,
          durationMs: record.durationMs,
          threadId,
          turnId: record.turnId,
        });
        return;
      }
      case 'item_started':
      case 'item_completed': {
        const turnOrdinal = this.#turnOrdinal(threadId, record.turnId, span.offset);
        const completed = record.type === 'item_completed' ? 1 : 0;
        const row = this.#statement(
          `INSERT INTO items (thread_id, turn_ordinal, ordinal, item_id, item_type, completed, offset, length)
           VALUES (@threadId, @turnOrdinal, @ordinal, @itemId, @itemType, @completed, @offset, @length)
           ON CONFLICT (thread_id, turn_ordinal, item_id) DO UPDATE SET
             item_type = excluded.item_type, completed = max(completed, excluded.completed),
             offset = excluded.offset, length = excluded.length
           RETURNING id`,
        ).get({
          threadId,
          turnOrdinal,
          ordinal: span.offset,
          itemId: record.item.id,
          itemType: record.item.type,
          completed,
          offset: span.offset,
          length: span.length,
        }) as { id: number };
        const text = searchableText(record.item);
        if (text !== '') {
          this.#statement('DELETE FROM message_text WHERE rowid = ?').run(row.id);
          this.#statement('INSERT INTO message_text (rowid, text) VALUES (?, ?)').run(row.id, text);
        }
        return;
      }
      default:
        return;
    }
  }

  /** The ordinal of a turn, creating its row (at `ordinal`) when the record is its first. */
  #turnOrdinal(threadId: string, turnId: string, ordinal: number): number {
    const existing = this.#statement(
      'SELECT ordinal FROM turns WHERE thread_id = ? AND turn_id = ?',
    ).get(threadId, turnId) as { ordinal: number } | undefined;
    if (existing) return existing.ordinal;
    this.#statement(
      "INSERT INTO turns (thread_id, ordinal, turn_id, root_turn_id, status) VALUES (?, ?, ?, ?, 'inProgress')",
    ).run(threadId, ordinal, turnId, turnId);
    return ordinal;
  }

  /** Forgets a thread's turns, items and search text (before a re-read, or when it is deleted). */
  deleteThread(threadId: string): void {
    this.#statement(
      'DELETE FROM message_text WHERE rowid IN (SELECT id FROM items WHERE thread_id = ?)',
    ).run(threadId);
    this.#statement('DELETE FROM items WHERE thread_id = ?').run(threadId);
    this.#statement('DELETE FROM turns WHERE thread_id = ?').run(threadId);
  }

  /** Empties every table (inside the transaction of a full rebuild). */
  clear(): void {
    this.#statement('DELETE FROM message_text').run();
    this.#statement('DELETE FROM items').run();
    this.#statement('DELETE FROM turns').run();
  }

  turnCount(threadId: string): number {
    return (
      this.#statement('SELECT count(*) AS n FROM turns WHERE thread_id = ?').get(threadId) as {
        n: number;
      }
    ).n;
  }

  turnById(threadId: string, turnId: string): TurnRow | undefined {
    const raw = this.#statement(
      `SELECT ${TURN_COLUMNS} FROM turns WHERE thread_id = ? AND turn_id = ?`,
    ).get(threadId, turnId) as RawTurn | undefined;
    return raw ? toTurn(raw) : undefined;
  }

  /** The first (`asc`) or last (`desc`) turn. */
  edgeTurn(threadId: string, direction: 'asc' | 'desc'): TurnRow | undefined {
    const order = direction === 'asc' ? 'ASC' : 'DESC';
    const raw = this.#statement(
      `SELECT ${TURN_COLUMNS} FROM turns WHERE thread_id = ? ORDER BY ordinal ${order} LIMIT 1`,
    ).get(threadId) as RawTurn | undefined;
    return raw ? toTurn(raw) : undefined;
  }

  /** One page of turns in keyset order. */
  turns(query: PageQuery): TurnRow[] {
    const { where, order, params } = keyset(query, 'ordinal');
    const raws = this.#statement(
      `SELECT ${TURN_COLUMNS} FROM turns WHERE thread_id = @threadId ${where} ORDER BY ordinal ${order} LIMIT @limit`,
    ).all(params) as RawTurn[];
    return raws.map(toTurn);
  }

  /**
   * The visible items of the given turns (see {@link VISIBLE}), in position order.
   */
  itemsOfTurns(threadId: string, turnOrdinals: readonly number[]): ItemRow[] {
    if (turnOrdinals.length === 0) return [];
    const low = Math.min(...turnOrdinals);
    const high = Math.max(...turnOrdinals);
    const wanted = new Set(turnOrdinals);
    const raws = this.#statement(
      `SELECT ${ITEM_COLUMNS} FROM ${ITEM_JOIN}
       WHERE items.thread_id = @threadId AND turn_ordinal BETWEEN @low AND @high ${VISIBLE}
       ORDER BY items.ordinal`,
    ).all({ threadId, low, high }) as RawItem[];
    return raws.filter((raw) => wanted.has(raw.turn_ordinal)).map(toItem);
  }

  /** One page of visible items in keyset order, across the thread or within one turn. */
  items(query: PageQuery & { turnOrdinal: number | null }): ItemRow[] {
    const { where, order, params } = keyset(query, 'items.ordinal');
    const turn = query.turnOrdinal === null ? '' : 'AND items.turn_ordinal = @turnOrdinal';
    const raws = this.#statement(
      `SELECT ${ITEM_COLUMNS} FROM ${ITEM_JOIN}
       WHERE items.thread_id = @threadId ${turn} ${VISIBLE} ${where}
       ORDER BY items.ordinal ${order} LIMIT @limit`,
    ).all({ ...params, turnOrdinal: query.turnOrdinal }) as RawItem[];
    return raws.map(toItem);
  }

  /** The searchable text of the message item at a position, or null. */
  messageTextAt(threadId: string, ordinal: number): string | null {
    const row = this.#statement(
      `SELECT message_text.text AS text FROM items JOIN message_text ON message_text.rowid = items.id
       WHERE items.thread_id = ? AND items.ordinal = ?`,
    ).get(threadId, ordinal) as { text: string } | undefined;
    return row?.text ?? null;
  }

  /** Messages of a thread that contain `term`, from position `from` on, in order. */
  messagesFrom(threadId: string, term: string, from: number, limit: number): MessageRow[] {
    const match = messageMatch(term);
    return this.#statement(
      `SELECT items.ordinal AS ordinal, items.item_id AS itemId, items.turn_ordinal AS turnOrdinal,
         turns.turn_id AS turnId, message_text.text AS text
       FROM message_text JOIN items ON items.id = message_text.rowid
       JOIN turns ON turns.thread_id = items.thread_id AND turns.ordinal = items.turn_ordinal
       WHERE ${match.where} AND items.thread_id = @threadId AND items.ordinal >= @from ${VISIBLE}
       ORDER BY items.ordinal LIMIT @limit`,
    ).all({ match: match.value, threadId, from, limit }) as MessageRow[];
  }

  /** The item at a position (cursor anchors name positions). */
  itemAt(threadId: string, ordinal: number): ItemRow | undefined {
    const raw = this.#statement(
      `SELECT ${ITEM_COLUMNS} FROM ${ITEM_JOIN} WHERE items.thread_id = ? AND items.ordinal = ?`,
    ).get(threadId, ordinal) as RawItem | undefined;
    return raw ? toItem(raw) : undefined;
  }

  /** The item with this id in a turn. */
  itemById(threadId: string, turnOrdinal: number, itemId: string): ItemRow | undefined {
    const raw = this.#statement(
      `SELECT ${ITEM_COLUMNS} FROM ${ITEM_JOIN}
       WHERE items.thread_id = ? AND items.turn_ordinal = ? AND item_id = ?`,
    ).get(threadId, turnOrdinal, itemId) as RawItem | undefined;
    return raw ? toItem(raw) : undefined;
  }
}

function keyset(
  query: PageQuery,
  column: string,
): { where: string; order: string; params: Record<string, string | number> } {
  const params: Record<string, string | number> = {
    threadId: query.threadId,
    limit: query.limit,
  };
  const desc = query.direction === 'desc';
  let where = '';
  if (query.anchor) {
    const op = desc
      ? query.anchor.includeAnchor
        ? '<='
        : '<'
      : query.anchor.includeAnchor
        ? '>='
        : '>';
    where = `AND ${column} ${op} @anchor`;
    params.anchor = query.anchor.ordinal;
  }
  return { where, order: desc ? 'DESC' : 'ASC', params };
}
