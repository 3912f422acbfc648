import { notification } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { ServerRequests } from './server-requests.js';
import { routedServer } from './test-support/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function inbox(ws: WebSocket): Array<Record<string, unknown>> {
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => got.push(JSON.parse(data.toString())));
  return got;
}

async function setup() {
  const s = await routedServer();
  cleanups.push(s.close);
  const requests = new ServerRequests(s.router);
  return { ...s, requests };
}

describe('server-to-client requests', () => {
  it('allocates ids from 0, sends to the targets, and the first answer wins', async () => {
    const s = await setup();
    const a = await s.connect();
    const b = await s.connect();
    const [ia, ib] = [inbox(a.ws), inbox(b.ws)];
    const first = s.requests.send({
      method: 'item/commandExecution/requestApproval',
      params: { itemId: 'c1' },
      threadId: 't1',
      connectionIds: [a.connection.id, b.connection.id],
    });
    const second = s.requests.send({
      method: 'x',
      threadId: 't1',
      connectionIds: [a.connection.id],
    });
    expect([first.id, second.id]).toEqual([0, 1]);
    await waitFor(() => ia.length === 2 && ib.length === 1);
    expect(ia[0]).toEqual({
      method: 'item/commandExecution/requestApproval',
      id: 0,
      params: { itemId: 'c1' },
    });

    expect(
      s.requests.answer(b.connection.id, {
        kind: 'response',
        id: 0,
        result: { decision: 'decline' },
      }),
    ).toBe(true);
    // a later answer from the other client is ignored
    expect(
      s.requests.answer(a.connection.id, {
        kind: 'response',
        id: 0,
        result: { decision: 'accept' },
      }),
    ).toBe(false);
    expect(await first.outcome).toEqual({
      kind: 'result',
      result: { decision: 'decline' },
      connectionId: b.connection.id,
    });
    expect(
      s.requests.answer(a.connection.id, {
        kind: 'error',
        id: 1,
        error: { code: -32603, message: 'client failed' },
      }),
    ).toBe(true);
    expect(await second.outcome).toMatchObject({
      kind: 'error',
      error: { message: 'client failed' },
    });
    // unknown id: logged and dropped
    expect(s.requests.answer(a.connection.id, { kind: 'response', id: 999, result: {} })).toBe(
      false,
    );
    expect(s.requests.answer(a.connection.id, { kind: 'response', id: 'str', result: {} })).toBe(
      false,
    );
    a.ws.terminate();
    b.ws.terminate();
  });

  it('accepts an answer from a connection that was never asked', async () => {
    const s = await setup();
    const a = await s.connect();
    const b = await s.connect();
    const sent = s.requests.send({ method: 'x', threadId: 't', connectionIds: [a.connection.id] });
    expect(s.requests.answer(b.connection.id, { kind: 'response', id: sent.id, result: 1 })).toBe(
      true,
    );
    expect(await sent.outcome).toEqual({
      kind: 'result',
      result: 1,
      connectionId: b.connection.id,
    });
    a.ws.terminate();
    b.ws.terminate();
  });

  it('lists, cancels and replays a thread’s pending requests in id order with original ids', async () => {
    const s = await setup();
    const a = await s.connect();
    const late = await s.connect();
    const il = inbox(late.ws);
    const r0 = s.requests.send({ method: 'm0', threadId: 't1', connectionIds: [a.connection.id] });
    const r1 = s.requests.send({ method: 'm1', threadId: 't2', connectionIds: [a.connection.id] });
    const r2 = s.requests.send({
      method: 'm2',
      params: { p: 2 },
      threadId: 't1',
      connectionIds: [a.connection.id],
    });
    const r3 = s.requests.send({ method: 'm3', threadId: 't1', connectionIds: [a.connection.id] });
    expect(s.requests.pendingForThread('t1').map((p) => p.id)).toEqual([0, 2, 3]);

    // answered before the replay: never replayed
    s.requests.answer(a.connection.id, { kind: 'response', id: r3.id, result: {} });
    await s.requests.replayTo(late.connection.id, 't1');
    await s.router.toConnection(late.connection.id, notification('marker'));
    await waitFor(() => il.length === 3);
    expect(il).toEqual([
      { method: 'm0', id: 0 },
      { method: 'm2', id: 2, params: { p: 2 } },
      { method: 'marker' },
    ]);

    expect(s.requests.cancelForThread('t1', { code: -32603, message: 'turn changed' })).toEqual([
      0, 2,
    ]);
    expect(await r0.outcome).toEqual({
      kind: 'cancelled',
      error: { code: -32603, message: 'turn changed' },
    });
    expect(await r2.outcome).toMatchObject({ kind: 'cancelled' });
    expect(s.requests.pendingForThread('t1')).toEqual([]);
    expect(s.requests.isPending(r1.id)).toBe(true);
    expect(s.requests.cancel(r1.id)).toBe(true);
    expect(await r1.outcome).toEqual({ kind: 'cancelled' });
    expect(s.requests.cancel(r1.id)).toBe(false);
    a.ws.terminate();
    late.ws.terminate();
  });
});
