// In-process dispatch cost of the exec-server core: requests through ExecConnection.handle to
// their replies, no socket. It measures what dispatch adds (decode, gate, ordering, the reply
// funnel), not the wire. Pass another checkout's root to measure its build instead of this one:
//   node bench/exec-dispatch.bench.mjs [/path/to/other/checkout]
// Figures: µs per request, the last of 4 rounds of 20,000 requests each (the first rounds warm up).
const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const { ExecService } = await import(`${root}/packages/exec-session/dist/index.js`);
const service = new ExecService({});
const waiting = new Map();
const connection = service.connect({
  send: (message) => {
    const resolve = waiting.get(message.id);
    if (resolve) {
      waiting.delete(message.id);
      resolve(message);
    }
  },
  drop: () => {},
});
let nextId = 0;
const call = (method, params) =>
  new Promise((resolve) => {
    nextId += 1;
    waiting.set(nextId, resolve);
    connection.handle({ kind: 'request', id: nextId, method, params });
  });
await call('initialize', { clientName: 'bench' });
connection.handle({ kind: 'notification', method: 'initialized' });

async function round(count, method, paramsOf) {
  const started = performance.now();
  const replies = [];
  for (let i = 0; i < count; i++) replies.push(call(method, paramsOf(i)));
  await Promise.all(replies);
  return ((performance.now() - started) * 1000) / count;
}

const figures = {};
for (let k = 0; k < 4; k++) {
  // unknown processes: the write is ordered by its process key and answered with an error
  figures['process/write (ordered, 8 keys)'] = await round(20_000, 'process/write', (i) => ({
    processId: `p${i % 8}`,
    chunk: 'aGk=',
    writeId: `w${i}`,
  }));
  figures['environment/status'] = await round(20_000, 'environment/status', () => undefined);
  figures['params refused (null)'] = await round(20_000, 'process/read', () => null);
}
console.table(
  Object.entries(figures).map(([request, us]) => ({ request, 'µs per request': us.toFixed(2) })),
);
service.shutdown();
process.exit(0);
