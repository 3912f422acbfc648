import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type { app } from '@tether/protocol';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ThreadStoreError } from './errors.js';
import { foldRecords } from './fold.js';
import { decodeHistoryCursor, encodeHistoryCursor } from './history-cursor.js';
import { type JournalTrouble, ThreadJournal } from './journal.js';
import { INDEX_FILE } from './paths.js';
import type { AppendRecord } from './records.js';
import { readRollout } from './rollout-reader.js';
import { ThreadStore } from './store.js';
import {
  agentMessage,
  commandExecution,
  fakeClock,
  tempHome,
  tokenUsage,
  userMessage,
} from './test-support/fixtures.js';
import { toWireTurn } from './thread-view.js';
import { acquireWriterLock, WRITER_LOCKS_DIR } from './writer-lock.js';

/** node:fs as a mutable object, to let another store act at a chosen moment of a write. */
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');

function open(home: string) {
  return ThreadStore.open({ home, now: fakeClock() });
}

/** A thread of `turns` turns: user message, a command every third turn, agent reply. */
function seed(store: ThreadStore, turns: number) {
  const { thread } = store.createThread({ cwd: '/work', modelProvider: 'openai' });
  const turnIds: string[] = [];
  for (let n = 1; n <= turns; n++) {
    const turnId = `turn-${n}`;
    turnIds.push(turnId);
    store.append(thread.id, { type: 'turn_started', turnId });
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: userMessage(`u${n}`, `ask ${n}`),
    });
    if (n % 3 === 0) {
      store.append(thread.id, {
        type: 'item_started',
        turnId,
        item: commandExecution(`c${n}`, 'inProgress'),
      });
      store.append(thread.id, {
        type: 'item_completed',
        turnId,
        item: commandExecution(`c${n}`, 'completed'),
      });
    }
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: agentMessage(`a${n}`, `reply ${n}`),
    });
    store.append(thread.id, { type: 'turn_completed', turnId, status: 'completed' });
  }
  return { threadId: thread.id, turnIds };
}

const ids = (turns: readonly { id: string }[]) => turns.map((turn) => turn.id);

