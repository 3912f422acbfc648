// Broadcast throughput and latency of @tether/outbound-router over @tether/transport's websocket
// listener, to clients running in a separate process (bench/support/outbound-clients.mjs).
//
// Each run broadcasts MESSAGES notifications of 200 bytes (serialized) in batches of BATCH with a
// setImmediate between batches, so it is a stream the event loop keeps serving, not one synchronous
// loop. Every notification carries its send time; the clients record receive time minus send time.
// The clients' process is new for every run, so each run first broadcasts WARMUP unmeasured
// notifications that every client (the paused one too, before it pauses) receives: without it the
// cold first batch alone decides the p99.
// Scenarios: 1, 10 and 100 clients, and 10 clients of which one pauses its socket for the whole run
// (router defaults: it is disconnected with 1013 once over its bound for the 5 s grace window, or at
// once at twice the bound). Each scenario runs RUNS times, interleaved; the tables show medians.
// The 100-client scenario is 10 million deliveries and takes over two minutes on 2 cores, so it
// runs RUNS_100 times (1 by default) to keep the whole bench near three minutes.
//
// Environment: OUTBOUND_BENCH_MESSAGES (100000), OUTBOUND_BENCH_RUNS (3),
// OUTBOUND_BENCH_RUNS_100 (1),
// OUTBOUND_BENCH_SCENARIOS (e.g. "10,10p" to run only those), OUTBOUND_BENCH_VERBOSE=1 (every run).
import { fork } from 'node:child_process';
import { cpus } from 'node:os';
import { OutboundRouter } from '@tether/outbound-router';
import { encodeMessage, notification } from '@tether/protocol';
import { Inbound, silentLogger, startWebSocket } from '@tether/transport';
import {
  acrossRuns,
  childClockOffset,
  deferred,
  fmt,
  nowMs,
  withTimeout,
} from './support/common.mjs';

const MESSAGES = Number(process.env.OUTBOUND_BENCH_MESSAGES ?? 100_000);
const RUNS = Number(process.env.OUTBOUND_BENCH_RUNS ?? 3);
const RUNS_100 = Number(process.env.OUTBOUND_BENCH_RUNS_100 ?? 1);
const VERBOSE = process.env.OUTBOUND_BENCH_VERBOSE === '1';
const BATCH = 1_000;
const WARMUP = 2_000;
const FRAME_BYTES = 200;
const GRACE_MS = 5_000; // the router's default slowGraceMs, only used to bound how long we wait
const DEFAULT_MAX_QUEUED = 64 * 1024; // the router's default maxQueuedMessages, for reporting
const RUN_TIMEOUT_MS = 120_000;
const CLIENT_SCRIPT = new URL('./support/outbound-clients.mjs', import.meta.url);

const ALL_SCENARIOS = [
  { key: '1', name: '1 client', clients: 1, paused: 0, runs: RUNS },
  { key: '10', name: '10 clients', clients: 10, paused: 0, runs: RUNS },
  { key: '100', name: '100 clients', clients: 100, paused: 0, runs: RUNS_100 },
  { key: '10p', name: '10 clients, 1 paused', clients: 10, paused: 1, runs: RUNS },
];
const wanted = process.env.OUTBOUND_BENCH_SCENARIOS?.split(',').map((s) => s.trim());
const SCENARIOS = wanted ? ALL_SCENARIOS.filter((s) => wanted.includes(s.key)) : ALL_SCENARIOS;

// A notification of exactly FRAME_BYTES once serialized: fixed-width ids and a 16-digit timestamp.
const THREAD_ID = '019a0000-0000-7000-8000-000000000000';
function makeNotification(seq, delta) {
  return notification('item/agentMessage/delta', {
    threadId: THREAD_ID,
    turnId: 'turn_1',
    itemId: `msg_${String(seq).padStart(6, '0')}`,
    sentUs: Math.round(nowMs() * 1000),
    delta,
  });
}
/** Same size; the clients tell it apart by the missing `sentUs` and do not measure it. */
function makeWarmup(seq, delta) {
  return notification('item/agentMessage/delta', {
    threadId: THREAD_ID,
    turnId: 'turn_0',
    itemId: `msg_${String(seq).padStart(6, '0')}`,
    warmUs: Math.round(nowMs() * 1000),
    delta,
  });
}
const DELTA = 'x'.repeat(FRAME_BYTES - encodeMessage(makeNotification(0, '')).length);
if (
  encodeMessage(makeNotification(MESSAGES - 1, DELTA)).length !== FRAME_BYTES ||
  encodeMessage(makeWarmup(WARMUP - 1, DELTA)).length !== FRAME_BYTES
) {
  throw new Error('the benchmark notification is not 200 bytes');
}

