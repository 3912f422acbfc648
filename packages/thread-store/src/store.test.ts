import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { app } from '@tether/protocol';
import Database from 'better-sqlite3';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { INDEX_FILE } from './paths.js';
import { readRollout } from './rollout-reader.js';
import { type ListThreadsParams, type StoredThread, ThreadStore } from './store.js';
import {
  agentMessage,
  commandExecution,
  fakeClock,
  tempHome,
  tokenUsage,
  userMessage,
} from './test-support/fixtures.js';

const T0 = Date.UTC(2026, 0, 15, 9, 30, 0);

function open(home: string, clock = fakeClock()) {
  return ThreadStore.open({ home, now: clock });
}

/** A thread with `turns` completed turns (user message + agent reply each). */
function seed(store: ThreadStore, cwd = '/work', text = 'hello', turns = 1): StoredThread {
  const created = store.createThread({ cwd, modelProvider: 'openai', model: 'gpt-test' });
  const id = created.thread.id;
  for (let n = 1; n <= turns; n++) {
    const turnId = `${id}-turn-${n}`;
    store.append(id, { type: 'turn_started', turnId });
    store.append(id, {
      type: 'item_completed',
      turnId,
      item: userMessage(`u${n}`, `${text} ${n}`),
    });
    store.append(id, { type: 'item_completed', turnId, item: agentMessage(`a${n}`, `reply ${n}`) });
    store.append(id, { type: 'token_usage', turnId, tokenUsage });
    store.append(id, { type: 'turn_completed', turnId, status: 'completed' });
  }
  return created;
}

function ids(threads: readonly app.Thread[]): string[] {
  return threads.map((thread) => thread.id);
}