describe('history pages from the index', () => {
  const home = tempHome();

  it('pages turns newest first with cursors that continue in either direction', () => {
    const store = open(home);
    const { threadId, turnIds } = seed(store, 7);
    const first = store.turnsPage(threadId, {
      direction: 'desc',
      anchor: null,
      limit: 3,
      itemsView: 'full',
    });
    expect(ids(first.data)).toEqual(['turn-7', 'turn-6', 'turn-5']);
    expect(first.more).toBe(true);
    const last = first.rows[2];
    if (!last) throw new Error('no rows');
    const second = store.turnsPage(threadId, {
      direction: 'desc',
      anchor: { ordinal: last.ordinal, includeAnchor: false },
      limit: 3,
      itemsView: 'summary',
    });
    expect(ids(second.data)).toEqual(['turn-4', 'turn-3', 'turn-2']);
    // summary: the first user message and the last agent message, not the command
    expect(second.data[1]?.items.map((item) => item.id)).toEqual(['u3', 'a3']);
    const head = second.rows[0];
    if (!head) throw new Error('no rows');
    const back = store.turnsPage(threadId, {
      direction: 'asc',
      anchor: { ordinal: head.ordinal, includeAnchor: true },
      limit: 10,
      itemsView: 'notLoaded',
    });
    expect(ids(back.data)).toEqual(['turn-4', 'turn-5', 'turn-6', 'turn-7']);
    expect(back.data.every((turn) => turn.items.length === 0)).toBe(true);
    expect(turnIds).toHaveLength(7);
    store.close();
  });

  it('pages items across the thread and within a turn, in creation order', () => {
    const store = open(home);
    const { threadId } = seed(store, 3);
    const all = store.itemsPage(threadId, { direction: 'asc', anchor: null, limit: 100 });
    expect(all.data.map((entry) => `${entry.turnId}:${entry.item.id}`)).toEqual([
      'turn-1:u1',
      'turn-1:a1',
      'turn-2:u2',
      'turn-2:a2',
      'turn-3:u3',
      'turn-3:c3',
      'turn-3:a3',
    ]);
    // the command item reads back in its completed state
    expect(all.data[5]?.item).toMatchObject({ status: 'completed', aggregatedOutput: 'hi\n' });
    const turn3 = store.itemsPage(threadId, {
      turnId: 'turn-3',
      direction: 'desc',
      anchor: null,
      limit: 2,
    });
    expect(turn3.data.map((entry) => entry.item.id)).toEqual(['a3', 'c3']);
    expect(turn3.more).toBe(true);
    expect(() =>
      store.itemsPage(threadId, { turnId: 'nope', direction: 'asc', anchor: null, limit: 5 }),
    ).toThrow(/turn not found|has no turn/);
    store.close();
  });

  it('leaves out a reply cut short by an interrupt, as the fold does', () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/work', modelProvider: 'openai' });
    store.append(thread.id, { type: 'turn_started', turnId: 't1' });
    store.append(thread.id, { type: 'item_completed', turnId: 't1', item: userMessage('u', 'go') });
    store.append(thread.id, { type: 'item_started', turnId: 't1', item: agentMessage('a', '') });
    store.append(thread.id, { type: 'turn_completed', turnId: 't1', status: 'interrupted' });
    const page = store.turnsPage(thread.id, {
      direction: 'asc',
      anchor: null,
      limit: 5,
      itemsView: 'full',
    });
    expect(page.data[0]).toMatchObject({ status: 'interrupted', items: [{ id: 'u' }] });
    const read = store.readThread(thread.id, { includeTurns: true });
    expect(read.thread.turns).toEqual(page.data);
    store.close();
  });

  it('reads a page of a long thread without reading the rollout', () => {
    const store = open(home);
    const { threadId } = seed(store, 60);
    const path = store.readThread(threadId).path;
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(10_000);
    // damage everything before the last two turns with garbage of the same length (the file's size
    // still matches the index): the thread's metadata and first 58 turns become one unreadable
    // line, so reading the whole rollout would find no thread at all; a page of the last turns,
    // read by position, must not care
    const keep = store.turnRow(threadId, 'turn-59')?.ordinal ?? 0;
    expect(keep).toBeGreaterThan(size / 2);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.alloc(keep - 1, 'x'), 0, keep - 1, 0);
    closeSync(fd);
    expect(readFileSync(path).length).toBe(size);
    expect(readRollout(path).records.some((record) => record.type === 'thread_meta')).toBe(false);
    const page = store.turnsPage(threadId, {
      direction: 'desc',
      anchor: null,
      limit: 2,
      itemsView: 'full',
    });
    expect(ids(page.data)).toEqual(['turn-60', 'turn-59']);
    expect(page.data.map((turn) => turn.items.map((item) => item.id))).toEqual([
      ['u60', 'c60', 'a60'],
      ['u59', 'a59'],
    ]);
    const items = store.itemsPage(threadId, {
      turnId: 'turn-60',
      direction: 'asc',
      anchor: null,
      limit: 10,
    });
    expect(items.data.map((entry) => entry.item.id)).toEqual(['u60', 'c60', 'a60']);
    store.close();
  });

  it('cursors name their thread and scope; a foreign one is refused', () => {
    const id = '0a1b2c3d-0000-4000-8000-000000000001';
    const cursor = encodeHistoryCursor(id, 'turns', { ordinal: 42, includeAnchor: false });
    expect(JSON.parse(cursor)).toEqual({
      requestedThreadId: id,
      rolloutOrdinal: 42,
      includeAnchor: false,
      scope: { kind: 'turns' },
    });
    expect(decodeHistoryCursor(cursor, id, 'turns')).toEqual({
      ordinal: 42,
      includeAnchor: false,
    });
    expect(() => decodeHistoryCursor(cursor, id, 'itemsByCreatedAtOrdinal')).toThrow(
      `invalid cursor: ${cursor}`,
    );
    expect(() => decodeHistoryCursor('garbage', id, 'turns')).toThrow('invalid cursor: garbage');
  });
});

describe('the index agrees with the rollout (property)', () => {
  const home = tempHome();
  const statuses = ['completed', 'interrupted', 'failed'] as const;

  /** An arbitrary history: turns with messages, commands, replies cut short, crashes. */
  const history = fc.array(
    fc.record({
      items: fc.array(
        fc.record({
          kind: fc.constantFrom('user', 'agent', 'command', 'partialAgent', 'partialCommand'),
          text: fc.string({ maxLength: 30 }),
        }),
        { maxLength: 5 },
      ),
      status: fc.option(fc.constantFrom(...statuses), { nil: null }),
    }),
    { maxLength: 8 },
  );

  it('turns and items paged from the index equal the fold of the file, before and after a rebuild', () => {
    fc.assert(
      fc.property(history, (turns) => {
        const store = open(home);
        const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
        turns.forEach((turn, t) => {
          const turnId = `t${t}`;
          store.append(thread.id, { type: 'turn_started', turnId });
          turn.items.forEach((spec, i) => {
            const id = `i${t}-${i}`;
            if (spec.kind === 'user') {
              store.append(thread.id, {
                type: 'item_completed',
                turnId,
                item: userMessage(id, spec.text),
              });
            } else if (spec.kind === 'agent' || spec.kind === 'partialAgent') {
              store.append(thread.id, { type: 'item_started', turnId, item: agentMessage(id, '') });
              if (spec.kind === 'agent') {
                store.append(thread.id, {
                  type: 'item_completed',
                  turnId,
                  item: agentMessage(id, spec.text),
                });
              }
            } else {
              store.append(thread.id, {
                type: 'item_started',
                turnId,
                item: commandExecution(id, 'inProgress'),
              });
              if (spec.kind === 'command') {
                store.append(thread.id, {
                  type: 'item_completed',
                  turnId,
                  item: commandExecution(id, 'completed'),
                });
              }
            }
          });
          store.append(thread.id, { type: 'token_usage', turnId, tokenUsage });
          if (turn.status) {
            store.append(thread.id, { type: 'turn_completed', turnId, status: turn.status });
          }
        });
        const path = store.readThread(thread.id).path;
        const folded = foldRecords(readRollout(path).records);
        const expected = (folded?.turns ?? []).map(toWireTurn);
        const page = () =>
          store.turnsPage(thread.id, {
            direction: 'asc',
            anchor: null,
            limit: 100,
            itemsView: 'full',
          }).data;
        expect(page()).toEqual(expected);
        const items = store.itemsPage(thread.id, { direction: 'asc', anchor: null, limit: 100 });
        expect(items.data.map((entry) => entry.item)).toEqual(expected.flatMap((t) => t.items));
        store.rebuildIndex();
        expect(page()).toEqual(expected);
        store.close();
      }),
      { numRuns: 60 },
    );
  });
});

