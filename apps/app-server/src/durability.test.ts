import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TurnBody } from '@tether/agent-core';
import { conversationOf, MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { launchAppServer, pgrep, sleep, tempHome, waitFor } from '@tether/test-kit';
import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppServer, AppServerOptions } from './server.js';
import { client, startServer } from './test-support/harness.js';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

// ---- every item the server can produce, every way a turn can end ----------------------------

const text = fc.string({ maxLength: 40 });
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
const ms = fc.integer({ min: 0, max: 2 ** 41 });

const itemArbitraries: fc.Arbitrary<Omit<app.KnownThreadItem, 'id'>>[] = [
  fc.record({
    type: fc.constant('agentMessage' as const),
    text,
    phase: nullable(fc.constantFrom('commentary' as const, 'final_answer' as const)),
    memoryCitation: fc.constant(null),
    delivery: fc.constant(null),
    questions: nullable(fc.constant([])),
    moderation: fc.constant(null),
    startedAtMs: ms,
    completedAtMs: nullable(ms),
  }),
  fc.record({
    type: fc.constant('commandExecution' as const),
    command: text,
    cwd: fc.constant('/tmp'),
    processId: nullable(fc.string({ minLength: 1, maxLength: 6 })),
    source: fc.constantFrom('agent' as const, 'userShell' as const, 'unifiedExecStartup' as const),
    status: fc.constantFrom(
      'completed' as const,
      'failed' as const,
      'declined' as const,
      'inProgress' as const,
    ),
    commandActions: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant('unknown' as const), command: text }),
        fc.record({ type: fc.constant('read' as const), command: text, name: text, path: text }),
        fc.record({ type: fc.constant('listFiles' as const), command: text, path: nullable(text) }),
      ),
      { maxLength: 2 },
    ),
    aggregatedOutput: nullable(text),
    exitCode: nullable(fc.integer({ min: -1, max: 255 })),
    durationMs: nullable(fc.integer({ min: 0, max: 100_000 })),
    pluginId: nullable(text),
    scriptPath: nullable(text),
    startedAtMs: ms,
    completedAtMs: nullable(ms),
  }),
  fc.record({
    type: fc.constant('reasoning' as const),
    summary: fc.array(text, { maxLength: 3 }),
    content: fc.array(text, { maxLength: 2 }),
  }),
  fc.record({ type: fc.constant('plan' as const), text }),
  fc.record({
    type: fc.constant('fileChange' as const),
    changes: fc.array(
      fc.record({
        path: text,
        kind: fc.oneof(
          fc.constant({ type: 'add' as const }),
          fc.constant({ type: 'delete' as const }),
          fc.record({ type: fc.constant('update' as const), move_path: nullable(text) }),
        ),
        diff: text,
      }),
      { maxLength: 2 },
    ),
    status: fc.constantFrom('completed' as const, 'failed' as const, 'declined' as const),
  }),
  fc.record({ type: fc.constant('contextCompaction' as const) }),
];

const turnPlan = fc.record({
  items: fc.array(fc.record({ item: fc.oneof(...itemArbitraries), alsoStarted: fc.boolean() }), {
    maxLength: 4,
  }),
  end: fc.constantFrom('completed' as const, 'failed' as const, 'interrupted' as const),
});

type TurnPlan = typeof turnPlan extends fc.Arbitrary<infer T> ? T : never;

/** Turn bodies that play the plan named by the turn's input. */
function planBody(plans: Map<string, TurnPlan>): TurnBody {
  return async (turn) => {
    const key = turn.inputs[0]?.[0]?.type === 'text' ? turn.inputs[0][0].text : '';
    const plan = plans.get(key);
    if (!plan) return { status: 'completed' };
    const ids = { threadId: turn.threadId, turnId: turn.turnId };
    plan.items.forEach(({ item, alsoStarted }, i) => {
      // the generated fields with an id, as an item (the arbitraries make only valid ones)
      const full = app.ThreadItem.parse({ ...item, id: `${turn.turnId}-${i}` });
      if (alsoStarted) turn.emit('item/started', { item: full, ...ids, startedAtMs: 1 });
      turn.emit('item/completed', {
        item: full,
        ...ids,
        contentTokenCount: null,
        completedAtMs: 2,
      });
    });
    if (plan.end === 'failed') throw new Error('planned failure');
    if (plan.end === 'interrupted') return { status: 'interrupted' };
    return { status: 'completed' };
  };
}

