/**
 * The SQLite index of threads (better-sqlite3, WAL): one row per rollout with the columns that
 * `thread/list` filters and sorts on, plus the rest of the summary as JSON. It is a cache of the
 * rollouts: everything in it can be rebuilt from them, so a missing file, a corrupt file or one of
 * another schema version is simply recreated (and the store then rebuilds it).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { app, type Logger } from '@tether/protocol';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { ThreadStoreError } from './errors.js';
import { HISTORY_SCHEMA, HistoryIndex } from './history-index.js';
import {
  INDEX_SCHEMA_VERSION,
  type IndexEntry,
  type SortColumn,
  type ThreadState,
} from './history-types.js';
import { DEFAULT_INDEX_BUSY_TIMEOUT_MS } from './index-defaults.js';
import { escapeLike, messageMatch } from './search.js';

export { INDEX_SCHEMA_VERSION, type IndexEntry, type SortColumn, type ThreadState };

export interface PageQuery {
  sortColumn: SortColumn;
  direction: 'asc' | 'desc';
  /** Keyset position: rows after this (value, id) in the sort order (or at it, if inclusive). */
  after: { value: number; id: string; inclusive?: boolean } | null;
  limit: number;
  archived: boolean;
  /** Leave out threads without a preview (no user message yet). */
  requirePreview: boolean;
  cwds: readonly string[] | null;
  searchTerm: string | null;
  /**
   * Only threads with a message (user or agent) containing this text, case-insensitively; each
   * row then carries the position of its first such message (`hitOrdinal`).
   */
  messageTerm?: string | null;
  modelProviders: readonly string[] | null;
  sourceKinds: readonly string[] | null;
  originators: readonly string[] | null;
  excludedIds: readonly string[] | null;
}

interface Row {
  id: string;
  path: string;
  size: number;
  created_at: number;
  updated_at: number;
  recency_at: number;
  archived: number;
  cwd: string;
  name: string | null;
  preview: string;
  model: string | null;
  model_provider: string;
  source: string;
  source_kind: string;
  originator: string | null;
  forked_from_id: string | null;
  doc: string;
}

const SCHEMA = `
CREATE TABLE threads (
  id TEXT PRIMARY KEY NOT NULL,
  path TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  recency_at INTEGER NOT NULL,
  archived INTEGER NOT NULL,
  cwd TEXT NOT NULL,
  name TEXT,
  preview TEXT NOT NULL,
  model TEXT,
  model_provider TEXT NOT NULL,
  source TEXT NOT NULL,
  source_kind TEXT NOT NULL,
  originator TEXT,
  forked_from_id TEXT,
  doc TEXT NOT NULL,
  goal TEXT,
  queue TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX threads_by_created ON threads (archived, created_at, id);
CREATE INDEX threads_by_updated ON threads (archived, updated_at, id);
CREATE INDEX threads_by_recency ON threads (archived, recency_at, id);
CREATE INDEX threads_by_cwd ON threads (cwd);
`;

const COLUMNS =
  'id, path, size, created_at, updated_at, recency_at, archived, cwd, name, preview, model, ' +
  'model_provider, source, source_kind, originator, forked_from_id, doc';

/** The summary fields that have no column of their own. */
const Doc = z.object({
  reasoningEffort: app.ReasoningEffort.nullable(),
  threadSource: app.ThreadSource.nullable(),
  cliVersion: z.string(),
  parentThreadId: z.string().nullable(),
  agentNickname: z.string().nullable(),
  agentRole: z.string().nullable(),
  gitInfo: app.GitInfo.nullable(),
  projectId: z.string().nullable(),
  daybreakEnabled: z.boolean().nullable(),
  readState: app.ThreadReadState.nullable(),
});

const State = z.object({
  goal: app.JsonObject.nullable(),
  queue: z.array(app.QueuedSubmission),
});

/** The `ThreadSourceKind` of a session source (what the `sourceKinds` filter matches). */
export function sourceKindOf(source: app.SessionSource): app.ThreadSourceKind {
  if (typeof source === 'string') return source;
  if ('subAgent' in source) {
    const sub = source.subAgent;
    if (sub === 'review') return 'subAgentReview';
    if (sub === 'compact') return 'subAgentCompact';
    if (typeof sub === 'object' && sub !== null && 'thread_spawn' in sub)
      return 'subAgentThreadSpawn';
    return 'subAgentOther';
  }
  return 'unknown';
}

