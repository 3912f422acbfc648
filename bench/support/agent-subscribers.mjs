// Child process of bench/agent-turns.bench.mjs: the subscribers of one thread. Opens N
// @tether/client websocket connections to the server under test (tether or the reference Codex
// app-server), initializes each with `experimentalApi`, resumes the bench thread with
// `excludeTurns: true` (which subscribes the connection), then counts the measured turn's
// `item/agentMessage/delta` notifications of that thread per connection and checks their order:
// every delta starts with a zero-padded sequence number and `:` (bench/support/agent-mock.mjs).
//
// With PAUSED = 1, connection 0 stops reading its socket (`pauseSocket()`) once subscribed: the
// server sees a stalled reader. The others are "active". A connection is done when it has seen
// the thread's `turn/completed` (sent after the last delta) or when it closed.
//
// IPC with the parent:
//   child -> parent: { type: 'ready' }               every connection subscribed (and one paused)
//   parent -> child: { type: 'clock', parentMs }     child -> parent: { type: 'clock', childMs }
//   child -> parent: { type: 'result', ... }         every active connection done (or 'finish')
//   parent -> child: { type: 'resume-paused' }       the paused connection reads again;
//   child -> parent: { type: 'paused-result', ... }  once it is done too (or 'finish')
//   parent -> child: { type: 'finish' }              report now with what has arrived
import { AppServerClient } from '@tether/client';

const [url, threadId, countArg, expectedArg, pausedArg] = process.argv.slice(2);
const count = Number(countArg);
const expected = Number(expectedArg);
const pausedCount = Number(pausedArg ?? 0);

const nowMs = () => performance.timeOrigin + performance.now();

const subscribers = [];
let activeDone = 0;
const activeCount = count - pausedCount;
let reported = false;
let pausedReported = false;
let waitingForPaused = false;
let cpuStart = null;

function makeSubscriber(index, client, paused) {
  const sub = {
    index,
    client,
    paused,
    received: 0,
    nextSeq: 0,
    outOfOrder: 0,
    lastSeq: null,
    firstAtMs: null,
    lastAtMs: null,
    completedAtMs: null,
    closed: null,
    done: false,
  };
  client.on('notification', (n) => {
    const at = nowMs();
    if (n.method === 'item/agentMessage/delta') {
      const params = n.params;
      if (params.threadId !== threadId) return;
      const seq = Number.parseInt(params.delta, 10);
      if (seq !== sub.nextSeq) sub.outOfOrder += 1;
      sub.nextSeq = seq + 1;
      sub.lastSeq = seq;
      sub.received += 1;
      sub.firstAtMs ??= at;
      sub.lastAtMs = at;
    } else if (n.method === 'turn/completed' && n.params.threadId === threadId) {
      sub.completedAtMs = at;
      finish(sub);
    }
  });
  client.on('close', (info) => {
    sub.closed = { code: info.code, reason: info.reason, atMs: nowMs() };
    finish(sub);
  });
  return sub;
}

function finish(sub) {
  if (sub.done) return;
  sub.done = true;
  if (sub.paused) {
    if (waitingForPaused) reportPaused();
    return;
  }
  activeDone += 1;
  if (activeDone === activeCount) report();
}

const view = (s) => ({
  index: s.index,
  paused: s.paused,
  received: s.received,
  outOfOrder: s.outOfOrder,
  lastSeq: s.lastSeq,
  firstAtMs: s.firstAtMs,
  lastAtMs: s.lastAtMs,
  completedAtMs: s.completedAtMs,
  closed: s.closed,
});

function report() {
  if (reported) return;
  reported = true;
  const cpu = process.cpuUsage(cpuStart ?? undefined);
  process.send({
    type: 'result',
    cpuMs: (cpu.user + cpu.system) / 1000,
    expected,
    subscribers: subscribers.map(view),
  });
}

function reportPaused() {
  if (pausedReported) return;
  pausedReported = true;
  process.send({
    type: 'paused-result',
    subscribers: subscribers.filter((s) => s.paused).map(view),
  });
}

process.on('message', (message) => {
  if (message.type === 'clock') {
    process.send({ type: 'clock', parentMs: message.parentMs, childMs: nowMs() });
  } else if (message.type === 'finish') {
    report();
    if (waitingForPaused) reportPaused();
  } else if (message.type === 'resume-paused') {
    waitingForPaused = true;
    const paused = subscribers.filter((s) => s.paused);
    for (const s of paused) s.client.resumeSocket();
    if (paused.every((s) => s.done)) reportPaused();
  } else if (message.type === 'close') {
    for (const s of subscribers) s.client.close();
    setTimeout(() => process.exit(0), 100).unref();
  }
});
process.on('disconnect', () => process.exit(0));

// Connect and initialize in parallel, then subscribe one at a time.
const clients = await Promise.all(
  Array.from({ length: count }, async (_, index) => {
    // each notification is counted as it comes; none is kept for waits
    const client = await AppServerClient.connectWebSocket(url, { keepNotifications: 0 });
    await client.initialize(
      { name: `bench-subscriber-${index}`, version: '1.0.0' },
      { experimentalApi: true },
    );
    return client;
  }),
);
for (const [index, client] of clients.entries()) {
  subscribers.push(makeSubscriber(index, client, index < pausedCount));
  await client.request('thread/resume', { threadId, excludeTurns: true });
}
for (const s of subscribers) if (s.paused) s.client.pauseSocket();
cpuStart = process.cpuUsage();
process.send({ type: 'ready' });
