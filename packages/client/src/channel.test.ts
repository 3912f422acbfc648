import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type DecodeFailure, type Message, notification, request } from '@tether/protocol';
import { Changes, sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Channel, ChannelClosedError, type CloseInfo } from './channel.js';
import { channelPair } from './channel-pair.js';
import { StreamChannel, spawnStdio } from './channel-stdio.js';
import { connectUnix, connectWebSocket } from './channel-websocket.js';

/** Starts a channel and records what it delivers. */
function record(channel: Channel) {
  const messages: Message[] = [];
  const invalid: Array<{ text: string; failure: DecodeFailure }> = [];
  const closes: CloseInfo[] = [];
  const changes = new Changes();
  const wake = () => changes.notify();
  channel.start({
    message: (message) => {
      messages.push(message);
      wake();
    },
    invalid: (text, failure) => {
      invalid.push({ text, failure });
      wake();
    },
    closed: (info) => {
      closes.push(info);
      wake();
    },
  });
  const until = (check: () => boolean, timeoutMs = 5_000) => waitFor(check, { timeoutMs, changes });
  return { messages, invalid, closes, until };
}

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A websocket server that echoes every frame and remembers how each connection closed. */
async function echoServer(listen: (server: Server) => Promise<void>) {
  const http = createServer();
  const wss = new WebSocketServer({ server: http });
  const sockets: WebSocket[] = [];
  const closes: CloseInfo[] = [];
  wss.on('connection', (ws) => {
    sockets.push(ws);
    // sent before the client could have started its channel: must not be lost
    ws.send(JSON.stringify({ method: 'hello', params: { n: sockets.length } }));
    ws.on('message', (data) => ws.send(data.toString()));
    ws.on('close', (code, reason) => closes.push({ code, reason: reason.toString() }));
  });
  await listen(http);
  cleanups.push(async () => {
    for (const ws of sockets) ws.terminate();
    wss.close();
    await new Promise((resolve) => http.close(resolve));
  });
  return { http, sockets, closes };
}