describe('revert and delete', () => {
  const home = tempHome();

  it('revert keeps the turns before the named one, the thread records, and injected items before it', () => {
    const store = open(home);
    const { threadId } = seed(store, 4);
    store.append(threadId, {
      type: 'response_item',
      turnId: 'turn-2',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ask 2' }] },
    });
    // injected after turn 4 began: it goes with the turns it came after
    store.append(threadId, {
      type: 'response_item',
      turnId: null,
      item: { type: 'message', role: 'developer', content: [] },
    });
    store.setName(threadId, 'kept name');
    const reverted = store.revert(threadId, 'turn-3');
    expect(reverted.thread.name).toBe('kept name');
    const turns = store.readThread(threadId, { includeTurns: true }).thread.turns;
    expect(ids(turns)).toEqual(['turn-1', 'turn-2']);
    expect(reverted.conversation).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'ask 2' }] },
    ]);
    const page = store.turnsPage(threadId, {
      direction: 'desc',
      anchor: null,
      limit: 5,
      itemsView: 'full',
    });
    expect(ids(page.data)).toEqual(['turn-2', 'turn-1']);
    expect(() => store.revert(threadId, 'turn-3')).toThrow('turn not found: turn-3');
    // reverting before the first turn leaves no turns
    store.revert(threadId, 'turn-1');
    expect(store.readThread(threadId, { includeTurns: true }).thread.turns).toEqual([]);
    store.close();
    // what was written reads back after a reopen
    const again = open(home);
    expect(again.readThread(threadId).thread.name).toBe('kept name');
    again.close();
  });

  it('a writer notices its rollout was replaced by a revert elsewhere and reopens it', () => {
    // two stores on one home stand for two server processes
    const a = open(home);
    const b = open(home);
    const { threadId } = seed(a, 3);
    b.setName(threadId, 'named by b (1)'); // b now has the rollout open
    a.revert(threadId, 'turn-2'); // a new rollout is renamed over the one b has open
    b.setName(threadId, 'named by b (2)');
    expect(a.readThread(threadId).thread.name).toBe('named by b (2)');
    b.append(threadId, { type: 'thread_goal', goal: { objective: 'ship it' } });
    a.close();
    b.close();
    const again = open(home);
    const read = again.readThread(threadId, { includeTurns: true });
    expect(read.thread.name).toBe('named by b (2)');
    expect(read.goal).toEqual({ objective: 'ship it' });
    expect(ids(read.thread.turns)).toEqual(['turn-1']);
    again.close();
  });

  it('a writer whose rollout was deleted elsewhere fails with THREAD_NOT_FOUND and writes nothing', () => {
    const a = open(home);
    const b = open(home);
    const { threadId } = seed(a, 1);
    b.setName(threadId, 'named by b');
    const path = a.readThread(threadId).path;
    a.deleteThread(threadId);
    expect(() => b.setName(threadId, 'again')).toThrow(
      expect.objectContaining({ code: 'THREAD_NOT_FOUND' }),
    );
    expect(existsSync(path)).toBe(false);
    expect(b.hasThread(threadId)).toBe(false);
    a.close();
    b.close();
  });

  it('revert carries lines it cannot read through as they are, in place, unless they name a dropped turn', () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const id = thread.id;
    const path = store.readThread(id).path;
    // lines a newer tether wrote: another format version, an unknown type, inside and between turns
    const future = '{"v":2,"ts":1,"type":"thread_meta_v2","colour":"teal"}\n';
    const noteOne = '{"v":1,"ts":2,"type":"turn_note","turnId":"turn-1","note":"kept"}\n';
    const noteTwo = '{"v":1,"ts":3,"type":"turn_note","turnId":"turn-2","note":"dropped"}\n';
    const between = '{"v":3,"ts":4,"type":"thread_badge","turnId":null}\n';
    appendFileSync(path, future);
    store.append(id, { type: 'turn_started', turnId: 'turn-1' });
    store.append(id, { type: 'item_completed', turnId: 'turn-1', item: userMessage('u1', 'one') });
    appendFileSync(path, noteOne);
    store.append(id, { type: 'turn_completed', turnId: 'turn-1', status: 'completed' });
    appendFileSync(path, between);
    store.append(id, { type: 'turn_started', turnId: 'turn-2' });
    appendFileSync(path, noteTwo);
    store.append(id, { type: 'turn_completed', turnId: 'turn-2', status: 'completed' });
    store.setName(id, 'kept name');
    const before = readFileSync(path, 'utf8');
    const reverted = store.revert(id, 'turn-2');
    expect(reverted.thread.name).toBe('kept name');
    const after = readFileSync(path, 'utf8');
    const lines = (text: string) => text.split('\n').filter((line) => line !== '');
    // exactly the old lines minus turn 2's, byte for byte and in order
    expect(lines(after)).toEqual(
      lines(before).filter((line) => !line.includes('"turn-2"') && !line.includes('dropped')),
    );
    expect(after).toContain(future);
    expect(after.indexOf(noteOne)).toBeGreaterThan(after.indexOf('"u1"'));
    expect(after.indexOf(noteOne)).toBeLessThan(after.indexOf('"turn_completed"'));
    expect(after).toContain(between);
    expect(after).not.toContain('dropped');
    expect(ids(store.readThread(id, { includeTurns: true }).thread.turns)).toEqual(['turn-1']);
    store.close();
  });

  it('revert carries lines another process appends to the old rollout while it rewrites it', () => {
    const a = open(home);
    const b = open(home);
    const { threadId } = seed(a, 3);
    b.setName(threadId, 'b opened the rollout');
    // b appends while a writes the new rollout (caught before the rename) and just before the
    // rename (caught after it); b's writer still sees a file with a name both times
    const realWrite = fs.writeSync;
    const realRename = fs.renameSync;
    let duringWrite = false;
    let beforeRename = false;
    fs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
      const data = args[1];
      if (!duringWrite && Buffer.isBuffer(data) && data.includes('"thread_meta"')) {
        duringWrite = true;
        fs.writeSync = realWrite;
        syncBuiltinESMExports();
        b.setName(threadId, 'named while a reverts');
      }
      return Reflect.apply(realWrite, fs, args) as number;
    }) as typeof fs.writeSync;
    fs.renameSync = ((...args: Parameters<typeof fs.renameSync>) => {
      if (!beforeRename && String(args[0]).endsWith('.replace.tmp')) {
        beforeRename = true;
        fs.renameSync = realRename;
        syncBuiltinESMExports();
        b.append(threadId, { type: 'thread_goal', goal: { objective: 'set while a reverts' } });
      }
      return Reflect.apply(realRename, fs, args) as undefined;
    }) as typeof fs.renameSync;
    syncBuiltinESMExports();
    try {
      a.revert(threadId, 'turn-2');
    } finally {
      fs.writeSync = realWrite;
      fs.renameSync = realRename;
      syncBuiltinESMExports();
    }
    expect([duringWrite, beforeRename]).toEqual([true, true]);
    a.close();
    b.close();
    const again = open(home);
    const read = again.readThread(threadId, { includeTurns: true });
    expect(read.thread.name).toBe('named while a reverts');
    expect(read.goal).toEqual({ objective: 'set while a reverts' });
    expect(ids(read.thread.turns)).toEqual(['turn-1']);
    again.close();
  });

  it('delete removes the rollout, the index rows and the lock file', () => {
    const store = open(home);
    const { threadId } = seed(store, 2);
    const path = store.readThread(threadId).path;
    store.release(threadId);
    store.deleteThread(threadId);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(join(home, WRITER_LOCKS_DIR, `${threadId}.lock`))).toBe(false);
    expect(store.hasThread(threadId)).toBe(false);
    expect(store.listThreads({ includeEmpty: true }).data.map((t) => t.id)).not.toContain(threadId);
    store.close();
  });
});

