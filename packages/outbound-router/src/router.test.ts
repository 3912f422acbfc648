import { spawn } from 'node:child_process';
import { type EncodedMessage, notification } from '@tether/protocol';
import { sleep, waitFor } from '@tether/test-kit';
import { type Connection, StreamLineWriter } from '@tether/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { OutboundRouter } from './router.js';
import { closeEvent, routedServer } from './test-support/harness.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function server(options: ConstructorParameters<typeof OutboundRouter>[0] = {}) {
  const s = await routedServer(options);
  cleanups.push(s.close);
  return s;
}

function counter(ws: import('ws').WebSocket) {
  const state = { count: 0, last: -1, inOrder: true, methods: [] as string[] };
  ws.on('message', (data) => {
    const msg = JSON.parse(data.toString());
    state.methods.push(msg.method ?? 'response');
    if (typeof msg.params?.n === 'number') {
      if (msg.params.n !== state.last + 1) state.inOrder = false;
      state.last = msg.params.n;
      state.count += 1;
    }
  });
  return state;
}

describe('slow consumers on sockets', () => {
  it('a broadcast completes for a fast socket while a paused socket is cut after the grace window with 1013', async () => {
    let slowDisconnects = 0;
    const s = await server({
      maxQueuedBytes: 256 * 1024,
      slowGraceMs: 300,
      onSlowDisconnect: () => {
        slowDisconnects += 1;
      },
    });
    const fast = await s.connect();
    const paused = await s.connect();
    const fastState = counter(fast.ws);
    const pausedClose = closeEvent(paused.ws);
    // the paused client stops reading from its TCP socket
    paused.ws.pause();

    const payload = 'x'.repeat(150);
    let sent = 0;
    while (s.router.has(paused.connection.id) && sent < 400_000) {
      for (let i = 0; i < 1000; i++) {
        void s.router.broadcast(notification('bench/tick', { n: sent, payload }));
        sent += 1;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(s.router.has(paused.connection.id)).toBe(false);
    expect(slowDisconnects).toBe(1);
    // the fast client gets every message, in order
    await waitFor(() => fastState.count === sent);
    expect(fastState.inOrder).toBe(true);
    expect(s.router.has(fast.connection.id)).toBe(true);
    // once it reads again, the paused client learns why it was closed
    paused.ws.resume();
    expect(await pausedClose).toEqual({ code: 1013, reason: 'outbound queue full' });
    fast.ws.terminate();
  });

  it('a socket that catches up within the grace window is kept', async () => {
    const s = await server({ maxQueuedMessages: 10, slowGraceMs: 60_000 });
    const c = await s.connect();
    const state = counter(c.ws);
    c.ws.pause();
    for (let n = 0; n < 500; n++) void s.router.broadcast(notification('t', { n }));
    c.ws.resume();
    await waitFor(() => state.count === 500);
    expect(state.inOrder).toBe(true);
    expect(s.router.has(c.connection.id)).toBe(true);
    c.ws.terminate();
  });

  it('a socket far over twice its bound is cut at once, without waiting for the grace window', async () => {
    const s = await server({ maxQueuedMessages: 100, slowGraceMs: 600_000 });
    const c = await s.connect();
    const closed = closeEvent(c.ws);
    c.ws.pause();
    let sent = 0;
    while (s.router.has(c.connection.id) && sent < 400_000) {
      for (let i = 0; i < 1000; i++)
        void s.router.toConnection(c.connection.id, notification('t', { n: sent++ }));
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(s.router.has(c.connection.id)).toBe(false);
    c.ws.resume();
    expect((await closed).code).toBe(1013);
  });
  it('one oversized frame gets the grace window instead of an immediate cut', async () => {
    const s = await server({ maxQueuedBytes: 64 * 1024, slowGraceMs: 10_000 });
    const c = await s.connect();
    const got: number[] = [];
    c.ws.on('message', (data) => got.push((data as Buffer).length));
    // a single 1 MiB message is far over twice the bound, but it is one frame a healthy client reads
    await s.router.toConnection(
      c.connection.id,
      notification('big', { blob: 'z'.repeat(1 << 20) }),
    );
    expect(s.router.has(c.connection.id)).toBe(true);
    await waitFor(() => got.length === 1);
    expect(s.router.has(c.connection.id)).toBe(true);
    c.ws.terminate();
  });
});

/** A pre-serialized `t` notification, as a producer of encoded frames would hand it over. */
function encodedTick(n: number, pad: string): EncodedMessage {
  const bytes = Buffer.from(JSON.stringify({ method: 't', params: { n, pad } }), 'utf8');
  return { byteLength: bytes.length, writeTo: (target, offset) => void bytes.copy(target, offset) };
}

describe('pre-encoded frames', () => {
  it('keep their order with toConnection, straight to the writer and through the queue, with one callback per batch', async () => {
    const s = await server();
    const c = await s.connect();
    const state = counter(c.ws);
    c.ws.pause();
    const pad = 'é'.repeat(1000);
    let n = 0;
    let batches = 0;
    let callbacks = 0;
    let queuedSeen = 0;
    while (n < 6000) {
      void s.router.toConnection(c.connection.id, notification('t', { n: n++, pad }));
      batches += 1;
      void s.router.toConnectionEncoded(
        c.connection.id,
        [encodedTick(n++, pad), encodedTick(n++, pad), encodedTick(n++, pad)],
        { onWritten: () => (callbacks += 1) },
      );
      queuedSeen = Math.max(queuedSeen, s.router.queuedMessages(c.connection.id) ?? 0);
    }
    // the paused socket filled its writer, so later frames went through the router's queue
    expect(queuedSeen).toBeGreaterThan(0);
    c.ws.resume();
    await waitFor(() => state.count === n && callbacks === batches);
    expect(state.inOrder).toBe(true);
    expect(s.router.has(c.connection.id)).toBe(true);
    c.ws.terminate();
  });

  it('count toward the bound: a paused socket fed only encoded batches is cut with 1013', async () => {
    const s = await server({ maxQueuedBytes: 256 * 1024, slowGraceMs: 200 });
    const c = await s.connect();
    const closed = closeEvent(c.ws);
    c.ws.pause();
    const pad = 'x'.repeat(4000);
    let n = 0;
    while (s.router.has(c.connection.id) && n < 200_000) {
      for (let i = 0; i < 50; i++) {
        void s.router.toConnectionEncoded(c.connection.id, [
          encodedTick(n++, pad),
          encodedTick(n++, pad),
        ]);
      }
      await sleep(5);
    }
    expect(s.router.has(c.connection.id)).toBe(false);
    c.ws.resume();
    expect(await closed).toEqual({ code: 1013, reason: 'outbound queue full' });
  });

  it('report an unknown connection through the callback', async () => {
    const s = await server();
    const error = await new Promise<Error | undefined>((resolve) => {
      void s.router.toConnectionEncoded(424_242, [encodedTick(0, '')], { onWritten: resolve });
    });
    expect(error?.message).toBe('unknown connection 424242');
  });
});

describe('stdio backpressure', () => {
  it('waits for a slow reader and delivers everything in order, never disconnecting', async () => {
    // a real child process reading its stdin slowly; it prints how many lines arrived in order
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `
        let buf = '', n = 0, ok = true;
        process.stdin.pause();
        setTimeout(() => process.stdin.resume(), 300);
        process.stdin.on('data', (d) => {
          buf += d;
          let i;
          while ((i = buf.indexOf('\\n')) >= 0) {
            const msg = JSON.parse(buf.slice(0, i)); buf = buf.slice(i + 1);
            if (msg.params.n !== n) ok = false; n++;
          }
        });
        process.stdin.on('end', () => console.log(JSON.stringify({ n, ok })));
        `,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const writer = new StreamLineWriter(reader.stdin);
    let disconnects = 0;
    const connection: Connection = {
      id: 900_001,
      origin: 'stdio',
      peer: 'child',
      writer,
      canDisconnect: false,
      disconnect: () => {
        disconnects += 1;
        return false;
      },
    };
    const router = new OutboundRouter({
      stdioQueueLimit: 16,
      maxQueuedMessages: 1,
      slowGraceMs: 1,
    });
    router.addConnection(connection);
    router.setInitialized(connection.id);
    let maxQueued = 0;
    const total = 20_000;
    for (let n = 0; n < total; n++) {
      await router.broadcast(notification('t', { n, pad: 'y'.repeat(100) }));
      maxQueued = Math.max(maxQueued, router.queuedMessages(connection.id) ?? 0);
    }
    // the sender was held back: the queue never grew past the stdio limit
    expect(maxQueued).toBeLessThanOrEqual(16);
    let out = '';
    reader.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await new Promise<void>((resolve) => {
      void router.toConnection(connection.id, notification('t', { n: total }), {
        onWritten: () => resolve(),
      });
    });
    reader.stdin.end();
    await new Promise((resolve) => reader.once('exit', resolve));
    expect(JSON.parse(out)).toEqual({ n: total + 1, ok: true });
    expect(disconnects).toBe(0);
    expect(router.has(connection.id)).toBe(true);
  });
});
