/**
 * The thread store: rollouts on disk are the truth, the SQLite index is a cache of them for
 * `thread/list`. Every operation is synchronous (better-sqlite3 and one write(2) per record), so a
 * caller never sees a half-applied change within the process.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type app, type Logger, silentLogger } from '@tether/protocol';
import { v7 as uuidv7 } from 'uuid';
import { cursorFor, decodeCursor } from './cursor.js';
import { errnoCode, ioError, ThreadStoreError } from './errors.js';
import {
  applyMetadata,
  type FoldedThread,
  foldRecords,
  movesUpdatedAt,
  previewOfItem,
  type StoredTokenUsage,
  summaryFromMeta,
  type ThreadSummary,
} from './fold.js';
import { appendLines, HistoryCut, historyPrefix, keptLines, RolloutTail } from './history-cut.js';
import { readItemsAt, turnFromRow } from './history-reader.js';
import type {
  Anchor,
  IndexEntry,
  ItemRow,
  SortColumn,
  ThreadState,
  TurnRow,
} from './history-types.js';
import { DEFAULT_INDEX_BUSY_TIMEOUT_MS } from './index-defaults.js';
import {
  activeRolloutPath,
  archivedRolloutPath,
  INDEX_FILE,
  isThreadId,
  makeDirectories,
  type RolloutLocation,
  scanRollouts,
  unarchivedRolloutPath,
} from './paths.js';
import {
  type AppendRecord,
  completeRecord,
  ROLLOUT_FORMAT_VERSION,
  type RolloutRecord,
  type ThreadMetaRecord,
} from './records.js';
import {
  parseRollout,
  type RolloutContents,
  readRollout,
  type UnreadableLine,
} from './rollout-reader.js';
import {
  type Durability,
  type LineSpan,
  RolloutReplacedError,
  RolloutWriter,
  replaceRolloutAtomically,
  syncDirectory,
  writeRolloutAtomically,
} from './rollout-writer.js';
import { findOccurrences, firstOccurrence } from './search.js';
import { ThreadIndex } from './thread-index.js';
import { toWireThread } from './thread-view.js';
import { acquireWriterLock, WRITER_LOCKS_DIR, type WriterLock } from './writer-lock.js';

/** `cliVersion` of threads created without one: the codex release tether speaks. */
export const DEFAULT_CLI_VERSION = '0.169.0';
/** Page size of `listThreads` without a `limit`. */
export const DEFAULT_LIST_LIMIT = 25;
/** Largest page `listThreads` returns. */
export const MAX_LIST_LIMIT = 1000;
/** Most `excludedThreadIds` accepted (the reference's limit). */
export const MAX_EXCLUDED_THREAD_IDS = 100;
/** Rollout files kept open for appending at once (least recently used ones are closed). */
export const DEFAULT_MAX_OPEN_WRITERS = 64;
/** Source kinds listed when `sourceKinds` is omitted or empty: the interactive ones. */
export const INTERACTIVE_SOURCE_KINDS: readonly app.ThreadSourceKind[] = ['cli', 'vscode'];

const SUB_AGENT_KINDS: readonly app.ThreadSourceKind[] = [
  'subAgentReview',
  'subAgentCompact',
  'subAgentThreadSpawn',
  'subAgentOther',
];

export interface ThreadStoreOptions {
  /** The state directory (the app passes TETHER_HOME). Created if missing. */
  home: string;
  /** pino-compatible; defaults to a silent logger. */
  logger?: Logger;
  /** `'write'` (default): one write(2) per record; `'fsync'`: also fsync(2) per record. */
  durability?: Durability;
  /** Clock in epoch ms (tests pass a fake one). Defaults to `Date.now`. */
  now?: () => number;
  /**
   * Rollouts kept open for appending at once. Default {@link DEFAULT_MAX_OPEN_WRITERS}. The rollouts
   * of claimed threads stay open whatever the count (see `claim`).
   */
  maxOpenWriters?: number;
  /**
   * How long an index statement waits while another process (another server's start-up
   * reconciliation, a rebuild) holds the index, before it fails with `INDEX_ERROR`. Default
   * {@link DEFAULT_INDEX_BUSY_TIMEOUT_MS} (5 s).
   */
  indexBusyTimeoutMs?: number;
  /**
   * At open, compare the index with the rollouts on disk (a directory walk and a stat per file)
   * and re-read those it missed or is behind on, e.g. after a crash between an append and its
   * index update. Default true. A missing or outdated index is rebuilt either way.
   */
  reconcile?: boolean;
}

/** What `createThread` records about a new thread. */
export interface CreateThreadInput {
  /** A UUID; by default a new UUIDv7 (time-ordered, with 74 random bits), as the reference makes them. */
  id?: string;
  cwd: string;
  modelProvider: string;
  model?: string | null;
  reasoningEffort?: app.ReasoningEffort | null;
  /** Default `'vscode'`, what the reference reports for app-server clients. */
  source?: app.SessionSource;
  threadSource?: app.ThreadSource | null;
  /** The first client's name. */
  originator?: string | null;
  /** Default {@link DEFAULT_CLI_VERSION}. */
  cliVersion?: string;
  forkedFromId?: string | null;
  parentThreadId?: string | null;
  agentNickname?: string | null;
  agentRole?: string | null;
  gitInfo?: app.GitInfo | null;
  name?: string | null;
  /** Default '': the first user message's text becomes the preview. */
  preview?: string;
  /** Session settings kept opaque (approvalPolicy, sandbox, instructions…). */
  settings?: app.JsonObject;
}

/** A thread as stored: the wire `Thread` (status `notLoaded`) and what resuming it needs. */
export interface StoredThread {
  thread: app.Thread;
  path: string;
  archived: boolean;
  settings: app.JsonObject;
  tokenUsage: StoredTokenUsage | null;
  /** The model-visible conversation, oldest first. */
  conversation: app.ResponseItem[];
  goal: app.JsonObject | null;
  readState: app.ThreadReadState | null;
  queue: app.QueuedSubmission[];
  /** Lines of the rollout that could not be read (line number and reason). */
  unreadable: UnreadableLine[];
}

export interface ReadThreadOptions {
  /** Include the turns with their items (default false: `turns` is `[]`). */
  includeTurns?: boolean;
  /** The turn the caller knows is running; other unfinished turns read back `interrupted`. */
  liveTurnId?: string | null;
}

