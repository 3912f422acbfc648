// Fan-out of one thread's event stream by @tether/app-server to 1, 10 and 50 websocket subscribers.
//
// The server runs in this process with a scripted ThreadRuntime (@tether/agent-core's
// turnLoopRuntimeFactory, the TurnLoopRuntime every runtime builds on): a turn
// emits `item/started`, EVENTS `item/agentMessage/delta` notifications with a 100-character delta,
// then `item/completed` (with a short text, not the 500 KB concatenation). The deltas are paced like
// a model stream: BATCH of them, then a setImmediate (APP_SERVER_BENCH_PACE=sleep: a 1 ms timer).
// The subscribers run in a child process (bench/support/app-server-subscribers.mjs) so that decoding
// 250,000 notifications there does not eat this process's core: N @tether/client connections, each
// resumed on the thread with `excludeTurns: true`. A driver connection in this process starts the
// thread and the turn; it opted out of `item/agentMessage/delta`, so it is subscribed but gets none.
//
// Per run: the time from sending turn/start to the last subscriber's last delta ("time to last
// event"); delivered events/s = deltas received by all subscribers / that time; latency = receive
// time - the time the turn body emitted the delta (carried in the delta text, so it includes the
// runtime -> listener queue), p50/p99 over every delivery; CPU % = CPU time of the process (all its
// threads) / wall time from turn/start until the subscribers reported, 100 = one core busy; other
// processes CPU % = what the rest of the machine used meanwhile, in % of all its cores (a shared
// machine's noise: the figures are only comparable between runs where it is low). Every
// subscriber must get all EVENTS deltas in order (checked by sequence number). Each subscriber
// count runs RUNS times, interleaved, after one warm-up run; the table shows medians. A fresh server
// (new TETHER home) and subscriber process per run.
//
// Environment: APP_SERVER_BENCH_EVENTS (5000), APP_SERVER_BENCH_RUNS (3),
// APP_SERVER_BENCH_SUBSCRIBERS ("1,10,50"), APP_SERVER_BENCH_BATCH (100),
// APP_SERVER_BENCH_PACE ("immediate" or "sleep"), APP_SERVER_BENCH_VERBOSE=1 (every run).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentMessageItem, turnLoopRuntimeFactory } from '@tether/agent-core';
import { AppServer } from '@tether/app-server';
import { AppServerClient } from '@tether/client';
import {
  acrossRuns,
  childClockOffset,
  deferred,
  fmt,
  machineCpu,
  nowMs,
  sleep,
  withTimeout,
} from './support/common.mjs';

const EVENTS = Number(process.env.APP_SERVER_BENCH_EVENTS ?? 5_000);
const RUNS = Number(process.env.APP_SERVER_BENCH_RUNS ?? 3);
const SUBSCRIBERS = (process.env.APP_SERVER_BENCH_SUBSCRIBERS ?? '1,10,50')
  .split(',')
  .map((s) => Number(s.trim()));
const BATCH = Number(process.env.APP_SERVER_BENCH_BATCH ?? 100);
const PACE = process.env.APP_SERVER_BENCH_PACE === 'sleep' ? 'sleep' : 'immediate';
const VERBOSE = process.env.APP_SERVER_BENCH_VERBOSE === '1';
const DELTA_CHARS = 100;
const RUN_TIMEOUT_MS = 120_000;
const CHILD_SCRIPT = new URL('./support/app-server-subscribers.mjs', import.meta.url);

const pace = PACE === 'sleep' ? () => sleep(1) : () => new Promise((r) => setImmediate(r));

/** A pino-shaped logger that drops debug/info and keeps the warnings (a slow-client cut, say). */
function benchLogger(sink) {
  const logger = {
    debug() {},
    info() {},
    warn: (obj, msg) => sink.push({ level: 'warn', msg: msg ?? String(obj), obj }),
    error: (obj, msg) => sink.push({ level: 'error', msg: msg ?? String(obj), obj }),
    child: () => logger,
  };
  return logger;
}