function toRow(entry: IndexEntry): Row {
  const { summary } = entry;
  const doc: z.infer<typeof Doc> = {
    reasoningEffort: summary.reasoningEffort,
    threadSource: summary.threadSource,
    cliVersion: summary.cliVersion,
    parentThreadId: summary.parentThreadId,
    agentNickname: summary.agentNickname,
    agentRole: summary.agentRole,
    gitInfo: summary.gitInfo,
    projectId: summary.projectId,
    daybreakEnabled: summary.daybreakEnabled,
    readState: summary.readState,
  };
  return {
    id: summary.id,
    path: entry.path,
    size: entry.size,
    created_at: summary.createdAt,
    updated_at: summary.updatedAt,
    recency_at: summary.recencyAt,
    archived: entry.archived ? 1 : 0,
    cwd: summary.cwd,
    name: summary.name,
    preview: summary.preview,
    model: summary.model,
    model_provider: summary.modelProvider,
    source: JSON.stringify(summary.source),
    source_kind: sourceKindOf(summary.source),
    originator: summary.originator,
    forked_from_id: summary.forkedFromId,
    doc: JSON.stringify(doc),
  };
}

function fromRow(row: Row): IndexEntry {
  let doc: z.infer<typeof Doc>;
  let source: app.SessionSource;
  try {
    doc = Doc.parse(JSON.parse(row.doc));
    source = app.SessionSource.parse(JSON.parse(row.source));
  } catch (cause) {
    throw new ThreadStoreError('INDEX_ERROR', `index row of ${row.id} is unreadable`, { cause });
  }
  return {
    path: row.path,
    size: row.size,
    archived: row.archived !== 0,
    summary: {
      id: row.id,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      recencyAt: row.recency_at,
      cwd: row.cwd,
      name: row.name,
      preview: row.preview,
      model: row.model,
      modelProvider: row.model_provider,
      source,
      originator: row.originator,
      forkedFromId: row.forked_from_id,
      ...doc,
    },
  };
}

function removeIndexFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm', '-journal'])
    rmSync(`${file}${suffix}`, { force: true });
}

/** What happened when the index was opened. */
export type IndexOpenState = 'ready' | 'created' | 'schema-changed' | 'recreated-corrupt';

export class ThreadIndex {
  readonly file: string;
  /** The turn and item tables (history pages, search). */
  readonly history: HistoryIndex;
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  private constructor(file: string, db: Database.Database) {
    this.file = file;
    this.#db = db;
    this.history = new HistoryIndex(db);
  }

  /** Opens (or creates) the index. Anything but `'ready'` means it is empty and needs a rebuild. */
  static open(
    file: string,
    logger: Logger,
    busyTimeoutMs = DEFAULT_INDEX_BUSY_TIMEOUT_MS,
  ): { index: ThreadIndex; state: IndexOpenState } {
    mkdirSync(dirname(file), { recursive: true });
    try {
      return ThreadIndex.#openOnce(file, logger, busyTimeoutMs);
    } catch (cause) {
      logger.warn({ err: cause, file }, 'thread index unreadable; recreating it from the rollouts');
      removeIndexFiles(file);
      try {
        const opened = ThreadIndex.#openOnce(file, logger, busyTimeoutMs);
        return { index: opened.index, state: 'recreated-corrupt' };
      } catch (again) {
        throw new ThreadStoreError('INDEX_ERROR', `cannot open thread index ${file}`, {
          cause: again,
        });
      }
    }
  }

