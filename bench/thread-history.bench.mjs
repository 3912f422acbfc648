// A thread's history at scale: one thread of 10,000 turns, paged the way Codex clients page it
// (thread/turns/list and thread/items/list), and thread/search over 10,000 threads. Pages come from
// the SQLite index plus positional reads of the rollout; nothing reads a whole rollout. Figures are
// p50/p99 over repeated runs, first from the store itself, then over a websocket from a real
// tether-app-server process (JSON and the socket included). Targets: a page of a 10,000-turn thread
// under 50 ms; a search over 10,000 threads under 100 ms.
import { rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { AppServerClient } from '@tether/client';
import { launchAppServer, tempHome } from '@tether/test-kit';
import { ThreadStore } from '@tether/thread-store';

const TURNS = 10_000;
const THREADS = 10_000;
const RUNS = 200;
const PAGE_TARGET_MS = 50;
const SEARCH_TARGET_MS = 100;
const cli = new URL('../apps/app-server/dist/cli.js', import.meta.url).pathname;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function timeIt(fn, runs) {
  for (let i = 0; i < Math.min(10, runs); i++) await fn(i);
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await fn(i);
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

const ms = (value) => value.toFixed(value < 10 ? 2 : 1);
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];

const user = (id, text) => ({
  type: 'userMessage',
  id,
  clientId: null,
  content: [{ type: 'text', text, text_elements: [] }],
});
const agent = (id, text) => ({
  type: 'agentMessage',
  id,
  text,
  phase: null,
  memoryCitation: null,
  delivery: null,
  questions: null,
  moderation: null,
});
const command = (id) => ({
  type: 'commandExecution',
  id,
  command: '/bin/bash -lc "cargo test"',
  cwd: '/work',
  processId: '42',
  source: 'agent',
  status: 'completed',
  commandActions: [{ type: 'unknown', command: 'cargo test' }],
  aggregatedOutput: 'running 12 tests\n'.repeat(20),
  exitCode: 0,
  durationMs: 1200,
  pluginId: null,
  scriptPath: null,
});

/** One thread of TURNS turns: a question, every fifth turn a command, an answer. */
function buildLongThread(store) {
  const { thread } = store.createThread({ cwd: '/work', modelProvider: 'openai', model: 'gpt-5' });
  for (let n = 0; n < TURNS; n++) {
    const turnId = `turn-${n}`;
    store.append(thread.id, { type: 'turn_started', turnId });
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: user(`u${n}`, `question ${n}`),
    });
    if (n % 5 === 0)
      store.append(thread.id, { type: 'item_completed', turnId, item: command(`c${n}`) });
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: agent(`a${n}`, `answer ${n}: ${WORDS[n % WORDS.length]} ${'detail '.repeat(30)}`),
    });
    store.append(thread.id, { type: 'turn_completed', turnId, status: 'completed' });
  }
  return thread.id;
}

/** THREADS threads of one turn each; one thread mentions a rare word, all mention common ones. */
function buildManyThreads(store) {
  for (let i = 0; i < THREADS; i++) {
    const { thread } = store.createThread({ cwd: `/work/p${i % 20}`, modelProvider: 'openai' });
    const turnId = `t${i}`;
    store.append(thread.id, { type: 'turn_started', turnId });
    const rare = i === 4242 ? ' zanzibar' : '';
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: user(`u${i}`, `fix the ${WORDS[i % WORDS.length]} build number ${i}${rare}`),
    });
    store.append(thread.id, {
      type: 'item_completed',
      turnId,
      item: agent(`a${i}`, `done with ${WORDS[(i + 3) % WORDS.length]} ${i}`),
    });
    store.append(thread.id, { type: 'turn_completed', turnId, status: 'completed' });
  }
}