describe('delete and the writer lock', () => {
  const home = tempHome();

  it('delete unlinks the lock file while it still holds the lock', () => {
    const store = open(home);
    const { threadId } = seed(store, 1);
    const lockFile = join(home, WRITER_LOCKS_DIR, `${threadId}.lock`);
    // at the moment the lock file is unlinked, another would-be writer must still be refused
    const realRm = fs.rmSync;
    let whenUnlinked: string | null = null;
    fs.rmSync = ((...args: Parameters<typeof fs.rmSync>) => {
      if (String(args[0]) === lockFile && whenUnlinked === null) {
        try {
          acquireWriterLock(home, threadId).release();
          whenUnlinked = 'free';
        } catch (error) {
          whenUnlinked = (error as ThreadStoreError).code;
        }
      }
      return Reflect.apply(realRm, fs, args) as undefined;
    }) as typeof fs.rmSync;
    syncBuiltinESMExports();
    try {
      store.deleteThread(threadId);
    } finally {
      fs.rmSync = realRm;
      syncBuiltinESMExports();
    }
    expect(whenUnlinked).toBe('WRITER_ACTIVE');
    expect(readdirSync(join(home, WRITER_LOCKS_DIR))).toEqual([]);
    expect(store.holds(threadId)).toBe(false);
    store.close();
  });
});

