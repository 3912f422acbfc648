/**
 * Where rollouts live: `<home>/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDTHH-MM-SS-<id>.jsonl` while a
 * thread is active and `<home>/archived_sessions/rollout-…-<id>.jsonl` once archived (the layout of
 * the reference). Dates are UTC, so the layout does not depend on the machine's time zone.
 */
import { type Dirent, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errnoCode, ThreadStoreError } from './errors.js';

export const SESSIONS_DIR = 'sessions';
export const ARCHIVED_SESSIONS_DIR = 'archived_sessions';
export const INDEX_FILE = 'thread-index.sqlite';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ROLLOUT_NAME =
  /^rollout-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

export function isThreadId(id: string): boolean {
  return UUID.test(id);
}

/** Refuses anything but a UUID: ids become file names. */
export function assertThreadId(id: string): void {
  if (!isThreadId(id)) {
    throw new ThreadStoreError('INVALID_THREAD_ID', `invalid thread id: ${JSON.stringify(id)}`);
  }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The file name of a thread's rollout, from its id and creation time (epoch ms). */
export function rolloutFileName(id: string, createdAtMs: number): string {
  const d = new Date(createdAtMs);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  const time = `${pad(d.getUTCHours())}-${pad(d.getUTCMinutes())}-${pad(d.getUTCSeconds())}`;
  return `rollout-${date}T${time}-${id.toLowerCase()}.jsonl`;
}

/** The active (not archived) path of a thread's rollout. */
export function activeRolloutPath(home: string, id: string, createdAtMs: number): string {
  const d = new Date(createdAtMs);
  return join(
    home,
    SESSIONS_DIR,
    pad(d.getUTCFullYear(), 4),
    pad(d.getUTCMonth() + 1),
    pad(d.getUTCDate()),
    rolloutFileName(id, createdAtMs),
  );
}

/** The archived path of a rollout, keeping its file name. */
export function archivedRolloutPath(home: string, activePath: string): string {
  return join(home, ARCHIVED_SESSIONS_DIR, basename(activePath));
}

/** The active path of an archived rollout, from the date in its file name. */
export function unarchivedRolloutPath(home: string, archivedPath: string): string {
  const name = basename(archivedPath);
  const date = /^rollout-(\d{4})-(\d{2})-(\d{2})T/.exec(name);
  if (!date) return join(home, SESSIONS_DIR, name);
  return join(home, SESSIONS_DIR, date[1] ?? '', date[2] ?? '', date[3] ?? '', name);
}

/** The thread id in a rollout file name, or null for any other file. */
export function threadIdFromFileName(name: string): string | null {
  const match = ROLLOUT_NAME.exec(name);
  return match?.[1]?.toLowerCase() ?? null;
}

export interface RolloutLocation {
  id: string;
  path: string;
  archived: boolean;
}

/**
 * Every rollout file under `sessions/` (any depth) and directly under `archived_sessions/`. Missing
 * directories are empty; other names are ignored.
 */
export function scanRollouts(home: string): RolloutLocation[] {
  const found: RolloutLocation[] = [];
  const walk = (dir: string, archived: boolean, depth: number) => {
    let entries: Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (depth > 0) walk(path, archived, depth - 1);
      } else if (entry.isFile()) {
        const id = threadIdFromFileName(entry.name);
        if (id) found.push({ id, path, archived });
      }
    }
  };
  walk(join(home, SESSIONS_DIR), false, 3);
  walk(join(home, ARCHIVED_SESSIONS_DIR), true, 0);
  return found;
}

/**
 * Creates `path` and any missing parents, one level at a time. Node's `mkdirSync(…, {recursive})`
 * loops forever where a parent exists but `mkdir` answers ENOENT (under `/proc`, for one), which
 * would hang a server at startup instead of telling the user their state directory is unusable.
 */
export function makeDirectories(path: string): void {
  const missing: string[] = [];
  let at = path;
  while (!existsSync(at)) {
    missing.push(at);
    const parent = dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      if (errnoCode(error) !== 'EEXIST') throw error;
    }
  }
}
