// Child process of bench/app-server-fanout.bench.mjs: the subscribers. Opens N @tether/client
// websocket connections to the bench's app-server, initializes each, resumes the bench thread with
// `excludeTurns: true` (which subscribes the connection), then counts the turn's
// `item/agentMessage/delta` notifications per connection and checks their order.
//
// Every delta's text starts with `<seq>:<sentMs>:` (5-digit sequence number, then the server's
// wall-clock time when the turn body emitted it, performance.timeOrigin + performance.now(), in ms
// with 3 decimals). Latency = receive time (same clock, this process) - sentMs. The wire latency
// (receive time - the notification's `emittedAtMs`, stamped by the server when its thread listener
// sends it; whole ms, Date.now()) is kept apart: the difference is the time spent queued between the
// runtime and the listener.
//
// A connection is done when it has seen `turn/completed` (which the server sends after the last
// delta) or when it closed. IPC with the parent:
//   child -> parent: { type: 'ready', cpuStart }   every connection initialized and subscribed
//   parent -> child: { type: 'clock', parentMs }   child -> parent: { type: 'clock', childMs, ... }
//   child -> parent: { type: 'result', ... }       every connection done (or the parent's 'finish')
import { AppServerClient } from '@tether/client';

const [url, threadId, countArg, expectedArg] = process.argv.slice(2);
const count = Number(countArg);
const expected = Number(expectedArg);

const nowMs = () => performance.timeOrigin + performance.now();

// one slot per expected delivery; both arrays hold milliseconds
const latencies = new Float64Array(count * expected);
const wireLatencies = new Float64Array(count * expected);
let samples = 0;

const subscribers = [];
let done = 0;
let reported = false;
let cpuStart = null;

function makeSubscriber(index, client) {
  const sub = {
    index,
    client,
    received: 0,
    nextSeq: 0,
    outOfOrder: 0,
    firstAtMs: null,
    lastAtMs: null,
    lastEmittedAtMs: null,
    lastSeq: null,
    completedAtMs: null,
    closed: null,
    done: false,
  };
  client.on('notification', (n) => {
    const at = nowMs();
    if (n.method === 'item/agentMessage/delta') {
      const params = n.params;
      if (params.threadId !== threadId) return;
      const delta = params.delta;
      const colon = delta.indexOf(':');
      const seq = Number(delta.slice(0, colon));
      const sentMs = Number(delta.slice(colon + 1, delta.indexOf(':', colon + 1)));
      if (seq !== sub.nextSeq) sub.outOfOrder += 1;
      sub.nextSeq = seq + 1;
      sub.lastSeq = seq;
      sub.received += 1;
      sub.firstAtMs ??= at;
      sub.lastAtMs = at;
      sub.lastEmittedAtMs = n.emittedAtMs ?? null;
      if (samples < latencies.length) {
        latencies[samples] = at - sentMs;
        wireLatencies[samples] =
          n.emittedAtMs === undefined ? Number.NaN : Date.now() - n.emittedAtMs;
        samples += 1;
      }
    } else if (n.method === 'turn/completed' && n.params.threadId === threadId) {
      sub.completedAtMs = at;
      finish(sub);
    }
  });
  client.on('close', (info) => {
    sub.closed = { ...info, atMs: nowMs() };
    finish(sub);
  });
  return sub;
}

function finish(sub) {
  if (sub.done) return;
  sub.done = true;
  done += 1;
  if (done === count) report();
}

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

function summarize(values) {
  const sorted = values
    .slice(0, samples)
    .filter((v) => !Number.isNaN(v))
    .sort();
  return {
    samples: sorted.length,
    p50Ms: quantile(sorted, 0.5),
    p99Ms: quantile(sorted, 0.99),
    maxMs: sorted.length ? sorted[sorted.length - 1] : null,
  };
}

function report() {
  if (reported) return;
  reported = true;
  const cpu = process.cpuUsage(cpuStart ?? undefined);
  process.send(
    {
      type: 'result',
      cpuMs: (cpu.user + cpu.system) / 1000,
      subscribers: subscribers.map((s) => ({
        index: s.index,
        received: s.received,
        outOfOrder: s.outOfOrder,
        lastSeq: s.lastSeq,
        firstAtMs: s.firstAtMs,
        lastAtMs: s.lastAtMs,
        lastEmittedAtMs: s.lastEmittedAtMs,
        completedAtMs: s.completedAtMs,
        closed: s.closed,
      })),
      latency: summarize(latencies),
      wireLatency: summarize(wireLatencies),
    },
    () => {
      for (const s of subscribers) s.client.close();
      setTimeout(() => process.exit(0), 100).unref();
    },
  );
}

process.on('message', (message) => {
  if (message.type === 'clock') {
    process.send({ type: 'clock', parentMs: message.parentMs, childMs: nowMs() });
  } else if (message.type === 'finish') {
    report();
  }
});

// Connect and initialize in parallel, then subscribe one at a time (a resume is serialized by the
// thread's listener anyway).
const clients = await Promise.all(
  Array.from({ length: count }, async (_, index) => {
    // each notification is counted as it comes; none is kept for waits
    const client = await AppServerClient.connectWebSocket(url, { keepNotifications: 0 });
    await client.initialize({ name: `bench-subscriber-${index}`, version: '1.0.0' });
    return client;
  }),
);
for (const [index, client] of clients.entries()) {
  subscribers.push(makeSubscriber(index, client));
  await client.request('thread/resume', { threadId, excludeTurns: true });
}
cpuStart = process.cpuUsage();
process.send({ type: 'ready' });