describe('search', () => {
  const home = tempHome();

  it('finds threads whose messages contain a phrase, case-insensitively, with a snippet', () => {
    const store = open(home);
    const a = store.createThread({ cwd: '/w', modelProvider: 'p' }).thread.id;
    const b = store.createThread({ cwd: '/w', modelProvider: 'p' }).thread.id;
    store.append(a, {
      type: 'item_completed',
      turnId: 't',
      item: userMessage('u', 'plant a Pineapple tree'),
    });
    store.append(b, {
      type: 'item_completed',
      turnId: 't',
      item: agentMessage('m', 'no fruit here'),
    });
    store.append(b, {
      type: 'item_completed',
      turnId: 't2',
      item: agentMessage('m2', 'an APPLE pie'),
    });
    const found = store.listThreads({ messageTerm: 'apple', includeEmpty: true });
    expect(new Set(found.data.map((t) => t.id))).toEqual(new Set([a, b]));
    const snippets = Object.fromEntries(found.data.map((t, i) => [t.id, found.snippets?.[i]]));
    expect(snippets[a]).toBe('plant a Pineapple tree');
    expect(snippets[b]).toBe('an APPLE pie');
    expect(store.listThreads({ messageTerm: 'apple pineapple', includeEmpty: true }).data).toEqual(
      [],
    );
    // a two-letter term has no trigram: the scan still finds it
    expect(
      store.listThreads({ messageTerm: 'EE', includeEmpty: true }).data.map((t) => t.id),
    ).toEqual([a]);
    store.close();
  });

  it('lists every occurrence in a thread with UTF-16 ranges, and continues from a cursor', () => {
    const store = open(home);
    const id = store.createThread({ cwd: '/w', modelProvider: 'p' }).thread.id;
    store.append(id, {
      type: 'item_completed',
      turnId: 't1',
      item: userMessage('u1', 'pineapple apple APPLE here'),
    });
    store.append(id, {
      type: 'item_completed',
      turnId: 't2',
      item: agentMessage('a2', 'café 😀 apple'),
    });
    const all = store.searchMessages(id, 'apple', { limit: 10 });
    expect(all.data.map((o) => [o.itemId, o.range.start, o.range.end])).toEqual([
      ['u1', 4, 9],
      ['u1', 10, 15],
      ['u1', 16, 21],
      ['a2', 8, 13],
    ]);
    expect(all.next).toBeNull();
    const first = store.searchMessages(id, 'apple', { limit: 2 });
    expect(first.data).toHaveLength(2);
    const rest = store.searchMessages(id, 'apple', { after: first.next, limit: 10 });
    expect(rest.data.map((o) => o.range.start)).toEqual([16, 8]);
    store.close();
  });
});

describe('one writer per thread', () => {
  const home = tempHome();

  it('a thread claimed by a live process is refused, and free again once that process is killed', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    store.release(thread.id);
    // another server process: the built lock module, holding this thread's lock until killed
    const lockModule = new URL('../dist/writer-lock.js', import.meta.url).href;
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { acquireWriterLock } = await import(${JSON.stringify(lockModule)});
         acquireWriterLock(${JSON.stringify(home)}, ${JSON.stringify(thread.id)});
         console.log('claimed');
         setInterval(() => {}, 1000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout?.on('data', (data: Buffer) => {
        if (data.toString().includes('claimed')) resolve();
      });
      holder.on('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    expect(() => store.claim(thread.id)).toThrow(
      `thread ${thread.id} already has an active writer`,
    );
    // thread-level records may still be written by another process (as on the reference)
    store.setName(thread.id, 'named elsewhere');
    holder.kill('SIGKILL');
    await new Promise((resolve) => holder.once('exit', resolve));
    store.claim(thread.id);
    expect(store.holds(thread.id)).toBe(true);
    expect(store.readThread(thread.id).thread.name).toBe('named elsewhere');
    store.close();
  });
});

