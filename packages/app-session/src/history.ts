import { randomUUID } from 'node:crypto';
import type { OutboundRouter } from '@tether/outbound-router';
import { type app, invalidParams, invalidRequest, RpcError } from '@tether/protocol';
import type { ThreadStateManager } from '@tether/thread-state';
import {
  type Anchor,
  decodeHistoryCursor,
  encodeHistoryCursor,
  type ItemEntry,
  isThreadStoreError,
  itemsForView,
  type ThreadStore,
} from '@tether/thread-store';
import { serverNotification } from './notify.js';
import { storeError, threadErrors } from './thread-errors.js';
import { parseThreadId } from './thread-id.js';
import type { LoadedThread, ThreadManager } from './threads.js';

const READ_NOTICE = {
  summary:
    'Full-history hydration is deprecated for paginated threads; omit `includeTurns` or set it to `false`, then page with `thread/turns/list` and `thread/items/list`.',
  details: null,
};

/** `thread/turns/list` and `thread/resume`'s initial page: 25 turns unless asked otherwise. */
export const DEFAULT_TURNS_PAGE = 25;
/** `thread/items/list`: 25 items by default, 100 at most. */
export const DEFAULT_ITEMS_PAGE = 25;
export const MAX_ITEMS_PAGE = 100;
/** Largest page of turns served at once. */
export const MAX_TURNS_PAGE = 1000;
/** `thread/searchOccurrences` without a `limit`. */
export const DEFAULT_OCCURRENCES_PAGE = 50;

export interface HistoryDeps {
  threads: ThreadManager;
  store: ThreadStore;
  router: OutboundRouter;
  state: ThreadStateManager;
}

const clamp = (value: number | null | undefined, fallback: number, max: number) =>
  Math.min(max, Math.max(1, value ?? fallback));

/**
 * What clients read of threads and their history: `thread/read`, `thread/list`, the turn and item
 * pages, search, and read state. Pages come from the store's index and positional reads of the
 * rollout, never from a whole rollout in memory.
 */
export class HistoryQueries {
  constructor(private readonly deps: HistoryDeps) {}

  /** Full-history reads are deprecated: the reader hears so before the answer. */
  private notice(connectionId: number): Promise<void> {
    return this.deps.router.toConnection(
      connectionId,
      serverNotification('deprecationNotice', READ_NOTICE),
    );
  }

  async read(connectionId: number, params: app.ThreadReadParams) {
    const { threads, store } = this.deps;
    const threadId = parseThreadId(params.threadId);
    const includeTurns = params.includeTurns === true;
    const loaded = threads.get(threadId);
    if (loaded) {
      if (includeTurns && loaded.ephemeral) {
        throw new RpcError(invalidRequest('ephemeral threads do not support includeTurns'));
      }
      const turns = includeTurns
        ? await loaded.listener.enqueue(() => threads.views.fullTurns(loaded))
        : [];
      await threads.warnUnreadable(connectionId, loaded, loaded.unreadable);
      if (includeTurns) await this.notice(connectionId);
      return {
        thread: threads.views.view(loaded, turns),
        readState: loaded.ephemeral ? null : loaded.record.readState,
      };
    }
    if (!store.hasThread(threadId)) throw threadErrors.notLoaded(threadId);
    try {
      if (!includeTurns) {
        // the index has all of it: no need to read (and parse) the whole rollout
        const described = store.describeThread(threadId);
        if (!described) throw threadErrors.notLoaded(threadId);
        return { thread: described.thread, readState: described.readState };
      }
      const stored = store.readThread(threadId, { includeTurns });
      await threads.warnUnreadable(
        connectionId,
        { id: threadId, thread: stored.thread },
        stored.unreadable,
      );
      await this.notice(connectionId);
      return { thread: stored.thread, readState: stored.readState };
    } catch (error) {
      throw storeError(error, threadId);
    }
  }

  list(params: app.ThreadListParams) {
    const page = this.wrap(() => this.deps.store.listThreads(params));
    return {
      data: page.data.map((thread) => this.withLiveStatus(thread)),
      readStates: page.readStates,
      nextCursor: page.nextCursor,
      backwardsCursor: page.backwardsCursor,
    };
  }

