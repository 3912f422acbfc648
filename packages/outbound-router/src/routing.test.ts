import { errorResponse, type Message, notification, request, response } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { routedServer } from './test-support/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: Parameters<typeof routedServer>[0] = {}) {
  const s = await routedServer(options);
  cleanups.push(s.close);
  return s;
}

function inbox(ws: WebSocket): Array<Record<string, unknown>> {
  const got: Array<Record<string, unknown>> = [];
  ws.on('message', (data) => got.push(JSON.parse(data.toString())));
  return got;
}

describe('routing', () => {
  it('broadcasts only to initialized connections and applies opt-outs on both paths', async () => {
    const s = await server();
    const a = await s.connect();
    const b = await s.connect();
    const c = await s.connect();
    const [ia, ib, ic] = [inbox(a.ws), inbox(b.ws), inbox(c.ws)];
    s.router.setInitialized(b.connection.id, { optOutNotificationMethods: ['configWarning'] });
    // c is registered but not initialized: it gets targeted messages, never broadcasts
    s.router.removeConnection(c.connection.id);
    s.router.addConnection(c.connection);

    await s.router.broadcast(notification('configWarning', { summary: 'x' }));
    await s.router.broadcast(notification('thread/started', { thread: {} }));
    await s.router.toConnection(b.connection.id, notification('configWarning', { summary: 'y' }));
    await s.router.toConnection(b.connection.id, response(1, { ok: true }));
    await s.router.toConnection(b.connection.id, errorResponse(2, { code: -1, message: 'm' }));
    await s.router.toConnection(
      c.connection.id,
      errorResponse('pre', { code: -32600, message: 'Not initialized' }),
    );
    await s.router.broadcast(notification('done'));

    await waitFor(() => ia.length === 3 && ib.length === 4 && ic.length === 1);
    expect(ia.map((m) => m.method)).toEqual(['configWarning', 'thread/started', 'done']);
    // opted out of configWarning both as a broadcast and as a targeted notification; responses
    // and errors are never filtered
    expect(ib).toEqual([
      { method: 'thread/started', params: { thread: {} } },
      { id: 1, result: { ok: true } },
      { error: { code: -1, message: 'm' }, id: 2 },
      { method: 'done' },
    ]);
    expect(ic).toEqual([{ error: { code: -32600, message: 'Not initialized' }, id: 'pre' }]);
    for (const x of [a, b, c]) x.ws.terminate();
  });

  it('drops messages for unknown connections and reports it to onWritten', async () => {
    const s = await server();
    let error: Error | undefined;
    await s.router.toConnection(424242, response(1, {}), {
      onWritten: (e) => {
        error = e;
      },
    });
    expect(error?.message).toMatch(/unknown connection/);
    await s.router.toConnections([424243], notification('x'));
    expect(s.router.connectionIds()).toEqual([]);
  });

  it('serializes a broadcast once however many connections receive it', async () => {
    const s = await server();
    const clients = await Promise.all([s.connect(), s.connect(), s.connect()]);
    const boxes = clients.map((c) => inbox(c.ws));
    const original = JSON.stringify;
    let calls = 0;
    JSON.stringify = ((...args: Parameters<typeof JSON.stringify>) => {
      calls += 1;
      return original(...args);
    }) as typeof JSON.stringify;
    try {
      await s.router.broadcast(notification('item/agentMessage/delta', { delta: 'hi' }));
      await s.router.toConnections(
        clients.map((c) => c.connection.id),
        notification('turn/started', {}),
      );
    } finally {
      JSON.stringify = original;
    }
    expect(calls).toBe(2);
    await waitFor(() => boxes.every((b) => b.length === 2));
    for (const c of clients) c.ws.terminate();
  });

  it('rewrites per connection through the filter, serializing each variant once', async () => {
    const s = await server({
      filter: (message: Message, state) => {
        if (state.experimentalApi || message.kind !== 'request') return message;
        const { additionalPermissions: _drop, ...rest } = message.params as Record<string, unknown>;
        return { ...message, params: rest };
      },
    });
    const plain = await s.connect();
    const experimental = await s.connect();
    s.router.setInitialized(experimental.connection.id, { experimentalApi: true });
    const [ip, ie] = [inbox(plain.ws), inbox(experimental.ws)];
    const req = request(0, 'item/commandExecution/requestApproval', {
      itemId: 'call_1',
      additionalPermissions: { network: true },
    });
    await s.router.toConnections([plain.connection.id, experimental.connection.id], req);
    await waitFor(() => ip.length === 1 && ie.length === 1);
    expect(ip[0]).toEqual({ method: req.method, id: 0, params: { itemId: 'call_1' } });
    expect(ie[0]).toEqual({
      method: req.method,
      id: 0,
      params: { itemId: 'call_1', additionalPermissions: { network: true } },
    });
    plain.ws.terminate();
    experimental.ws.terminate();
  });

  it('onWritten fires after the frame was handed to the socket, in order', async () => {
    const s = await server();
    const c = await s.connect();
    const got = inbox(c.ws);
    const written: number[] = [];
    for (let i = 0; i < 5; i++) {
      await s.router.toConnection(c.connection.id, response(i, {}), {
        onWritten: (error) => {
          if (!error) written.push(i);
        },
      });
    }
    expect(written.length).toBeLessThan(5); // not synchronous: the socket has not flushed yet
    await waitFor(() => written.length === 5);
    expect(written).toEqual([0, 1, 2, 3, 4]);
    await waitFor(() => got.length === 5);
    c.ws.terminate();
  });
});