describe('ThreadJournal', () => {
  const home = tempHome();

  /** The real store, with a disk that refuses the next `failures` appends. */
  function failingDisk(store: ThreadStore) {
    const disk = { failures: 0 };
    const appender = {
      append(threadId: string, record: AppendRecord) {
        if (disk.failures > 0) {
          disk.failures -= 1;
          const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
          });
          throw new ThreadStoreError('IO_ERROR', 'cannot append to rollout /r.jsonl', {
            cause,
            path: '/r.jsonl',
          });
        }
        return store.append(threadId, record);
      },
    };
    return { disk, appender };
  }

  it('keeps records the disk refused, in order, says so once, and writes them when it can', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const { disk, appender } = failingDisk(store);
    const troubles: unknown[] = [];
    let recovered = 0;
    const journal = new ThreadJournal(appender, thread.id, {
      retryDelayMs: 5,
      onTrouble: (trouble) => troubles.push(trouble),
      onRecovered: () => {
        recovered += 1;
      },
    });
    disk.failures = 3;
    journal.append({ type: 'turn_started', turnId: 't1' });
    journal.append({ type: 'item_completed', turnId: 't1', item: userMessage('u', 'hello') });
    journal.append({ type: 'turn_completed', turnId: 't1', status: 'completed' });
    expect(journal.pending).toBe(3);
    expect(troubles).toEqual([
      expect.objectContaining({ errno: 'ENOSPC', path: '/r.jsonl', threadId: thread.id }),
    ]);
    expect(await journal.whenDurable(5_000)).toBe(true);
    expect(journal.pending).toBe(0);
    expect(recovered).toBe(1);
    const turns = store.readThread(thread.id, { includeTurns: true }).thread.turns;
    expect(turns).toMatchObject([{ id: 't1', status: 'completed', items: [{ id: 'u' }] }]);
    journal.close();
    store.close();
  });

  it('times out waiting, and lets waiting records be rewritten before they are written', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const { disk, appender } = failingDisk(store);
    const journal = new ThreadJournal(appender, thread.id, { retryDelayMs: 5 });
    disk.failures = Number.POSITIVE_INFINITY;
    journal.append({ type: 'turn_started', turnId: 't1' });
    journal.append({ type: 'turn_completed', turnId: 't1', status: 'completed' });
    expect(await journal.whenDurable(30)).toBe(false);
    const changed = journal.rewritePending((record) =>
      record.type === 'turn_completed' ? { ...record, status: 'failed' } : record,
    );
    expect(changed).toBe(1);
    disk.failures = 0;
    expect(await journal.whenDurable(5_000)).toBe(true);
    const turns = store.readThread(thread.id, { includeTurns: true }).thread.turns;
    expect(turns[0]?.status).toBe('failed');
    journal.close();
    store.close();
  });
});

describe('appends from two processes at once', () => {
  const home = tempHome();

  it("indexes a line where it landed when another process appended between the writer's fstat and its write", () => {
    // two stores on one home stand for two server processes
    const a = open(home);
    const b = open(home);
    const { thread } = a.createThread({ cwd: '/w', modelProvider: 'p' });
    a.append(thread.id, { type: 'turn_started', turnId: 't1' });
    // b's name record lands just before a's item record reaches the file
    const realWrite = fs.writeSync;
    let armed = true;
    const patched = ((...args: Parameters<typeof fs.writeSync>) => {
      const data = args[1];
      if (armed && Buffer.isBuffer(data) && data.includes('item_completed')) {
        armed = false;
        fs.writeSync = realWrite;
        syncBuiltinESMExports();
        b.setName(thread.id, 'renamed by b');
      }
      return Reflect.apply(realWrite, fs, args) as number;
    }) as typeof fs.writeSync;
    fs.writeSync = patched;
    syncBuiltinESMExports();
    try {
      a.append(thread.id, { type: 'item_completed', turnId: 't1', item: userMessage('u1', 'hi') });
    } finally {
      fs.writeSync = realWrite;
      syncBuiltinESMExports();
    }
    expect(armed).toBe(false);
    a.append(thread.id, { type: 'turn_completed', turnId: 't1', status: 'completed' });
    // the index has the item's real position (not healed by a re-read: the sizes agree)
    const path = a.readThread(thread.id).path;
    const contents = readRollout(path);
    const at = contents.records.findIndex((record) => record.type === 'item_completed');
    expect(contents.records[at - 1]).toMatchObject({ type: 'thread_name' });
    expect(a.itemRow(thread.id, 't1', 'u1')).toMatchObject(contents.spans[at] ?? {});
    const page = () =>
      a.itemsPage(thread.id, { direction: 'asc', anchor: null, limit: 10 }).data.map((e) => e.item);
    expect(page()).toEqual([userMessage('u1', 'hi')]);
    a.close();
    b.close();
    const again = open(home);
    expect(
      again.turnsPage(thread.id, { direction: 'asc', anchor: null, limit: 5, itemsView: 'full' })
        .data[0]?.items,
    ).toEqual([userMessage('u1', 'hi')]);
    again.close();
  });

  it('a page that finds the index wrong about a line has the thread re-read from its rollout', () => {
    const store = open(home);
    const { threadId } = seed(store, 2);
    const row = store.itemRow(threadId, 'turn-2', 'u2');
    if (!row) throw new Error('no row');
    // an index that points a few bytes off, with a size that still agrees with the file
    const db = new Database(join(home, INDEX_FILE));
    db.prepare('UPDATE items SET offset = offset + 3 WHERE thread_id = ? AND item_id = ?').run(
      threadId,
      'u2',
    );
    db.close();
    const page = store.itemsPage(threadId, {
      turnId: 'turn-2',
      direction: 'asc',
      anchor: null,
      limit: 10,
    });
    expect(page.data.map((entry) => entry.item.id)).toEqual(['u2', 'a2']);
    expect(store.itemRow(threadId, 'turn-2', 'u2')).toEqual(row);
    store.close();
  });
});

