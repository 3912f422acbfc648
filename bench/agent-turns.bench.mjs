// Agent turns over a real model stream, tether's app-server side by side with the reference Codex
// app-server (issue 6, "Benchmark"): both are started as real processes, pointed at the same
// zero-latency mock model, and driven over websockets by @tether/client.
//
//   1. turn overhead: `turn/start` sent -> `turn/completed` received by the driver, one thread,
//      the mock answering a three-delta text at once; p50/p99 over TURNS turns (after 5 warm-up
//      turns), and the server's CPU time per turn.
//   2. fan-out: one turn of DELTAS `item/agentMessage/delta` to 1, 10 and 50 subscribers. Time to
//      last delta = from sending turn/start to the last subscriber's last delta; delivered
//      deltas/s = deltas received by all subscribers / that time.
//   3. a paused subscriber: one turn of PAUSED_DELTAS deltas to 10 subscribers, once with all of
//      them reading ("none paused") and once with subscriber 1 not reading its socket ("1 paused");
//      both times the figure is the time to the last delta of subscribers 2-10. The two halves run
//      back to back on one server (which goes first alternates), and the slowdown is the median
//      over rounds of their ratio. Afterwards the paused one reads again and the table says
//      whether it caught up or was disconnected.
//
// Processes: the mock model (bench/support/agent-mock.mjs, @tether/agent-core's
// MockResponsesServer) lives for the whole bench; every run starts a fresh server (fresh TETHER_HOME
// or CODEX_HOME, fresh working directory) and, for 2 and 3, a fresh subscriber process
// (bench/support/agent-subscribers.mjs), so decoding 300,000 notifications does not share this
// process's event loop with the driver. The driver connection (this process) starts the thread and
// the turns; for 2 and 3 it opted out of `item/agentMessage/delta`. Before a measured fan-out turn
// the thread has had a three-delta turn (the reference resumes only a thread with a rollout) and a
// warm-up turn of 500 deltas streamed to a warm-up subscriber (JIT, first rollout write, the model
// metadata warning of the reference), which then disconnected. The mock process is told the reply
// before each turn; the reference app-server sent no side requests to the model here (counted).
//
// Runs: every scenario runs RUNS times for each server, interleaved (round 1 of every scenario on
// both servers, then round 2...; which server goes first alternates), the tables show medians.
// Server CPU is the CPU time of the server's process tree (the reference's npm launcher and its
// native binary) read from /proc, over the measured window; 100% = one core busy. The time its
// threads spent runnable but waiting for a CPU (/proc/.../schedstat) shows how much other work on
// the machine held it back; the CPU time per delivered delta barely depends on that load.
//
// Servers:
//   tether    node apps/app-server/dist/cli.js --listen ws://127.0.0.1:0 --model mock-model
//             --model-base-url <mock>/v1   (TETHER_HOME=<temp>, OPENAI_API_KEY unset)
//   reference $TETHER_CODEX_BIN or /tmp/codex-ref/node_modules/.bin/codex, when present:
//             codex app-server --listen ws://127.0.0.1:0 -c model_provider="mock" -c
//             model_providers.mock={...} -c model="mock-model"   (MOCK_KEY=x, CODEX_HOME=<temp>)
//             (codex-cli 0.169.0 accepts port 0 and prints the port it bound, like tether)
//
// Environment: AGENT_BENCH_RUNS (3), AGENT_BENCH_TURNS (50), AGENT_BENCH_DELTAS (5000),
// AGENT_BENCH_SUBSCRIBERS ("1,10,50"), AGENT_BENCH_PAUSED_DELTAS (30000),
// AGENT_BENCH_SERVERS ("tether,reference"), AGENT_BENCH_SCENARIOS (a comma list of
// overhead,fanout,paused; default all), AGENT_BENCH_CPU_PROF=<dir> (tether runs under
// `node --cpu-prof --cpu-prof-dir=<dir>`), AGENT_BENCH_VERBOSE=1 (every run as JSON).
import { execFileSync, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppServerClient } from '@tether/client';
import {
  childClockOffset,
  deferred,
  fmt,
  machineCpu,
  median,
  nowMs,
  quantile,
  sleep,
  withTimeout,
} from './support/common.mjs';