/** Starts the clients' process and collects its messages by type. */
function startClients(url, scenario) {
  const child = fork(
    CLIENT_SCRIPT,
    [url, String(scenario.clients), String(scenario.paused), String(MESSAGES), String(WARMUP)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const waits = { ready: deferred(), result: deferred(), paused: deferred() };
  const exited = deferred();
  child.on('message', (message) => {
    if (message.type !== 'clock') waits[message.type]?.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited.resolve({ code, signal });
    const error = new Error(`client process exited early (${code ?? signal})`);
    for (const wait of Object.values(waits)) wait.reject(error);
  });
  for (const wait of Object.values(waits)) wait.promise.catch(() => {});
  const clockOffset = childClockOffset(child);
  return { child, waits, clockOffset, exited: exited.promise };
}

/** Broadcasts `count` notifications in batches of BATCH, a setImmediate between batches. */
function broadcastPaced(router, count, make, afterBatch = () => {}) {
  return new Promise((resolve) => {
    let seq = 0;
    const batch = () => {
      const end = Math.min(seq + BATCH, count);
      for (; seq < end; seq++) router.broadcast(make(seq, DELTA));
      afterBatch();
      if (seq < count) setImmediate(batch);
      else resolve();
    };
    batch();
  });
}

async function runScenario(scenario) {
  const logger = silentLogger();
  const inbound = new Inbound({ logger });
  const listener = await startWebSocket(inbound, { host: '127.0.0.1', port: 0, logger });
  let slowDisconnect = null;
  const router = new OutboundRouter({
    logger,
    onSlowDisconnect: (connectionId) => {
      slowDisconnect = { connectionId, atMs: nowMs() };
    },
  });

  // The server's event loop: register every opened connection, learn which one is which from the
  // clients' hello, forget closed ones.
  const hellos = new Map(); // connectionId -> { client, paused }
  const allHello = deferred();
  const closedAt = new Map();
  const events = (async () => {
    for await (const event of inbound.events) {
      if (event.type === 'opened') {
        router.addConnection(event.connection);
        router.setInitialized(event.connection.id);
      } else if (event.type === 'message' && event.message.method === 'bench/hello') {
        hellos.set(event.connectionId, event.message.params);
        if (hellos.size === scenario.clients) allHello.resolve();
      } else if (event.type === 'closed') {
        closedAt.set(event.connectionId, nowMs());
        router.removeConnection(event.connectionId);
      }
    }
  })();

  const clients = startClients(listener.url, scenario);
  try {
    await withTimeout(allHello.promise, 30_000, 'every client to connect and say hello');
    await broadcastPaced(router, WARMUP, makeWarmup);
    await withTimeout(clients.waits.ready.promise, 60_000, 'the clients to warm up');
    // sanity check for the latencies: both clocks are wall clocks on the same machine
    const clock = await clients.clockOffset(5);
    const clockOffsetMs = clock.offsetMs;
    const pausedIds = [...hellos].filter(([, hello]) => hello.paused).map(([id]) => id);

    // Broadcast: batches of BATCH, a setImmediate between them.
    let overBoundAtMs = null; // when the paused connection's queue first went over its bound
    let maxPausedQueue = 0;
    const startMs = nowMs();
    const cpuStart = process.cpuUsage();
    await broadcastPaced(router, MESSAGES, makeNotification, () => {
      for (const id of pausedIds) {
        const queued = router.queuedMessages(id) ?? 0;
        if (queued > maxPausedQueue) maxPausedQueue = queued;
        if (queued > DEFAULT_MAX_QUEUED && overBoundAtMs === null) overBoundAtMs = nowMs();
      }
    });
    const broadcastDoneMs = nowMs();
    const result = await withTimeout(
      clients.waits.result.promise,
      RUN_TIMEOUT_MS,
      'the clients to receive everything',
    );
    const cpu = process.cpuUsage(cpuStart);

    // With a paused client, give the router its grace window to act before looking.
    if (pausedIds.length) {
      const deadline = Math.max(broadcastDoneMs, overBoundAtMs ?? 0) + GRACE_MS + 1_000;
      while (slowDisconnect === null && nowMs() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    const pausedQueueAtEnd = pausedIds.length ? (router.queuedMessages(pausedIds[0]) ?? 0) : null;
    clients.child.send({ type: 'finish' });
    const pausedReport = await withTimeout(clients.waits.paused.promise, 10_000, 'the finish');

    const readers = result.clients.filter((c) => !c.paused);
    const delivered = readers.reduce((sum, c) => sum + c.received, 0);
    const lastMs = Math.max(...readers.map((c) => c.lastAtMs ?? startMs));
    const elapsedMs = lastMs - startMs;
    const pausedClient = pausedReport.clients[0];
    return {
      scenario: scenario.key,
      readers: readers.length,
      delivered,
      expected: readers.length * MESSAGES,
      elapsedMs,
      broadcastMs: broadcastDoneMs - startMs,
      msgsPerSec: delivered / (elapsedMs / 1000),
      perClientMsgsPerSec: delivered / readers.length / (elapsedMs / 1000),
      // server CPU (user + system) per delivered message: not skewed by other load on the machine
      serverCpuUsPerMsg: (cpu.user + cpu.system) / delivered,
      p50Ms: result.latency.p50Ms,
      p99Ms: result.latency.p99Ms,
      maxMs: result.latency.maxMs,
      readersClosed: readers.filter((c) => c.closeCode !== null).length,
      clockOffsetMs,
      paused: pausedIds.length
        ? {
            disconnected: slowDisconnect !== null,
            disconnectAfterMs: slowDisconnect ? slowDisconnect.atMs - startMs : null,
            overBoundAfterMs: overBoundAtMs === null ? null : overBoundAtMs - startMs,
            graceUsedMs:
              slowDisconnect && overBoundAtMs !== null ? slowDisconnect.atMs - overBoundAtMs : null,
            maxQueued: maxPausedQueue,
            queuedAtEnd: pausedQueueAtEnd,
            closedEventAfterMs: closedAt.has(pausedIds[0])
              ? closedAt.get(pausedIds[0]) - startMs
              : null,
            clientReceived: pausedClient?.received ?? null,
            clientCloseCode: pausedClient?.closeCode ?? null,
            clientCloseReason: pausedClient?.closeReason ?? null,
          }
        : null,
    };
  } finally {
    if (clients.child.exitCode === null) clients.child.kill();
    await clients.exited;
    await listener.close();
    inbound.events.close();
    await events;
  }
}

console.log(
  `${MESSAGES.toLocaleString('en-US')} notifications of ${FRAME_BYTES} B (after ${WARMUP} unmeasured), ` +
    `batches of ${BATCH} ` +
    `with setImmediate between; ${RUNS} interleaved runs per scenario (100 clients: ${RUNS_100}); ` +
    `${cpus().length} cores, ` +
    `Node ${process.version}`,
);
const runs = new Map(SCENARIOS.map((s) => [s.key, []]));
const benchStart = nowMs();
const rounds = Math.max(...SCENARIOS.map((s) => s.runs));
for (let round = 1; round <= rounds; round++) {
  for (const scenario of SCENARIOS) {
    if (round > scenario.runs) continue;
    const run = await runScenario(scenario);
    runs.get(scenario.key).push(run);
    if (VERBOSE) console.log(`round ${round} ${scenario.name}:`, JSON.stringify(run));
  }
}
const totalSeconds = (nowMs() - benchStart) / 1000;

const summary = SCENARIOS.map((scenario) => {
  const list = runs.get(scenario.key);
  return {
    scenario,
    list,
    expected: list[0].expected,
    ...acrossRuns(list, {
      medians: [
        'delivered',
        'elapsedMs',
        'msgsPerSec',
        'perClientMsgsPerSec',
        'serverCpuUsPerMsg',
        'p50Ms',
        'p99Ms',
      ],
      maxima: ['readersClosed'],
    }),
    clockOffsetMs: Math.max(...list.map((r) => Math.abs(r.clockOffsetMs))),
  };
});

const rows = summary.map((s) => ({
  scenario: s.scenario.name,
  runs: s.list.length,
  'clients measured': s.scenario.clients - s.scenario.paused,
  'delivered msgs': `${fmt(s.delivered)} / ${fmt(s.expected)}`,
  'elapsed s': fmt(s.elapsedMs / 1000, 2),
  'delivered msgs/s': fmt(s.msgsPerSec),
  'per-client msgs/s': fmt(s.perClientMsgsPerSec),
  'server CPU µs/msg': fmt(s.serverCpuUsPerMsg, 1),
  'p50 ms': fmt(s.p50Ms, 2),
  'p99 ms': fmt(s.p99Ms, 2),
}));
console.table(rows);

const columns = Object.keys(rows[0]);
const markdown = [
  `| ${columns.join(' | ')} |`,
  `| ${columns.map((_c, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ...rows.map((row) => `| ${columns.map((c) => row[c]).join(' | ')} |`),
];

const ten = summary.find((s) => s.scenario.key === '10');
const withPaused = summary.find((s) => s.scenario.key === '10p');
const notes = [];
if (ten && withPaused) {
  const rate = withPaused.perClientMsgsPerSec / ten.perClientMsgsPerSec;
  const p99 = withPaused.p99Ms / ten.p99Ms;
  const cpu = withPaused.serverCpuUsPerMsg / ten.serverCpuUsPerMsg;
  const verdict = (ok) => (ok ? 'within 10%' : 'NOT within 10%');
  notes.push(
    `Paused client vs none (medians): the nine readers' per-client rate is ` +
      `${(rate * 100).toFixed(1)}% of the 10-client run's (${verdict(rate >= 0.9)}), their p99 ` +
      `latency ${(p99 * 100).toFixed(1)}% of it (${verdict(p99 <= 1.1)}), and the server's CPU ` +
      `per delivered message ${(cpu * 100).toFixed(1)}% of it (${verdict(cpu <= 1.1)}).`,
  );
  const paused = withPaused.list.map((r) => r.paused);
  const disconnects = paused.filter((p) => p.disconnected);
  const describe = (p) =>
    p.disconnected
      ? `disconnected ${fmt(p.disconnectAfterMs / 1000, 2)} s after the first broadcast ` +
        `(over its bound at ${fmt(p.overBoundAfterMs / 1000, 2)} s, ` +
        `${fmt(p.maxQueued)} frames queued; the client saw close ${p.clientCloseCode ?? '-'}` +
        `${p.clientCloseReason ? ` "${p.clientCloseReason}"` : ''})`
      : `not disconnected (at most ${fmt(p.maxQueued)} frames queued, ${fmt(p.queuedAtEnd)} at the end)`;
  notes.push(
    `The paused client was disconnected by the router in ${disconnects.length} of ${paused.length} ` +
      `runs: ${paused.map(describe).join('; ')}.`,
  );
}
for (const s of summary) {
  if (s.delivered < s.expected || s.readersClosed > 0) {
    notes.push(
      `${s.scenario.name}: ${fmt(s.expected - s.delivered)} messages not delivered ` +
        `(${s.readersClosed} reading clients closed in the worst run).`,
    );
  }
}
const worstClock = Math.max(...summary.map((s) => s.clockOffsetMs));
notes.push(
  `Clock check: the clients' process clock differed from the server's by at most ` +
    `${fmt(worstClock, 3)} ms (round-trip estimate). Whole bench: ${fmt(totalSeconds, 0)} s.`,
);

console.log(`\n${markdown.join('\n')}\n`);
for (const note of notes) console.log(`- ${note}`);