/** `thread/list` parameters the store understands; `app.ThreadListParams` is assignable. */
export interface ListThreadsParams {
  cursor?: string | null;
  limit?: number | null;
  /** Default `created_at`. `section_position` sorts like `created_at` (threads have no sections). */
  sortKey?: app.ThreadSortKey | null;
  /** Default `desc` (newest first). */
  sortDirection?: app.SortDirection | null;
  /** `true`: only archived threads; otherwise only threads that are not archived. */
  archived?: boolean | null;
  /** Exact match on one or several directories. */
  cwd?: string | readonly string[] | null;
  /** Case-insensitive (ASCII) substring of the name or the preview. */
  searchTerm?: string | null;
  /** Empty or omitted: every provider. */
  modelProviders?: readonly string[] | null;
  /** Empty or omitted: the interactive kinds (`cli`, `vscode`). `subAgent` matches every sub-agent kind. */
  sourceKinds?: readonly app.ThreadSourceKind[] | null;
  originators?: readonly string[] | null;
  /** At most {@link MAX_EXCLUDED_THREAD_IDS} UUIDs. */
  excludedThreadIds?: readonly string[] | null;
  /** A section id lists nothing (threads have no sections); null or omitted lists everything. */
  sectionId?: string | null;
  /** Only threads whose user or agent messages contain this text (`thread/search`). */
  messageTerm?: string | null;
  /**
   * List threads that have no preview yet (no user message). The reference does not list them
   * (it writes a rollout only once the first turn starts), so the default is false.
   */
  includeEmpty?: boolean;
}

export interface ThreadPage {
  data: app.Thread[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Pass as `cursor` with the opposite direction to page back from (and including) this page's first thread. */
  backwardsCursor: string | null;
  /** The read state of each thread on the page that has one. */
  readStates: Record<string, app.ThreadReadState>;
  /** With `messageTerm`: for each thread, a snippet of its first message that mentions the term. */
  snippets?: string[];
}

/** One place a search term occurs in a thread's messages. */
export interface MessageOccurrence {
  turnId: string;
  turnOrdinal: number;
  itemId: string;
  snippet: string;
  /** The match within `snippet`, in UTF-16 code units. */
  range: { start: number; end: number };
}

export interface TurnsPageQuery {
  direction: 'asc' | 'desc';
  /** Where the page starts (a cursor's position); null: at the newest (`desc`) or oldest turn. */
  anchor: Anchor | null;
  limit: number;
  itemsView: app.TurnItemsView;
  /** The turn the caller knows to be running. */
  liveTurnId?: string | null;
}

export interface TurnsPageResult {
  data: app.Turn[];
  /** The index rows of `data` (their positions make cursors). */
  rows: TurnRow[];
  /** Whether more turns follow in this direction. */
  more: boolean;
}

export interface ItemsPageQuery {
  /** Items of this turn only; null or omitted: across the thread. */
  turnId?: string | null;
  direction: 'asc' | 'desc';
  anchor: Anchor | null;
  limit: number;
}

/** An item with the turn it belongs to. */
export interface ItemEntry {
  turnId: string;
  item: app.ThreadItem;
}

export interface ItemsPageResult {
  data: ItemEntry[];
  rows: ItemRow[];
  more: boolean;
}

export interface ForkOptions {
  /** Copy history up to and including this turn (default: every turn). */
  lastTurnId?: string | null;
  /** Copy history up to, not including, this turn (not with `lastTurnId`). */
  beforeTurnId?: string | null;

  /** Return the copied turns in `thread.turns` (default true). */
  includeTurns?: boolean;
  /** Fields of the new thread that differ from the source (a new id, cwd, model, settings…). */
  overrides?: Partial<Omit<CreateThreadInput, 'forkedFromId'>>;
}

/** What `forkEphemeral` returns: a thread that exists only in memory. */
export interface EphemeralFork {
  thread: app.Thread;
  settings: app.JsonObject;
  tokenUsage: StoredTokenUsage | null;
  conversation: app.ResponseItem[];
}

export interface RebuildResult {
  /** Rollouts indexed. */
  threads: number;
  /** Rollout files left out (no readable `thread_meta`, or a duplicate id). */
  skipped: number;
  durationMs: number;
}

/** What `describeThread` answers from the index. */
export interface ThreadDescription {
  /** The wire `Thread`, status `notLoaded`, no turns. */
  thread: app.Thread;
  archived: boolean;
  readState: app.ThreadReadState | null;
  goal: app.JsonObject | null;
  queue: app.QueuedSubmission[];
}

interface Located {
  path: string;
  archived: boolean;
  entry: IndexEntry | undefined;
}

export class ThreadStore {
  readonly home: string;
  readonly indexPath: string;
  readonly #logger: Logger;
  readonly #durability: Durability;
  readonly #now: () => number;
  readonly #maxOpenWriters: number;
  readonly #index: ThreadIndex;
  /** Open writers in least-recently-used order (first is the oldest). */
  readonly #writers = new Map<string, RolloutWriter>();
  /** Threads this store writes (their writer locks, held until `release`). */
  readonly #locks = new Map<string, WriterLock>();
  #closed = false;

  private constructor(options: ThreadStoreOptions, index: ThreadIndex, logger: Logger) {
    this.home = resolve(options.home);
    this.indexPath = index.file;
    this.#logger = logger;
    this.#durability = options.durability ?? 'write';
    this.#now = options.now ?? Date.now;
    this.#maxOpenWriters = Math.max(1, options.maxOpenWriters ?? DEFAULT_MAX_OPEN_WRITERS);
    this.#index = index;
  }

  /**
   * Opens the store under `home`: creates the directories and the index, rebuilds the index when
   * it is missing, unreadable or of another schema version, and otherwise reconciles it with the
   * rollouts on disk (see {@link ThreadStoreOptions.reconcile}).
   */
  static open(options: ThreadStoreOptions): ThreadStore {
    const home = resolve(options.home);
    const logger = (options.logger ?? silentLogger()).child({ component: 'thread-store' });
    try {
      makeDirectories(home);
    } catch (cause) {
      throw ioError(`cannot create ${home}`, cause);
    }
    const { index, state } = ThreadIndex.open(
      join(home, INDEX_FILE),
      logger,
      options.indexBusyTimeoutMs,
    );
    const store = new ThreadStore({ ...options, home }, index, logger);
    try {
      if (state !== 'ready') {
        const result = store.rebuildIndex();
        logger.info({ reason: state, ...result }, 'thread index rebuilt from rollouts');
      } else if (options.reconcile !== false) {
        store.#reconcile();
      }
    } catch (error) {
      store.close();
      throw error;
    }
    return store;
  }

