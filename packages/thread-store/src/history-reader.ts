/**
 * Turns and items read by position: the index says where each item's latest record is, and this
 * reads just those lines of the rollout (one positional read each), so a page costs the same for a
 * thread of ten turns and one of ten thousand.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import type { app, Logger } from '@tether/protocol';
import { ioError } from './errors.js';
import type { ItemRow, TurnRow } from './history-types.js';
import { parseRecordLine } from './records.js';

/**
 * The items at `rows`, read from the rollout at `path`. A row whose line is not its item (the index
 * is wrong about where it is) is left out and counted in `misplaced`: the caller has the thread's
 * rows re-read from the rollout.
 */
export function readItemsAt(
  path: string,
  rows: readonly ItemRow[],
  logger: Logger,
): { items: Map<ItemRow, app.ThreadItem>; misplaced: number } {
  const out = new Map<ItemRow, app.ThreadItem>();
  let misplaced = 0;
  if (rows.length === 0) return { items: out, misplaced };
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (cause) {
    throw ioError(`cannot read rollout ${path}`, cause);
  }
  try {
    let buffer = Buffer.alloc(Math.max(...rows.map((row) => row.length)));
    for (const row of rows) {
      if (buffer.length < row.length) buffer = Buffer.alloc(row.length);
      const read = readSync(fd, buffer, 0, row.length, row.offset);
      const line = buffer.toString('utf8', 0, read).replace(/\n$/, '');
      const parsed = parseRecordLine(line);
      if (
        parsed.kind === 'record' &&
        (parsed.record.type === 'item_started' || parsed.record.type === 'item_completed') &&
        parsed.record.item.id === row.itemId
      ) {
        out.set(row, parsed.record.item);
      } else {
        misplaced += 1;
        logger.warn(
          { path, offset: row.offset, itemId: row.itemId },
          "index points at a line that is not the item; the thread's rows are re-read from the rollout",
        );
      }
    }
  } catch (cause) {
    throw ioError(`cannot read rollout ${path}`, cause);
  } finally {
    closeSync(fd);
  }
  return { items: out, misplaced };
}

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/**
 * The items a turn shows in a view: none, the summary (its first user message and its last agent
 * message, as the reference summarizes a turn), or all of them.
 */
export function itemsForView(items: readonly app.ThreadItem[], view: app.TurnItemsView) {
  if (view === 'notLoaded') return [];
  if (view === 'full') return [...items];
  const firstUser = items.findIndex((item) => item.type === 'userMessage');
  let lastAgent = -1;
  items.forEach((item, i) => {
    if (item.type === 'agentMessage') lastAgent = i;
  });
  return items.filter((_, i) => i === firstUser || i === lastAgent);
}

/** A wire `Turn` from its index row: a turn without a completion that is not running was cut short. */
export function turnFromRow(
  row: TurnRow,
  items: readonly app.ThreadItem[],
  view: app.TurnItemsView,
  liveTurnId: string | null,
): app.Turn {
  const status =
    row.status === 'inProgress' && row.turnId !== liveTurnId ? 'interrupted' : row.status;
  return {
    id: row.turnId,
    rootTurnId: row.rootTurnId,
    items: itemsForView(items, view),
    itemsView: view,
    status,
    error: row.error,
    startedAt: seconds(row.startedAt),
    completedAt: seconds(row.completedAt),
    durationMs: row.durationMs === null ? null : Math.round(row.durationMs),
  };
}
