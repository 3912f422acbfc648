import type { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { tempHome, waitFor } from '@tether/test-kit';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, replyBody, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

async function setup(options: Parameters<typeof startServer>[1] = {}) {
  const s = await startServer(replyBody(['Hello', ' from', ' tether.']), options);
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: true });
  clients.push(a);
  return { s, a };
}

async function runTurn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  const done = await c.waitForNotification(
    'turn/completed',
    (p) => (p.turn as app.Turn).id === turn.id,
    {
      from,
    },
  );
  return { turn, completed: done.params as { turn: app.Turn } };
}

describe('threads', () => {
  it('thread/start answers with the reference shape and tells every initialized connection', async () => {
    const { s, a } = await setup();
    const b = await client(s, 'b');
    clients.push(b);
    const result = await a.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });
    expect(app.ThreadStartResponse.parse(result)).toEqual(result);
    expect(result.thread.status).toEqual({ type: 'idle' });
    expect(result.approvalPolicy).toBe('never');
    expect(result.cwd).toBe('/tmp');
    const started = await b.waitForNotification('thread/started');
    expect((started.params as { thread: app.Thread }).thread.id).toBe(result.thread.id);
    expect(started.emittedAtMs).toEqual(expect.any(Number));
  });

  it('a turn streams to subscribers in the reference order and is read back from the rollout', async () => {
    const { a } = await setup();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const from = a.notifications.cursor;
    const { completed } = await runTurn(a, thread.id, 'say hi');
    const methods = a.notifications.since(from).map((n) => n.method);
    expect(methods).toEqual([
      'thread/status/changed',
      'turn/started',
      'item/started',
      'item/completed',
      'item/started',
      'item/agentMessage/delta',
      'item/agentMessage/delta',
      'item/agentMessage/delta',
      'item/completed',
      'thread/readState/changed',
      'thread/status/changed',
      'turn/completed',
    ]);
    expect(completed.turn.status).toBe('completed');
    expect(completed.turn.items).toMatchObject([
      { type: 'agentMessage', text: 'Hello from tether.' },
    ]);
    for (const n of a.notifications.since(from)) {
      const schema = app.serverNotifications[n.method as app.ServerNotificationMethod];
      expect(schema.parse(n.params)).toEqual(n.params);
    }
    const read = await a.request('thread/read', { threadId: thread.id, includeTurns: true });
    expect(read.thread.turns).toHaveLength(1);
    expect(read.thread.turns?.[0]?.items.map((i) => i.type)).toEqual([
      'userMessage',
      'agentMessage',
    ]);
    expect(read.thread.preview).toBe('say hi');
    const list = await a.request('thread/list', { limit: 5 });
    expect(list.data.map((t) => t.id)).toEqual([thread.id]);
    expect(list.data[0]?.status).toEqual({ type: 'idle' });
  });

  it('unsubscribe reports unsubscribed, notSubscribed and notLoaded; the thread stays loaded', async () => {
    const { a } = await setup();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    expect(await a.request('thread/unsubscribe', { threadId: thread.id })).toEqual({
      status: 'unsubscribed',
    });
    expect(await a.request('thread/unsubscribe', { threadId: thread.id })).toEqual({
      status: 'notSubscribed',
    });
    expect(
      await a.request('thread/unsubscribe', { threadId: '01a200ff-0000-7000-8000-000000000000' }),
    ).toEqual({ status: 'notLoaded' });
    expect(await a.request('thread/loaded/list', {})).toEqual({
      data: [thread.id],
      nextCursor: null,
    });
  });

  it('lists with pagination, sorts, filters by cwd and archived; names, archives, unarchives', async () => {
    const { a } = await setup();
    const ids: string[] = [];
    for (const cwd of ['/tmp', '/var', '/tmp']) {
      const { thread } = await a.request('thread/start', { cwd });
      await runTurn(a, thread.id, `hello from ${cwd}`);
      ids.push(thread.id);
    }
    const page1 = await a.request('thread/list', { limit: 2 });
    expect(page1.data.map((t) => t.id)).toEqual([ids[2], ids[1]]);
    const page2 = await a.request('thread/list', { limit: 2, cursor: page1.nextCursor });
    expect(page2.data.map((t) => t.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
    const asc = await a.request('thread/list', { sortDirection: 'asc' });
    expect(asc.data.map((t) => t.id)).toEqual(ids);
    const tmp = await a.request('thread/list', { cwd: '/tmp' });
    expect(tmp.data.map((t) => t.id).sort()).toEqual([ids[0], ids[2]].sort());

    await a.request('thread/name/set', { threadId: ids[1] as string, name: 'renamed' });
    await a.waitForNotification('thread/name/updated');
    expect((await a.request('thread/read', { threadId: ids[1] as string })).thread.name).toBe(
      'renamed',
    );

    const from = a.notifications.cursor;
    expect(await a.request('thread/archive', { threadId: ids[0] as string })).toEqual({});
    await a.waitForNotification('thread/archived', (p) => p.threadId === ids[0], { from });
    const status = a.notifications.since(from).find((n) => n.method === 'thread/status/changed');
    expect(status?.params).toEqual({
      threadId: ids[0],
      status: { type: 'notLoaded' },
    });
    expect((await a.request('thread/list', {})).data.map((t) => t.id)).not.toContain(ids[0]);
    expect((await a.request('thread/list', { archived: true })).data.map((t) => t.id)).toEqual([
      ids[0],
    ]);
    expect((await a.request('thread/loaded/list', {})).data).not.toContain(ids[0]);
    const unarchived = await a.request('thread/unarchive', { threadId: ids[0] as string });
    expect(unarchived.thread.id).toBe(ids[0]);
    await a.waitForNotification('thread/unarchived');
    expect((await a.request('thread/list', {})).data.map((t) => t.id)).toContain(ids[0]);
  });

  it('forks a thread with its history and resumes a stored thread after a restart', async () => {
    const home = tempHome();
    const { s, a } = await setup({ home });
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await runTurn(a, thread.id, 'first');
    const fork = await a.request('thread/fork', { threadId: thread.id });
    expect(fork.thread.forkedFromId).toBe(thread.id);
    expect(fork.thread.turns).toHaveLength(1);
    await a.waitForNotification(
      'thread/started',
      (p) => (p.thread as app.Thread).id === fork.thread.id,
    );

    // restart: a new server on the same home resumes the thread from disk
    a.close();
    await s.shutdown();
    const s2 = await startServer(replyBody(['again']), { home });
    servers.push(s2);
    const b = await client(s2, 'b');
    clients.push(b);
    const resumed = await b.request('thread/resume', { threadId: thread.id });
    expect(app.ThreadResumeResponse.parse(resumed)).toEqual(resumed);
    expect(resumed.thread.turns?.map((t) => t.status)).toEqual(['completed']);
    await runTurn(b, thread.id, 'second');
    const read = await b.request('thread/read', { threadId: thread.id, includeTurns: true });
    expect(read.thread.turns).toHaveLength(2);
  });

  it('turn errors use the reference wording', async () => {
    const { a } = await setup();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await expect(a.request('turn/interrupt', { threadId: thread.id, turnId: 'x' })).rejects.toThrow(
      'no active turn to interrupt',
    );
    await expect(
      a.request('turn/steer', {
        threadId: thread.id,
        expectedTurnId: 'x',
        input: [{ type: 'text', text: 'x' }],
      }),
    ).rejects.toThrow('no active turn to steer');
    await expect(
      a.request('turn/start', {
        threadId: '01a200ff-0000-7000-8000-000000000000',
        input: [{ type: 'text', text: 'x' }],
      }),
    ).rejects.toThrow('thread not found: 01a200ff-0000-7000-8000-000000000000');
  });

  it('command/exec runs a one-off command', async () => {
    const { a } = await setup();
    const result = await a.request('command/exec', {
      command: ['bash', '-c', 'echo out; echo err >&2; exit 3'],
      cwd: '/tmp',
    });
    expect(result).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const capped = await a.request('command/exec', {
      command: ['bash', '-c', 'head -c 100000 /dev/zero | tr "\\0" x'],
      outputBytesCap: 10,
    });
    expect(capped.stdout).toBe('xxxxxxxxxx');
    const timed = await a.request('command/exec', { command: ['sleep', '10'], timeoutMs: 100 });
    expect(timed.exitCode).toBe(124);
  });

  it('records thread/start before a client disconnect; an uninitialized send is ignored', async () => {
    const { s, a } = await setup();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    a.close();
    await waitFor(() => s.state.subscribers(thread.id).length === 0);
    expect(s.threads.isLoaded(thread.id)).toBe(true);
  });

  it('an event the listener cannot handle is logged and skipped: the thread goes on', async () => {
    const errors: string[] = [];
    const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
    const s = await startServer(
      async (turn) => {
        const ids = { threadId: turn.threadId, turnId: turn.turnId };
        // a notification no client can be sent (JSON has no BigInt; the params are loose objects)
        turn.emit('item/agentMessage/delta', { ...ids, itemId: 'm', delta: '', extra: 1n });
        return replyBody(['still here'])(turn);
      },
      { logger },
    );
    servers.push(s);
    const a = await client(s, 'a');
    clients.push(a);
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const { completed } = await runTurn(a, thread.id, 'go');
    expect(completed.turn.status).toBe('completed');
    expect(completed.turn.items.map((i) => (i.type === 'agentMessage' ? i.text : i.type))).toEqual([
      'still here',
    ]);
    expect(errors.join('')).toContain('thread event not handled');
    // and the next turn too
    expect((await runTurn(a, thread.id, 'again')).completed.turn.status).toBe('completed');
  });
});