  /** Writes a new rollout whose first record is the thread's metadata, and indexes it. */
  createThread(input: CreateThreadInput): StoredThread {
    this.#assertOpen();
    const id = normalizeId(input.id ?? uuidv7());
    if (this.#index.get(id)) {
      throw new ThreadStoreError('THREAD_EXISTS', `thread already exists: ${id}`);
    }
    const ts = this.#now();
    const meta = metaRecord(id, ts, input);
    const path = activeRolloutPath(this.home, id, ts);
    const writer = RolloutWriter.create(path, meta, { durability: this.#durability });
    const summary = summaryFromMeta(meta);
    try {
      this.#index.upsert(
        { summary, path, size: writer.size, archived: false },
        { goal: null, queue: [] },
      );
    } catch (error) {
      // a thread the index cannot list is a thread the client was told does not exist
      writer.close();
      rmSync(path, { force: true });
      throw error;
    }
    this.#cacheWriter(id, writer);
    return {
      thread: toWireThread(summary, path),
      path,
      archived: false,
      settings: meta.settings,
      tokenUsage: null,
      conversation: [],
      goal: null,
      readState: null,
      queue: [],
      unreadable: [],
    };
  }

  /**
   * The wire `Thread` a new thread with this input would have, without storing anything (an
   * ephemeral thread: `ephemeral: true`, `path: null`).
   */
  describeEphemeralThread(input: CreateThreadInput): app.Thread {
    const ts = this.#now();
    const id = normalizeId(input.id ?? uuidv7());
    return toWireThread(summaryFromMeta(metaRecord(id, ts, input)), null, [], { ephemeral: true });
  }

  /**
   * Appends one record to a thread's rollout (one line, one write) and updates the index. Returns
   * the record as written, with its `v`, `ts` and defaults filled in. Thread-level records (a
   * name, read state, metadata, a goal) may be appended by any process; turns and items only by
   * the one that claimed the thread, which the app ensures by claiming before it runs a thread.
   */
  append(threadId: string, input: AppendRecord): RolloutRecord {
    this.#assertOpen();
    const id = normalizeId(threadId);
    const record = completeRecord(input, this.#now());
    const { writer, span } = this.#appendLine(id, record);
    try {
      this.#index.transaction(() => {
        this.#indexAppended(id, record, writer.size);
        this.#index.history.apply(id, record, span);
      });
    } catch (error) {
      // The rollout has the record; the index catches up at the next open (reconcile) or read.
      this.#logger.error({ err: error, threadId: id }, 'thread index update failed after append');
    }
    return record;
  }