describe('ThreadJournal: records it had to drop', () => {
  const home = tempHome();

  /** The real store behind a disk that refuses appends while `full` is set. */
  function fullDisk(store: ThreadStore) {
    const disk = { full: true };
    const appender = {
      append(threadId: string, record: AppendRecord) {
        if (disk.full) {
          const cause = Object.assign(new Error('ENOSPC: no space left on device, write'), {
            code: 'ENOSPC',
          });
          throw new ThreadStoreError('IO_ERROR', 'cannot append to rollout', { cause });
        }
        return store.append(threadId, record);
      },
    };
    return { disk, appender };
  }

  it('past maxPending, whenDurable no longer says durable for what it dropped, and onDropped says so', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const { disk, appender } = fullDisk(store);
    const dropped: number[] = [];
    const journal = new ThreadJournal(appender, thread.id, {
      retryDelayMs: 5,
      maxPending: 2,
      onDropped: (_id, count) => dropped.push(count),
    });
    journal.append({ type: 'turn_started', turnId: 't1' });
    journal.append({ type: 'item_completed', turnId: 't1', item: userMessage('u', 'kept') });
    const waiting = journal.whenDurable(5_000); // asked before anything was dropped
    journal.append({ type: 'turn_completed', turnId: 't1', status: 'completed' }); // one too many
    expect(dropped).toEqual([1]);
    expect([journal.pending, journal.dropped, journal.appended]).toEqual([2, 1, 3]);
    disk.full = false;
    // what was asked before the drop was all written; what includes the dropped record never will be
    expect(await waiting).toBe(true);
    expect(await journal.whenDurable(5_000)).toBe(false);
    expect(journal.pending).toBe(0);
    // a later turn, counted from its own start, is durable again
    const mark = journal.appended;
    journal.append({ type: 'turn_started', turnId: 't2' });
    expect(await journal.whenDurable(5_000, { since: mark })).toBe(true);
    expect(await journal.whenDurable(5_000)).toBe(false);
    const turns = store.readThread(thread.id, { includeTurns: true }).thread.turns;
    expect(turns.map((turn) => turn.id)).toEqual(['t1', 't2']);
    journal.close();
    store.close();
  });

  it('a waiting record that can never be written (its thread deleted) ends the wait with false', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const { disk, appender } = fullDisk(store);
    const dropped: number[] = [];
    const journal = new ThreadJournal(appender, thread.id, {
      retryDelayMs: 5,
      onDropped: (_id, count) => dropped.push(count),
    });
    journal.append({ type: 'turn_started', turnId: 't1' });
    const waiting = journal.whenDurable(5_000);
    store.deleteThread(thread.id);
    disk.full = false;
    expect(await waiting).toBe(false);
    expect(dropped).toEqual([1]);
    expect(journal.pending).toBe(0);
    journal.close();
    store.close();
  });

  it('closing with records still waiting ends the wait with false', async () => {
    const store = open(home);
    const { thread } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    const { appender } = fullDisk(store);
    const journal = new ThreadJournal(appender, thread.id, { retryDelayMs: 5 });
    journal.append({ type: 'turn_started', turnId: 't1' });
    const waiting = journal.whenDurable();
    journal.close();
    expect(await waiting).toBe(false);
    expect(await journal.whenDurable()).toBe(false);
    store.close();
  });
});