  /** `thread/search`: one result per thread whose messages mention the term, with a snippet. */
  search(params: app.ThreadSearchParams) {
    const term = params.searchTerm.trim();
    if (term === '') {
      throw new RpcError(invalidRequest('thread/search requires a non-empty searchTerm'));
    }
    const page = this.wrap(() =>
      this.deps.store.listThreads({
        cursor: params.cursor ?? null,
        limit: Math.max(1, params.limit ?? 25),
        sortKey: params.sortKey ?? null,
        sortDirection: params.sortDirection ?? null,
        sourceKinds: params.sourceKinds ?? null,
        archived: params.archived ?? null,
        includeEmpty: true,
        messageTerm: term,
      }),
    );
    return {
      data: page.data.map((thread, i) => ({
        thread: this.withLiveStatus(thread),
        snippet: page.snippets?.[i] ?? '',
      })),
      nextCursor: page.nextCursor,
      backwardsCursor: page.backwardsCursor,
    };
  }

  /** `thread/searchOccurrences`: every place a term occurs in a thread's messages, in order. */
  searchOccurrences(params: app.ThreadSearchOccurrencesParams) {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral || !this.deps.store.hasThread(threadId)) {
      throw threadErrors.unsupported('thread/searchOccurrences');
    }
    const term = params.searchTerm.trim();
    if (term === '') {
      throw new RpcError(
        invalidRequest('thread/searchOccurrences requires a non-empty searchTerm'),
      );
    }
    const after = params.cursor ? decodeOccurrenceCursor(params.cursor, threadId, term) : null;
    const found = this.wrap(() =>
      this.deps.store.searchMessages(threadId, term, {
        after,
        limit: Math.max(1, params.limit ?? DEFAULT_OCCURRENCES_PAGE),
      }),
    );
    return {
      data: found.data.map((occurrence) => ({
        turnId: occurrence.turnId,
        itemId: occurrence.itemId,
        snippet: occurrence.snippet,
        snippetMatchRange: occurrence.range,
        turnCursor: encodeHistoryCursor(threadId, 'turns', {
          ordinal: occurrence.turnOrdinal,
          includeAnchor: true,
        }),
      })),
      nextCursor: found.next
        ? JSON.stringify({
            threadId,
            searchTerm: term,
            nextRolloutOrdinal: found.next.ordinal,
            nextOccurrenceIndex: found.next.occurrence,
          })
        : null,
    };
  }

  /** A page of a thread's turns, newest first by default, each with the items of `itemsView`. */
  turnsList(params: app.ThreadTurnsListParams) {
    const threadId = parseThreadId(params.threadId);
    const loaded = this.deps.threads.get(threadId);
    if (loaded?.ephemeral) {
      throw new RpcError(invalidRequest('ephemeral threads do not support thread/turns/list'));
    }
    if (!this.deps.store.hasThread(threadId)) throw threadErrors.notLoaded(threadId);
    const anchor = params.cursor ? this.cursor(params.cursor, threadId, 'turns') : null;
    const view = params.itemsView ?? 'summary';
    const page = this.wrap(() =>
      this.deps.store.turnsPage(threadId, {
        direction: params.sortDirection ?? 'desc',
        anchor,
        limit: clamp(params.limit, DEFAULT_TURNS_PAGE, MAX_TURNS_PAGE),
        itemsView: view,
        liveTurnId: loaded?.listener.liveTurnId() ?? null,
      }),
    );
    return {
      data: page.data.map((turn) => ({ ...turn, items: itemsForView(turn.items, view) })),
      ...pageCursors(threadId, 'turns', page.rows, page.more),
    };
  }

  /** A page of a thread's items, oldest first by default, across the thread or within a turn. */
  itemsList(params: app.ThreadItemsListParams) {
    const { store, threads } = this.deps;
    const threadId = parseThreadId(params.threadId);
    if (threads.get(threadId)?.ephemeral || !store.hasThread(threadId)) {
      throw threadErrors.unsupported('thread/items/list');
    }
    const turnId = params.turnId ?? null;
    let anchor: Anchor | null = null;
    if (typeof params.cursor === 'string') {
      anchor = this.cursor(params.cursor, threadId, 'itemsByCreatedAtOrdinal');
    } else if (params.cursor) {
      const itemId = params.cursor.itemId;
      if (!turnId) {
        throw new RpcError(invalidParams('turnId is required when cursor is an item anchor'));
      }
      const row = this.wrap(() => store.itemRow(threadId, turnId, itemId));
      if (!row) {
        throw new RpcError(
          invalidParams('cursor.itemId does not identify an item in the requested history scope'),
        );
      }
      anchor = { ordinal: row.ordinal, includeAnchor: false };
    }
    if (turnId !== null && !this.wrap(() => store.turnRow(threadId, turnId))) {
      return { data: [], nextCursor: null, backwardsCursor: null };
    }
    const page = this.wrap(() =>
      store.itemsPage(threadId, {
        turnId,
        direction: params.sortDirection ?? 'asc',
        anchor,
        limit: clamp(params.limit, DEFAULT_ITEMS_PAGE, MAX_ITEMS_PAGE),
      }),
    );
    // deferring outputs is a per-turn view, as on the reference
    const defer = turnId !== null ? params.deferOutput : null;
    return {
      data: page.data.map((entry) => itemEntry(entry, defer?.commandExecution === true)),
      ...pageCursors(threadId, 'itemsByCreatedAtOrdinal', page.rows, page.more),
    };
  }

  /** `thread/items/read`: up to 100 items of one turn, in stored order, outputs included. */
  itemsRead(params: app.ThreadItemsReadParams) {
    const { store, threads } = this.deps;
    const threadId = parseThreadId(params.threadId);
    if (threads.get(threadId)?.ephemeral || !store.hasThread(threadId)) {
      throw threadErrors.unsupported('thread/items/read');
    }
    if (params.itemIds.length === 0 || params.itemIds.length > MAX_ITEMS_PAGE) {
      throw new RpcError(invalidRequest('itemIds must contain 1 to 100 IDs'));
    }
    if (!this.wrap(() => store.turnRow(threadId, params.turnId))) return { data: [] };
    const wanted = new Set(params.itemIds);
    const data: app.ThreadItemEntry[] = [];
    let anchor: Anchor | null = null;
    for (;;) {
      const page = this.wrap(() =>
        store.itemsPage(threadId, {
          turnId: params.turnId,
          direction: 'asc',
          anchor,
          limit: MAX_ITEMS_PAGE,
        }),
      );
      for (const entry of page.data) {
        if (wanted.has(entry.item.id)) data.push(itemEntry(entry, false));
      }
      const last = page.rows[page.rows.length - 1];
      if (!page.more || !last) break;
      anchor = { ordinal: last.ordinal, includeAnchor: false };
    }
    return { data };
  }

  /**
   * `thread/readState/update`: mark the thread read or unread, if the caller saw the current
   * revision. The change goes to the thread's subscribers before the answer.
   */
  async readStateUpdate(params: app.ThreadReadStateUpdateParams) {
    const { threads, store, router, state } = this.deps;
    const threadId = parseThreadId(params.threadId, { invalidParams: true });
    const loaded = threads.get(threadId);
    if (loaded?.ephemeral) throw new RpcError(invalidRequest('thread read state unavailable'));
    if (!loaded && !store.hasThread(threadId)) throw threadErrors.notLoaded(threadId);
    const readState: app.ThreadReadState = {
      firstUnread: params.operation.type === 'read' ? null : { type: 'threadStart' },
      revision: randomUUID(),
    };
    const record = { type: 'read_state' as const, ...readState };
    /** Compare and set: the caller must have seen the read state as it is now. */
    const check = (current: app.ThreadReadState | null) => {
      if (current && current.revision !== params.expectedRevision) {
        throw new RpcError(
          invalidRequest('read state changed', { reason: 'readStateConflict', readState: current }),
        );
      }
    };
    if (loaded) {
      // in the thread's event order: a turn that completes first (and makes the thread unread)
      // changes the revision before it is compared
      await loaded.listener.enqueue(async () => {
        check(loaded.record.readState);
        loaded.journal?.append(record);
        loaded.record.readState = readState;
        await router.toConnections(
          state.subscribers(threadId),
          serverNotification('thread/readState/changed', { threadId, readState }),
        );
      });
    } else {
      // the index row holds the read state: no need to read the whole rollout
      check(this.wrap(() => store.describeThread(threadId)?.readState ?? null, threadId));
      this.wrap(() => store.append(threadId, record), threadId);
    }
    return { readState };
  }

  /** A listed thread as it is now: a loaded one with its live status and environment. */
  private withLiveStatus(thread: app.Thread): app.Thread {
    const loaded: LoadedThread | undefined = this.deps.threads.get(thread.id);
    if (!loaded) return thread;
    const { environments, status } = this.deps.threads.views.view(loaded, []);
    return { ...thread, status, environments };
  }

  private cursor(
    cursor: string,
    threadId: string,
    scope: 'turns' | 'itemsByCreatedAtOrdinal',
  ): Anchor {
    try {
      return decodeHistoryCursor(cursor, threadId, scope);
    } catch {
      throw new RpcError(invalidRequest(`invalid cursor: ${cursor}`));
    }
  }

  private wrap<T>(fn: () => T, threadId?: string): T {
    try {
      return fn();
    } catch (error) {
      if (isThreadStoreError(error) && error.code === 'INVALID_CURSOR') {
        throw new RpcError(invalidRequest(error.message), { cause: error });
      }
      throw storeError(error, threadId);
    }
  }
}