  /**
   * Writes one record through the thread's writer. A writer whose file was replaced meanwhile (a
   * revert in another process renamed a new rollout over it) or removed wrote nothing: the rollout
   * is found again by its path and the record goes there (`THREAD_NOT_FOUND` if it is gone).
   */
  #appendLine(id: string, record: RolloutRecord): { writer: RolloutWriter; span: LineSpan } {
    for (let attempt = 1; ; attempt++) {
      const writer = this.#writerFor(id);
      try {
        return { writer, span: writer.append(record) };
      } catch (error) {
        if (!(error instanceof RolloutReplacedError) || attempt === 3) throw error;
        this.#writers.delete(id);
        this.#logger.info(
          { threadId: id, path: writer.path },
          'rollout replaced or removed since it was opened; opening it again',
        );
      }
    }
  }

  /** Rebuilds a thread from its rollout. Fails with `THREAD_NOT_FOUND` for an unknown id. */
  readThread(threadId: string, options: ReadThreadOptions = {}): StoredThread {
    this.#assertOpen();
    const id = normalizeId(threadId);
    const located = this.#locate(id);
    const { folded, contents } = this.#foldFile(id, located.path, options.liveTurnId);
    if (
      !located.entry ||
      located.entry.size !== contents.size ||
      located.entry.path !== located.path
    ) {
      // The index was behind the file: catch it up while we hold the facts.
      this.#indexContents(
        {
          summary: folded.summary,
          path: located.path,
          size: contents.size,
          archived: located.archived,
        },
        contents,
        stateOf(folded),
      );
    }
    return {
      thread: toWireThread(folded.summary, located.path, options.includeTurns ? folded.turns : []),
      path: located.path,
      archived: located.archived,
      settings: folded.settings,
      tokenUsage: folded.tokenUsage,
      conversation: folded.conversation,
      goal: folded.goal,
      readState: folded.summary.readState,
      queue: folded.queue,
      unreadable: contents.unreadable,
    };
  }

  /**
   * One page of a thread's turns from the index, newest first with `direction: 'desc'`. Each turn
   * carries the items of `itemsView`, read from the rollout by position. `liveTurnId` names the
   * turn the caller knows to be running (it stays `inProgress`, with its unfinished items).
   */
  turnsPage(threadId: string, query: TurnsPageQuery): TurnsPageResult {
    this.#assertOpen();
    const id = normalizeId(threadId);
    return this.#pageWithItems(id, () => this.#turnsPage(id, query));
  }

  #turnsPage(id: string, query: TurnsPageQuery): { page: TurnsPageResult; misplaced: number } {
    const path = this.#indexedPath(id);
    const live = query.liveTurnId ?? null;
    const rows = this.#index.run('read', (history) =>
      history.turns({
        threadId: id,
        direction: query.direction,
        anchor: query.anchor,
        limit: query.limit + 1,
      }),
    );
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const itemRows =
      query.itemsView === 'notLoaded'
        ? []
        : this.#index.run('read', (history) =>
            history.itemsOfTurns(
              id,
              page.map((row) => row.ordinal),
            ),
          );
    const { items, misplaced } = readItemsAt(path, itemRows, this.#logger);
    const byTurn = new Map<number, app.ThreadItem[]>();
    for (const row of itemRows) {
      const item = items.get(row);
      if (!item) continue;
      const list = byTurn.get(row.turnOrdinal) ?? [];
      list.push(item);
      byTurn.set(row.turnOrdinal, list);
    }
    return {
      page: {
        data: page.map((row) =>
          turnFromRow(row, byTurn.get(row.ordinal) ?? [], query.itemsView, live),
        ),
        rows: page,
        more,
      },
      misplaced,
    };
  }

  /**
   * One page of a thread's items (across every turn, or within `turnId`), in the order they were
   * created, read from the rollout by position.
   */
  itemsPage(threadId: string, query: ItemsPageQuery): ItemsPageResult {
    this.#assertOpen();
    const id = normalizeId(threadId);
    return this.#pageWithItems(id, () => this.#itemsPage(id, query));
  }

  #itemsPage(id: string, query: ItemsPageQuery): { page: ItemsPageResult; misplaced: number } {
    const path = this.#indexedPath(id);
    let turnOrdinal: number | null = null;
    if (query.turnId != null) {
      const turn = this.#index.run('read', (history) => history.turnById(id, query.turnId ?? ''));
      if (!turn) {
        throw new ThreadStoreError('TURN_NOT_FOUND', `thread ${id} has no turn ${query.turnId}`);
      }
      turnOrdinal = turn.ordinal;
    }
    const rows = this.#index.run('read', (history) =>
      history.items({
        threadId: id,
        direction: query.direction,
        anchor: query.anchor,
        limit: query.limit + 1,
        turnOrdinal,
      }),
    );
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const { items, misplaced } = readItemsAt(path, page, this.#logger);
    const data: ItemEntry[] = [];
    const kept: ItemRow[] = [];
    for (const row of page) {
      const item = items.get(row);
      if (!item) continue;
      kept.push(row);
      data.push({ turnId: row.turnId, item });
    }
    return { page: { data, rows: kept, more }, misplaced };
  }

  /**
   * Reads a page; when the index was wrong about where an item's line is (a line another process
   * appended at the same moment, a rollout changed behind the store's back), the thread's row is
   * marked stale, so the thread is re-read from its rollout (here, and by any other process or the
   * next open, which compare sizes), and the page is read again.
   */
  #pageWithItems<T>(id: string, read: () => { page: T; misplaced: number }): T {
    const first = read();
    if (first.misplaced === 0) return first.page;
    try {
      this.#index.markStale(id);
    } catch (error) {
      this.#logger.error({ err: error, threadId: id }, 'could not mark a thread index row stale');
      return first.page;
    }
    return read().page;
  }

  /** A turn's index row (its position, for cursors), or undefined. */
  turnRow(threadId: string, turnId: string): TurnRow | undefined {
    this.#assertOpen();
    const id = normalizeId(threadId);
    this.#indexedPath(id);
    return this.#index.run('read', (history) => history.turnById(id, turnId));
  }

  /** The item with `itemId` in a turn (an item anchor names one), or undefined. */
  itemRow(threadId: string, turnId: string, itemId: string): ItemRow | undefined {
    this.#assertOpen();
    const id = normalizeId(threadId);
    this.#indexedPath(id);
    return this.#index.run('read', (history) => {
      const turn = history.turnById(id, turnId);
      return turn ? history.itemById(id, turn.ordinal, itemId) : undefined;
    });
  }

  /**
   * The rollout path of a thread whose history tables are up to date with its file: a row that is
   * behind (an index update that failed after an append) is re-read first.
   */
  #indexedPath(id: string): string {
    const located = this.#locate(id);
    const entry = located.entry;
    if (!entry || entry.size !== fileSize(located.path)) {
      this.#foldAndIndex(id, located);
    }
    return located.path;
  }

  #foldAndIndex(id: string, located: Located): FoldedThread {
    const { folded, contents } = this.#foldFile(id, located.path);
    this.#indexContents(
      {
        summary: folded.summary,
        path: located.path,
        size: contents.size,
        archived: located.archived,
      },
      contents,
      stateOf(folded),
    );
    return folded;
  }

  /**
   * A stored thread as the index knows it: the wire `Thread` without turns, whether it is
   * archived, its read state, goal and queue. The rollout is not read unless the index is behind
   * it (its size differs from the row's). Undefined for an unknown id. What `thread/read` without
   * turns, `thread/readState/update`, `thread/goal/*` and `thread/queue/*` need of a thread that is
   * not loaded, at the cost of an index lookup and a `stat` however long the thread.
   */
  describeThread(threadId: string): ThreadDescription | undefined {
    this.#assertOpen();
    if (!isThreadId(threadId)) return undefined;
    const id = threadId.toLowerCase();
    let located: Located;
    try {
      located = this.#locate(id);
    } catch (error) {
      if (error instanceof ThreadStoreError && error.code === 'THREAD_NOT_FOUND') return undefined;
      throw error;
    }
    const entry = located.entry;
    const state =
      entry && entry.size === fileSize(located.path) ? this.#index.state(id) : undefined;
    if (entry && state) {
      return {
        thread: toWireThread(entry.summary, located.path),
        archived: located.archived,
        readState: entry.summary.readState,
        ...state,
      };
    }
    const folded = this.#foldAndIndex(id, located);
    return {
      thread: toWireThread(folded.summary, located.path),
      archived: located.archived,
      readState: folded.summary.readState,
      ...stateOf(folded),
    };
  }

  /** Whether a thread with this id is stored (archived or not). */
  hasThread(threadId: string): boolean {
    this.#assertOpen();
    if (!isThreadId(threadId)) return false;
    try {
      this.#locate(threadId.toLowerCase());
      return true;
    } catch (error) {
      if (error instanceof ThreadStoreError && error.code === 'THREAD_NOT_FOUND') return false;
      throw error;
    }
  }

  /** One page of threads from the index, in keyset order. Threads carry no turns. */
  listThreads(params: ListThreadsParams = {}): ThreadPage {
    this.#assertOpen();
    if (typeof params.sectionId === 'string') {
      return { data: [], nextCursor: null, backwardsCursor: null, readStates: {} };
    }
    const sortColumn = sortColumnOf(params.sortKey);
    const direction = params.sortDirection ?? 'desc';
    const limit = Math.min(
      MAX_LIST_LIMIT,
      Math.max(1, Math.trunc(params.limit ?? DEFAULT_LIST_LIMIT) || DEFAULT_LIST_LIMIT),
    );
    const after = params.cursor ? decodeCursor(params.cursor, sortColumn, direction) : null;
    const archived = params.archived === true;
    const excluded = params.excludedThreadIds ?? [];
    if (excluded.length > MAX_EXCLUDED_THREAD_IDS) {
      throw new ThreadStoreError(
        'INVALID_ARGUMENT',
        `excludedThreadIds has ${excluded.length} entries; at most ${MAX_EXCLUDED_THREAD_IDS}`,
      );
    }
    const excludedIds = excluded.map((id) => {
      if (!isThreadId(id)) {
        throw new ThreadStoreError('INVALID_ARGUMENT', `invalid excluded thread id: ${id}`);
      }
      return id.toLowerCase();
    });
    const rows = this.#index.page({
      sortColumn,
      direction,
      after,
      limit: limit + 1,
      archived,
      requirePreview: !archived && params.includeEmpty !== true,
      cwds: typeof params.cwd === 'string' ? [params.cwd] : (params.cwd ?? null),
      searchTerm: params.searchTerm || null,
      modelProviders: params.modelProviders ?? null,
      sourceKinds: sourceKindsOf(params.sourceKinds),
      originators: params.originators ?? null,
      excludedIds,
      messageTerm: params.messageTerm ?? null,
    });
    const page = rows.slice(0, limit);
    const first = page[0];
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > limit && last ? cursorFor(last.summary, sortColumn, direction) : null;
    // used with the opposite direction, it pages back from just before this page's first thread
    const backwardsCursor = first
      ? cursorFor(first.summary, sortColumn, direction === 'desc' ? 'asc' : 'desc')
      : null;
    const readStates: Record<string, app.ThreadReadState> = {};
    for (const row of page) {
      if (row.summary.readState) readStates[row.summary.id] = row.summary.readState;
    }
    const result: ThreadPage = {
      data: page.map((row) => toWireThread(row.summary, row.path)),
      nextCursor,
      backwardsCursor,
      readStates,
    };
    if (params.messageTerm) {
      const term = params.messageTerm;
      result.snippets = page.map((row) => {
        const text =
          row.hitOrdinal === undefined
            ? null
            : this.#index.run('read', (history) =>
                history.messageTextAt(row.summary.id, row.hitOrdinal ?? -1),
              );
        return text === null ? '' : (firstOccurrence(text, term)?.snippet ?? '');
      });
    }
    return result;
  }

  /**
   * Every occurrence of `term` (case-insensitive, literal) in the thread's user and agent
   * messages, in message order, from a position on: at most `limit`, and where to continue.
   */
  searchMessages(
    threadId: string,
    term: string,
    options: { after?: { ordinal: number; occurrence: number } | null; limit: number },
  ): { data: MessageOccurrence[]; next: { ordinal: number; occurrence: number } | null } {
    this.#assertOpen();
    const id = normalizeId(threadId);
    this.#indexedPath(id);
    const data: MessageOccurrence[] = [];
    let from = options.after ?? { ordinal: -1, occurrence: 0 };
    for (;;) {
      const batch = this.#index.run('read', (history) =>
        history.messagesFrom(id, term, from.ordinal, 64),
      );
      if (batch.length === 0) return { data, next: null };
      for (const message of batch) {
        const found = findOccurrences(message.text, term);
        const start = message.ordinal === from.ordinal ? from.occurrence : 0;
        for (let i = start; i < found.length; i++) {
          const occurrence = found[i];
          if (!occurrence) continue;
          if (data.length === options.limit) {
            return { data, next: { ordinal: message.ordinal, occurrence: i } };
          }
          data.push({
            turnId: message.turnId,
            turnOrdinal: message.turnOrdinal,
            itemId: message.itemId,
            ...occurrence,
          });
        }
      }
      const lastMessage = batch[batch.length - 1];
      if (!lastMessage) return { data, next: null };
      from = { ordinal: lastMessage.ordinal + 1, occurrence: 0 };
    }
  }

  /** Records `thread/name/set` (null clears the name). */
  setName(threadId: string, name: string | null): void {
    this.append(threadId, { type: 'thread_name', name });
  }

  /**
   * Moves the rollout to `archived_sessions/` (as the reference does): where the file is, is
   * whether the thread is archived. Fails with `ALREADY_ARCHIVED` if it is, and with
   * `WRITER_ACTIVE` while another process holds the thread's writer lock (this store takes it for
   * the move unless it holds it already).
   */
  archive(threadId: string): app.Thread {
    return this.#move(threadId, true);
  }

  /**
   * Moves an archived rollout back under `sessions/YYYY/MM/DD/`. Fails with `NOT_ARCHIVED`, and
   * with `WRITER_ACTIVE` while another process holds the thread's writer lock.
   */
  unarchive(threadId: string): app.Thread {
    return this.#move(threadId, false);
  }

  #forkRecords(
    threadId: string,
    options: ForkOptions,
  ): { id: string; ts: number; records: RolloutRecord[] } {
    this.#assertOpen();
    const sourceId = normalizeId(threadId);
    const located = this.#locate(sourceId);
    const contents = readRollout(located.path, this.#logger);
    const source = foldRecords(contents.records);
    if (!source) throw notFound(sourceId);
    let kept = source.turns;
    const cut = options.lastTurnId ?? options.beforeTurnId;
    if (cut != null) {
      const at = source.turns.findIndex((turn) => turn.id === cut);
      if (at < 0) throw new ThreadStoreError('TURN_NOT_FOUND', `turn not found: ${cut}`);
      kept = source.turns.slice(0, options.lastTurnId != null ? at + 1 : at);
    }
    const keptIds = new Set(kept.map((turn) => turn.id));
    const copied = historyPrefix(contents.records, keptIds);
    const overrides = options.overrides ?? {};
    const id = normalizeId(overrides.id ?? uuidv7());
    if (this.#index.get(id))
      throw new ThreadStoreError('THREAD_EXISTS', `thread already exists: ${id}`);
    const s = source.summary;
    const ts = this.#now();
    const meta = metaRecord(id, ts, {
      cwd: s.cwd,
      model: s.model,
      modelProvider: s.modelProvider,
      reasoningEffort: s.reasoningEffort,
      source: s.source,
      threadSource: s.threadSource,
      originator: s.originator,
      cliVersion: s.cliVersion,
      parentThreadId: s.parentThreadId,
      agentNickname: s.agentNickname,
      agentRole: s.agentRole,
      gitInfo: s.gitInfo,
      preview: s.preview,
      ...definedOnly(overrides),
      id,
      forkedFromId: sourceId,
      settings: { ...source.settings, ...overrides.settings },
    });
    const records: RolloutRecord[] = [meta, ...copied];
    return { id, ts, records };
  }

  /**
   * A fork that lives only in memory (an ephemeral thread): the same history as `fork` would copy,
   * nothing written, no writer lock; `thread.path` is null.
   */
  forkEphemeral(threadId: string, options: ForkOptions = {}): EphemeralFork {
    const { records } = this.#forkRecords(threadId, options);
    const forked = foldRecords(records);
    if (!forked) throw notFound(threadId);
    return {
      thread: toWireThread(forked.summary, null, [], { ephemeral: true }),
      settings: forked.settings,
      tokenUsage: forked.tokenUsage,
      conversation: forked.conversation,
    };
  }

  /**
   * A new thread (new id, `forkedFromId` = the source) whose rollout holds a copy of the source's
   * turn, item, token-usage and conversation records up to `lastTurnId` (all turns by default),
   * written at once. The new thread keeps the source's settings and preview, not its name.
   */
  fork(threadId: string, options: ForkOptions = {}): StoredThread {
    const { id, ts, records } = this.#forkRecords(threadId, options);
    const path = activeRolloutPath(this.home, id, ts);
    const { size, spans } = writeRolloutAtomically(path, records, {
      durability: this.#durability,
    });
    const forked = foldRecords(records);
    if (!forked) throw notFound(id);
    this.#indexContents(
      { summary: forked.summary, path, size, archived: false },
      { records, spans },
      stateOf(forked),
    );
    return {
      thread: toWireThread(
        forked.summary,
        path,
        options.includeTurns === false ? [] : forked.turns,
      ),
      path,
      archived: false,
      settings: forked.settings,
      tokenUsage: forked.tokenUsage,
      conversation: forked.conversation,
      goal: null,
      readState: null,
      queue: [],
      unreadable: [],
    };
  }

  /**
   * Deletes a thread: its rollout (active or archived), its index rows and its writer lock file.
   * The rollout goes first, so a crash half-way leaves index rows that the next open forgets.
   * Fails with `WRITER_ACTIVE` while another process writes the thread.
   */
  deleteThread(threadId: string): void {
    this.#assertOpen();
    const id = normalizeId(threadId);
    const held = this.#locks.has(id);
    this.claim(id);
    try {
      this.#remove(id);
      // Unlinked while still held: a process that opens the lock file now finds it locked, or no
      // file at all; after the release it could lock the unlinked file, unseen by the next one.
      try {
        rmSync(join(this.home, WRITER_LOCKS_DIR, `${id}.lock`), { force: true });
      } catch (error) {
        this.#logger.warn({ err: error, threadId: id }, 'could not remove the writer lock file');
      }
    } finally {
      if (!held) this.release(id);
    }
  }

  /**
   * Removes a thread this store just created and has not handed out to anyone (its creation could
   * not be completed), without taking its writer lock.
   */
  discardNewThread(threadId: string): void {
    this.#assertOpen();
    this.#remove(normalizeId(threadId));
  }

  #remove(id: string): void {
    const located = this.#locate(id);
    this.#closeWriter(id);
    try {
      rmSync(located.path, { force: true });
    } catch (cause) {
      throw ioError(`cannot delete rollout of ${id}`, cause);
    }
    if (this.#durability === 'fsync') syncDirectory(dirname(located.path));
    this.#index.transaction(() => {
      this.#index.delete(id);
      this.#index.history.deleteThread(id);
    });
  }

  /**
   * Replaces the thread's history with the part before `beforeTurnId` (`thread/revert`): that turn,
   * every later one and the conversation items injected after it start are dropped; the thread's
   * own records (name, settings, metadata, goal, read state, queue) stay. Lines this version cannot
   * read (a newer format version, an unknown type) are kept as they are, in their place, unless
   * they name a dropped turn. The new rollout replaces the old in one rename, so a crash leaves one
   * history or the other; lines another process appends to the old rollout meanwhile are carried
   * into the new one. Fails with `TURN_NOT_FOUND` for a turn the thread does not have.
   */
  revert(threadId: string, beforeTurnId: string): StoredThread {
    this.#assertOpen();
    const id = normalizeId(threadId);
    const temporary = !this.#locks.has(id);
    if (temporary) this.claim(id);
    try {
      const located = this.#locate(id);
      const logger = this.#logger.child({ threadId: id });
      // Holding the writer lock, the path stays this rollout until the rename below; other
      // processes may still append thread-level records to it, which the tail picks up.
      const tail = new RolloutTail(located.path);
      try {
        const lines = tail.read();
        const folded = foldRecords(parseRollout(lines, located.path, logger).records);
        if (!folded || folded.summary.id !== id) throw notFound(id);
        const at = folded.turns.findIndex((turn) => turn.id === beforeTurnId);
        if (at < 0) {
          throw new ThreadStoreError('TURN_NOT_FOUND', `turn not found: ${beforeTurnId}`);
        }
        const cut = new HistoryCut(new Set(folded.turns.slice(0, at).map((turn) => turn.id)), {
          keepThreadRecords: true,
        });
        this.#closeWriter(id);
        replaceRolloutAtomically(located.path, keptLines(lines, cut), () =>
          keptLines(tail.read(), cut),
        );
        // a line that reached the old file between the last look and the rename
        appendLines(located.path, keptLines(tail.read(), cut), this.#durability === 'fsync');
      } finally {
        tail.close();
      }
      const { folded: reverted, contents } = this.#foldFile(id, located.path);
      this.#indexContents(
        {
          summary: reverted.summary,
          path: located.path,
          size: contents.size,
          archived: located.archived,
        },
        contents,
        stateOf(reverted),
      );
      return {
        thread: toWireThread(reverted.summary, located.path),
        path: located.path,
        archived: located.archived,
        settings: reverted.settings,
        tokenUsage: reverted.tokenUsage,
        conversation: reverted.conversation,
        goal: reverted.goal,
        readState: reverted.summary.readState,
        queue: reverted.queue,
        unreadable: contents.unreadable,
      };
    } finally {
      if (temporary) this.release(id);
    }
  }

  /**
   * Drops the index and re-reads every rollout under `sessions/` and `archived_sessions/`, in one
   * transaction (readers of the index see the old or the new one, never half of it).
   */
  rebuildIndex(): RebuildResult {
    this.#assertOpen();
    const started = performance.now();
    const files = scanRollouts(this.home);
    let threads = 0;
    let skipped = 0;
    this.#index.transaction(() => {
      this.#index.clear();
      const seen = new Set<string>();
      for (const file of files) {
        if (seen.has(file.id)) {
          this.#logger.warn({ threadId: file.id, path: file.path }, 'duplicate rollout ignored');
          skipped += 1;
          continue;
        }
        const read = this.#entryFromFile(file);
        if (!read) {
          skipped += 1;
          continue;
        }
        seen.add(file.id);
        this.#indexContents(read.entry, read.contents, read.state);
        threads += 1;
      }
    });
    return { threads, skipped, durationMs: Math.round(performance.now() - started) };
  }

  /**
   * Takes the thread's writer lock for this store (idempotent): until `release`, no other process
   * can claim the thread. Fails with `WRITER_ACTIVE` when another process holds it. The app claims
   * a thread before it runs turns in it, and releases it when it unloads the thread. Once written
   * to, a claimed thread's rollout stays open until `release`, whatever `maxOpenWriters` says.
   */
  claim(threadId: string): void {
    this.#assertOpen();
    const id = normalizeId(threadId);
    if (this.#locks.has(id)) return;
    this.#locks.set(id, acquireWriterLock(this.home, id));
  }

  /** Whether this store holds the thread's writer lock. */
  holds(threadId: string): boolean {
    return isThreadId(threadId) && this.#locks.has(threadId.toLowerCase());
  }

  /** Closes the thread's rollout file and gives its writer lock up (the app unloaded it). */
  release(threadId: string): void {
    if (!isThreadId(threadId)) return;
    const id = threadId.toLowerCase();
    this.#closeWriter(id);
    this.#locks.get(id)?.release();
    this.#locks.delete(id);
  }

  #closeWriter(id: string): void {
    this.#writers.get(id)?.close();
    this.#writers.delete(id);
  }

  /** Closes every open rollout and the index. Further calls fail with `STORE_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const writer of this.#writers.values()) writer.close();
    this.#writers.clear();
    for (const lock of this.#locks.values()) lock.release();
    this.#locks.clear();
    this.#index.close();
  }

  /** The index rows (for tests and diagnostics), in id order. */
  indexEntries(): IndexEntry[] {
    this.#assertOpen();
    return this.#index.dump();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ThreadStoreError('STORE_CLOSED', 'thread store is closed');
  }

  /**
   * Where a thread's rollout is: the index's word if the file is there. Only when the index has a
   * row whose file moved behind the store's back does it walk the directories (an unknown id is
   * answered from the index alone, so probing ids costs no scans).
   */
  #locate(id: string): Located {
    const entry = this.#index.get(id);
    if (!entry) throw notFound(id);
    if (existsSync(entry.path)) return { path: entry.path, archived: entry.archived, entry };
    const found = scanRollouts(this.home).find((file) => file.id === id);
    if (!found) {
      this.#index.delete(id);
      throw notFound(id);
    }
    this.#index.setLocation(id, found.path, found.archived);
    return { path: found.path, archived: found.archived, entry: undefined };
  }

  #foldFile(
    id: string,
    path: string,
    liveTurnId?: string | null,
  ): { folded: FoldedThread; contents: RolloutContents } {
    const contents = readRollout(path, this.#logger.child({ threadId: id }));
    const folded = foldRecords(contents.records, { liveTurnId: liveTurnId ?? null });
    if (!folded || folded.summary.id !== id) throw notFound(id);
    return { folded, contents };
  }

  /** Writes a thread's row and re-reads its turns and items into the history tables. */
  #indexContents(
    entry: IndexEntry,
    contents: Pick<RolloutContents, 'records' | 'spans'>,
    state: ThreadState,
  ): void {
    const id = entry.summary.id;
    this.#index.transaction(() => {
      this.#index.upsert(entry, state);
      this.#index.history.deleteThread(id);
      contents.records.forEach((record, i) => {
        const span = contents.spans[i];
        if (span) this.#index.history.apply(id, record, span);
      });
    });
  }

  #entryFromFile(
    file: RolloutLocation,
  ): { entry: IndexEntry; contents: RolloutContents; state: ThreadState } | null {
    let contents: ReturnType<typeof readRollout>;
    try {
      contents = readRollout(file.path, this.#logger.child({ threadId: file.id }));
    } catch (error) {
      this.#logger.warn(
        { err: error, path: file.path },
        'unreadable rollout left out of the index',
      );
      return null;
    }
    const folded = foldRecords(contents.records);
    if (!folded) {
      this.#logger.warn({ path: file.path }, 'rollout without thread_meta left out of the index');
      return null;
    }
    if (folded.summary.id !== file.id) {
      this.#logger.warn(
        { path: file.path, metaId: folded.summary.id },
        'rollout whose file name and thread_meta disagree left out of the index',
      );
      return null;
    }
    return {
      entry: {
        summary: folded.summary,
        path: file.path,
        size: contents.size,
        archived: file.archived,
      },
      contents,
      state: stateOf(folded),
    };
  }

  /** Catches the index up with rollouts it missed or is behind on, in one transaction. */
  #reconcile(): void {
    const known = this.#index.locations();
    const files = scanRollouts(this.home);
    const seen = new Set<string>();
    let updated = 0;
    let removed = 0;
    this.#index.transaction(() => {
      for (const file of files) {
        if (seen.has(file.id)) continue;
        const row = known.get(file.id);
        if (row && row.path === file.path && row.size === fileSize(file.path)) {
          seen.add(file.id);
          continue;
        }
        const read = this.#entryFromFile(file);
        if (!read) continue;
        seen.add(file.id);
        this.#indexContents(read.entry, read.contents, read.state);
        updated += 1;
      }
      for (const id of known.keys()) {
        if (!seen.has(id)) {
          this.#index.delete(id);
          removed += 1;
        }
      }
    });
    if (updated > 0 || removed > 0) {
      this.#logger.info({ updated, removed }, 'thread index reconciled with rollouts');
    }
  }

  #indexAppended(id: string, record: RolloutRecord, size: number): void {
    if (
      record.type === 'thread_settings' ||
      record.type === 'thread_metadata' ||
      record.type === 'read_state'
    ) {
      const entry = this.#index.get(id);
      if (!entry) return;
      const summary: ThreadSummary = {
        ...entry.summary,
        updatedAt: movesUpdatedAt(record)
          ? Math.max(entry.summary.updatedAt, record.ts)
          : entry.summary.updatedAt,
      };
      if (record.type === 'thread_settings') {
        if (record.cwd !== undefined) summary.cwd = record.cwd;
        if (record.model !== undefined) summary.model = record.model;
        if (record.modelProvider !== undefined) summary.modelProvider = record.modelProvider;
        if (record.reasoningEffort !== undefined) summary.reasoningEffort = record.reasoningEffort;
      } else if (record.type === 'thread_metadata') {
        applyMetadata(summary, record);
      } else {
        summary.readState = { firstUnread: record.firstUnread, revision: record.revision };
      }
      this.#index.upsert({ ...entry, summary, size });
      return;
    }
    if (record.type === 'thread_goal') this.#index.setGoal(id, record.goal);
    if (record.type === 'thread_queue') this.#index.setQueue(id, record.queue);
    this.#index.touch(id, {
      ts: movesUpdatedAt(record) ? record.ts : 0,
      size,
      turnStarted: record.type === 'turn_started',
      preview:
        record.type === 'item_started' || record.type === 'item_completed'
          ? previewOfItem(record.item)
          : '',
      ...(record.type === 'thread_name' ? { name: record.name } : {}),
    });
  }

  #writerFor(id: string): RolloutWriter {
    const cached = this.#writers.get(id);
    if (cached && !cached.closed) {
      // Most recently used goes last.
      this.#writers.delete(id);
      this.#writers.set(id, cached);
      return cached;
    }
    const { path } = this.#locate(id);
    const writer = RolloutWriter.open(path, { durability: this.#durability });
    this.#cacheWriter(id, writer);
    return writer;
  }

  /**
   * Caches a thread's writer, closing the least recently used ones past `maxOpenWriters`. Writers
   * of claimed threads are never closed that way: a running thread's appends then never have to
   * look its rollout up in the index (which another process may hold for seconds).
   */
  #cacheWriter(id: string, writer: RolloutWriter): void {
    this.#writers.get(id)?.close();
    this.#writers.delete(id);
    this.#writers.set(id, writer);
    let excess = this.#writers.size - this.#maxOpenWriters;
    if (excess <= 0) return;
    for (const [oldest, open] of this.#writers) {
      if (excess <= 0) break;
      if (oldest === id || this.#locks.has(oldest)) continue;
      open.close();
      this.#writers.delete(oldest);
      excess -= 1;
    }
  }

  #move(threadId: string, archive: boolean): app.Thread {
    this.#assertOpen();
    const id = normalizeId(threadId);
    this.#locate(id); // an unknown thread fails here, before a lock file is made for it
    // Like delete and revert: not while another process writes the thread (it would go on
    // appending to a rollout every list shows archived).
    const held = this.#locks.has(id);
    this.claim(id);
    try {
      return this.#moveClaimed(id, archive);
    } finally {
      if (!held) this.release(id);
    }
  }

  #moveClaimed(id: string, archive: boolean): app.Thread {
    const located = this.#locate(id);
    if (located.archived === archive) {
      throw archive
        ? new ThreadStoreError('ALREADY_ARCHIVED', `thread is already archived: ${id}`)
        : new ThreadStoreError('NOT_ARCHIVED', `thread is not archived: ${id}`);
    }
    this.#closeWriter(id);
    const target = archive
      ? archivedRolloutPath(this.home, located.path)
      : unarchivedRolloutPath(this.home, located.path);
    try {
      mkdirSync(dirname(target), { recursive: true });
      if (existsSync(target)) {
        throw new ThreadStoreError('IO_ERROR', `cannot move rollout: ${target} exists`);
      }
      renameSync(located.path, target);
    } catch (cause) {
      throw ioError(`cannot move rollout of ${id}`, cause);
    }
    if (this.#durability === 'fsync') {
      syncDirectory(dirname(located.path));
      syncDirectory(dirname(target));
    }
    let entry = located.entry;
    if (entry && entry.size === fileSize(target)) {
      this.#index.setLocation(id, target, archive);
      entry = { ...entry, path: target, archived: archive };
    } else {
      const read = this.#entryFromFile({ id, path: target, archived: archive });
      if (!read) throw notFound(id);
      entry = read.entry;
      this.#indexContents(read.entry, read.contents, read.state);
    }
    return toWireThread(entry.summary, target);
  }
}

