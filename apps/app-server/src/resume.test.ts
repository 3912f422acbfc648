import { completeItem, startItem, type TurnBody } from '@tether/agent-core';
import type { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { agentMessage, client, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

async function setup(body: TurnBody, options: Parameters<typeof startServer>[1] = {}) {
  const s = await startServer(body, options);
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: true });
  clients.push(a);
  const { thread } = await a.request('thread/start', { cwd: '/tmp' });
  return { s, a, threadId: thread.id };
}

async function join(s: AppServer, name: string, experimentalApi = true) {
  const c = await client(s, name, { experimentalApi });
  clients.push(c);
  return c;
}

/** A body that emits `count` completed agent messages as fast as it can, yielding in between. */
function itemsBody(count: number, gate?: Promise<void>): TurnBody {
  return async (turn) => {
    for (let i = 0; i < count; i++) {
      if (turn.signal.aborted) break;
      if (i === 10 && gate) await gate;
      const item = agentMessage(`item-${i}`, `#${i}`);
      startItem(turn, item, item.startedAtMs ?? Date.now());
      completeItem(turn, item);
      if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    return { status: 'completed' };
  };
}

/** A body that asks for approval and reports the decision in an agent message. */
const approvalBody: TurnBody = async (turn) => {
  turn.setWaitingOnApproval(true);
  const outcome = await turn.request('item/commandExecution/requestApproval', {
    threadId: turn.threadId,
    turnId: turn.turnId,
    itemId: 'call_1',
    startedAtMs: Date.now(),
    command: 'touch approved.txt',
    cwd: '/tmp',
    availableDecisions: ['accept', 'decline', 'cancel'],
    additionalPermissions: { network: true },
  });
  turn.setWaitingOnApproval(false);
  const answer = outcome.kind === 'result' ? outcome.result.decision : outcome.kind;
  const decision = typeof answer === 'string' ? answer : JSON.stringify(answer);
  completeItem(turn, agentMessage('answer', `decision=${decision}`));
  return { status: 'completed' };
};

describe('resume of a running thread', () => {
  it('the resuming client sees every event after its snapshot exactly once', async () => {
    const total = 400;
    for (let round = 0; round < 5; round++) {
      const { s, a, threadId } = await setup(itemsBody(total));
      const b = await join(s, `b${round}`);
      const { turn } = await a.request('turn/start', {
        threadId,
        input: [{ type: 'text', text: 'go' }],
      });
      await a.waitForNotification(
        'item/completed',
        (p) => (p.item as { id: string }).id === 'item-20',
      );
      const resumed = await b.request('thread/resume', { threadId });
      const snapshotTurn = resumed.thread.turns?.find((t) => t.id === turn.id);
      await b.waitForNotification('turn/completed');
      const seen = new Map<string, number>();
      for (const item of snapshotTurn?.items ?? []) {
        if (item.type === 'agentMessage' && item.id.startsWith('item-')) seen.set(item.id, 1);
      }
      for (const n of b.notifications.since()) {
        if (n.method !== 'item/completed') continue;
        const id = (n.params as { item: { id: string } }).item.id;
        if (id.startsWith('item-')) seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      expect(seen.size).toBe(total);
      expect([...seen.values()].every((count) => count === 1)).toBe(true);
      const completed = await b.waitForNotification('turn/completed');
      expect((completed.params as { turn: app.Turn }).turn.status).toBe('completed');
      a.close();
      b.close();
    }
  });

  it('replays a pending approval to the resuming client with its original id; the first answer wins', async () => {
    const { s, a, threadId } = await setup(approvalBody);
    await a.request('turn/start', { threadId, input: [{ type: 'text', text: 'run it' }] });
    const asked = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect((asked.params as { additionalPermissions?: unknown }).additionalPermissions).toEqual({
      network: true,
    });
    const waiting = await a.waitForNotification('thread/status/changed', (p) =>
      ((p.status as { activeFlags?: string[] }).activeFlags ?? []).includes('waitingOnApproval'),
    );
    expect(waiting).toBeDefined();

    // B has no experimentalApi: the replayed request is stripped of experimental fields
    const b = await join(s, 'b', false);
    const order: string[] = [];
    b.on('message', (m: { kind: string }) => order.push(m.kind));
    const resumed = b.request('thread/resume', { threadId });
    const replayed = await b.waitForServerRequest('item/commandExecution/requestApproval');
    await resumed;
    // the deprecation notice, then the response, then the replayed request
    expect(order.filter((k) => k !== 'notification')).toEqual(['response', 'request']);
    expect(replayed.id).toBe(asked.id);
    expect(replayed.params).not.toHaveProperty('additionalPermissions');

    b.respond(replayed.id, { decision: 'accept' });
    const resolvedA = await a.waitForNotification('serverRequest/resolved');
    const resolvedB = await b.waitForNotification('serverRequest/resolved');
    expect(resolvedA.params).toEqual({ threadId, requestId: asked.id });
    expect(resolvedB.params).toEqual({ threadId, requestId: asked.id });
    // A's late answer is ignored
    a.respond(asked.id, { decision: 'decline' });
    const done = await a.waitForNotification('turn/completed');
    expect((done.params as { turn: app.Turn }).turn.items[0]).toMatchObject({
      text: 'decision=accept',
    });
    await b.waitForNotification('turn/completed');
    expect(
      a.notifications.since().filter((n) => n.method === 'serverRequest/resolved'),
    ).toHaveLength(1);
  });

  it('does not replay a request that was answered before the resume', async () => {
    const { s, a, threadId } = await setup(approvalBody);
    await a.request('turn/start', { threadId, input: [{ type: 'text', text: 'run it' }] });
    const asked = await a.waitForServerRequest('item/commandExecution/requestApproval');
    a.respond(asked.id, { decision: 'decline' });
    await a.waitForNotification('turn/completed');
    const b = await join(s, 'b');
    await b.request('thread/resume', { threadId });
    await b.request('thread/loaded/list', {});
    expect(b.serverRequests).toEqual([]);
  });

  it('a turn keeps running when its only subscriber disconnects; a new client rejoins it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { s, a, threadId } = await setup(itemsBody(30, gate));
    const { turn } = await a.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'go' }],
    });
    await a.waitForNotification(
      'item/completed',
      (p) => (p.item as { id: string }).id === 'item-9',
    );
    a.close();
    await waitFor(() => s.state.subscribers(threadId).length === 0);
    expect(s.threads.isLoaded(threadId)).toBe(true);
    const c = await join(s, 'c');
    const resumed = await c.request('thread/resume', { threadId });
    expect(resumed.thread.status).toEqual({ type: 'active', activeFlags: [] });
    const active = resumed.thread.turns?.find((t) => t.id === turn.id);
    expect(active?.status).toBe('inProgress');
    expect(active?.items.filter((i) => i.id.startsWith('item-'))).toHaveLength(10);
    release();
    const done = await c.waitForNotification('turn/completed');
    expect((done.params as { turn: app.Turn }).turn.status).toBe('completed');
  });

  it('unsubscribing mid-turn stops the stream for that client only; the turn completes', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { s, a, threadId } = await setup(itemsBody(30, gate));
    const b = await join(s, 'b');
    await b.request('thread/resume', { threadId });
    await a.request('turn/start', { threadId, input: [{ type: 'text', text: 'go' }] });
    await a.waitForNotification(
      'item/completed',
      (p) => (p.item as { id: string }).id === 'item-9',
    );
    expect(await a.request('thread/unsubscribe', { threadId })).toEqual({ status: 'unsubscribed' });
    const aCount = a.notifications.cursor;
    release();
    await b.waitForNotification('turn/completed');
    // A still gets the global status broadcasts, never the turn's item events
    expect(a.notifications.since(aCount).map((n) => n.method)).not.toContain('item/completed');
    expect(s.threads.isLoaded(threadId)).toBe(true);
  });

  it('a connection that closes while its resume waits is never subscribed', async () => {
    const { s, threadId } = await setup(itemsBody(5));
    for (let i = 0; i < 20; i++) {
      const b = await join(s, `b${i}`);
      void b.request('thread/resume', { threadId }).catch(() => undefined);
      b.close();
    }
    await waitFor(() => s.connections().length === 1);
    await s.threads.isLoaded(threadId);
    await waitFor(() => s.state.subscribers(threadId).length === 1);
    expect(s.state.subscribers(threadId)).toHaveLength(1);
  });
});