  static #openOnce(
    file: string,
    logger: Logger,
    busyTimeoutMs: number,
  ): { index: ThreadIndex; state: IndexOpenState } {
    const db = new Database(file, { timeout: busyTimeoutMs });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      const version = db.pragma('user_version', { simple: true });
      let state: IndexOpenState = 'ready';
      if (version !== INDEX_SCHEMA_VERSION) {
        const hasTables = db.prepare(
          "SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'",
        );
        const existing = (hasTables.get() as { n: number }).n > 0;
        state = version === 0 && !existing ? 'created' : 'schema-changed';
        if (state === 'schema-changed') {
          logger.info(
            { file, found: version, expected: INDEX_SCHEMA_VERSION },
            'thread index schema changed; rebuilding it from the rollouts',
          );
        }
        db.transaction(() => {
          for (const table of ['threads', 'turns', 'items', 'message_text']) {
            db.exec(`DROP TABLE IF EXISTS ${table}`);
          }
          db.exec(SCHEMA);
          db.exec(HISTORY_SCHEMA);
          db.pragma(`user_version = ${INDEX_SCHEMA_VERSION}`);
        })();
      } else {
        // Touch the tables so a file that only looks like an index fails here.
        db.prepare('SELECT id FROM threads LIMIT 1').get();
        db.prepare('SELECT ordinal FROM turns LIMIT 1').get();
        db.prepare('SELECT id FROM items LIMIT 1').get();
      }
      return { index: new ThreadIndex(file, db), state };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  #statement(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      if (this.#statements.size >= 128) this.#statements.clear();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (cause) {
      if (cause instanceof ThreadStoreError) throw cause;
      const detail = cause instanceof Error ? `: ${cause.message}` : '';
      throw new ThreadStoreError('INDEX_ERROR', `thread index ${what} failed${detail}`, { cause });
    }
  }

  /**
   * Writes a thread's row. With `state`, its goal and queue too; without, a new row starts with
   * none and an existing row keeps its own.
   */
  upsert(entry: IndexEntry, state?: ThreadState): void {
    const names = COLUMNS.split(', ');
    const values = names.map((c) => `@${c}`).join(', ');
    this.#run('upsert', () => {
      if (state) {
        this.#statement(
          `INSERT OR REPLACE INTO threads (${COLUMNS}, goal, queue) VALUES (${values}, @goal, @queue)`,
        ).run({
          ...toRow(entry),
          goal: state.goal === null ? null : JSON.stringify(state.goal),
          queue: JSON.stringify(state.queue),
        });
        return;
      }
      const update = names
        .filter((c) => c !== 'id')
        .map((c) => `${c} = excluded.${c}`)
        .join(', ');
      this.#statement(
        `INSERT INTO threads (${COLUMNS}) VALUES (${values}) ON CONFLICT (id) DO UPDATE SET ${update}`,
      ).run(toRow(entry));
    });
  }

  /** Records a thread's new goal (`thread_goal`). */
  setGoal(id: string, goal: app.JsonObject | null): void {
    this.#run('update', () => {
      this.#statement('UPDATE threads SET goal = ? WHERE id = ?').run(
        goal === null ? null : JSON.stringify(goal),
        id,
      );
    });
  }

  /** Records a thread's new queue (`thread_queue`). */
  setQueue(id: string, queue: readonly app.QueuedSubmission[]): void {
    this.#run('update', () => {
      this.#statement('UPDATE threads SET queue = ? WHERE id = ?').run(JSON.stringify(queue), id);
    });
  }

  /** A thread's goal and queue as the row has them, or undefined without a row. */
  state(id: string): ThreadState | undefined {
    return this.#run('read', () => {
      const row = this.#statement('SELECT goal, queue FROM threads WHERE id = ?').get(id) as
        | { goal: string | null; queue: string }
        | undefined;
      if (row === undefined) return undefined;
      try {
        return State.parse({
          goal: row.goal === null ? null : JSON.parse(row.goal),
          queue: JSON.parse(row.queue),
        });
      } catch (cause) {
        throw new ThreadStoreError('INDEX_ERROR', `index row of ${id} is unreadable`, { cause });
      }
    });
  }

  /** Runs `fn` in one transaction (a rebuild or a reconciliation commits once). */
  transaction<T>(fn: () => T): T {
    return this.#run('transaction', () => this.#db.transaction(fn)());
  }

  /** Empties every table (inside a transaction, before a rebuild). */
  clear(): void {
    this.#run('clear', () => {
      this.#statement('DELETE FROM threads').run();
      this.history.clear();
    });
  }

  /** Runs a history-table operation with the index's error wrapping. */
  run<T>(what: string, fn: (history: HistoryIndex) => T): T {
    return this.#run(what, () => fn(this.history));
  }

  /**
   * Records an appended record: `updated_at` (and `recency_at` for a turn start) move forward, the
   * size follows the file, the first preview sticks, and a name record sets the name.
   */
  touch(
    id: string,
    change: {
      ts: number;
      size: number;
      turnStarted: boolean;
      preview: string;
      name?: string | null;
    },
  ): void {
    this.#run('update', () => {
      this.#statement(
        `UPDATE threads SET
           updated_at = max(updated_at, @ts),
           size = @size,
           recency_at = CASE WHEN @turnStarted THEN max(recency_at, @ts) ELSE recency_at END,
           preview = CASE WHEN preview = '' THEN @preview ELSE preview END,
           name = CASE WHEN @setName THEN @name ELSE name END
         WHERE id = @id`,
      ).run({
        id,
        ts: change.ts,
        size: change.size,
        turnStarted: change.turnStarted ? 1 : 0,
        preview: change.preview,
        setName: change.name === undefined ? 0 : 1,
        name: change.name ?? null,
      });
    });
  }

  setLocation(id: string, path: string, archived: boolean): void {
    this.#run('update', () => {
      this.#statement('UPDATE threads SET path = ?, archived = ? WHERE id = ?').run(
        path,
        archived ? 1 : 0,
        id,
      );
    });
  }

  /**
   * Makes the row disagree with any file size, so every process (and the next open's
   * reconciliation) re-reads the thread's rollout before trusting its rows again.
   */
  markStale(id: string): void {
    this.#run('update', () => this.#statement('UPDATE threads SET size = -1 WHERE id = ?').run(id));
  }

  delete(id: string): void {
    this.#run('delete', () => this.#statement('DELETE FROM threads WHERE id = ?').run(id));
  }

  get(id: string): IndexEntry | undefined {
    return this.#run('read', () => {
      const row = this.#statement(`SELECT ${COLUMNS} FROM threads WHERE id = ?`).get(id);
      return row === undefined ? undefined : fromRow(row as Row);
    });
  }

  /** Path and size of every row (for reconciliation with the files on disk). */
  locations(): Map<string, { path: string; size: number }> {
    return this.#run('read', () => {
      const rows = this.#statement('SELECT id, path, size FROM threads').all() as {
        id: string;
        path: string;
        size: number;
      }[];
      return new Map(rows.map((row) => [row.id, { path: row.path, size: row.size }]));
    });
  }

  /** Every row in id order (tests compare a rebuilt index with an incremental one). */
  dump(): IndexEntry[] {
    return this.#run('read', () =>
      (this.#statement(`SELECT ${COLUMNS} FROM threads ORDER BY id`).all() as Row[]).map(fromRow),
    );
  }

  count(): number {
    return this.#run(
      'read',
      () => (this.#statement('SELECT count(*) AS n FROM threads').get() as { n: number }).n,
    );
  }

  /** One page in keyset order: `limit` rows strictly after (or at, if inclusive) `query.after`. */
  page(query: PageQuery): Array<IndexEntry & { hitOrdinal?: number }> {
    const where: string[] = ['archived = @archived'];
    const params: Record<string, string | number> = {
      archived: query.archived ? 1 : 0,
      limit: query.limit,
    };
    const list = (column: string, name: string, values: readonly string[] | null) => {
      if (!values || values.length === 0) return;
      const names = values.map((value, i) => {
        params[`${name}${i}`] = value;
        return `@${name}${i}`;
      });
      where.push(`${column} IN (${names.join(', ')})`);
    };
    if (query.requirePreview) where.push("preview <> ''");
    list('cwd', 'cwd', query.cwds);
    list('model_provider', 'provider', query.modelProviders);
    list('source_kind', 'kind', query.sourceKinds);
    list('originator', 'originator', query.originators);
    if (query.excludedIds && query.excludedIds.length > 0) {
      const names = query.excludedIds.map((value, i) => {
        params[`excluded${i}`] = value;
        return `@excluded${i}`;
      });
      where.push(`id NOT IN (${names.join(', ')})`);
    }
    if (query.searchTerm) {
      params.search = `%${escapeLike(query.searchTerm)}%`;
      where.push("(name LIKE @search ESCAPE '\\' OR preview LIKE @search ESCAPE '\\')");
    }
    const column = query.sortColumn;
    const desc = query.direction === 'desc';
    if (query.after) {
      const op = desc ? (query.after.inclusive ? '<=' : '<') : query.after.inclusive ? '>=' : '>';
      params.afterValue = query.after.value;
      params.afterId = query.after.id;
      where.push(
        `(${column} ${op} @afterValue OR (${column} = @afterValue AND id ${op} @afterId))`,
      );
    }
    const order = desc ? 'DESC' : 'ASC';
    if (query.messageTerm) {
      // hits first (the full-text index narrows to the threads that mention the term), then the
      // same filters and keyset as a plain list
      const match = messageMatch(query.messageTerm);
      params.match = match.value;
      const sql = `WITH hits AS (
          SELECT items.thread_id AS thread_id, min(items.ordinal) AS hit_ordinal
          FROM message_text JOIN items ON items.id = message_text.rowid
          WHERE ${match.where} GROUP BY items.thread_id)
        SELECT ${COLUMNS}, hits.hit_ordinal AS hit_ordinal FROM threads JOIN hits ON hits.thread_id = threads.id
        WHERE ${where.join(' AND ')} ORDER BY ${column} ${order}, id ${order} LIMIT @limit`;
      return this.#run('search', () =>
        (this.#statement(sql).all(params) as Array<Row & { hit_ordinal: number }>).map((row) => ({
          ...fromRow(row),
          hitOrdinal: row.hit_ordinal,
        })),
      );
    }
    const sql = `SELECT ${COLUMNS} FROM threads WHERE ${where.join(' AND ')} ORDER BY ${column} ${order}, id ${order} LIMIT @limit`;
    return this.#run('list', () => (this.#statement(sql).all(params) as Row[]).map(fromRow));
  }

  close(): void {
    this.#statements.clear();
    this.history.clearStatements();
    if (this.#db.open) this.#db.close();
  }
}