function stateOf(folded: FoldedThread): ThreadState {
  return { goal: folded.goal, queue: folded.queue };
}

/** The entries of `value` that are not undefined (so they can override defaults by spreading). */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function normalizeId(id: string): string {
  if (!isThreadId(id)) {
    throw new ThreadStoreError('INVALID_THREAD_ID', `invalid thread id: ${JSON.stringify(id)}`);
  }
  return id.toLowerCase();
}

function notFound(id: string): ThreadStoreError {
  return new ThreadStoreError('THREAD_NOT_FOUND', `thread not found: ${id}`);
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return -1;
    throw ioError(`cannot stat ${path}`, error);
  }
}

function metaRecord(id: string, ts: number, input: CreateThreadInput): ThreadMetaRecord {
  return {
    v: ROLLOUT_FORMAT_VERSION,
    ts,
    type: 'thread_meta',
    id,
    createdAt: ts,
    cwd: input.cwd,
    model: input.model ?? null,
    modelProvider: input.modelProvider,
    reasoningEffort: input.reasoningEffort ?? null,
    source: input.source ?? 'vscode',
    threadSource: input.threadSource ?? null,
    originator: input.originator ?? null,
    cliVersion: input.cliVersion ?? DEFAULT_CLI_VERSION,
    forkedFromId: input.forkedFromId ?? null,
    parentThreadId: input.parentThreadId ?? null,
    agentNickname: input.agentNickname ?? null,
    agentRole: input.agentRole ?? null,
    gitInfo: input.gitInfo ?? null,
    name: input.name ?? null,
    preview: input.preview ?? '',
    settings: input.settings ?? {},
  };
}

function sortColumnOf(sortKey: app.ThreadSortKey | null | undefined): SortColumn {
  if (sortKey === 'updated_at' || sortKey === 'recency_at') return sortKey;
  return 'created_at';
}

function sourceKindsOf(
  kinds: readonly app.ThreadSourceKind[] | null | undefined,
): readonly string[] {
  if (!kinds || kinds.length === 0) return INTERACTIVE_SOURCE_KINDS;
  return kinds.includes('subAgent') ? [...kinds, ...SUB_AGENT_KINDS] : kinds;
}