describe('an index another process holds', () => {
  const home = tempHome();

  /** Another process's long transaction on the index (a start-up reconciliation, a rebuild). */
  function holdIndex() {
    const db = new Database(join(home, INDEX_FILE));
    db.exec('BEGIN IMMEDIATE');
    return () => {
      db.exec('ROLLBACK');
      db.close();
    };
  }

  /** Moves a thread's rollout to the archive behind the store's back (the index has to catch up). */
  function moveBehindBack(path: string) {
    const target = join(home, 'archived_sessions', basename(path));
    mkdirSync(dirname(target), { recursive: true });
    renameSync(path, target);
    return target;
  }

  it('the journal keeps a record the busy index refused, and writes it once the index is free', async () => {
    const store = ThreadStore.open({ home, now: fakeClock(), indexBusyTimeoutMs: 20 });
    const { thread, path } = store.createThread({ cwd: '/w', modelProvider: 'p' });
    store.release(thread.id); // its rollout is closed: the next append looks it up in the index
    moveBehindBack(path);
    const troubles: JournalTrouble[] = [];
    const journal = new ThreadJournal(store, thread.id, {
      retryDelayMs: 5,
      onTrouble: (trouble) => troubles.push(trouble),
    });
    const free = holdIndex();
    journal.append({ type: 'turn_started', turnId: 't1' });
    journal.append({ type: 'turn_completed', turnId: 't1', status: 'completed' });
    expect(journal.pending).toBe(2);
    expect(troubles).toEqual([expect.objectContaining({ errno: 'SQLITE_BUSY' })]);
    free();
    expect(await journal.whenDurable(5_000)).toBe(true);
    const turns = store.readThread(thread.id, { includeTurns: true }).thread.turns;
    expect(turns).toMatchObject([{ id: 't1', status: 'completed' }]);
    journal.close();
    store.close();
  });

  it("a claimed thread's rollout stays open past maxOpenWriters, so its appends need no index", () => {
    const store = ThreadStore.open({
      home,
      now: fakeClock(),
      maxOpenWriters: 1,
      indexBusyTimeoutMs: 20,
    });
    const running = store.createThread({ cwd: '/w', modelProvider: 'p' });
    store.claim(running.thread.id);
    store.append(running.thread.id, { type: 'turn_started', turnId: 't1' });
    // other threads come and go through the one open slot
    for (let n = 0; n < 3; n++) {
      const other = store.createThread({ cwd: '/w', modelProvider: 'p' });
      store.setName(other.thread.id, `other ${n}`);
    }
    moveBehindBack(running.path);
    const free = holdIndex();
    try {
      store.append(running.thread.id, {
        type: 'item_completed',
        turnId: 't1',
        item: userMessage('u1', 'still running'),
      });
    } finally {
      free();
    }
    const read = store.readThread(running.thread.id, { includeTurns: true });
    expect(read.archived).toBe(true);
    expect(read.thread.turns[0]?.items).toEqual([userMessage('u1', 'still running')]);
    store.close();
  });
});

describe('describing a thread from the index', () => {
  const home = tempHome();

  const queued = (id: string): app.QueuedSubmission => ({
    id,
    input: [{ type: 'text', text: `later ${id}`, text_elements: [] }],
    clientUserMessageId: `client-${id}`,
    responsesapiClientMetadata: null,
  });

  it('answers read state, goal and queue without reading the rollout', () => {
    // two stores on one home stand for two server processes
    const a = open(home);
    const b = open(home);
    const { threadId } = seed(a, 30);
    a.append(threadId, { type: 'thread_goal', goal: { objective: 'first' } });
    a.append(threadId, { type: 'thread_queue', queue: [queued('q1'), queued('q2')] });
    a.append(threadId, { type: 'read_state', firstUnread: null, revision: 'r1' });
    a.setName(threadId, 'described');
    b.append(threadId, { type: 'thread_goal', goal: { objective: 'second' } });
    b.append(threadId, { type: 'thread_queue', queue: [queued('q2')] });
    const stored = a.readThread(threadId);
    const expected = {
      thread: stored.thread,
      archived: false,
      readState: { firstUnread: null, revision: 'r1' },
      goal: { objective: 'second' },
      queue: [queued('q2')],
    };
    expect([stored.readState, stored.goal, stored.queue]).toEqual([
      expected.readState,
      expected.goal,
      expected.queue,
    ]);
    // garbage of the same length in place of the whole rollout: only the index can answer
    const size = readFileSync(stored.path).length;
    const fd = openSync(stored.path, 'r+');
    writeSync(fd, Buffer.alloc(size - 1, 'x'), 0, size - 1, 0);
    closeSync(fd);
    expect(a.describeThread(threadId)).toEqual(expected);
    expect(b.describeThread(threadId)).toEqual(expected);
    a.close();
    b.close();
  });

  it('catches up from the rollout when the index is behind it, and a rebuild keeps the same', () => {
    const store = open(home);
    const { threadId } = seed(store, 2);
    store.append(threadId, { type: 'thread_goal', goal: { objective: 'indexed' } });
    const path = store.readThread(threadId).path;
    // a record the index never heard of (a crash between the append and the index update)
    appendFileSync(
      path,
      `${JSON.stringify({ v: 1, ts: Date.UTC(2026, 1, 1), type: 'thread_queue', queue: [queued('late')] })}\n`,
    );
    const described = store.describeThread(threadId);
    expect(described).toMatchObject({ goal: { objective: 'indexed' }, queue: [queued('late')] });
    store.rebuildIndex();
    expect(store.describeThread(threadId)).toEqual(described);
    const fork = store.fork(threadId);
    expect(store.describeThread(fork.thread.id)).toMatchObject({ goal: null, queue: [] });
    const created = store.createThread({ cwd: '/w', modelProvider: 'p' });
    expect(store.describeThread(created.thread.id)).toMatchObject({ goal: null, queue: [] });
    store.close();
  });
});