describe('ThreadStore: create, append, read', () => {
  const home = tempHome();

  it('round-trips a thread with turns and items through its rollout', () => {
    const store = open(home);
    const { thread, path } = store.createThread({
      cwd: '/work',
      modelProvider: 'openai',
      model: 'gpt-test',
      originator: 'probe',
      settings: { approvalPolicy: 'never', sandbox: 'danger-full-access' },
    });
    expect(app.Thread.parse(thread)).toEqual(thread);
    expect(path).toBe(
      join(home, 'sessions', '2026', '01', '15', `rollout-2026-01-15T09-30-00-${thread.id}.jsonl`),
    );
    expect(thread).toMatchObject({
      sessionId: thread.id,
      status: { type: 'notLoaded' },
      preview: '',
      createdAt: T0 / 1000,
      turns: [],
      source: 'vscode',
      originator: 'probe',
      cliVersion: '0.169.0',
    });

    store.append(thread.id, { type: 'turn_started', turnId: 'turn-1' });
    store.append(thread.id, {
      type: 'item_started',
      turnId: 'turn-1',
      item: userMessage('u1', 'say hi'),
    });
    store.append(thread.id, {
      type: 'item_completed',
      turnId: 'turn-1',
      item: userMessage('u1', 'say hi'),
    });
    store.append(thread.id, {
      type: 'item_started',
      turnId: 'turn-1',
      item: commandExecution('c1', 'inProgress'),
    });
    store.append(thread.id, {
      type: 'item_completed',
      turnId: 'turn-1',
      item: commandExecution('c1', 'completed'),
    });
    store.append(thread.id, {
      type: 'item_completed',
      turnId: 'turn-1',
      item: agentMessage('a1', 'Hello.'),
    });
    store.append(thread.id, { type: 'token_usage', turnId: 'turn-1', tokenUsage });
    const done = store.append(thread.id, {
      type: 'turn_completed',
      turnId: 'turn-1',
      status: 'completed',
    });
    expect(done).toMatchObject({ v: 1, type: 'turn_completed', error: null, durationMs: null });

    const read = store.readThread(thread.id, { includeTurns: true });
    expect(app.Thread.parse(read.thread)).toEqual(read.thread);
    expect(read.settings).toEqual({ approvalPolicy: 'never', sandbox: 'danger-full-access' });
    expect(read.tokenUsage).toEqual({ turnId: 'turn-1', tokenUsage });
    expect(read.archived).toBe(false);
    expect(read.thread.preview).toBe('say hi');
    expect(read.thread.updatedAt).toBe(T0 / 1000 + 8);
    expect(read.thread.recencyAt).toBe(T0 / 1000 + 1);
    expect(read.thread.turns).toEqual([
      {
        id: 'turn-1',
        rootTurnId: 'turn-1',
        items: [
          userMessage('u1', 'say hi'),
          commandExecution('c1', 'completed'),
          agentMessage('a1', 'Hello.'),
        ],
        itemsView: 'full',
        status: 'completed',
        error: null,
        startedAt: T0 / 1000 + 1,
        completedAt: T0 / 1000 + 8,
        durationMs: 7000,
      },
    ]);
    expect(store.readThread(thread.id).thread.turns).toEqual([]);
    store.close();

    // A new process reads the same thing.
    const again = open(home);
    expect(again.readThread(thread.id, { includeTurns: true })).toEqual(read);
    again.close();
  });

  it('reads a turn that was running when the process died back as interrupted', () => {
    const store = open(home);
    const { thread } = seed(store);
    store.append(thread.id, { type: 'turn_started', turnId: 'running' });
    store.append(thread.id, {
      type: 'item_completed',
      turnId: 'running',
      item: userMessage('u9', 'long job'),
    });
    store.append(thread.id, {
      type: 'item_started',
      turnId: 'running',
      item: commandExecution('c9', 'inProgress'),
    });
    // No turn_completed: the process dies here.
    store.close();

    const after = open(home);
    const turns = after.readThread(thread.id, { includeTurns: true }).thread.turns;
    expect(turns.map((turn) => turn.status)).toEqual(['completed', 'interrupted']);
    expect(turns[1]).toMatchObject({ completedAt: null, durationMs: null, error: null });
    expect(turns[1]?.items.map((item) => item.id)).toEqual(['u9', 'c9']);
    // The live owner of the thread can say which turn is still running.
    const live = after.readThread(thread.id, { includeTurns: true, liveTurnId: 'running' });
    expect(live.thread.turns[1]?.status).toBe('inProgress');
    after.close();
  });

  it('records failed turns with their error, names and settings', () => {
    const store = open(home);
    const { thread } = seed(store);
    store.append(thread.id, { type: 'turn_started', turnId: 'bad', startedAt: T0 + 100_000 });
    store.append(thread.id, {
      type: 'turn_completed',
      turnId: 'bad',
      status: 'failed',
      error: { message: 'boom', codexErrorInfo: 'other' },
      completedAt: T0 + 100_250,
    });
    store.setName(thread.id, 'my thread');
    store.append(thread.id, {
      type: 'thread_settings',
      model: 'gpt-other',
      reasoningEffort: 'high',
      settings: { approvalPolicy: 'on-request' },
    });
    const read = store.readThread(thread.id, { includeTurns: true });
    expect(read.thread.turns[1]).toMatchObject({
      status: 'failed',
      error: { message: 'boom', codexErrorInfo: 'other' },
      durationMs: 250,
    });
    expect(read.thread).toMatchObject({
      name: 'my thread',
      model: 'gpt-other',
      reasoningEffort: 'high',
    });
    expect(read.settings).toEqual({ approvalPolicy: 'on-request' });
    const listed = store.listThreads().data[0];
    expect(listed).toMatchObject({
      name: 'my thread',
      model: 'gpt-other',
      reasoningEffort: 'high',
    });
    store.setName(thread.id, null);
    expect(store.readThread(thread.id).thread.name).toBeNull();
    store.close();
  });

  it('fails with typed errors', () => {
    const store = open(home);
    const missing = randomUUID();
    expect(() => store.readThread(missing)).toThrow(
      expect.objectContaining({ code: 'THREAD_NOT_FOUND', name: 'ThreadStoreError' }),
    );
    expect(() => store.append(missing, { type: 'thread_name', name: 'x' })).toThrow(
      expect.objectContaining({ code: 'THREAD_NOT_FOUND' }),
    );
    expect(() => store.readThread('../../etc/passwd')).toThrow(
      expect.objectContaining({ code: 'INVALID_THREAD_ID' }),
    );
    expect(store.hasThread(missing)).toBe(false);
    expect(store.hasThread('nope')).toBe(false);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p', id: missing });
    expect(store.hasThread(missing.toUpperCase())).toBe(true);
    expect(() => store.createThread({ cwd: '/w', modelProvider: 'p', id: thread.id })).toThrow(
      expect.objectContaining({ code: 'THREAD_EXISTS' }),
    );
    store.close();
    expect(() => store.listThreads()).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
    store.close();
  });

  it('fails to open, rather than hang, where the home cannot be created', () => {
    // mkdir under /proc answers ENOENT although the parent exists: a recursive mkdir spins on it
    expect(() => ThreadStore.open({ home: '/proc/tether-no-such/home' })).toThrow(
      expect.objectContaining({
        code: 'IO_ERROR',
        message: expect.stringContaining('cannot create'),
      }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'thread-store-file-'));
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    try {
      expect(() => ThreadStore.open({ home: join(file, 'home') })).toThrow(
        expect.objectContaining({ code: 'IO_ERROR' }),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps at most maxOpenWriters rollouts open and reopens the others on demand', () => {
    const store = ThreadStore.open({ home, now: fakeClock(), maxOpenWriters: 2 });
    const threads = [0, 1, 2, 3, 4].map(() => seed(store));
    for (const round of [1, 2]) {
      for (const { thread } of threads) {
        store.append(thread.id, {
          type: 'item_completed',
          turnId: `${thread.id}-turn-1`,
          item: agentMessage(`late${round}`, 'x'),
        });
      }
    }
    for (const { thread } of threads) {
      expect(
        store.readThread(thread.id, { includeTurns: true }).thread.turns[0]?.items,
      ).toHaveLength(4);
    }
    store.release(threads[0]?.thread.id ?? '');
    store.close();
  });
});

describe('ThreadStore: crash safety through the store', () => {
  const home = tempHome();

  it('ignores a torn last line, appends after it, and the index catches up', () => {
    const store = open(home);
    const { thread, path } = seed(store, '/work', 'first');
    store.close();
    // The process died halfway through writing a record.
    appendFileSync(path, '{"v":1,"ts":1,"type":"item_completed","turnId":"x","it');

    const clock = fakeClock(T0 + 3_600_000);
    const after = open(home, clock);
    expect(after.readThread(thread.id, { includeTurns: true }).thread.turns).toHaveLength(1);
    after.append(thread.id, { type: 'turn_started', turnId: 'turn-2' });
    after.append(thread.id, {
      type: 'item_completed',
      turnId: 'turn-2',
      item: userMessage('u2', 'second'),
    });
    after.append(thread.id, { type: 'turn_completed', turnId: 'turn-2', status: 'completed' });
    const read = after.readThread(thread.id, { includeTurns: true });
    expect(read.thread.turns.map((turn) => turn.id)).toEqual([`${thread.id}-turn-1`, 'turn-2']);
    expect(readRollout(path).invalidLines).toBe(1);
    const indexed = after.indexEntries().find((entry) => entry.summary.id === thread.id);
    expect(indexed?.size).toBe(statSync(path).size);
    after.close();
  });

  it('picks up records the index missed (a crash between the append and the index update)', () => {
    const store = open(home);
    const { path } = seed(store);
    store.close();
    // Appended by a process that died before updating the index.
    appendFileSync(
      path,
      `${JSON.stringify({ v: 1, ts: T0 + 7_200_000, type: 'thread_name', name: 'renamed' })}\n`,
    );
    const after = open(home);
    expect(after.listThreads().data[0]).toMatchObject({
      name: 'renamed',
      updatedAt: (T0 + 7_200_000) / 1000,
    });
    after.close();
  });

  it('lists a rollout whose index row was never written, and forgets deleted rollouts', () => {
    const store = open(home);
    const kept = seed(store, '/work', 'kept');
    const gone = seed(store, '/work', 'gone');
    store.close();
    rmSync(gone.path);
    const db = new Database(join(home, INDEX_FILE));
    db.prepare('DELETE FROM threads WHERE id = ?').run(kept.thread.id);
    db.close();
    const after = open(home);
    expect(ids(after.listThreads().data)).toEqual([kept.thread.id]);
    expect(() => after.readThread(gone.thread.id)).toThrow(
      expect.objectContaining({ code: 'THREAD_NOT_FOUND' }),
    );
    after.close();
  });

  it('without reconcile, still finds a rollout moved behind its back', () => {
    const store = open(home);
    const { thread, path } = seed(store);
    store.close();
    const moved = join(home, 'sessions', '2030', '01', '01', basename(path));
    mkdirSync(dirname(moved), { recursive: true });
    renameSync(path, moved);
    const fresh = ThreadStore.open({ home, reconcile: false });
    expect(fresh.readThread(thread.id).path).toBe(moved);
    expect(fresh.listThreads().data[0]?.path).toBe(moved);
    fresh.close();
  });
});

describe('ThreadStore: listThreads', () => {
  const home = tempHome();

  /** Five threads created a second apart; updated in another order afterwards. */
  function fixture() {
    const clock = fakeClock();
    const store = open(home, clock);
    const threads = ['alpha', 'bravo', 'charlie', 'delta', 'echo'].map((word, i) =>
      seed(store, i % 2 === 0 ? '/even' : '/odd', word),
    );
    const [a, b, c, d, e] = threads.map((t) => t.thread.id) as [
      string,
      string,
      string,
      string,
      string,
    ];
    // Later activity, in the order c, a, e, b, d.
    for (const id of [c, a, e, b, d]) store.append(id, { type: 'thread_name', name: null });
    return { store, a, b, c, d, e };
  }

  it('sorts by created_at (default, newest first) and pages with an opaque cursor', () => {
    const { store, a, b, c, d, e } = fixture();
    const first = store.listThreads({ limit: 2 });
    expect(ids(first.data)).toEqual([e, d]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = store.listThreads({ limit: 2, cursor: first.nextCursor });
    expect(ids(second.data)).toEqual([c, b]);
    const third = store.listThreads({ limit: 2, cursor: second.nextCursor });
    expect(ids(third.data)).toEqual([a]);
    expect(third.nextCursor).toBeNull();
    expect(first.data.every((thread) => thread.turns.length === 0)).toBe(true);
    expect(ids(store.listThreads({ sortDirection: 'asc' }).data)).toEqual([a, b, c, d, e]);
    store.close();
  });

  it('sorts by updated_at and recency_at in both directions, across pages', () => {
    const { store, a, b, c, d, e } = fixture();
    const pages = (params: ListThreadsParams) => {
      const out: string[] = [];
      let cursor: string | null = null;
      do {
        const page = store.listThreads({ ...params, limit: 2, cursor });
        out.push(...ids(page.data));
        cursor = page.nextCursor;
      } while (cursor);
      return out;
    };
    expect(pages({ sortKey: 'updated_at' })).toEqual([d, b, e, a, c]);
    expect(pages({ sortKey: 'updated_at', sortDirection: 'asc' })).toEqual([c, a, e, b, d]);
    expect(pages({ sortKey: 'recency_at' })).toEqual([e, d, c, b, a]);
    expect(pages({ sortKey: 'created_at', sortDirection: 'asc' })).toEqual([a, b, c, d, e]);
    expect(pages({ sortKey: 'section_position' })).toEqual([e, d, c, b, a]);
    store.close();
  });

  it('breaks ties of equal sort values by id without skipping or repeating', () => {
    const store = ThreadStore.open({ home, now: () => T0 });
    const made = [0, 1, 2, 3, 4, 5, 6].map(() => seed(store).thread.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = store.listThreads({ limit: 3, cursor });
      seen.push(...ids(page.data));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...made].sort().reverse());
    store.close();
  });

  it('filters by cwd, search term, provider and source kind', () => {
    const { store, a, b, c, d, e } = fixture();
    expect(ids(store.listThreads({ cwd: '/even' }).data)).toEqual([e, c, a]);
    expect(ids(store.listThreads({ cwd: ['/odd', '/nowhere'] }).data)).toEqual([d, b]);
    expect(ids(store.listThreads({ searchTerm: 'CHARLIE' }).data)).toEqual([c]);
    expect(ids(store.listThreads({ searchTerm: 'a' }).data)).toEqual([d, c, b, a]);
    expect(ids(store.listThreads({ searchTerm: '%' }).data)).toEqual([]);
    store.setName(e, 'Release 100% done');
    expect(ids(store.listThreads({ searchTerm: '100%' }).data)).toEqual([e]);
    expect(ids(store.listThreads({ searchTerm: '_' }).data)).toEqual([]);
    expect(ids(store.listThreads({ modelProviders: ['openai'] }).data)).toHaveLength(5);
    expect(ids(store.listThreads({ modelProviders: ['other'] }).data)).toEqual([]);
    expect(ids(store.listThreads({ modelProviders: [] }).data)).toHaveLength(5);
    const exec = store.createThread({ cwd: '/even', modelProvider: 'openai', source: 'exec' });
    store.append(exec.thread.id, {
      type: 'item_completed',
      turnId: 't',
      item: userMessage('u', 'from exec'),
    });
    const sub = store.createThread({
      cwd: '/even',
      modelProvider: 'openai',
      source: { subAgent: 'review' },
      preview: 'review it',
    });
    expect(ids(store.listThreads().data)).not.toContain(exec.thread.id);
    expect(ids(store.listThreads({ sourceKinds: ['exec'] }).data)).toEqual([exec.thread.id]);
    expect(ids(store.listThreads({ sourceKinds: ['subAgent'] }).data)).toEqual([sub.thread.id]);
    expect(ids(store.listThreads({ sourceKinds: ['subAgentReview', 'exec'] }).data)).toEqual([
      sub.thread.id,
      exec.thread.id,
    ]);
    expect(ids(store.listThreads({ excludedThreadIds: [e, d] }).data)).toEqual([c, b, a]);
    expect(() => store.listThreads({ excludedThreadIds: ['x'] })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(store.listThreads({ sectionId: 'section-1' }).data).toEqual([]);
    expect(store.listThreads({ sectionId: null }).data).toHaveLength(5);
    store.close();
  });

  it('leaves out threads without a user message unless asked, like the reference', () => {
    const store = open(home);
    const empty = store.createThread({ cwd: '/w', modelProvider: 'openai' });
    const used = seed(store);
    expect(ids(store.listThreads().data)).toEqual([used.thread.id]);
    expect(ids(store.listThreads({ includeEmpty: true }).data)).toEqual([
      used.thread.id,
      empty.thread.id,
    ]);
    store.close();
  });

  it('refuses a foreign cursor or one issued for another sort', () => {
    const { store } = fixture();
    const cursor = store.listThreads({ limit: 1 }).nextCursor ?? '';
    expect(() => store.listThreads({ cursor, sortKey: 'updated_at' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    expect(() => store.listThreads({ cursor, sortDirection: 'asc' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    expect(() => store.listThreads({ cursor: 'bm90IGEgY3Vyc29y' })).toThrow(
      expect.objectContaining({ code: 'INVALID_CURSOR' }),
    );
    store.close();
  });

  it('clamps the limit', () => {
    const { store } = fixture();
    expect(store.listThreads({ limit: 0 }).data).toHaveLength(5);
    expect(store.listThreads({ limit: 1 }).data).toHaveLength(1);
    expect(store.listThreads({ limit: 100_000 }).data).toHaveLength(5);
    store.close();
  });

  it('accepts the wire params of thread/list as they are', () => {
    expectTypeOf<app.ThreadListParams>().toExtend<ListThreadsParams>();
    const { store } = fixture();
    const params = app.ThreadListParams.parse({ limit: 2, sortKey: 'updated_at', cwd: '/odd' });
    const page = store.listThreads(params);
    expect(page.data).toHaveLength(2);
    expect(app.ThreadListResponse.parse({ ...page, backwardsCursor: null }).data).toHaveLength(2);
    store.close();
  });
});

describe('ThreadStore: archive and unarchive', () => {
  const home = tempHome();

  it('moves the rollout to archived_sessions and back', () => {
    const store = open(home);
    const keep = seed(store, '/work', 'keep');
    const { thread, path } = seed(store, '/work', 'archive me', 2);
    const before = store.readThread(thread.id, { includeTurns: true });

    const archived = store.archive(thread.id);
    const archivedPath = join(home, 'archived_sessions', basename(path));
    expect(archived.path).toBe(archivedPath);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(archivedPath)).toBe(true);
    expect(archived.updatedAt).toBe(before.thread.updatedAt);
    expect(ids(store.listThreads().data)).toEqual([keep.thread.id]);
    expect(ids(store.listThreads({ archived: true }).data)).toEqual([thread.id]);
    const read = store.readThread(thread.id, { includeTurns: true });
    expect(read.archived).toBe(true);
    expect(read.thread.turns).toEqual(before.thread.turns);
    expect(() => store.archive(thread.id)).toThrow(
      expect.objectContaining({ code: 'ALREADY_ARCHIVED' }),
    );
    // Appending to an archived thread still works (it lands in the archived file).
    store.setName(thread.id, 'archived name');
    expect(store.listThreads({ archived: true }).data[0]?.name).toBe('archived name');

    // A restart sees the same (the location on disk is the truth).
    store.close();
    const again = open(home);
    expect(ids(again.listThreads({ archived: true }).data)).toEqual([thread.id]);
    again.rebuildIndex();
    expect(ids(again.listThreads({ archived: true }).data)).toEqual([thread.id]);

    const restored = again.unarchive(thread.id);
    expect(restored.path).toBe(path);
    expect(existsSync(path)).toBe(true);
    expect(readdirSync(join(home, 'archived_sessions'))).toEqual([]);
    expect(ids(again.listThreads().data)).toEqual([thread.id, keep.thread.id]);
    expect(again.listThreads({ archived: true }).data).toEqual([]);
    expect(() => again.unarchive(thread.id)).toThrow(
      expect.objectContaining({ code: 'NOT_ARCHIVED' }),
    );
    expect(() => again.archive(randomUUID())).toThrow(
      expect.objectContaining({ code: 'THREAD_NOT_FOUND' }),
    );
    again.close();
  });
});

describe('ThreadStore: archive and unarchive under the writer lock', () => {
  const home = tempHome();

  it('refuses to move a thread another process writes, and moves it once that one lets go', () => {
    // two stores on one home stand for two server processes
    const store = open(home);
    const other = open(home);
    const { thread, path } = seed(store, '/work', 'busy elsewhere');
    other.claim(thread.id); // the other server runs the thread
    const refused = () => store.archive(thread.id);
    expect(refused).toThrow(
      expect.objectContaining({
        code: 'WRITER_ACTIVE',
        message: `thread ${thread.id} already has an active writer`,
      }),
    );
    expect(existsSync(path)).toBe(true);
    expect(store.describeThread(thread.id)?.archived).toBe(false);
    // the refused move took no lock of its own: the holder keeps writing, and can let go
    expect(other.holds(thread.id)).toBe(true);
    expect(store.holds(thread.id)).toBe(false);
    other.release(thread.id);
    store.archive(thread.id);
    expect(store.holds(thread.id)).toBe(false); // taken for the move only

    other.claim(thread.id);
    expect(() => store.unarchive(thread.id)).toThrow(
      expect.objectContaining({ code: 'WRITER_ACTIVE' }),
    );
    expect(store.describeThread(thread.id)?.archived).toBe(true);
    // the holder itself may move the thread
    other.unarchive(thread.id);
    expect(existsSync(path)).toBe(true);
    expect(other.holds(thread.id)).toBe(true);
    store.close();
    other.close();
  });
});

describe('ThreadStore: fork', () => {
  const home = tempHome();

  it('copies the whole history into a new thread with forkedFromId', () => {
    const store = open(home);
    const source = seed(store, '/work', 'original', 3);
    store.setName(source.thread.id, 'source name');
    const fork = store.fork(source.thread.id);
    expect(fork.thread.id).not.toBe(source.thread.id);
    expect(fork.thread).toMatchObject({
      forkedFromId: source.thread.id,
      name: null,
      preview: 'original 1',
      cwd: '/work',
      model: 'gpt-test',
    });
    const original = store.readThread(source.thread.id, { includeTurns: true });
    expect(fork.thread.turns).toEqual(original.thread.turns);
    expect(fork.tokenUsage).toEqual(original.tokenUsage);
    expect(fork.thread.createdAt).toBeGreaterThan(original.thread.updatedAt);
    expect(fork.thread.updatedAt).toBe(fork.thread.createdAt);
    expect(store.readThread(fork.thread.id, { includeTurns: true })).toEqual(fork);
    expect(ids(store.listThreads().data)).toEqual([fork.thread.id, source.thread.id]);
    store.close();
  });

  it('copies up to lastTurnId, with overrides, and refuses an unknown turn', () => {
    const store = open(home);
    const source = seed(store, '/work', 'original', 3);
    const turn2 = `${source.thread.id}-turn-2`;
    const id = randomUUID();
    const fork = store.fork(source.thread.id, {
      lastTurnId: turn2,
      overrides: { id, cwd: '/elsewhere', model: undefined, settings: { sandbox: 'read-only' } },
      includeTurns: false,
    });
    expect(fork.thread).toMatchObject({ id, cwd: '/elsewhere', model: 'gpt-test', turns: [] });
    expect(fork.settings).toEqual({ sandbox: 'read-only' });
    const read = store.readThread(id, { includeTurns: true });
    expect(read.thread.turns.map((turn) => turn.id)).toEqual([`${source.thread.id}-turn-1`, turn2]);
    expect(() => store.fork(source.thread.id, { lastTurnId: 'nope' })).toThrow(
      expect.objectContaining({ code: 'TURN_NOT_FOUND' }),
    );
    expect(() => store.fork(source.thread.id, { overrides: { id } })).toThrow(
      expect.objectContaining({ code: 'THREAD_EXISTS' }),
    );
    store.close();
  });

  it('forks a thread whose last turn never finished: the copy reads it back interrupted', () => {
    const store = open(home);
    const source = seed(store);
    store.append(source.thread.id, { type: 'turn_started', turnId: 'open' });
    const fork = store.fork(source.thread.id);
    expect(fork.thread.turns.map((turn) => turn.status)).toEqual(['completed', 'interrupted']);
    store.close();
  });
});

describe('ThreadStore: the index', () => {
  const home = tempHome();

  it('rebuilds from the rollouts into exactly the incremental index', () => {
    const store = open(home);
    for (let i = 0; i < 6; i++) {
      const { thread } = seed(store, i % 2 ? '/a' : '/b', `thread ${i}`, (i % 3) + 1);
      if (i === 1) store.setName(thread.id, 'named');
      if (i === 2) store.append(thread.id, { type: 'thread_settings', model: 'm2', cwd: '/c' });
      if (i === 3) store.archive(thread.id);
      if (i === 4) store.fork(thread.id, { lastTurnId: `${thread.id}-turn-1` });
    }
    store.createThread({ cwd: '/empty', modelProvider: 'p', name: 'no turns yet' });
    const incremental = store.indexEntries();
    expect(incremental).toHaveLength(8);
    const result = store.rebuildIndex();
    expect(result).toMatchObject({ threads: 8, skipped: 0 });
    expect(store.indexEntries()).toEqual(incremental);
    store.close();

    // Deleting the index file rebuilds it on open; so does a schema version change.
    rmSync(join(home, INDEX_FILE));
    const reopened = open(home);
    expect(reopened.indexEntries()).toEqual(incremental);
    reopened.close();
    const db = new Database(join(home, INDEX_FILE));
    db.pragma('user_version = 999');
    db.prepare('DELETE FROM threads').run();
    db.close();
    const migrated = open(home);
    expect(migrated.indexEntries()).toEqual(incremental);
    migrated.close();
  });

  it('replaces an index file that is not a database', () => {
    const store = open(home);
    const { thread } = seed(store);
    store.close();
    for (const suffix of ['-wal', '-shm'])
      rmSync(join(home, `${INDEX_FILE}${suffix}`), { force: true });
    writeFileSync(join(home, INDEX_FILE), 'this is not sqlite'.repeat(100));
    const reopened = open(home);
    expect(ids(reopened.listThreads().data)).toEqual([thread.id]);
    reopened.close();
  });

  it('uses WAL mode', () => {
    const store = open(home);
    store.close();
    const db = new Database(join(home, INDEX_FILE));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('skips rollouts without a readable thread_meta when rebuilding', () => {
    const store = open(home);
    seed(store);
    const dir = join(home, 'sessions', '2026', '01', '15');
    writeFileSync(join(dir, `rollout-2026-01-15T00-00-00-${randomUUID()}.jsonl`), '{"v":1,"ts');
    writeFileSync(join(dir, 'notes.txt'), 'not a rollout');
    expect(store.rebuildIndex()).toMatchObject({ threads: 1, skipped: 1 });
    store.close();
  });
});

describe('ThreadStore: concurrency', () => {
  const home = tempHome();

  it('interleaved async appends to two threads keep each thread intact and in order', async () => {
    const store = ThreadStore.open({ home });
    const one = store.createThread({ cwd: '/1', modelProvider: 'p' }).thread.id;
    const two = store.createThread({ cwd: '/2', modelProvider: 'p' }).thread.id;
    const writeMany = async (id: string, label: string) => {
      store.append(id, { type: 'turn_started', turnId: `${label}-t` });
      for (let i = 0; i < 200; i++) {
        store.append(id, {
          type: 'item_completed',
          turnId: `${label}-t`,
          item: agentMessage(`${label}-${i}`, `${label} says ${i} ${'x'.repeat(i)}`),
        });
        if (i % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      store.append(id, { type: 'turn_completed', turnId: `${label}-t`, status: 'completed' });
    };
    await Promise.all([writeMany(one, 'one'), writeMany(two, 'two')]);
    for (const [id, label] of [
      [one, 'one'],
      [two, 'two'],
    ] as const) {
      const turns = store.readThread(id, { includeTurns: true }).thread.turns;
      expect(turns).toHaveLength(1);
      expect(turns[0]?.items.map((item) => item.id)).toEqual(
        Array.from({ length: 200 }, (_, i) => `${label}-${i}`),
      );
    }
    store.close();
  });

  it('two stores on the same home append to their own threads and share the index', async () => {
    const first = ThreadStore.open({ home });
    const second = ThreadStore.open({ home });
    const a = first.createThread({ cwd: '/1', modelProvider: 'p', preview: 'from first' }).thread
      .id;
    const b = second.createThread({ cwd: '/2', modelProvider: 'p', preview: 'from second' }).thread
      .id;
    await Promise.all(
      [
        [first, a],
        [second, b],
      ].map(async ([store, id]) => {
        const s = store as ThreadStore;
        for (let i = 0; i < 50; i++) {
          s.append(id as string, {
            type: 'item_completed',
            turnId: 't',
            item: agentMessage(`m${i}`, 'x'),
          });
          await new Promise((resolve) => setImmediate(resolve));
        }
      }),
    );
    expect(ids(first.listThreads().data).sort()).toEqual([a, b].sort());
    expect(second.readThread(a, { includeTurns: true }).thread.turns[0]?.items).toHaveLength(50);
    expect(first.readThread(b, { includeTurns: true }).thread.turns[0]?.items).toHaveLength(50);
    first.close();
    second.close();
  });
});