/** `nextCursor` after the page's last row, `backwardsCursor` at its first (inclusive). */
function pageCursors(
  threadId: string,
  scope: 'turns' | 'itemsByCreatedAtOrdinal',
  rows: ReadonlyArray<{ ordinal: number }>,
  more: boolean,
) {
  const first = rows[0];
  const last = rows[rows.length - 1];
  return {
    nextCursor:
      more && last
        ? encodeHistoryCursor(threadId, scope, { ordinal: last.ordinal, includeAnchor: false })
        : null,
    backwardsCursor: first
      ? encodeHistoryCursor(threadId, scope, { ordinal: first.ordinal, includeAnchor: true })
      : null,
  };
}

/**
 * An item as `thread/items/list` shows it; a successful command's output can be deferred (left
 * out, to be fetched with `thread/items/read`).
 */
function itemEntry(entry: ItemEntry, deferCommandOutput: boolean): app.ThreadItemEntry {
  const item = entry.item;
  const startedAtMs = typeof item.startedAtMs === 'number' ? item.startedAtMs : null;
  const completedAtMs = typeof item.completedAtMs === 'number' ? item.completedAtMs : null;
  if (
    deferCommandOutput &&
    item.type === 'commandExecution' &&
    item.status === 'completed' &&
    typeof item.aggregatedOutput === 'string' &&
    item.aggregatedOutput !== ''
  ) {
    return {
      turnId: entry.turnId,
      item: { ...item, aggregatedOutput: null },
      outputDeferred: true,
      startedAtMs,
      completedAtMs,
    };
  }
  return { turnId: entry.turnId, item, startedAtMs, completedAtMs };
}

function decodeOccurrenceCursor(
  cursor: string,
  threadId: string,
  term: string,
): { ordinal: number; occurrence: number } {
  let value: unknown;
  try {
    value = JSON.parse(cursor);
  } catch {
    throw new RpcError(invalidRequest(`invalid cursor: ${cursor}`));
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    'threadId' in value &&
    'searchTerm' in value &&
    'nextRolloutOrdinal' in value &&
    'nextOccurrenceIndex' in value &&
    value.threadId === threadId &&
    value.searchTerm === term &&
    typeof value.nextRolloutOrdinal === 'number' &&
    typeof value.nextOccurrenceIndex === 'number'
  ) {
    return { ordinal: value.nextRolloutOrdinal, occurrence: value.nextOccurrenceIndex };
  }
  throw new RpcError(invalidRequest(`invalid cursor: ${cursor}`));
}
