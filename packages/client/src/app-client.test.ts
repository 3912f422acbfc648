import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { notification, RpcError } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { AppServerClient } from './app-client.js';
import { channelPair } from './channel-pair.js';

// The thing under test is the client; the peer is a small scripted JSON-RPC server on a real socket.
const servers: WebSocketServer[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function peer(onMessage: (msg: Record<string, unknown>, send: (m: unknown) => void) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await once(wss, 'listening');
  const received: Array<Record<string, unknown>> = [];
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Record<string, unknown>;
      received.push(msg);
      onMessage(msg, (m) => ws.send(JSON.stringify(m)));
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, received };
}

describe('AppServerClient', () => {
  it('correlates responses, raises errors, buffers notifications and answers server requests', async () => {
    const server = await peer((msg, send) => {
      if (msg.method === 'initialize') {
        send({ method: 'configWarning', params: { summary: 'early' }, emittedAtMs: 1 });
        send({
          id: msg.id,
          result: { userAgent: 'x', codexHome: '/h', platformFamily: 'unix', platformOs: 'linux' },
        });
      } else if (msg.method === 'thread/read') {
        send({ error: { code: -32600, message: 'thread not loaded: t' }, id: msg.id });
      } else if (msg.method === 'ask') {
        send({ method: 'item/commandExecution/requestApproval', id: 0, params: { itemId: 'c1' } });
        send({ id: msg.id, result: {} });
      }
    });
    const client = await AppServerClient.connectWebSocket(server.url);
    const init = await client.initialize({ name: 'test', version: '1' });
    expect(init.codexHome).toBe('/h');
    const warning = await client.waitForNotification('configWarning');
    expect(warning).toEqual({
      method: 'configWarning',
      params: { summary: 'early' },
      emittedAtMs: 1,
    });

    const failure = await client.request('thread/read', { threadId: 't' }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({ code: -32600, message: 'thread not loaded: t' });

    client.onServerRequest((request) => ({ decision: 'accept', echo: request.params }));
    await client.requestRaw('ask', {});
    await waitFor(() => server.received.some((m) => m.id === 0 && 'result' in m));
    expect(server.received.find((m) => m.id === 0 && 'result' in m)).toEqual({
      id: 0,
      result: { decision: 'accept', echo: { itemId: 'c1' } },
    });
    expect(server.received.map((m) => m.method ?? 'response')).toEqual([
      'initialize',
      'initialized',
      'thread/read',
      'ask',
      'response',
    ]);
    client.close();
    expect((await client.closed).code).toBeGreaterThan(0);
  });

  it('rejects pending requests when the connection closes and times out a wait', async () => {
    const server = await peer(() => undefined);
    const client = await AppServerClient.connectWebSocket(server.url);
    const pending = client.requestRaw('never/answered', {});
    await expect(
      client.waitForNotification('nothing', () => true, { timeoutMs: 20 }),
    ).rejects.toThrow('timed out waiting for notification nothing');
    client.close();
    await expect(pending).rejects.toThrow(/connection closed/);
  });
});

describe('AppServerClient over an in-memory channel', () => {
  it('keeps a bounded log of notifications to wait on from a cursor', async () => {
    const [near, far] = channelPair();
    far.start({ message: () => {}, invalid: () => {}, closed: () => {} });
    const client = new AppServerClient(near, { keepNotifications: 50 });
    const heard: string[] = [];
    client.on('notification', (n) => heard.push(n.method));
    for (let i = 0; i < 1_000; i++) far.send(notification('item/agentMessage/delta', { i }));
    far.send(notification('turn/completed', { threadId: 't' }));
    const done = await client.waitForNotification('turn/completed', (p) => p.threadId === 't');
    expect(done.params).toEqual({ threadId: 't' });
    // every one was delivered as an event; only the last 50 are kept
    expect(heard).toHaveLength(1_001);
    expect(client.notifications.cursor).toBe(1_001);
    expect(client.notifications.since()).toHaveLength(50);
    await expect(
      client.waitForNotification('item/agentMessage/delta', () => true, { from: 0 }),
    ).rejects.toThrow(/gone/);
    // a cursor taken before acting sees only what follows
    const from = client.notifications.cursor;
    const next = client.waitForNotification('turn/completed', () => true, { from });
    far.send(notification('turn/completed', { threadId: 'u' }));
    expect((await next).params).toEqual({ threadId: 'u' });
    far.close();
    await client.closed;
  });

  it('lists server requests until answered and waits for them', async () => {
    const [near, far] = channelPair();
    const answers: unknown[] = [];
    far.start({
      message: (m) => {
        if (m.kind === 'response' || m.kind === 'error') answers.push(m);
      },
      invalid: () => {},
      closed: () => {},
    });
    const client = new AppServerClient(near);
    const waiting = client.waitForServerRequest('item/commandExecution/requestApproval');
    far.send({
      kind: 'request',
      id: 5,
      method: 'item/commandExecution/requestApproval',
      params: { itemId: 'c1' },
    });
    const asked = await waiting;
    expect(client.serverRequests).toEqual([asked]);
    client.respond(asked.id, { decision: 'decline' });
    expect(client.serverRequests).toEqual([]);
    client.onServerRequest(() => {
      throw new RpcError({ code: -32000, message: 'not now' });
    });
    far.send({ kind: 'request', id: 6, method: 'item/commandExecution/requestApproval' });
    await waitFor(() => answers.length === 2);
    expect(answers).toEqual([
      { kind: 'response', id: 5, result: { decision: 'decline' } },
      { kind: 'error', id: 6, error: { code: -32000, message: 'not now' } },
    ]);
    far.close();
    await expect(client.waitForServerRequest('other')).rejects.toThrow(/connection closed/);
  });
});
