import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@tether/test-kit';
import { SignJWT } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type WebSocket from 'ws';
import { resolveWebSocketAuth, type WebSocketAuth } from './auth.js';
import { Inbound, type TransportEvent } from './connection.js';
import { silentLogger } from './logger.js';
import { closed, collect, connectWs, nextMessage, openWs } from './test-support/ws-client.js';
import { startWebSocket, type WebSocketListener } from './websocket.js';

const logger = silentLogger();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(
  options: Partial<Parameters<typeof startWebSocket>[1]> = {},
  capacity = 128,
): Promise<{ listener: WebSocketListener; inbound: Inbound }> {
  const inbound = new Inbound({ capacity, logger });
  const listener = await startWebSocket(inbound, {
    host: '127.0.0.1',
    port: 0,
    logger,
    ...options,
  });
  cleanups.push(() => listener.close());
  return { listener, inbound };
}

async function client(url: string, options = {}): Promise<WebSocket> {
  const ws = await connectWs(url, options);
  cleanups.push(() => {
    ws.terminate();
  });
  return ws;
}

function httpGet(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).once('error', reject);
  });
}

async function nextEvent(inbound: Inbound): Promise<TransportEvent> {
  const result = await inbound.events.next();
  if (result.done) throw new Error('queue closed');
  return result.value;
}