describe('WebSocketChannel', () => {
  it('carries messages both ways, reports bad frames, holds frames until start, closes with code and reason', async () => {
    const server = await echoServer(async (http) => {
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
    });
    const port = (server.http.address() as AddressInfo).port;
    const channel = await connectWebSocket(`ws://127.0.0.1:${port}`);
    expect(channel.local).toMatch(/^127\.0\.0\.1:\d+$/);
    // the greeting arrived while nobody read: it waits for start()
    await sleep(50);
    const got = record(channel);
    await got.until(() => got.messages.length === 1);
    expect(got.messages[0]).toEqual({ kind: 'notification', method: 'hello', params: { n: 1 } });

    channel.send(request(7, 'echo/me', { a: 1 }));
    channel.sendRaw('{not json');
    await got.until(() => got.messages.length === 2 && got.invalid.length === 1);
    expect(got.messages[1]).toEqual({
      kind: 'request',
      id: 7,
      method: 'echo/me',
      params: { a: 1 },
    });
    expect(got.invalid[0]?.text).toBe('{not json');
    expect(got.invalid[0]?.failure.kind).toBe('malformed-json');

    channel.close(4000, 'done here');
    expect(channel.isOpen).toBe(false);
    expect(() => channel.send(notification('late'))).toThrow(ChannelClosedError);
    expect(await channel.closed).toEqual({ code: 4000, reason: 'done here' });
    expect(got.closes).toEqual([{ code: 4000, reason: 'done here' }]);
    await sleep(20);
    expect(server.closes).toEqual([{ code: 4000, reason: 'done here' }]);
  });

  it('stops reading while paused, and terminate drops the connection at once', async () => {
    const server = await echoServer(async (http) => {
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
    });
    const port = (server.http.address() as AddressInfo).port;
    const channel = await connectWebSocket(`ws://127.0.0.1:${port}`, {
      headers: { 'X-Test': 'yes' },
    });
    const got = record(channel);
    await got.until(() => got.messages.length === 1);
    channel.pause();
    server.sockets[0]?.send(JSON.stringify({ method: 'while/paused' }));
    await sleep(100);
    expect(got.messages).toHaveLength(1);
    channel.resume();
    await got.until(() => got.messages.length === 2);
    channel.terminate();
    expect((await channel.closed).code).toBe(1006);
  });

  it('fails to connect with the server’s refusal', async () => {
    const http = createServer((_req, res) => {
      res.writeHead(401);
      res.end();
    });
    http.on('upgrade', (_req, socket) => {
      socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    cleanups.push(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const port = (http.address() as AddressInfo).port;
    await expect(connectWebSocket(`ws://127.0.0.1:${port}`, { token: 't' })).rejects.toThrow(/401/);
  });
});

describe('unix socket channel', () => {
  it('speaks websocket over a unix domain socket, as the control socket does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-unix-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'control.sock');
    await echoServer(async (http) => {
      http.listen(path);
      await once(http, 'listening');
    });
    const channel = await connectUnix(path);
    expect(channel.local).toBeUndefined();
    const got = record(channel);
    channel.send(request('a', 'ping'));
    await got.until(() => got.messages.length === 2);
    expect(got.messages[1]).toEqual({ kind: 'request', id: 'a', method: 'ping' });
    channel.close();
    expect((await channel.closed).code).toBe(1005);
  });
});

// A child that echoes every line back, splits one reply across writes, and leaves its last line
// without a newline; `exit` makes it exit with that code.
const ECHO_CHILD = `
process.stdin.setEncoding('utf8');
let buffer = '';
process.stdin.on('data', (chunk) => {
  buffer += chunk;
  for (let nl = buffer.indexOf('\\n'); nl !== -1; nl = buffer.indexOf('\\n')) {
    const line = buffer.slice(0, nl);
    buffer = buffer.slice(nl + 1);
    if (line === 'split') {
      process.stdout.write('{"method":"sp');
      setTimeout(() => process.stdout.write('lit"}\\n\\n'), 20);
    } else if (line.startsWith('exit')) {
      process.stdout.write('{"method":"last"}', () => process.exit(Number(line.slice(5))));
    } else {
      process.stdout.write(line + '\\n');
    }
  }
});
process.stdin.on('end', () => process.exit(0));
`;

describe('ChildProcessChannel', () => {
  it('talks NDJSON over a child’s stdio; close ends stdin and the child exits', async () => {
    const channel = spawnStdio(process.execPath, ['-e', ECHO_CHILD]);
    const got = record(channel);
    channel.send(request(1, 'echo', { text: 'é and 😀' }));
    channel.sendRaw('not json');
    channel.sendRaw('split');
    await got.until(() => got.messages.length === 2 && got.invalid.length === 1);
    expect(got.messages).toEqual([
      { kind: 'request', id: 1, method: 'echo', params: { text: 'é and 😀' } },
      { kind: 'notification', method: 'split' },
    ]);
    expect(got.invalid[0]?.text).toBe('not json');
    channel.close();
    expect(await channel.closed).toEqual({ code: 0, reason: 'exited' });
  });

  it('delivers a last line without its newline, reports the exit code, and terminate kills', async () => {
    const exiting = spawnStdio(process.execPath, ['-e', ECHO_CHILD]);
    const got = record(exiting);
    exiting.sendRaw('exit 3');
    expect(await exiting.closed).toEqual({ code: 3, reason: 'exited' });
    expect(got.messages).toEqual([{ kind: 'notification', method: 'last' }]);

    const killed = spawnStdio(process.execPath, ['-e', ECHO_CHILD]);
    record(killed);
    killed.terminate();
    expect(await killed.closed).toEqual({ code: -1, reason: 'SIGKILL' });
    expect(killed.child.signalCode).toBe('SIGKILL');
  });

  it('ends with the spawn error when the command does not exist', async () => {
    const channel = spawnStdio('/nonexistent/tether-client-test', [], { stderr: 'ignore' });
    record(channel);
    const info = await channel.closed;
    expect(info.code).toBe(-1);
    expect(info.reason).toMatch(/ENOENT/);
  });
});

describe('StreamChannel', () => {
  it('holds lines while paused and ends with its input', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const channel = new StreamChannel(input, output);
    const got = record(channel);
    channel.pause();
    input.write('{"method":"a"}\n{"method":"b"}\n');
    await sleep(30);
    expect(got.messages).toEqual([]);
    channel.resume();
    await got.until(() => got.messages.length === 2);
    channel.send(notification('out', { x: 1 }));
    expect(output.read()?.toString()).toBe('{"method":"out","params":{"x":1}}\n');
    input.end('{"method":"c"}');
    expect(await channel.closed).toEqual({ code: 0, reason: 'end of stream' });
    expect(got.messages.map((m) => (m.kind === 'notification' ? m.method : m.kind))).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
});

describe('channelPair', () => {
  it('delivers what one end sends to the other, in order and never inside send', async () => {
    const [a, b] = channelPair();
    const atA = record(a);
    const atB = record(b);
    for (let i = 0; i < 100; i++) a.send(request(i, 'n', { i }));
    // nothing synchronously: the receiver runs on a later turn, as with a socket
    expect(atB.messages).toEqual([]);
    b.send(notification('back', { dropped: undefined, kept: null }));
    await atB.until(() => atB.messages.length === 100);
    expect(atB.messages.map((m) => (m.kind === 'request' ? m.id : -1))).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    await atA.until(() => atA.messages.length === 1);
    // encoded on the way, as on a wire: undefined members vanish
    expect(atA.messages[0]).toEqual({
      kind: 'notification',
      method: 'back',
      params: { kept: null },
    });
    b.sendRaw('[]');
    await atA.until(() => atA.invalid.length === 1);
    expect(atA.invalid[0]?.failure.kind).toBe('batch');
  });

  it('holds messages for a paused end, closes both ends after what was sent, and terminates', async () => {
    const [a, b] = channelPair();
    record(a);
    const atB = record(b);
    b.pause();
    a.send(notification('one'));
    a.send(notification('two'));
    a.close(4001, 'bye');
    await sleep(20);
    expect(atB.messages).toEqual([]);
    expect(() => a.send(notification('three'))).toThrow(ChannelClosedError);
    b.resume();
    expect(await b.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(await a.closed).toEqual({ code: 4001, reason: 'bye' });
    expect(atB.messages).toHaveLength(2);

    const [c, d] = channelPair();
    record(c);
    record(d);
    c.terminate();
    expect(await c.closed).toEqual({ code: 1006, reason: '' });
    expect(await d.closed).toEqual({ code: 1006, reason: '' });
    expect(() => d.send(notification('x'))).toThrow(ChannelClosedError);
  });

  it('has one reader: a second start throws', () => {
    const [a] = channelPair();
    record(a);
    expect(() => record(a)).toThrow(/one reader/);
  });
});