const RUNS = Number(process.env.AGENT_BENCH_RUNS ?? 3);
const TURNS = Number(process.env.AGENT_BENCH_TURNS ?? 50);
const WARMUP_TURNS = 5;
const DELTAS = Number(process.env.AGENT_BENCH_DELTAS ?? 5_000);
const SUBSCRIBERS = (process.env.AGENT_BENCH_SUBSCRIBERS ?? '1,10,50')
  .split(',')
  .map((s) => Number(s.trim()));
const PAUSED_DELTAS = Number(process.env.AGENT_BENCH_PAUSED_DELTAS ?? 30_000);
const PAUSED_SUBSCRIBERS = 10;
const WARMUP_DELTAS = 500;
const DELTA_CHARS = 12;
const SCENARIOS = new Set(
  (process.env.AGENT_BENCH_SCENARIOS ?? 'overhead,fanout,paused').split(',').map((s) => s.trim()),
);
const WANTED_SERVERS = new Set(
  (process.env.AGENT_BENCH_SERVERS ?? 'tether,reference').split(',').map((s) => s.trim()),
);
const CPU_PROF_DIR = process.env.AGENT_BENCH_CPU_PROF;
const VERBOSE = process.env.AGENT_BENCH_VERBOSE === '1';
const TURN_TIMEOUT_MS = 180_000;
const MARKER = 'tether-bench';

const ROOT = new URL('..', import.meta.url).pathname;
const TETHER_CLI = join(ROOT, 'apps/app-server/dist/cli.js');
const MOCK_SCRIPT = new URL('./support/agent-mock.mjs', import.meta.url);
const SUBSCRIBERS_SCRIPT = new URL('./support/agent-subscribers.mjs', import.meta.url);
const CODEX_BIN = [process.env.TETHER_CODEX_BIN, '/tmp/codex-ref/node_modules/.bin/codex'].find(
  (p) => p && existsSync(p),
);

// ---------------------------------------------------------------------------------------------
// CPU accounting

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // 100 on every Linux this runs on
}

/** `/proc/<pid>/stat` fields after the command name (which is in parentheses, spaces and all). */
function procStat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** The pids of a process and all its descendants, from /proc. */
function processTree(rootPid) {
  const parents = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      parents.set(Number(name), Number(procStat(name)[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [rootPid];
  for (let i = 0; i < tree.length; i++) {
    for (const [pid, ppid] of parents) if (ppid === tree[i]) tree.push(pid);
  }
  return tree;
}

/** utime + stime (ms) of a process and all its descendants (all their threads, live or not). */
function treeCpuMs(rootPid) {
  let ticks = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const fields = procStat(pid);
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return (ticks / clockTicks) * 1000;
}

/**
 * Time the threads of a process tree spent runnable but waiting for a CPU (ms), from
 * /proc/<pid>/task/<tid>/schedstat: what the machine's other work took from the server.
 */
function treeRunQueueWaitMs(rootPid) {
  let ns = 0;
  for (const pid of processTree(rootPid)) {
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[1]);
      } catch {
        // thread gone meanwhile
      }
    }
  }
  return ns / 1e6;
}

/** Busy and total CPU time of the whole machine so far, in ms summed over cores. */

// ---------------------------------------------------------------------------------------------
// The mock model process

