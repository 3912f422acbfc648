// A turn that applies a 200-hunk patch (issue 16, "Measured"): tether's app-server as a real process
// (`dist/cli.js --listen ws://127.0.0.1:0 --model gpt-5.5 --model-base-url <mock>/v1`, so the
// patch arrives as a freeform `apply_patch` custom tool call), the mock model in this process
// (@tether/agent-core's MockResponsesServer), one websocket client (@tether/client) driving it.
//
// Each turn: the driver rewrites FILE_LINES-line `big.txt` to its original contents, starts a
// turn; the model answers with one `apply_patch` call of HUNKS hunks (each changes one line, three
// lines of context around it, a `@@` line before each) and, asked again, with a short text.
//
//   server time   from the moment the mock finished sending the tool call to the moment the server
//                 asked the model again (so it had parsed, verified and written the patch, sent
//                 the fileChange item and the turn diff, and recorded the call's output): the
//                 whole of tether's work for the patch, without the model.
//   server CPU    CPU time of the server process over that span (/proc/<pid>/stat).
//   turn          turn/start sent -> turn/completed received by the driver.
//   diff bytes    size of the `turn/diff/updated` diff the client received (3 times per turn).
//
// WARMUP turns first (JIT, the first rollout writes), then TURNS measured turns; p50 and p99.
//
// Then, in this process, the inputs that used to go quadratic (each run once after one warm-up):
//   patch, 1000 hunks      applyChunks on a 50,000-line file, 1,000 `@@` chunks (exact, and with
//                          every file line carrying trailing spaces so each chunk matches fuzzily)
//   seek, repeated lines   a 5,001-line pattern (5,000 `x` then `y`) sought in 50,000 `x` lines
//   diff, 2 x 5 MB          diffHunks of two 100,000-line files that share no line
//   diff, 2000 edits       diffHunks of a 100,000-line file and itself with every 50th line edited
// Environment: PATCH_BENCH_TURNS (20), PATCH_BENCH_HUNKS (200), PATCH_BENCH_VERBOSE=1,
// PATCH_BENCH_CPU_PROF=<dir> (the server runs under `node --cpu-prof --cpu-prof-dir=<dir>`).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyChunks, diffHunks, LineSeeker, parsePatch } from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import { fmt, nowMs, quantile, withTimeout } from './support/common.mjs';

const TURNS = Number(process.env.PATCH_BENCH_TURNS ?? 20);
const HUNKS = Number(process.env.PATCH_BENCH_HUNKS ?? 200);
const WARMUP = 3;
const SPACING = 10; // lines between two changed lines
const FILE_LINES = HUNKS * SPACING + 5;
const TARGET_MS = 50;
const VERBOSE = process.env.PATCH_BENCH_VERBOSE === '1';
const CPU_PROF_DIR = process.env.PATCH_BENCH_CPU_PROF;
const ROOT = new URL('..', import.meta.url).pathname;
const CLI = join(ROOT, 'apps/app-server/dist/cli.js');

const original = Array.from({ length: FILE_LINES }, (_, i) => `line ${i} of the file`);
const originalText = `${original.join('\n')}\n`;

/** HUNKS chunks, each replacing line k*SPACING+5 with three lines of context on either side. */
function bigPatch() {
  let out = '*** Begin Patch\n*** Update File: big.txt\n';
  for (let h = 0; h < HUNKS; h++) {
    const at = h * SPACING + 5;
    out += '@@\n';
    for (let i = at - 3; i < at; i++) out += ` ${original[i]}\n`;
    out += `-${original[at]}\n+${original[at]} (edited)\n`;
    for (let i = at + 1; i <= at + 3 && i < FILE_LINES; i++) out += ` ${original[i]}\n`;
  }
  return `${out}*** End Patch\n`;
}

