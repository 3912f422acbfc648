// What the sandbox costs: spawn round trip of `true` (process/start to process/closed), p50 and
// p99 over SANDBOX_BENCH_SPAWNS (default 200), unsandboxed, read-only and workspace-write, on
// tether-exec-server and (when installed) the reference `codex exec-server`. Interleaved runs
// (SANDBOX_BENCH_RUNS, default 3), one fresh server per run, medians of the per-run figures.
// Needs bubblewrap on PATH. Reference: npm install @openai/codex@0.169.0 in /tmp/codex-ref, or set
// TETHER_CODEX_BIN.
import { mkdtempSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fmt, median, quantile } from './support/common.mjs';
import { Client, codexBin, startParams, startServer } from './support/exec-client.mjs';

const runs = Number(process.env.SANDBOX_BENCH_RUNS ?? 3);
const spawns = Number(process.env.SANDBOX_BENCH_SPAWNS ?? 200);
const workspace = mkdtempSync(join(homedir(), '.tether-sandbox-bench-'));

const root = { path: { type: 'special', value: { kind: 'root' } }, access: 'read' };
const profiles = {
  none: undefined,
  'read-only': {
    type: 'managed',
    file_system: { type: 'restricted', entries: [root] },
    network: 'restricted',
  },
  'workspace-write': {
    type: 'managed',
    file_system: {
      type: 'restricted',
      entries: [
        root,
        { path: { type: 'path', path: pathToFileURL(workspace).href }, access: 'write' },
        { path: { type: 'special', value: { kind: 'slash_tmp' } }, access: 'write' },
      ],
    },
    network: 'restricted',
  },
};

let seq = 0;
async function roundTrips(url, profile) {
  const client = await Client.open(url);
  await client.init();
  const times = [];
  for (let i = 0; i < spawns; i++) {
    const id = `sb-${seq++}`;
    const closed = new Promise((resolve) => {
      client.onNotification = (m) => {
        if (m.method === 'process/closed' && m.params.processId === id) resolve();
      };
    });
    const params = { ...startParams(id, ['/bin/true']), cwd: pathToFileURL(workspace).href };
    if (profile) {
      params.sandbox = {
        permissions: profile,
        cwd: pathToFileURL(workspace).href,
        windowsSandboxLevel: 'disabled',
      };
    }
    const t0 = performance.now();
    await client.call('process/start', params);
    await closed;
    times.push(performance.now() - t0);
  }
  client.close();
  return { p50: quantile(times, 0.5), p99: quantile(times, 0.99) };
}

const kinds = ['tether', ...(codexBin ? ['reference'] : [])];
const results = {};
for (let run = 0; run < runs; run++) {
  for (const kind of kinds) {
    const { server, url } = await startServer(kind);
    for (const [name, profile] of Object.entries(profiles)) {
      const figures = await roundTrips(url, profile);
      results[kind] ??= {};
      results[kind][name] ??= { p50: [], p99: [] };
      results[kind][name].p50.push(figures.p50);
      results[kind][name].p99.push(figures.p99);
    }
    await server.stop();
  }
}
rmSync(workspace, { recursive: true, force: true });

console.log(`spawn round trip of /bin/true, ms (median of ${runs} runs of ${spawns} spawns)`);
console.log('server     sandbox           p50     p99   added p50');
for (const kind of kinds) {
  const base = median(results[kind].none.p50);
  for (const [name, figures] of Object.entries(results[kind])) {
    const p50 = median(figures.p50);
    const p99 = median(figures.p99);
    console.log(
      `${kind.padEnd(10)} ${name.padEnd(16)} ${fmt(p50, 2).padStart(6)} ${fmt(p99, 2).padStart(7)} ${name === 'none' ? '' : `${fmt(p50 - base, 2).padStart(9)}`}`,
    );
  }
}
if (!codexBin) console.log('(reference not installed: tether only)');