function startMock() {
  const child = fork(MOCK_SCRIPT, [MARKER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let waiting = null;
  const ready = deferred();
  child.on('message', (message) => {
    if (message.type === 'ready') ready.resolve(message);
    else waiting?.(message);
  });
  child.on('exit', (code, signal) => {
    ready.reject(new Error(`mock model exited (${code ?? signal})`));
  });
  const ask = (message) =>
    withTimeout(
      new Promise((resolve) => {
        waiting = resolve;
        child.send(message);
      }),
      10_000,
      `the mock's answer to ${message.type}`,
    );
  return {
    child,
    ready: ready.promise,
    setReply: (deltas) => ask({ type: 'reply', deltas, chars: DELTA_CHARS }),
    stats: () => ask({ type: 'stats' }),
  };
}

// ---------------------------------------------------------------------------------------------
// The servers under test

const liveServers = new Set();
process.on('exit', () => {
  for (const pid of liveServers) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

function serverCommand(kind, baseUrl, home) {
  if (kind === 'tether') {
    const env = { ...process.env, TETHER_HOME: home };
    delete env.OPENAI_API_KEY;
    delete env.OPENAI_BASE_URL;
    const prof = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [];
    return {
      command: process.execPath,
      args: [
        ...prof,
        TETHER_CLI,
        '--listen',
        'ws://127.0.0.1:0',
        '--model',
        'mock-model',
        '--model-base-url',
        baseUrl,
      ],
      env,
    };
  }
  const provider =
    `model_providers.mock={name="mock",base_url="${baseUrl}",wire_api="responses",` +
    'env_key="MOCK_KEY",request_max_retries=0,stream_max_retries=0}';
  return {
    command: CODEX_BIN,
    args: [
      'app-server',
      '--listen',
      'ws://127.0.0.1:0',
      '-c',
      'model_provider="mock"',
      '-c',
      provider,
      '-c',
      'model="mock-model"',
    ],
    env: { ...process.env, MOCK_KEY: 'x', CODEX_HOME: home },
  };
}

/** Starts a server as a process group of its own; resolves once it printed its websocket URL. */
async function startServer(kind, baseUrl) {
  const home = mkdtempSync(join(tmpdir(), `agent-bench-${kind}-home-`));
  const cwd = mkdtempSync(join(tmpdir(), `agent-bench-${kind}-cwd-`));
  const { command, args, env } = serverCommand(kind, baseUrl, home);
  const child = spawn(command, args, {
    env,
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  liveServers.add(child.pid);
  // both pipes are drained for the whole run (a full pipe would stall the server); the tail is kept
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-20_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = await withTimeout(
    new Promise((resolve, reject) => {
      const look = () => {
        const match = /listening on: (ws:\/\/[0-9.]+:\d+)/.exec(output);
        if (match) {
          child.stderr.off('data', look);
          child.stdout.off('data', look);
          resolve(match[1]);
        }
      };
      child.stderr.on('data', look);
      child.stdout.on('data', look);
      exited.then(({ code, signal }) =>
        reject(new Error(`${kind} exited before listening (${code ?? signal}):\n${output}`)),
      );
    }),
    30_000,
    `${kind} to listen`,
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const outcome = await Promise.race([exited, sleep(CPU_PROF_DIR ? 20_000 : 5_000)]);
      if (outcome === undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    }
    // the reference's native binary may outlive its launcher by a moment
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is gone
    }
    liveServers.delete(child.pid);
    rmSync(home, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  };
  return {
    kind,
    url,
    cwd,
    pid: child.pid,
    cpuMs: () => treeCpuMs(child.pid),
    waitMs: () => treeRunQueueWaitMs(child.pid),
    stop,
    output: () => output,
  };
}

async function connectDriver(url, optOutDeltas) {
  const driver = await AppServerClient.connectWebSocket(url);
  await driver.initialize(
    { name: 'bench-driver', version: '1.0.0' },
    optOutDeltas
      ? { experimentalApi: true, optOutNotificationMethods: ['item/agentMessage/delta'] }
      : { experimentalApi: true },
  );
  return driver;
}

/** Sends turn/start and resolves with the driver's `turn/completed` params. */
async function runTurn(driver, threadId, text) {
  const from = driver.notifications.cursor;
  const completed = driver.waitForNotification('turn/completed', (p) => p.threadId === threadId, {
    from,
    timeoutMs: TURN_TIMEOUT_MS,
  });
  await driver.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  const { params } = await completed;
  return params;
}

function turnFailed(params) {
  return params.turn?.status !== 'completed'
    ? `turn ${params.turn?.status}: ${JSON.stringify(params.turn?.error ?? null)}`
    : null;
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: turn overhead

async function runOverhead(mock, kind) {
  const server = await startServer(kind, mockBaseUrl);
  let driver;
  try {
    await mock.setReply(3);
    driver = await connectDriver(server.url, false);
    const { thread } = await driver.request('thread/start', {
      cwd: server.cwd,
      approvalPolicy: 'never',
    });
    for (let i = 0; i < WARMUP_TURNS; i++) {
      const failed = turnFailed(await runTurn(driver, thread.id, `warm-up ${i} ${MARKER}`));
      if (failed) throw new Error(`${kind}: warm-up ${failed}`);
    }
    await mock.stats();
    const cpuBefore = server.cpuMs();
    const times = [];
    let failures = 0;
    for (let i = 0; i < TURNS; i++) {
      const start = nowMs();
      const params = await runTurn(driver, thread.id, `turn ${i} ${MARKER}`);
      times.push(nowMs() - start);
      if (turnFailed(params)) failures += 1;
    }
    const cpuMs = server.cpuMs() - cpuBefore;
    const stats = await mock.stats();
    return {
      p50Ms: quantile(times, 0.5),
      p99Ms: quantile(times, 0.99),
      meanMs: times.reduce((a, b) => a + b, 0) / times.length,
      cpuMsPerTurn: cpuMs / TURNS,
      failures,
      modelRequests: stats.bench,
      sideRequests: stats.side,
    };
  } finally {
    driver?.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios 2 and 3: fan-out, with or without a paused subscriber

function startSubscribers(url, threadId, count, expected, paused) {
  const child = fork(
    SUBSCRIBERS_SCRIPT,
    [url, threadId, String(count), String(expected), String(paused)],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  const waits = { ready: deferred(), result: deferred(), 'paused-result': deferred() };
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

/**
 * Two warm-up turns: a short one with the driver alone (the reference resumes only a thread that
 * has a rollout, which its first turn writes), then WARMUP_DELTAS deltas streamed to a short-lived
 * subscriber, which then leaves.
 */
async function warmUpTurn(mock, server, driver, threadId) {
  await mock.setReply(3);
  const first = turnFailed(await runTurn(driver, threadId, `first ${MARKER}`));
  if (first) throw new Error(`${server.kind}: first turn ${first}`);
  await mock.setReply(WARMUP_DELTAS);
  const warm = await AppServerClient.connectWebSocket(server.url);
  try {
    await warm.initialize({ name: 'bench-warm-up', version: '1.0.0' }, { experimentalApi: true });
    await warm.request('thread/resume', { threadId, excludeTurns: true });
    const seen = warm.waitForNotification('turn/completed', (p) => p.threadId === threadId, {
      timeoutMs: TURN_TIMEOUT_MS,
    });
    const failed = turnFailed(await runTurn(driver, threadId, `warm-up ${MARKER}`));
    if (failed) throw new Error(`${server.kind}: warm-up ${failed}`);
    await seen;
  } finally {
    warm.close();
    await warm.closed;
  }
  await sleep(100);
}

async function runFanout(mock, kind, count, deltas, paused) {
  const server = await startServer(kind, mockBaseUrl);
  let driver;
  let subs;
  try {
    driver = await connectDriver(server.url, true);
    const { thread } = await driver.request('thread/start', {
      cwd: server.cwd,
      approvalPolicy: 'never',
    });
    await warmUpTurn(mock, server, driver, thread.id);
    await mock.setReply(deltas);
    await mock.stats();
    subs = startSubscribers(server.url, thread.id, count, deltas, paused);
    await withTimeout(subs.waits.ready.promise, 60_000, 'the subscribers to resume');
    const clock = await subs.clockOffset(5);

    const machineStart = machineCpu();
    const mockCpuStart = treeCpuMs(mock.child.pid);
    const serverCpuStart = server.cpuMs();
    const serverWaitStart = server.waitMs();
    const driverCpuStart = process.cpuUsage();
    const startMs = nowMs();
    const params = await runTurn(driver, thread.id, `stream ${MARKER}`);
    const turnCompletedMs = nowMs() - startMs;
    const failed = turnFailed(params);
    // every active subscriber has seen turn/completed (it follows the last delta) or has closed; a
    // child still waiting 20 s after the driver got it is asked for what it has
    const result = await withTimeout(subs.waits.result.promise, 20_000, 'the subscribers').catch(
      () => {
        subs.child.send({ type: 'finish' });
        return withTimeout(subs.waits.result.promise, 10_000, 'the subscribers');
      },
    );
    const windowMs = nowMs() - startMs;
    const serverCpuMs = server.cpuMs() - serverCpuStart;
    const serverWaitMs = server.waitMs() - serverWaitStart;
    const mockCpuMs = treeCpuMs(mock.child.pid) - mockCpuStart;
    const driverCpu = process.cpuUsage(driverCpuStart);
    const machineEnd = machineCpu();
    const stats = await mock.stats();

    let pausedOutcome = null;
    if (paused) {
      subs.child.send({ type: 'resume-paused' });
      const late = await withTimeout(subs.waits['paused-result'].promise, 20_000, 'the paused one')
        .catch(() => {
          subs.child.send({ type: 'finish' });
          return withTimeout(subs.waits['paused-result'].promise, 10_000, 'the paused one');
        })
        .catch(() => null);
      const p = late?.subscribers[0];
      pausedOutcome = p
        ? {
            received: p.received,
            complete: p.received === deltas && p.outOfOrder === 0,
            closedCode: p.closed?.code ?? null,
          }
        : null;
    }

    const local = (childMs) => (childMs === null ? null : childMs - clock.offsetMs);
    const active = result.subscribers.filter((s) => !s.paused);
    // the subscribers compared across the two halves of scenario 3: every one but the first
    const others = result.subscribers.filter((s) => s.index > 0);
    const lastOf = (list) => Math.max(...list.map((s) => local(s.lastAtMs) ?? startMs)) - startMs;
    const elapsedMs = lastOf(active);
    const delivered = active.reduce((sum, s) => sum + s.received, 0);
    const complete = active.filter(
      (s) => s.received === deltas && s.outOfOrder === 0 && s.lastSeq === deltas - 1,
    ).length;
    const othersCpuMs =
      machineEnd.busy -
      machineStart.busy -
      serverCpuMs -
      mockCpuMs -
      result.cpuMs -
      (driverCpu.user + driverCpu.system) / 1000;
    return {
      failed,
      delivered,
      expected: active.length * deltas,
      complete,
      activeCount: active.length,
      outOfOrder: active.reduce((sum, s) => sum + s.outOfOrder, 0),
      closed: active.filter((s) => s.closed).length,
      elapsedMs,
      othersElapsedMs: lastOf(others),
      deltasPerSec: delivered / (elapsedMs / 1000),
      firstDeltaMs: Math.min(...active.map((s) => local(s.firstAtMs) ?? Infinity)) - startMs,
      turnCompletedMs,
      serverCpuPct: (serverCpuMs / windowMs) * 100,
      // the server's CPU time per delivered delta (paused or not), a figure machine load hardly moves
      cpuUsPerDelivery:
        (serverCpuMs * 1000) / result.subscribers.reduce((n, s) => n + s.received, 0),
      mockCpuPct: (mockCpuMs / windowMs) * 100,
      // runnable but not running: the machine's other work held the server back this long
      serverWaitPct: (serverWaitMs / windowMs) * 100,
      subscribersCpuPct: (result.cpuMs / windowMs) * 100,
      machineOthersPct: Math.max(0, (othersCpuMs / (machineEnd.total - machineStart.total)) * 100),
      modelRequests: stats.bench,
      sideRequests: stats.side,
      pausedOutcome,
      clockOffsetMs: clock.offsetMs,
    };
  } finally {
    driver?.close();
    if (subs) {
      if (subs.child.exitCode === null) subs.child.send({ type: 'close' });
      await Promise.race([subs.exited, sleep(2_000)]);
      if (subs.child.exitCode === null) subs.child.kill();
    }
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// The plan

const servers = [];
if (WANTED_SERVERS.has('tether')) servers.push('tether');
let referenceVersion = null;
if (WANTED_SERVERS.has('reference') && CODEX_BIN) {
  try {
    referenceVersion = execFileSync(CODEX_BIN, ['--version'], { encoding: 'utf8' }).trim();
    servers.push('reference');
  } catch (error) {
    console.log(`reference Codex at ${CODEX_BIN} does not run: ${error.message}`);
  }
}
const kindOf = (server) => (server === 'tether' ? 'tether' : 'codex');

const scenarios = [];
// each scenario's run resolves with [id, result] pairs
if (SCENARIOS.has('overhead')) {
  scenarios.push({
    name: 'overhead',
    run: async (mock, kind) => [['overhead', await runOverhead(mock, kind)]],
  });
}
if (SCENARIOS.has('fanout')) {
  for (const count of SUBSCRIBERS) {
    scenarios.push({
      name: `fanout-${count}`,
      run: async (mock, kind) => [
        [`fanout-${count}`, await runFanout(mock, kind, count, DELTAS, 0)],
      ],
    });
  }
}
if (SCENARIOS.has('paused')) {
  // the two halves run back to back on one server (which goes first alternates), so each round
  // gives a ratio measured under the same machine load
  scenarios.push({
    name: 'paused',
    run: async (mock, kind, round) => {
      const pairs = [];
      for (const paused of round % 2 ? [0, 1] : [1, 0]) {
        const run = await runFanout(mock, kind, PAUSED_SUBSCRIBERS, PAUSED_DELTAS, paused);
        pairs.push([paused ? 'paused-one' : 'paused-none', run]);
      }
      return pairs;
    },
  });
}

const kilo = (n) => (n === null ? '-' : `${fmt(n / 1000, 1)}k`);

console.log(
  `servers: ${servers.map((s) => (s === 'reference' ? `reference (${referenceVersion})` : s)).join(', ')}` +
    `${CODEX_BIN ? '' : ' (reference Codex not installed: tether only)'}; ${RUNS} interleaved runs ` +
    `per scenario; ${cpus().length} cores, Node ${process.version}`,
);
if (CPU_PROF_DIR) mkdirSync(CPU_PROF_DIR, { recursive: true });

const mock = startMock();
const { baseUrl: mockBaseUrl } = await mock.ready;
const benchStart = nowMs();
const loadBefore = loadavg()[0];
const results = new Map(); // `${scenario}/${server}` -> runs
try {
  // one throw-away turn per server: page cache and first-start costs, not reported
  for (const server of servers) {
    const s = await startServer(kindOf(server), mockBaseUrl);
    const d = await connectDriver(s.url, false);
    await mock.setReply(3);
    const { thread } = await d.request('thread/start', { cwd: s.cwd, approvalPolicy: 'never' });
    const failed = turnFailed(await runTurn(d, thread.id, `warm-up ${MARKER}`));
    d.close();
    await s.stop();
    if (failed) throw new Error(`${server}: the warm-up ${failed}`);
  }
  for (let round = 1; round <= RUNS; round++) {
    for (const scenario of scenarios) {
      const order = round % 2 ? servers : [...servers].reverse();
      for (const server of order) {
        const started = nowMs();
        const pairs = await scenario.run(mock, kindOf(server), round);
        const seconds = (nowMs() - started) / 1000;
        for (const [id, run] of pairs) {
          const key = `${id}/${server}`;
          if (!results.has(key)) results.set(key, []);
          results.get(key).push(run);
          const brief =
            id === 'overhead'
              ? `p50 ${fmt(run.p50Ms, 1)} ms, p99 ${fmt(run.p99Ms, 1)} ms, ` +
                `server CPU ${fmt(run.cpuMsPerTurn, 1)} ms/turn`
              : `last delta ${fmt(run.elapsedMs)} ms, ${kilo(run.deltasPerSec)} deltas/s, ` +
                `server CPU ${fmt(run.serverCpuPct)}%, waiting for a CPU ${fmt(run.serverWaitPct)}%, ` +
                `mock CPU ${fmt(run.mockCpuPct)}%`;
          console.log(`round ${round} ${id.padEnd(11)} ${server.padEnd(9)} ${brief}`);
          if (VERBOSE) console.log(JSON.stringify(run));
        }
        if (VERBOSE) console.log(`(${fmt(seconds, 1)} s)`);
      }
    }
  }
} finally {
  mock.child.kill();
}
const totalSeconds = (nowMs() - benchStart) / 1000;
const loadAfter = loadavg()[0];

// ---------------------------------------------------------------------------------------------
// Report

const runsOf = (scenario, server) => results.get(`${scenario}/${server}`) ?? [];
const med = (scenario, server, f) => {
  const list = runsOf(scenario, server);
  return list.length ? median(list.map(f)) : null;
};
const reference = servers.includes('reference');
const target = (met, text) => (met === null ? text : `${text}: ${met ? 'met' : 'MISSED'}`);

const rows = [];
const row = (measure, f, targetText = '') => {
  const values = Object.fromEntries(servers.map((s) => [s, f(s)]));
  rows.push({
    measure,
    tether: values.tether ?? '-',
    ...(reference ? { [`reference (${referenceVersion})`]: values.reference ?? '-' } : {}),
    target: targetText,
  });
};

if (SCENARIOS.has('overhead')) {
  const p50 = (s) => med('overhead', s, (r) => r.p50Ms);
  const tetherP50 = servers.includes('tether') ? p50('tether') : null;
  row(
    `turn overhead p50 (${TURNS} turns)`,
    (s) => `${fmt(p50(s), 1)} ms`,
    target(tetherP50 === null ? null : tetherP50 < 25, '< 25 ms'),
  );
  row(
    `turn overhead p99`,
    (s) =>
      `${fmt(
        med('overhead', s, (r) => r.p99Ms),
        1,
      )} ms`,
  );
  row(
    `server CPU per turn`,
    (s) =>
      `${fmt(
        med('overhead', s, (r) => r.cpuMsPerTurn),
        1,
      )} ms`,
  );
}
const fanoutCell = (id, s) =>
  `${fmt(med(id, s, (r) => r.elapsedMs))} ms · ${kilo(med(id, s, (r) => r.deltasPerSec))}/s · ` +
  `CPU ${fmt(med(id, s, (r) => r.serverCpuPct))}% · ` +
  `${fmt(
    med(id, s, (r) => r.cpuUsPerDelivery),
    1,
  )} µs/delivery`;
if (SCENARIOS.has('fanout')) {
  for (const count of SUBSCRIBERS) {
    const id = `fanout-${count}`;
    let targetText = '';
    if (count === 50 && servers.includes('tether')) {
      const rate = med(id, 'tether', (r) => r.deltasPerSec);
      targetText = target(rate >= 60_000, '≥ 60k deltas/s');
    }
    row(
      `${fmt(DELTAS)} deltas to ${count} subscriber${count === 1 ? '' : 's'}`,
      (s) => fanoutCell(id, s),
      targetText,
    );
  }
}
/** The median over rounds of (time with one paused / time with none), each pair run back to back. */
const slowdown = (s) => {
  const none = runsOf('paused-none', s);
  const one = runsOf('paused-one', s);
  return median(one.map((r, i) => r.othersElapsedMs / none[i]?.othersElapsedMs));
};
if (SCENARIOS.has('paused')) {
  const cell = (id) => (s) =>
    `${fmt(med(id, s, (r) => r.othersElapsedMs))} ms · CPU ${fmt(med(id, s, (r) => r.serverCpuPct))}% · ` +
    `${fmt(
      med(id, s, (r) => r.cpuUsPerDelivery),
      1,
    )} µs/delivery`;
  row(
    `${fmt(PAUSED_DELTAS)} deltas to 10 subscribers, none paused (last delta of 9)`,
    cell('paused-none'),
  );
  row(`the same, 1 of 10 paused (last delta of the other 9)`, cell('paused-one'));
  const tetherSlowdown = servers.includes('tether') ? slowdown('tether') : null;
  row(
    'slowdown of the 9 from the paused one',
    (s) => (slowdown(s) === null ? '-' : `${fmt(slowdown(s), 2)}x`),
    target(tetherSlowdown === null ? null : tetherSlowdown < 1.1, '< 1.10x'),
  );
  row('the paused one, once it reads again', (s) => {
    const outcomes = runsOf('paused-one', s).map((r) => r.pausedOutcome);
    const text = (o) =>
      o === null
        ? 'no answer'
        : o.complete
          ? 'caught up'
          : `closed ${o.closedCode ?? '?'} after ${fmt(o.received)}`;
    const distinct = [...new Set(outcomes.map(text))];
    return distinct.join(' / ');
  });
}
const allIds = [...new Set([...results.keys()].map((k) => k.split('/')[0]))].filter(
  (id) => id !== 'overhead',
);
if (allIds.length) {
  row('every active subscriber got every delta, in order', (s) =>
    allIds.every((id) =>
      runsOf(id, s).every((r) => !r.failed && r.complete === r.activeCount && r.outOfOrder === 0),
    )
      ? 'yes'
      : 'NO',
  );
}
console.table(rows);

const columns = Object.keys(rows[0] ?? {});
const today = new Date().toISOString().slice(0, 10);
const markdown = [
  `Measured ${today}, machine: 2 cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.version}; ` +
    `\`cd /work/main && npx --yes pnpm@10.34.9 bench agent\` (medians of ${RUNS} interleaved runs).`,
  '',
  `| ${columns.join(' | ')} |`,
  `| ${columns.map((_c, i) => (i === 0 ? ':---' : '---:')).join(' | ')} |`,
  ...rows.map((r) => `| ${columns.map((c) => r[c]).join(' | ')} |`),
];
console.log(`\n${markdown.join('\n')}\n`);

const notes = [];
for (const server of servers) {
  const all = [...results.entries()]
    .filter(([k]) => k.endsWith(`/${server}`))
    .flatMap(([, v]) => v);
  const failures = all.filter((r) => r.failed || r.failures).length;
  const side = all.reduce((sum, r) => sum + (r.sideRequests ?? 0), 0);
  const firstDelta = med('fanout-50', server, (r) => r.firstDeltaMs);
  const turnDone = med('fanout-50', server, (r) => r.turnCompletedMs);
  const subsCpu = median(all.filter((r) => r.subscribersCpuPct).map((r) => r.subscribersCpuPct));
  const others = median(all.filter((r) => r.machineOthersPct).map((r) => r.machineOthersPct));
  const waited = median(all.filter((r) => r.serverWaitPct).map((r) => r.serverWaitPct));
  notes.push(
    `${server}: ${failures ? `${failures} runs with a failed turn` : 'every turn completed'}; ` +
      `${side} side requests to the model; 50 subscribers: first delta ${fmt(firstDelta)} ms, ` +
      `driver's turn/completed ${fmt(turnDone)} ms after turn/start; subscriber process CPU ` +
      `${fmt(subsCpu)}%, other processes ${fmt(others)}% of the machine; the server was runnable ` +
      `but waiting for a CPU ${fmt(waited)}% of the time, summed over its threads (medians over its ` +
      `fan-out runs).`,
  );
}
notes.push(
  `Cells: time from turn/start to the last subscriber's last delta · delivered deltas/s · server ` +
    `CPU (process tree, 100% = one core) · server CPU time per delivered delta. Whole bench ${fmt(totalSeconds)} s; 1-minute load ` +
    `average ${fmt(loadBefore, 2)} before, ${fmt(loadAfter, 2)} after.`,
);
for (const note of notes) console.log(`- ${note}`);