describe('nothing written is ever unreadable', () => {
  it('every item variant and turn ending reads back the same after a restart (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(turnPlan, { minLength: 1, maxLength: 4 }), async (turns) => {
        const home = tempHome();
        const plans = new Map(turns.map((plan, i) => [`turn ${i}`, plan]));
        const first = await startServer(planBody(plans), { home });
        const a = await client(first, 'a');
        const { thread } = await a.request('thread/start', { cwd: '/tmp' });
        for (const key of plans.keys()) {
          const from = a.notifications.cursor;
          await a.request('turn/start', {
            threadId: thread.id,
            input: [{ type: 'text', text: key }],
          });
          await a.waitForNotification('turn/completed', undefined, { from });
        }
        const before = await a.request('thread/read', { threadId: thread.id, includeTurns: true });
        a.close();
        await first.shutdown();
        const second = await startServer(planBody(plans), { home });
        const b = await client(second, 'b');
        const after = await b.request('thread/read', { threadId: thread.id, includeTurns: true });
        b.close();
        await second.shutdown();
        expect(after.thread.turns).toEqual(before.thread.turns);
        expect(before.thread.turns?.map((t) => t.status)).toEqual(turns.map((t) => t.end));
        // every item made it: streamed replies and reasoning only if they completed (they all did)
        expect(before.thread.turns?.flatMap((t) => t.items)).toHaveLength(
          turns.length + turns.reduce((n, t) => n + t.items.length, 0),
        );
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

// ---- a real server process, killed -----------------------------------------------------------

function launch(home: string, mock: MockResponsesServer) {
  return launchAppServer(
    cli,
    ['--listen', 'ws://127.0.0.1:0', '--model', 'mock-model', '--model-base-url', mock.baseUrl],
    { env: { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn' } },
  );
}

async function connect(url: string, name: string) {
  const c = await AppServerClient.connectWebSocket(url);
  clients.push(c);
  await c.initialize({ name, version: '1.0.0' }, { experimentalApi: true });
  return c;
}

describe('a server killed with SIGKILL', () => {
  const mocks: MockResponsesServer[] = [];
  afterAll(async () => {
    for (const m of mocks) await m.close();
  });

  it('loses nothing of a turn that completed, and a second server may take the thread over', async () => {
    const home = tempHome('tether-kill-');
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'echo survived' },
        callId: 'call_k',
      }),
      mockReply.text(['It printed survived.']),
    );
    await using one = launch(home, mock);
    const a = await connect(await one.url, 'a');
    const { thread } = await a.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });
    await a.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'run it' }],
    });
    await a.waitForNotification('turn/completed', undefined, { timeoutMs: 20_000 });
    const before = await a.request('thread/read', { threadId: thread.id, includeTurns: true });
    expect(before.thread.turns?.[0]?.items.map((i) => i.type)).toEqual([
      'userMessage',
      'commandExecution',
      'agentMessage',
    ]);

    // a second server on the same home cannot take a thread the first one runs
    await using two = launch(home, mock);
    const b = await connect(await two.url, 'b');
    await expect(b.request('thread/resume', { threadId: thread.id })).rejects.toThrow(
      `thread ${thread.id} already has an active writer`,
    );
    // but it can read it
    expect((await b.request('thread/read', { threadId: thread.id })).thread.id).toBe(thread.id);

    await one.stop();
    const resumed = await b.request('thread/resume', { threadId: thread.id });
    expect(resumed.thread.turns).toEqual(before.thread.turns);
    const after = await b.request('thread/read', { threadId: thread.id, includeTurns: true });
    expect(after.thread.turns).toEqual(before.thread.turns);
  }, 60_000);

  it('leaves no process behind: sandboxed and unsandboxed agent commands and command/exec', async () => {
    const home = tempHome('tether-kill-children-');
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const marker = 930_000 + (process.pid % 30_000);
    const sleeps = [marker, marker + 1, marker + 2];
    await using one = launch(home, mock);
    const a = await connect(await one.url, 'a');
    for (const [index, sandbox] of (['read-only', 'danger-full-access'] as const).entries()) {
      mock.enqueue(
        mockReply.toolCall({
          name: 'exec_command',
          arguments: { cmd: `sleep ${sleeps[index]} & sleep ${sleeps[index]}` },
          callId: `call_${index}`,
        }),
      );
      const { thread } = await a.request('thread/start', {
        cwd: '/tmp',
        approvalPolicy: 'never',
        sandbox,
      });
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
    }
    void a
      .request('command/exec', {
        command: ['sleep', String(sleeps[2])],
        sandboxPolicy: { type: 'dangerFullAccess' },
        disableTimeout: true,
      })
      .catch(() => undefined);
    const running = () => sleeps.flatMap((n) => pgrep(`sleep ${n}`, { exact: true }));
    await waitFor(() => running().length >= 5);
    expect(running()).toHaveLength(5);
    await one.stop();
    await waitFor(() => running().length === 0);
  }, 60_000);

  it('killed while a command runs: after a restart the thread goes on, the cut-off call answered "aborted"', async () => {
    const home = tempHome('tether-kill-cmd-');
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'sleep 30' },
        callId: 'call_sleep',
      }),
    );
    await using one = launch(home, mock);
    const a = await connect(await one.url, 'a');
    const { thread } = await a.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });
    await a.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'RUN: sleep 30' }],
    });
    await a.waitForNotification(
      'item/started',
      (p) => (p.item as app.ThreadItem).type === 'commandExecution',
      { timeoutMs: 20_000 },
    );
    await one.stop();

    await using two = launch(home, mock);
    const b = await connect(await two.url, 'b');
    await b.request('thread/resume', { threadId: thread.id, excludeTurns: true });
    mock.enqueue(mockReply.text(['Back.']));
    const from = b.notifications.cursor;
    await b.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'next' }] });
    const done = await b.waitForNotification('turn/completed', undefined, {
      from,
      timeoutMs: 20_000,
    });
    // the mock refuses a call without its output with a 400, as the real API does
    expect((done.params as { turn: app.Turn }).turn).toMatchObject({ status: 'completed' });
    const input = mock.requests.at(-1)?.body.input;
    expect(
      conversationOf(input).map((raw) => {
        const item = raw as { type: string; call_id?: string };
        return `${item.type} ${item.call_id ?? ''}`;
      }),
    ).toEqual([
      'message ',
      'function_call call_sleep',
      'function_call_output call_sleep',
      'message ',
    ]);
  }, 60_000);
});