describe('websocket acceptor', () => {
  it('delivers opened, text and binary messages, invalid frames and closed events', async () => {
    const { listener, inbound } = await listen();
    const ws = await client(listener.url);
    const opened = await nextEvent(inbound);
    expect(opened).toMatchObject({ type: 'opened', connection: { origin: 'websocket' } });
    if (opened.type !== 'opened') throw new Error('unreachable');
    const id = opened.connection.id;

    ws.send('{"id":1,"method":"initialize","params":{}}');
    ws.send(Buffer.from('{"method":"initialized"}'), { binary: true });
    ws.send('{not json');
    ws.send('[{"id":2,"method":"x"}]');
    expect(await nextEvent(inbound)).toEqual({
      type: 'message',
      connectionId: id,
      message: { kind: 'request', id: 1, method: 'initialize', params: {} },
    });
    expect(await nextEvent(inbound)).toEqual({
      type: 'message',
      connectionId: id,
      message: { kind: 'notification', method: 'initialized' },
    });
    expect(await nextEvent(inbound)).toMatchObject({
      type: 'invalid',
      failure: { kind: 'malformed-json' },
      text: '{not json',
    });
    const batch = await nextEvent(inbound);
    expect(batch).toMatchObject({ type: 'invalid', failure: { kind: 'batch' } });
    expect(batch).not.toHaveProperty('text');
    // the connection survived the bad frames
    opened.connection.writer.write('{"id":1,"result":{}}');
    expect(await nextMessage(ws)).toEqual({ id: 1, result: {} });
    ws.close();
    expect(await nextEvent(inbound)).toEqual({ type: 'closed', connectionId: id });
  });

  it('writeMany sends each message as its own text frame, in order with write, at every length size', async () => {
    const { listener, inbound } = await listen();
    const ws = await client(listener.url);
    const opened = await nextEvent(inbound);
    if (opened.type !== 'opened') throw new Error('unreachable');
    const received: Array<{ text: string; binary: boolean }> = [];
    ws.on('message', (data, isBinary) =>
      received.push({ text: data.toString(), binary: isBinary }),
    );
    // payloads with 7-bit, 16-bit and 64-bit length fields, multi-byte UTF-8, and a pre-encoded one
    const small = '{"method":"a","params":{"s":"é😀"}}';
    const medium = JSON.stringify({ method: 'b', params: { s: 'ü'.repeat(300) } });
    const large = JSON.stringify({ method: 'c', params: { s: 'x'.repeat(70_000) } });
    const preEncodedText = JSON.stringify({ method: 'd', params: { s: 'ñ'.repeat(40) } });
    const preEncoded = Buffer.from(preEncodedText, 'utf8');
    const encoded = {
      byteLength: preEncoded.length,
      writeTo: (target: Buffer, offset: number) => void preEncoded.copy(target, offset),
    };
    const writer = opened.connection.writer;
    writer.write('{"id":1,"result":{}}');
    const written = new Promise<Error | undefined>((resolve) =>
      writer.writeMany([small, medium, large, encoded], resolve),
    );
    writer.write(encoded);
    writer.write('{"id":2,"result":{}}');
    expect(await written).toBeUndefined();
    await waitFor(() => received.length === 7);
    expect(received.map((m) => m.text)).toEqual([
      '{"id":1,"result":{}}',
      small,
      medium,
      large,
      preEncodedText,
      preEncodedText,
      '{"id":2,"result":{}}',
    ]);
    expect(received.every((m) => !m.binary)).toBe(true);
  });

  it('writeMany never reuses a buffer the socket still holds: a paused peer gets every batch intact', async () => {
    const { listener, inbound } = await listen({ writerHighWaterBytes: 64 * 1024 * 1024 });
    const ws = await client(listener.url);
    const opened = await nextEvent(inbound);
    if (opened.type !== 'opened') throw new Error('unreachable');
    const received: string[] = [];
    ws.on('message', (data) => received.push(data.toString()));
    ws.pause();
    // 40 batches of 200 KB: far more than the kernel buffers hold, so most wait in the socket
    const expected: string[] = [];
    let callbacks = 0;
    for (let b = 0; b < 40; b++) {
      const batch: string[] = [];
      for (let f = 0; f < 10; f++) {
        const text = JSON.stringify({
          method: 'm',
          params: { b, f, s: String(b * 10 + f).repeat(4000) },
        });
        batch.push(text);
        expected.push(text);
      }
      opened.connection.writer.writeMany(batch, (error) => {
        if (!error) callbacks += 1;
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(callbacks).toBeLessThan(40);
    ws.resume();
    await waitFor(() => received.length === expected.length && callbacks === 40);
    expect(received).toEqual(expected);
  });

  it('writeMany on a closed websocket reports an error instead of writing', async () => {
    const { listener, inbound } = await listen();
    const ws = await client(listener.url);
    const opened = await nextEvent(inbound);
    if (opened.type !== 'opened') throw new Error('unreachable');
    ws.close();
    expect(await nextEvent(inbound)).toMatchObject({ type: 'closed' });
    const error = await new Promise<Error | undefined>((resolve) =>
      opened.connection.writer.writeMany(['{"method":"late"}'], resolve),
    );
    expect(error?.message).toBe('websocket is closed');
  });

  it('gives connections ids that are never reused', async () => {
    const { listener, inbound } = await listen();
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const ws = await client(listener.url);
      const ev = await nextEvent(inbound);
      if (ev.type === 'opened') ids.push(ev.connection.id);
      ws.close();
      await nextEvent(inbound);
    }
    expect(new Set(ids).size).toBe(3);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('answers a request with -32001 when the inbound queue is full, while a response waits and is delivered', async () => {
    const { listener, inbound } = await listen({}, 1);
    const ws = await client(listener.url);
    const received = collect(ws);
    // the opened event fills the one slot; nobody consumes yet
    await waitFor(() => inbound.events.size === 1);
    ws.send('{"id":7,"method":"thread/list","params":{}}');
    await waitFor(() => received.length === 1);
    expect(received[0]).toEqual({
      error: { code: -32001, message: 'Server overloaded; retry later.' },
      id: 7,
    });
    ws.send('{"id":0,"result":{"decision":"accept"}}');
    ws.send('{"method":"initialized"}');
    // the response is waiting, not dropped
    expect((await nextEvent(inbound)).type).toBe('opened');
    expect(await nextEvent(inbound)).toMatchObject({
      type: 'message',
      message: { kind: 'response', id: 0, result: { decision: 'accept' } },
    });
    expect(await nextEvent(inbound)).toMatchObject({
      type: 'message',
      message: { kind: 'notification', method: 'initialized' },
    });
    expect(received).toHaveLength(1);
  });

  it('serves /healthz and /readyz on the same port and refuses plain GET /', async () => {
    const { listener } = await listen();
    const http = listener.url.replace('ws://', 'http://');
    expect(await httpGet(`${http}/healthz`)).toBe(200);
    expect(await httpGet(`${http}/readyz`)).toBe(200);
    expect(await httpGet(`${http}/`)).toBe(400);
    expect(await httpGet(`${http}/nope`)).toBe(404);
    await client(listener.url); // websocket still works
  });

  it('refuses any request with an Origin header unless the origin is allowed', async () => {
    const { listener } = await listen({ allowedOrigins: ['https://ok.example'] });
    const refused = await openWs(listener.url, { headers: { Origin: 'https://evil.example' } });
    expect(refused).toEqual({ status: 403, body: '' });
    const http = listener.url.replace('ws://', 'http://');
    expect(await httpGet(`${http}/healthz`, { Origin: 'https://evil.example' })).toBe(403);
    const allowed = await openWs(listener.url, { headers: { Origin: 'https://ok.example' } });
    expect('ws' in allowed).toBe(true);
    if ('ws' in allowed) allowed.ws.terminate();
  });

  it('refuses a Host that is neither loopback nor configured (DNS rebinding)', async () => {
    const { listener } = await listen({ allowedHosts: ['tether.internal'] });
    const port = new URL(listener.url).port;
    const bad = await openWs(listener.url, { headers: { Host: `attacker.example:${port}` } });
    expect(bad).toMatchObject({ status: 403 });
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `tether.internal:${port}`]) {
      const ok = await openWs(listener.url, { headers: { Host: host } });
      expect('ws' in ok).toBe(true);
      if ('ws' in ok) ok.ws.terminate();
    }
  });

  it('closes a peer that sends a message over maxPayload with 1009', async () => {
    const { listener } = await listen({ maxPayload: 1024 });
    const ws = await client(listener.url);
    const done = closed(ws);
    ws.send(`{"method":"x","params":"${'a'.repeat(2000)}"}`);
    expect((await done).code).toBe(1009);
  });

  it('sends 1001 with a reason when the server shuts down', async () => {
    const { listener } = await listen();
    const ws = await client(listener.url);
    const done = closed(ws);
    await listener.close();
    expect(await done).toEqual({ code: 1001, reason: 'server shutting down' });
  });

  it('closes peers that do not answer pings', async () => {
    const { listener } = await listen({ pingIntervalMs: 20, pongGraceMs: 50 });
    const silent = await client(listener.url, { autoPong: false });
    const healthy = await client(listener.url);
    expect(await closed(silent)).toEqual({ code: 1001, reason: 'ping timeout' });
    expect(healthy.readyState).toBe(healthy.OPEN);
  });

  it('refuses to start on a non-loopback address without auth', async () => {
    const inbound = new Inbound({ logger });
    await expect(startWebSocket(inbound, { host: '0.0.0.0', port: 0, logger })).rejects.toThrow(
      'refusing to start non-loopback websocket listener 0.0.0.0:0 without auth',
    );
  });
});

describe('websocket auth at the upgrade', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tether-auth-'));

  it('capability token: 401 for a missing or wrong bearer, upgrade for the right one', async () => {
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'sekrit-token\n');
    const auth = await resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenFile: tokenFile });
    const { listener } = await listen({ auth });
    expect(await openWs(listener.url)).toEqual({
      status: 401,
      body: 'missing websocket bearer token',
    });
    expect(await openWs(listener.url, { headers: { Authorization: 'Bearer nope' } })).toEqual({
      status: 401,
      body: 'invalid websocket bearer token',
    });
    expect(await openWs(listener.url, { headers: { Authorization: 'Basic abc' } })).toEqual({
      status: 401,
      body: 'invalid authorization header',
    });
    const ok = await openWs(listener.url, { headers: { Authorization: 'bearer sekrit-token' } });
    expect('ws' in ok).toBe(true);
    if ('ws' in ok) ok.ws.terminate();
    // Origin is refused before auth is even looked at
    const withOrigin = await openWs(listener.url, {
      headers: { Authorization: 'Bearer sekrit-token', Origin: 'https://x.example' },
    });
    expect(withOrigin).toMatchObject({ status: 403 });
  });

  it('capability token given as a SHA-256 digest', async () => {
    const digest = createHash('sha256').update('abc').digest('hex');
    const auth = await resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenSha256: digest });
    const { listener } = await listen({ auth });
    const ok = await openWs(listener.url, { headers: { Authorization: 'Bearer abc' } });
    expect('ws' in ok).toBe(true);
    if ('ws' in ok) ok.ws.terminate();
  });

  it('signed bearer token: verifies HS256, exp, nbf, issuer and audience', async () => {
    const secret = 'x'.repeat(40);
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, secret);
    const auth: WebSocketAuth = await resolveWebSocketAuth({
      wsAuth: 'signed-bearer-token',
      wsSharedSecretFile: secretFile,
      wsIssuer: 'tether-test',
      wsAudience: 'app-server',
      wsMaxClockSkewSeconds: '1',
    });
    const { listener } = await listen({ auth });
    const key = new TextEncoder().encode(secret);
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, signKey = key) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(signKey);
    const attempt = async (token: string) =>
      openWs(listener.url, { headers: { Authorization: `Bearer ${token}` } });
    const good = { iss: 'tether-test', aud: 'app-server', exp: now + 60 };

    expect(await attempt(await sign({ ...good, exp: now - 10 }))).toEqual({
      status: 401,
      body: 'expired websocket jwt',
    });
    expect(await attempt(await sign({ ...good, nbf: now + 60 }))).toEqual({
      status: 401,
      body: 'websocket jwt is not valid yet',
    });
    expect(await attempt(await sign({ ...good, iss: 'other' }))).toEqual({
      status: 401,
      body: 'websocket jwt issuer mismatch',
    });
    expect(await attempt(await sign({ ...good, aud: 'other' }))).toEqual({
      status: 401,
      body: 'websocket jwt audience mismatch',
    });
    expect(await attempt(await sign(good, new TextEncoder().encode('y'.repeat(40))))).toMatchObject(
      { status: 401, body: 'invalid websocket bearer token' },
    );
    const { exp: _exp, ...noExp } = good;
    expect(await attempt(await sign(noExp))).toMatchObject({ status: 401 });
    expect(await attempt('not.a.jwt')).toEqual({ status: 401, body: 'invalid websocket jwt' });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(
      JSON.stringify(good),
    ).toString('base64url')}.`;
    expect(await attempt(unsigned)).toMatchObject({ status: 401 });

    const ok = await attempt(await sign({ ...good, aud: ['x', 'app-server'] }));
    expect('ws' in ok).toBe(true);
    if ('ws' in ok) ok.ws.terminate();
  });
});