let clockTicks = 100;
/** User plus system CPU time of a process, in ms. */
function cpuMs(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

async function main() {
  try {
    const { execFileSync } = await import('node:child_process');
    clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    // 100 on every Linux this runs on
  }
  const mock = await MockResponsesServer.start();
  const home = mkdtempSync(join(tmpdir(), 'tether-patch-bench-home-'));
  const cwd = mkdtempSync(join(tmpdir(), 'tether-patch-bench-cwd-'));
  const server = spawn(
    process.execPath,
    [
      ...(CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []),
      CLI,
      '--listen',
      'ws://127.0.0.1:0',
      '--model',
      'gpt-5.5',
      '--model-base-url',
      mock.baseUrl,
    ],
    {
      env: { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn', OPENAI_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let banner = '';
  const url = await withTimeout(
    new Promise((resolve) => {
      const read = (chunk) => {
        banner += chunk.toString();
        const found = /ws:\/\/127\.0\.0\.1:\d+/.exec(banner);
        if (found) resolve(found[0]);
      };
      server.stdout.on('data', read);
      server.stderr.on('data', read);
    }),
    20_000,
    'the server to listen',
  );
  const client = await AppServerClient.connectWebSocket(url);
  await client.initialize({ name: 'patch-bench', version: '1.0.0' });
  const { thread } = await client.request('thread/start', {
    cwd,
    approvalPolicy: 'never',
    sandbox: 'danger-full-access',
  });
  const patch = bigPatch();
  const samples = [];
  for (let i = 0; i < WARMUP + TURNS; i++) {
    writeFileSync(join(cwd, 'big.txt'), originalText);
    mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: `call_${i}`, input: patch }),
      mockReply.text('done'),
    );
    const requestsBefore = mock.requests.length;
    const from = client.notifications.cursor;
    const started = nowMs();
    const { turn } = await client.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: `edit ${i}` }],
    });
    const [call] = (await mock.waitForRequests(requestsBefore + 1)).slice(requestsBefore);
    await call.finished;
    const sentAt = nowMs();
    const cpuBefore = cpuMs(server.pid);
    await mock.waitForRequests(requestsBefore + 2);
    const askedAgainAt = nowMs();
    const cpuAfter = cpuMs(server.pid);
    await client.waitForNotification('turn/completed', (p) => p.turn.id === turn.id, {
      from,
      timeoutMs: 60_000,
    });
    const completedAt = nowMs();
    const received = client.notifications.since(from);
    const diffs = received.filter((n) => n.method === 'turn/diff/updated');
    const edited = readFileSync(join(cwd, 'big.txt'), 'utf8');
    if (diffs.length === 0 || !edited.includes('(edited)')) {
      throw new Error(`turn ${i}: the patch was not applied (${diffs.length} diffs)`);
    }
    const sample = {
      serverMs: askedAgainAt - sentAt,
      cpuMs: cpuAfter - cpuBefore,
      turnMs: completedAt - started,
      diffBytes: Buffer.byteLength(diffs[0].params.diff),
      diffs: diffs.length,
    };
    if (VERBOSE) console.log(JSON.stringify({ turn: i, ...sample }));
    if (i >= WARMUP) samples.push(sample);
  }
  client.close();
  server.kill('SIGTERM');
  await mock.close();
  rmSync(home, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });

  const column = (key) => samples.map((s) => s[key]);
  const p50 = (key) => quantile(column(key), 0.5);
  const p99 = (key) => quantile(column(key), 0.99);
  console.log(
    `apply_patch turn: ${HUNKS} hunks on a ${FILE_LINES}-line file (patch ${Buffer.byteLength(patch)} bytes), ${TURNS} turns after ${WARMUP} warm-up; ${cpus().length} cores, Node ${process.version}`,
  );
  console.log('| measure | p50 | p99 | target |');
  console.log('| :--- | ---: | ---: | ---: |');
  const met = p50('serverMs') < TARGET_MS ? 'met' : 'missed';
  console.log(
    `| server time (tool call received -> model asked again) | ${fmt(p50('serverMs'), 1)} ms | ${fmt(p99('serverMs'), 1)} ms | < ${TARGET_MS} ms: ${met} |`,
  );
  console.log(
    `| server CPU over that span | ${fmt(p50('cpuMs'), 1)} ms | ${fmt(p99('cpuMs'), 1)} ms | |`,
  );
  console.log(
    `| whole turn (turn/start -> turn/completed) | ${fmt(p50('turnMs'), 1)} ms | ${fmt(p99('turnMs'), 1)} ms | |`,
  );
  console.log(
    `| turn/diff/updated per turn, diff size | ${samples[0]?.diffs ?? 0} × ${fmt(p50('diffBytes'))} bytes | | |`,
  );
}

/**
 * Wall time of `work` in ms, after one warm-up run (`warm`, by default `work` itself; the diffs
 * warm up on other texts, since the last pair diffed is remembered).
 */
function timed(work, warm = work) {
  warm();
  const started = nowMs();
  work();
  return nowMs() - started;
}

function pathological() {
  const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} of the file`);
  let patchText = '*** Begin Patch\n*** Update File: big.txt\n';
  for (let h = 0; h < 1000; h++) {
    const at = h * 50 + 5;
    patchText += '@@\n';
    for (let i = at - 3; i < at; i++) patchText += ` ${lines[i]}\n`;
    patchText += `-${lines[at]}\n+${lines[at]} (edited)\n`;
  }
  const chunks = parsePatch(`${patchText}*** End Patch`).hunks[0].chunks;
  const exact = `${lines.join('\n')}\n`;
  const padded = `${lines.map((line) => `${line}  `).join('\n')}\n`;
  const repeated = Array.from({ length: 50_000 }, () => 'x');
  const pattern = [...Array.from({ length: 5_000 }, () => 'x'), 'y'];
  const big = Array.from({ length: 100_000 }, (_, i) => `old line ${i} with some text`);
  const oldText = `${big.join('\n')}\n`;
  const newText = `${big.map((line) => line.replace('old', 'new')).join('\n')}\n`;
  const edited = `${big.map((line, i) => (i % 50 === 5 ? `${line} (edited)` : line)).join('\n')}\n`;
  const rows = [
    ['patch, 1000 hunks, exact', timed(() => applyChunks(exact, chunks, 'big.txt'))],
    ['patch, 1000 hunks, fuzzy', timed(() => applyChunks(padded, chunks, 'big.txt'))],
    ['seek, repeated lines', timed(() => new LineSeeker(repeated).seek(pattern, 0, false))],
    [
      'diff, 2 x 5 MB, nothing shared',
      timed(
        () => diffHunks(oldText, newText, 3),
        () => diffHunks(`${oldText}warm-up\n`, newText, 3),
      ),
    ],
    [
      'diff, 2000 edits in 100,000 lines',
      timed(
        () => diffHunks(oldText, edited, 3),
        () => diffHunks(`${oldText}warm-up\n`, edited, 3),
      ),
    ],
  ];
  console.log('\nlarge and pathological inputs, in process:');
  console.log('| input | time |');
  console.log('| :--- | ---: |');
  for (const [name, ms] of rows) console.log(`| ${name} | ${fmt(ms, 1)} ms |`);
}

await main();
pathological();