/** `<seq>:<sentMs>:` then filler, DELTA_CHARS in all (the child parses the prefix). */
function makeDelta(seq) {
  const head = `${String(seq).padStart(5, '0')}:${nowMs().toFixed(3)}:`;
  return head + 'x'.repeat(DELTA_CHARS - head.length);
}

/** The scripted turn: one agent message streamed as EVENTS deltas. */
function streamBody(timing) {
  return async (turn) => {
    const itemId = `msg_${turn.turnId.slice(0, 8)}`;
    const startedAtMs = Date.now();
    const base = agentMessageItem(itemId, '', startedAtMs);
    const ids = { threadId: turn.threadId, turnId: turn.turnId };
    turn.emit('item/started', {
      item: base,
      ...ids,
      startedAtMs,
    });
    timing.firstEmitMs = nowMs();
    for (let seq = 0; seq < EVENTS; seq++) {
      if (seq > 0 && seq % BATCH === 0) await pace();
      if (turn.signal.aborted) return { status: 'completed' };
      turn.emit('item/agentMessage/delta', { ...ids, itemId, delta: makeDelta(seq) });
    }
    timing.lastEmitMs = nowMs();
    const completedAtMs = Date.now();
    turn.emit('item/completed', {
      item: { ...base, text: `(${EVENTS} deltas)`, completedAtMs },
      ...ids,
      contentTokenCount: null,
      completedAtMs,
    });
    return { status: 'completed' };
  };
}

/** Busy and total CPU time of the whole machine so far, in ms summed over cores. */