async function launch(home) {
  const app = launchAppServer(cli, ['--listen', 'ws://127.0.0.1:0'], {
    env: { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn' },
    timeoutMs: 30_000,
  });
  const client = await AppServerClient.connectWebSocket(await app.url);
  await client.initialize({ name: 'bench', version: '1.0.0' }, { experimentalApi: true });
  return { app, client };
}

const home = tempHome('tether-history-bench-');
try {
  const store = ThreadStore.open({ home });
  let started = performance.now();
  const threadId = buildLongThread(store);
  const buildLongMs = performance.now() - started;
  started = performance.now();
  buildManyThreads(store);
  const buildManyMs = performance.now() - started;

  const first = store.turnsPage(threadId, {
    direction: 'desc',
    anchor: null,
    limit: 25,
    itemsView: 'summary',
  });
  const middle = store.turnsPage(threadId, {
    direction: 'asc',
    anchor: { ordinal: first.rows[0].ordinal, includeAnchor: false },
    limit: 1,
    itemsView: 'notLoaded',
  });
  const middleAnchor = {
    ordinal: store.turnRow(threadId, 'turn-5000').ordinal,
    includeAnchor: false,
  };
  const storeShapes = {
    'turns: newest page (25, summary)': () =>
      store.turnsPage(threadId, {
        direction: 'desc',
        anchor: null,
        limit: 25,
        itemsView: 'summary',
      }),
    'turns: page in the middle (25, full)': () =>
      store.turnsPage(threadId, {
        direction: 'desc',
        anchor: middleAnchor,
        limit: 25,
        itemsView: 'full',
      }),
    'turns: oldest page (25, full)': () =>
      store.turnsPage(threadId, { direction: 'asc', anchor: null, limit: 25, itemsView: 'full' }),
    'items: page in the middle (100)': () =>
      store.itemsPage(threadId, { direction: 'asc', anchor: middleAnchor, limit: 100 }),
    'search 10,000 threads: rare word': () =>
      store.listThreads({ messageTerm: 'zanzibar', limit: 25, includeEmpty: true }),
    'search 10,000 threads: common word': () =>
      store.listThreads({ messageTerm: 'foxtrot', limit: 25, includeEmpty: true }),
    'search 10,000 threads: 2-letter term (scan)': () =>
      store.listThreads({ messageTerm: 'zz', limit: 25, includeEmpty: true }),
  };
  const rows = [];
  for (const [name, fn] of Object.entries(storeShapes)) {
    const t = await timeIt(fn, RUNS);
    rows.push({ where: 'store', query: name, 'p50 ms': ms(t.p50), 'p99 ms': ms(t.p99) });
  }
  if (middle.data.length !== 0) throw new Error('a page past the newest turn should be empty');
  store.close();

  const server = await launch(home);
  try {
    const c = server.client;
    const resumed = await c.request('thread/resume', {
      threadId,
      excludeTurns: true,
      initialTurnsPage: { limit: 25 },
    });
    const cursor = resumed.initialTurnsPage.nextCursor;
    const wireShapes = {
      'thread/turns/list newest page': () => c.request('thread/turns/list', { threadId }),
      'thread/turns/list next page (cursor)': () =>
        c.request('thread/turns/list', { threadId, cursor }),
      'thread/items/list first page (25)': () => c.request('thread/items/list', { threadId }),
      'thread/search rare word': () => c.request('thread/search', { searchTerm: 'zanzibar' }),
      'thread/search common word': () => c.request('thread/search', { searchTerm: 'foxtrot' }),
    };
    for (const [name, fn] of Object.entries(wireShapes)) {
      const t = await timeIt(fn, RUNS);
      rows.push({ where: 'websocket', query: name, 'p50 ms': ms(t.p50), 'p99 ms': ms(t.p99) });
    }
    c.close();
  } finally {
    await server.app.stop();
  }

  console.log(
    `one thread of ${TURNS.toLocaleString('en-US')} turns and ${THREADS.toLocaleString('en-US')} more threads, ` +
      `${RUNS} runs per query, node ${process.version}, load average ${loadavg()[0].toFixed(1)} on ${availableParallelism()} cores`,
  );
  console.table(rows);
  console.log(
    `targets: a page under ${PAGE_TARGET_MS} ms, a search under ${SEARCH_TARGET_MS} ms; ` +
      `building the long thread took ${ms(buildLongMs)} ms, the 10,000 threads ${ms(buildManyMs)} ms`,
  );
} finally {
  rmSync(home, { recursive: true, force: true });
}