// ---- a full disk -----------------------------------------------------------------------------

/** A small tmpfs as a real full disk; null (with the reason) where mounting is impossible. */
function mountSmallDisk(): { dir: string; unmount: () => void } | { skip: string } {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return { skip: 'needs root on Linux to mount a small tmpfs' };
  }
  const dir = tempHome('tether-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    return { skip: `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}` };
  }
  return {
    dir,
    unmount: () => {
      execFileSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the disk to the last byte; returns the filler's path (delete it to make room). */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) writeFileSync(filler, chunk, { flag: 'a' });
  } catch {
    // full
  }
  for (let size = 4096; size >= 1; size = Math.floor(size / 2)) {
    try {
      for (;;) writeFileSync(filler, Buffer.alloc(size, 1), { flag: 'a' });
    } catch {
      // this size no longer fits
    }
  }
  return filler;
}

const disk = mountSmallDisk();
if ('skip' in disk) console.warn(`skipping the full-disk tests: ${disk.skip}`);
const diskTest = it;

describe.skipIf('skip' in disk)('a full disk', () => {
  afterAll(() => {
    if (!('skip' in disk)) disk.unmount();
  });

  diskTest(
    'a turn is reported completed only once its records are on disk; nothing is lost',
    async () => {
      if ('skip' in disk) return;
      const home = join(disk.dir, 'home-ok');
      mkdirSync(home);
      const big = 'x'.repeat(64 * 1024);
      const s = await startServer(
        async (turn) => {
          const ids = { threadId: turn.threadId, turnId: turn.turnId };
          const item: app.AgentMessageItem = {
            type: 'agentMessage',
            id: `msg_${turn.turnId}`,
            text: big,
            phase: null,
            memoryCitation: null,
            delivery: null,
            questions: null,
            moderation: null,
          };
          turn.emit('item/completed', { item, ...ids, contentTokenCount: null, completedAtMs: 1 });
          return { status: 'completed' };
        },
        { home, persistRetryDelayMs: 20 },
      );
      servers.push(s);
      const a = await client(s, 'a');
      clients.push(a);
      const { thread } = await a.request('thread/start', { cwd: '/tmp' });
      const filler = fill(disk.dir);
      const from = a.notifications.cursor;
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
      const warning = await a.waitForNotification('warning', undefined, { from });
      expect((warning.params as { message: string }).message).toMatch(/ENOSPC/);
      expect((warning.params as { message: string }).message).toContain(thread.path as string);
      const error = await a.waitForNotification('error', undefined, { from });
      expect(error.params).toMatchObject({ willRetry: true, threadId: thread.id });
      await sleep(200);
      expect(a.notifications.since(from).map((n) => n.method)).not.toContain('turn/completed');
      rmSync(filler);
      const done = await a.waitForNotification('turn/completed', undefined, { from });
      expect((done.params as { turn: app.Turn }).turn.status).toBe('completed');
      a.close();
      await s.shutdown();
      servers.splice(servers.indexOf(s), 1);
      const again = await startServer(async () => ({ status: 'completed' }), { home });
      servers.push(again);
      const b = await client(again, 'b');
      clients.push(b);
      const read = await b.request('thread/read', { threadId: thread.id, includeTurns: true });
      expect(read.thread.turns?.[0]).toMatchObject({ status: 'completed' });
      expect(read.thread.turns?.[0]?.items.map((i) => i.type)).toEqual([
        'userMessage',
        'agentMessage',
      ]);
      expect(
        b.notifications.since().filter((n) => n.method === 'warning'),
        'no unreadable line left behind',
      ).toEqual([]);
    },
    30_000,
  );

  diskTest('thread/start on a full disk fails and leaves no file behind', async () => {
    if ('skip' in disk) return;
    const home = join(disk.dir, 'home-start');
    mkdirSync(home);
    const s = await startServer(async () => ({ status: 'completed' }), { home });
    servers.push(s);
    const a = await client(s, 'a');
    clients.push(a);
    const filler = fill(disk.dir);
    try {
      await expect(a.request('thread/start', { cwd: '/tmp' })).rejects.toThrow(
        /ENOSPC|SQLITE_FULL|full/,
      );
      const sessions = join(home, 'sessions');
      const files = (dir: string): string[] =>
        (existsSync(dir) ? readdirSync(dir, { withFileTypes: true }) : []).flatMap((e) =>
          e.isDirectory() ? files(join(dir, e.name)) : [e.name],
        );
      expect(files(sessions).filter((name) => name.endsWith('.jsonl'))).toEqual([]);
    } finally {
      rmSync(filler);
    }
  });

  diskTest(
    'a turn whose records cannot be saved in time is reported failed, and written so once the disk has room',
    async () => {
      if ('skip' in disk) return;
      const home = join(disk.dir, 'home-timeout');
      mkdirSync(home);
      const big = 'y'.repeat(64 * 1024);
      const s = await startServer(
        async (turn) => {
          const ids = { threadId: turn.threadId, turnId: turn.turnId };
          const item: app.PlanItem = { type: 'plan', id: `plan_${turn.turnId}`, text: big };
          turn.emit('item/completed', { item, ...ids, contentTokenCount: null, completedAtMs: 1 });
          return { status: 'completed' };
        },
        { home, persistTimeoutMs: 300, persistRetryDelayMs: 20 },
      );
      servers.push(s);
      const a = await client(s, 'a');
      clients.push(a);
      const { thread } = await a.request('thread/start', { cwd: '/tmp' });
      const filler = fill(disk.dir);
      const from = a.notifications.cursor;
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
      const done = await a.waitForNotification('turn/completed', undefined, { from });
      const turn = (done.params as { turn: app.Turn }).turn;
      expect(turn.status).toBe('failed');
      expect(turn.error?.message).toMatch(/could not be saved.*ENOSPC/);
      rmSync(filler);
      await sleep(300);
      const read = await a.request('thread/read', { threadId: thread.id, includeTurns: true });
      expect(read.thread.turns?.[0]).toMatchObject({ status: 'failed' });
    },
    30_000,
  );
  /** A turn that answers with one big agent message (no 64 KiB record fits a full disk). */
  const bigReply =
    (fillWith: string): TurnBody =>
    async (turn) => {
      const ids = { threadId: turn.threadId, turnId: turn.turnId };
      const item: app.AgentMessageItem = {
        type: 'agentMessage',
        id: `msg_${turn.turnId}`,
        text: fillWith.repeat(64 * 1024),
        phase: null,
        memoryCitation: null,
        delivery: null,
        questions: null,
        moderation: null,
      };
      turn.emit('item/completed', { item, ...ids, contentTokenCount: null, completedAtMs: 1 });
      return { status: 'completed' };
    };

  /** Starts a server on the small disk, with one client and a thread. */
  async function onDisk(name: string, body: TurnBody, options: Partial<AppServerOptions>) {
    const home = join('skip' in disk ? tmpdir() : disk.dir, name);
    mkdirSync(home);
    const s = await startServer(body, { home, persistRetryDelayMs: 20, ...options });
    servers.push(s);
    const a = await client(s, 'a', { experimentalApi: true });
    clients.push(a);
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    return { s, a, thread, home };
  }

  /** Shuts `s` down and reads the thread back from a new server on the same home. */
  async function readAfterRestart(s: AppServer, home: string, threadId: string) {
    await s.shutdown({ waitForTurns: false });
    servers.splice(servers.indexOf(s), 1);
    const again = await startServer(async () => ({ status: 'completed' }), { home });
    servers.push(again);
    const b = await client(again, 'b');
    clients.push(b);
    return (await b.request('thread/read', { threadId, includeTurns: true })).thread.turns ?? [];
  }

  diskTest(
    'records waiting for the disk outlive the client leaving: no idle unload until they are written, and the turn is there after a restart, ended when it ended',
    async () => {
      if ('skip' in disk) return;
      const { s, a, thread, home } = await onDisk('home-unload', bigReply('u'), {
        persistTimeoutMs: 300,
        unloadDelayMs: 50,
      });
      const filler = fill(disk.dir);
      let turn: app.Turn;
      try {
        const from = a.notifications.cursor;
        await a.request('turn/start', {
          threadId: thread.id,
          input: [{ type: 'text', text: 'go' }],
        });
        const done = await a.waitForNotification('turn/completed', undefined, { from });
        turn = (done.params as { turn: app.Turn }).turn;
        expect(turn.status).toBe('failed');
        a.close(); // the user closes the TUI
        // the idle delay passes again and again while the disk is full: the thread stays loaded
        await sleep(1200);
        expect(s.threads.isLoaded(thread.id)).toBe(true);
      } finally {
        rmSync(filler);
      }
      await waitFor(() => !s.threads.isLoaded(thread.id), { timeoutMs: 15_000 });
      const turns = await readAfterRestart(s, home, thread.id);
      expect(turns.map((t) => [t.id, t.status, t.items.map((i) => i.type)])).toEqual([
        [turn.id, 'failed', ['userMessage', 'agentMessage']],
      ]);
      // completed when it ended, not when the disk finally took it (over a second later)
      expect(turns[0]?.completedAt).toBe(turn.completedAt);
    },
    30_000,
  );

  diskTest(
    'a graceful shutdown on a full disk gives waiting records time to be written',
    async () => {
      if ('skip' in disk) return;
      const { s, a, thread, home } = await onDisk('home-shutdown', bigReply('s'), {
        persistTimeoutMs: 1500,
      });
      const filler = fill(disk.dir);
      const from = a.notifications.cursor;
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
      let stopping: Promise<void>;
      try {
        const done = await a.waitForNotification('turn/completed', undefined, { from });
        expect((done.params as { turn: app.Turn }).turn.status).toBe('failed');
        stopping = s.shutdown({ waitForTurns: false });
        await sleep(200);
      } finally {
        rmSync(filler);
      }
      await stopping;
      const turns = await readAfterRestart(s, home, thread.id);
      expect(turns.map((t) => [t.status, t.items.map((i) => i.type)])).toEqual([
        ['failed', ['userMessage', 'agentMessage']],
      ]);
    },
    30_000,
  );

  diskTest(
    'archive and revert wait for waiting records, then refuse with the reason; the thread stays as it was',
    async () => {
      if ('skip' in disk) return;
      const { s, a, thread, home } = await onDisk('home-archive', bigReply('a'), {
        persistTimeoutMs: 200,
      });
      const filler = fill(disk.dir);
      const from = a.notifications.cursor;
      const { turn } = await a.request('turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'go' }],
      });
      await a.waitForNotification('turn/completed', undefined, { from });
      try {
        await expect(a.request('thread/archive', { threadId: thread.id })).rejects.toThrow(
          new RegExp(
            `thread ${thread.id} has \\d+ record\\(s\\) waiting for the disk .*ENOSPC.*retry thread/archive once they are saved`,
          ),
        );
        await expect(
          a.request('thread/revert', { threadId: thread.id, beforeTurnId: turn.id }),
        ).rejects.toThrow(/waiting for the disk .*retry thread\/revert once they are saved/);
        expect(s.threads.isLoaded(thread.id)).toBe(true);
        expect(s.state.subscribers(thread.id)).toHaveLength(1);
      } finally {
        rmSync(filler);
      }
      expect(await a.request('thread/archive', { threadId: thread.id })).toEqual({});
      await a.request('thread/unarchive', { threadId: thread.id });
      const turns = await readAfterRestart(s, home, thread.id);
      expect(turns.map((t) => [t.id, t.items.map((i) => i.type)])).toEqual([
        [turn.id, ['userMessage', 'agentMessage']],
      ]);
    },
    30_000,
  );

  diskTest(
    'records dropped because too many waited: the turn is reported failed and subscribers are warned',
    async () => {
      if ('skip' in disk) return;
      const { a, thread } = await onDisk(
        'home-dropped',
        async (turn) => {
          const ids = { threadId: turn.threadId, turnId: turn.turnId };
          for (let i = 0; i < 5; i++) {
            const text = `step ${i} `.repeat(8 * 1024);
            const item: app.PlanItem = { type: 'plan', id: `plan_${i}`, text };
            turn.emit('item/completed', {
              item,
              ...ids,
              contentTokenCount: null,
              completedAtMs: 1,
            });
          }
          return { status: 'completed' };
        },
        { persistTimeoutMs: 10_000, persistMaxPending: 2 },
      );
      const filler = fill(disk.dir);
      const from = a.notifications.cursor;
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'go' }] });
      try {
        await a.waitForNotification('error', undefined, { from });
        await sleep(100); // the body is done; the turn waits for the disk
      } finally {
        rmSync(filler);
      }
      const done = await a.waitForNotification('turn/completed', undefined, { from });
      const turn = (done.params as { turn: app.Turn }).turn;
      expect(turn.status).toBe('failed');
      expect(turn.error?.message).toMatch(/could not be saved whole.*dropped/);
      const warnings = a.notifications
        .since(from)
        .filter((n) => n.method === 'warning')
        .map((n) => (n.params as { message: string }).message);
      expect(warnings.some((m) => /dropped records of this thread/.test(m))).toBe(true);
    },
    30_000,
  );

  diskTest(
    'thread/readState/update compares the revision in event order: a turn completing first makes it a conflict',
    async () => {
      if ('skip' in disk) return;
      const { a, thread } = await onDisk('home-readstate', bigReply('r'), {
        persistTimeoutMs: 10_000,
      });
      let from = a.notifications.cursor;
      await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: '1' }] });
      await a.waitForNotification('turn/completed', undefined, { from });
      const unread = (await a.request('thread/read', { threadId: thread.id })).readState;
      const read = await a.request('thread/readState/update', {
        threadId: thread.id,
        operation: { type: 'read' },
        expectedRevision: unread?.revision ?? '',
      });
      const filler = fill(disk.dir);
      from = a.notifications.cursor;
      const { turn } = await a.request('turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: '2' }],
      });
      let update: Promise<unknown>;
      try {
        await a.waitForNotification('error', undefined, { from });
        await sleep(50); // turn 2 is over and waits for the disk
        // the client saw the read state before turn 2: its revision is stale once turn 2 is in
        update = a.request('thread/readState/update', {
          threadId: thread.id,
          operation: { type: 'read' },
          expectedRevision: read.readState.revision,
        });
        update.catch(() => undefined);
        await sleep(50);
      } finally {
        rmSync(filler);
      }
      await a.waitForNotification('turn/completed', undefined, { from });
      await expect(update).rejects.toThrow('read state changed');
      const after = (await a.request('thread/read', { threadId: thread.id })).readState;
      expect(after?.firstUnread).toEqual({ type: 'turn', turnId: turn.id });
    },
    30_000,
  );

  diskTest(
    'a queued submission never starts in a thread being deleted',
    async () => {
      if ('skip' in disk) return;
      const started: string[] = [];
      let release = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      const { a, thread } = await onDisk(
        'home-queue',
        async (turn) => {
          const input = turn.inputs[0]?.[0];
          const text = input?.type === 'text' ? input.text : '';
          started.push(text);
          if (text === 'first') await gate;
          return bigReply('q')(turn);
        },
        { persistTimeoutMs: 10_000, persistRetryDelayMs: 10 },
      );
      let from = a.notifications.cursor;
      // the queue in use: it drains at once
      await a.request('thread/queue/add', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'hold' }],
        clientUserMessageId: 'q0',
      });
      await a.waitForNotification('turn/completed', undefined, { from });
      from = a.notifications.cursor;
      await a.request('turn/start', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'first' }],
      });
      await a.request('thread/queue/add', {
        threadId: thread.id,
        input: [{ type: 'text', text: 'queued' }],
        clientUserMessageId: 'q1',
      });
      const filler = fill(disk.dir);
      let deleted: Promise<unknown>;
      try {
        release();
        await a.waitForNotification('error', undefined, { from });
        // turn "first" is over and waits for the disk; the delete waits for it
        deleted = a.request('thread/delete', { threadId: thread.id });
        deleted.catch(() => undefined);
        await sleep(100);
      } finally {
        rmSync(filler);
      }
      // when it completes, the queue would start "queued": not in a thread being deleted
      expect(await deleted).toEqual({});
      await sleep(200);
      expect(started).toEqual(['hold', 'first']);
      await expect(a.request('thread/read', { threadId: thread.id })).rejects.toThrow(
        `thread not loaded: ${thread.id}`,
      );
    },
    30_000,
  );
});