function startSubscribers(url, threadId, count) {
  const child = fork(CHILD_SCRIPT, [url, threadId, String(count), String(EVENTS)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waits = { ready: deferred(), result: deferred() };
  const exited = deferred();
  child.on('message', (message) => {
    if (message.type !== 'clock') waits[message.type]?.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited.resolve({ code, signal });
    const error = new Error(`subscriber process exited early (${code ?? signal})`);
    for (const wait of Object.values(waits)) wait.reject(error);
  });
  const clockOffset = childClockOffset(child);
  return { child, waits, clockOffset, exited: exited.promise };
}

async function runOnce(count) {
  const home = mkdtempSync(join(tmpdir(), 'tether-fanout-'));
  const logs = [];
  const timing = { firstEmitMs: null, lastEmitMs: null };
  const server = await AppServer.start({
    home,
    listen: { kind: 'websocket', host: '127.0.0.1', port: 0 },
    logger: benchLogger(logs),
    runtimeFactory: turnLoopRuntimeFactory(streamBody(timing)),
  });
  let driver;
  let subscribers;
  try {
    driver = await AppServerClient.connectWebSocket(server.url);
    await driver.initialize(
      { name: 'bench-driver', version: '1.0.0' },
      { optOutNotificationMethods: ['item/agentMessage/delta'] },
    );
    const { thread } = await driver.request('thread/start', { cwd: home });
    subscribers = startSubscribers(server.url, thread.id, count);
    await withTimeout(subscribers.waits.ready.promise, 60_000, 'the subscribers to resume');
    const clock = await subscribers.clockOffset(5);

    const turnCompleted = driver.waitForNotification(
      'turn/completed',
      (p) => p.threadId === thread.id,
      { from: driver.notifications.cursor, timeoutMs: RUN_TIMEOUT_MS },
    );
    const cpuStart = process.cpuUsage();
    const machineStart = machineCpu();
    const startMs = nowMs();
    await driver.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'go' }],
    });
    await turnCompleted;
    const turnCompletedMs = nowMs();
    // every subscriber has seen turn/completed (it follows the last delta) or has closed; a child
    // still waiting for one 15 s after the driver got it is asked for what it has
    const result = await withTimeout(
      subscribers.waits.result.promise,
      15_000,
      'the subscribers',
    ).catch(async () => {
      subscribers.child.send({ type: 'finish' });
      return withTimeout(subscribers.waits.result.promise, 10_000, 'the subscribers');
    });
    const cpu = process.cpuUsage(cpuStart);
    const cpuWindowMs = nowMs() - startMs;
    const machineEnd = machineCpu();

    // the child's times, moved onto this process's clock
    const local = (childMs) => (childMs === null ? null : childMs - clock.offsetMs);
    const subs = result.subscribers;
    const delivered = subs.reduce((sum, s) => sum + s.received, 0);
    const lastMs = Math.max(...subs.map((s) => local(s.lastAtMs) ?? startMs));
    const firstMs = Math.min(...subs.map((s) => local(s.firstAtMs) ?? lastMs));
    const elapsedMs = lastMs - startMs;
    const complete = subs.filter(
      (s) => s.received === EVENTS && s.outOfOrder === 0 && s.lastSeq === EVENTS - 1,
    ).length;
    return {
      subscribers: count,
      delivered,
      expected: count * EVENTS,
      complete,
      lost: subs.reduce((sum, s) => sum + Math.max(0, EVENTS - s.received), 0),
      outOfOrder: subs.reduce((sum, s) => sum + s.outOfOrder, 0),
      closed: subs.filter((s) => s.closed).length,
      elapsedMs,
      eventsPerSec: delivered / (elapsedMs / 1000),
      firstDeltaMs: firstMs - startMs,
      emitMs: timing.lastEmitMs - timing.firstEmitMs,
      turnCompletedMs: turnCompletedMs - startMs,
      // a quantile of (child clock - server clock) moves by the clock offset, exactly
      p50Ms: result.latency.p50Ms - clock.offsetMs,
      p99Ms: result.latency.p99Ms - clock.offsetMs,
      maxMs: result.latency.maxMs - clock.offsetMs,
      wireP50Ms: result.wireLatency.p50Ms,
      wireP99Ms: result.wireLatency.p99Ms,
      serverCpuPct: ((cpu.user + cpu.system) / 1000 / cpuWindowMs) * 100,
      clientCpuPct: (result.cpuMs / cpuWindowMs) * 100,
      // CPU the rest of the machine used meanwhile (other processes), in % of all its cores
      othersCpuPct:
        ((machineEnd.busy - machineStart.busy - (cpu.user + cpu.system) / 1000 - result.cpuMs) /
          (machineEnd.total - machineStart.total)) *
        100,
      clockOffsetMs: clock.offsetMs,
      warnings: logs.filter((l) => l.level !== 'info').map((l) => l.msg),
    };
  } finally {
    driver?.close();
    if (subscribers) {
      if (subscribers.child.exitCode === null) subscribers.child.kill();
      await subscribers.exited;
    }
    await server.shutdown({ waitForTurns: false });
    rmSync(home, { recursive: true, force: true });
  }
}

const pacing = PACE === 'sleep' ? 'a 1 ms sleep' : 'a setImmediate';
console.log(
  `${fmt(EVENTS)} item/agentMessage/delta events of ${DELTA_CHARS} characters per turn, ` +
    `${BATCH} then ${pacing}; ${RUNS} interleaved runs per subscriber count after one warm-up; ` +
    `${cpus().length} cores, Node ${process.version}`,
);
const benchStart = nowMs();
const loadBefore = loadavg()[0];
await runOnce(Math.min(...SUBSCRIBERS)); // warm-up: JIT and the first SQLite open, not reported
const runs = new Map(SUBSCRIBERS.map((n) => [n, []]));
for (let round = 1; round <= RUNS; round++) {
  for (const count of SUBSCRIBERS) {
    const run = await runOnce(count);
    runs.get(count).push(run);
    if (VERBOSE) console.log(`round ${round}, ${count} subscribers:`, JSON.stringify(run));
  }
}
const totalSeconds = (nowMs() - benchStart) / 1000;
const loadAfter = loadavg()[0];

