// tether-exec-server against the reference `codex exec-server` (when installed), interleaved runs,
// medians. One fresh server per run, and in this order: 100 concurrent processes of 1 MB each (on
// the fresh server), spawn round trip (`true` from process/start to process/closed, p50/p99 over
// 300), output throughput (200 MB from one process to one client), 100 x 1 MB again (on the server
// that has now served all of that), and server RSS idle and after load. The bench client runs in
// this process; its CPU time during the throughput run is reported to show it is not the
// bottleneck.
//
// Reference: npm install @openai/codex@0.169.0 in a scratch folder outside the repo (default
// /tmp/codex-ref) or set TETHER_CODEX_BIN to the codex binary. Runs: EXEC_BENCH_RUNS (default 3).
import { readFileSync } from 'node:fs';
import { Client, codexBin, startParams, startServer } from './support/exec-client.mjs';

const runs = Number(process.env.EXEC_BENCH_RUNS ?? 3);
const THROUGHPUT_BYTES = 200 * 1024 * 1024;

function ownRssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) / 1024;
}

/** The server's RSS plus that of its direct children (tether's spawn helper; processes it runs are
 * the helper's children, not counted). */
function rssMiB(pid) {
  let total = ownRssMiB(pid);
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
    for (const child of children.filter(Boolean)) total += ownRssMiB(Number(child));
  } catch {
    // no children file: the server's own RSS
  }
  return total;
}

let seq = 0;
async function throughput(url) {
  const client = await Client.open(url);
  await client.init();
  const id = `tp-${seq++}`;
  let bytes = 0;
  const done = new Promise((resolve) => {
    client.onNotification = (m) => {
      if (m.params.processId !== id) return;
      if (m.method === 'process/output') bytes += Buffer.from(m.params.chunk, 'base64').length;
      if (m.method === 'process/closed') resolve();
    };
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await client.call(
    'process/start',
    startParams(id, ['head', '-c', String(THROUGHPUT_BYTES), '/dev/zero']),
  );
  await done;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  client.close();
  if (bytes !== THROUGHPUT_BYTES) throw new Error(`lost bytes: ${bytes}`);
  return {
    mbps: THROUGHPUT_BYTES / 1e6 / (ms / 1000),
    clientCpu: (cpu.user + cpu.system) / 1000 / ms,
  };
}

async function spawnRoundTrip(url, count) {
  const client = await Client.open(url);
  await client.init();
  const times = [];
  for (let i = 0; i < count; i++) {
    const id = `rt-${seq++}`;
    const closed = new Promise((resolve) => {
      client.onNotification = (m) => {
        if (m.method === 'process/closed' && m.params.processId === id) resolve();
      };
    });
    const t0 = performance.now();
    await client.call('process/start', startParams(id, ['true']));
    await closed;
    times.push(performance.now() - t0);
  }
  client.close();
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(count * 0.5)], p99: times[Math.floor(count * 0.99)] };
}

async function hundredByOneMB(url) {
  const client = await Client.open(url);
  await client.init();
  const ids = Array.from({ length: 100 }, () => `hm-${seq++}`);
  const bytes = new Map(ids.map((id) => [id, 0]));
  let open = ids.length;
  const done = new Promise((resolve) => {
    client.onNotification = (m) => {
      if (!bytes.has(m.params.processId)) return;
      if (m.method === 'process/output') {
        bytes.set(
          m.params.processId,
          bytes.get(m.params.processId) + Buffer.from(m.params.chunk, 'base64').length,
        );
      }
      if (m.method === 'process/closed' && --open === 0) resolve();
    };
  });
  const t0 = performance.now();
  await Promise.all(
    ids.map((id) =>
      client.call('process/start', startParams(id, ['head', '-c', '1000000', '/dev/zero'])),
    ),
  );
  await done;
  const ms = performance.now() - t0;
  client.close();
  for (const [id, n] of bytes) if (n !== 1_000_000) throw new Error(`${id} lost bytes: ${n}`);
  return { ms };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const kinds = codexBin ? ['tether', 'reference'] : ['tether'];
if (!codexBin)
  console.log(
    'reference codex not found (set TETHER_CODEX_BIN or install @openai/codex@0.169.0 in /tmp/codex-ref): tether only',
  );
const results = Object.fromEntries(
  kinds.map((k) => [
    k,
    { tp: [], cpu: [], p50: [], p99: [], hm: [], hmAgain: [], idle: [], load: [] },
  ]),
);
for (let run = 0; run < runs; run++) {
  for (const kind of kinds) {
    const { server, pid, url } = await startServer(kind);
    await new Promise((r) => setTimeout(r, 300));
    const r = results[kind];
    r.idle.push(rssMiB(pid));
    // same order for both servers: the many-process test first, on the fresh server (tether's
    // JavaScript has not been optimized yet: its cold figure), the 200 MB stream, then the
    // many-process test again on the server that has served all of that (its steady state)
    r.hm.push((await hundredByOneMB(url)).ms);
    const rt = await spawnRoundTrip(url, 300);
    r.p50.push(rt.p50);
    r.p99.push(rt.p99);
    const tp = await throughput(url);
    r.tp.push(tp.mbps);
    r.cpu.push(tp.clientCpu);
    r.hmAgain.push((await hundredByOneMB(url)).ms);
    r.load.push(rssMiB(pid));
    await server.stop('SIGTERM');
  }
}
const rows = kinds.map((kind) => {
  const r = results[kind];
  return {
    server: kind,
    'throughput MB/s (200 MB)': median(r.tp).toFixed(0),
    'bench client CPU': `${(median(r.cpu) * 100).toFixed(0)}%`,
    'spawn p50 ms': median(r.p50).toFixed(1),
    'spawn p99 ms': median(r.p99).toFixed(1),
    '100 x 1 MB ms (fresh server)': median(r.hm).toFixed(0),
    '100 x 1 MB ms (again)': median(r.hmAgain).toFixed(0),
    'RSS idle MiB': median(r.idle).toFixed(0),
    'RSS after load MiB': median(r.load).toFixed(0),
  };
});
console.log(`medians of ${runs} interleaved runs`);
console.table(rows);
// the spread behind the medians of the two 100 x 1 MB columns, run by run
for (const kind of kinds) {
  const r = results[kind];
  const list = (values) => values.map((v) => v.toFixed(0)).join(' ');
  console.log(`${kind} 100 x 1 MB ms, each run: fresh ${list(r.hm)}; again ${list(r.hmAgain)}`);
}