const summary = SUBSCRIBERS.map((count) => {
  const list = runs.get(count);
  return {
    count,
    list,
    expected: list[0].expected,
    ...acrossRuns(list, {
      medians: [
        'delivered',
        'elapsedMs',
        'eventsPerSec',
        'firstDeltaMs',
        'emitMs',
        'p50Ms',
        'p99Ms',
        'wireP50Ms',
        'wireP99Ms',
        'serverCpuPct',
        'clientCpuPct',
        'othersCpuPct',
      ],
      maxima: ['lost', 'outOfOrder', 'closed'],
    }),
    allComplete: list.every((r) => r.complete === count),
    clockOffsetMs: Math.max(...list.map((r) => Math.abs(r.clockOffsetMs))),
    warnings: list.flatMap((r) => r.warnings),
  };
});

const inOrder = `all ${fmt(EVENTS)} in order`;
const rows = summary.map((s) => ({
  subscribers: s.count,
  runs: s.list.length,
  'delivered events': `${fmt(s.delivered)} / ${fmt(s.expected)}`,
  [inOrder]: s.allComplete ? 'yes' : 'NO',
  'time to last event ms': fmt(s.elapsedMs, 1),
  'delivered events/s': fmt(s.eventsPerSec),
  'p50 latency ms': fmt(s.p50Ms, 2),
  'p99 latency ms': fmt(s.p99Ms, 2),
  'server CPU %': fmt(s.serverCpuPct),
  'subscribers CPU %': fmt(s.clientCpuPct),
  // clamped: the machine's counters tick in 10 ms steps, so a quiet machine can read a little below 0
  'other processes CPU %': fmt(Math.max(0, s.othersCpuPct)),
}));
console.table(rows);

const columns = Object.keys(rows[0]);
const markdown = [
  `| ${columns.join(' | ')} |`,
  `| ${columns.map((_c, i) => (i === 0 ? '---:' : i === 3 ? ':---:' : '---:')).join(' | ')} |`,
  ...rows.map((row) => `| ${columns.map((c) => row[c]).join(' | ')} |`),
];
console.log(`\n${markdown.join('\n')}\n`);

const notes = [];
for (const s of summary) {
  const clean = s.list.every((r) => r.complete === s.count && r.lost === 0 && r.outOfOrder === 0);
  const runsText = clean
    ? `in all ${s.list.length} runs: ${s.count}/${s.count} subscribers complete, 0 lost, 0 out of order`
    : s.list
        .map(
          (r, i) =>
            `run ${i + 1}: ${fmt(r.complete)}/${s.count} complete, ${fmt(r.lost)} lost, ` +
            `${fmt(r.outOfOrder)} out of order`,
        )
        .join('; ');
  notes.push(
    `${s.count} subscriber${s.count === 1 ? '' : 's'}: ${clean ? 'no event lost' : 'EVENTS LOST OR REORDERED'} ` +
      `(${runsText}); first delta ${fmt(s.firstDeltaMs, 1)} ms after turn/start; the turn body ` +
      `emitted its deltas over ${fmt(s.emitMs, 1)} ms; latency from the listener's send ` +
      `(emittedAtMs, whole ms) p50 ${fmt(s.wireP50Ms, 0)} / p99 ${fmt(s.wireP99Ms, 0)} ms.`,
  );
  if (s.closed > 0) notes.push(`${s.count} subscribers: ${s.closed} connections closed mid-run.`);
  if (s.warnings.length) {
    notes.push(`${s.count} subscribers: server warnings: ${[...new Set(s.warnings)].join('; ')}.`);
  }
}
const worstClock = Math.max(...summary.map((s) => s.clockOffsetMs));
notes.push(
  `Clock check: the subscribers' process clock differed from the server's by at most ` +
    `${fmt(worstClock, 3)} ms (round-trip estimate; the child's times are corrected by it). ` +
    `Whole bench: ${fmt(totalSeconds, 0)} s; 1-minute load average ${fmt(loadBefore, 2)} before, ` +
    `${fmt(loadAfter, 2)} after (other work on the machine shows up in every figure).`,
);
for (const note of notes) console.log(`- ${note}`);
