import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeEnvironment } from '@tether/exec-session';
import { RpcError } from '@tether/protocol';
import { sleep } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { ExecServerClient } from './exec-client.js';
import { startTestExecServer, type TestExecServer } from './test-support/exec-server.js';

let server: TestExecServer | undefined;
const clients: ExecServerClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  await server?.close();
  server = undefined;
});

async function connect(url: string, options = {}): Promise<ExecServerClient> {
  const client = await ExecServerClient.connect(url, options);
  clients.push(client);
  return client;
}

const params = (processId: string, argv: string[], extra = {}) => ({
  processId,
  argv,
  cwd: 'file:///tmp',
  env: { PATH: '/usr/bin:/bin' },
  tty: false,
  ...extra,
});

describe('ExecServerClient against an exec-server', () => {
  it('starts a process and iterates its output to the close', async () => {
    server = await startTestExecServer();
    const client = await connect(server.url);
    expect(client.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.environmentInfo?.executorVersion).toBe('0.169.0');
    const process = await client.start(
      params('p', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 4']),
    );
    const events = [];
    for await (const event of process.events()) events.push(event);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.at(-1)?.kind).toBe('closed');
    expect(process.exitCode).toBe(4);
  });

  it('writes stdin, reports JSON-RPC errors as RpcError', async () => {
    server = await startTestExecServer();
    const client = await connect(server.url);
    const cat = await client.start(params('cat', ['cat'], { pipeStdin: true }));
    expect(await cat.write('hello\n')).toBe('accepted');
    const iterator = cat.output();
    expect((await iterator.next()).value?.toString()).toBe('hello\n');
    expect(await cat.terminate()).toBe(true);
    await client.start(params('dup', ['sleep', '5']));
    await expect(client.start(params('dup', ['sleep', '5']))).rejects.toMatchObject({
      code: -32600,
      message: 'process dup already exists',
    });
    await expect(client.request('process/read', { processId: 'ghost' })).rejects.toBeInstanceOf(
      RpcError,
    );
  });

  it('resumes after a dropped connection and catches up byte-identical', async () => {
    server = await startTestExecServer();
    const client = await connect(server.url);
    const process = await client.start(params('big', ['seq', '1', '1500000']));
    const parts: Buffer[] = [];
    const iterator = process.output();
    while (parts.length < 50) parts.push((await iterator.next()).value as Buffer);
    client.drop();
    await client.resume();
    for await (const data of iterator) parts.push(data);
    const expected = createHash('sha256');
    for (let i = 1; i <= 1_500_000; i++) expected.update(`${i}\n`);
    expect(createHash('sha256').update(Buffer.concat(parts)).digest('hex')).toBe(
      expected.digest('hex'),
    );
    expect(process.exitCode).toBe(0);
  });

  it('sends the bearer token and uses the fs methods', async () => {
    const { resolveWebSocketAuth } = await import('@tether/transport');
    const token = 'correct-horse-battery-staple';
    const dir = mkdtempSync(join(tmpdir(), 'client-fs-'));
    const sha = createHash('sha256').update(token).digest('hex');
    server = await startTestExecServer({
      auth: await resolveWebSocketAuth({ wsAuth: 'capability-token', wsTokenSha256: sha }),
    });
    await expect(ExecServerClient.connect(server.url)).rejects.toThrow();
    const client = await connect(server.url, { token });
    await client.fs.createDirectory(join(dir, 'a/b'));
    await client.fs.writeFile(join(dir, 'a/b/f.txt'), 'data');
    expect((await client.fs.readFile(join(dir, 'a/b/f.txt'))).toString()).toBe('data');
    expect(await client.fs.getMetadata(join(dir, 'a/b/f.txt'))).toMatchObject({
      isFile: true,
      size: 4,
    });
    expect((await client.fs.readDirectory(join(dir, 'a'))).map((e) => e.fileName)).toEqual(['b']);
    await client.fs.copy(join(dir, 'a'), join(dir, 'c'), true);
    expect(await client.fs.canonicalize(join(dir, 'c/b/../b/f.txt'))).toBe(join(dir, 'c/b/f.txt'));
    await client.fs.remove(join(dir, 'a'));
    await expect(client.fs.readFile(join(dir, 'a/b/f.txt'))).rejects.toMatchObject({
      code: -32004,
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a file through a handle and makes HTTP requests, buffered and streamed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-remote-'));
    const data = randomBytes(2 * 1024 * 1024 + 5);
    writeFileSync(join(dir, 'data.bin'), data);
    let release: (() => void) | undefined;
    const http = createServer((req, res) => {
      if (req.url === '/stream') {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' });
        res.write('data: first\n\n');
        release = () => res.end('data: last\n\n');
        return;
      }
      if (req.url === '/broken') {
        res.writeHead(200);
        res.write('part');
        setTimeout(() => res.destroy(), 20);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        res.writeHead(200, { 'X-Echo': req.headers['x-test'] ?? '' });
        res.end(`${req.method} ${Buffer.concat(chunks).toString()}`);
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      server = await startTestExecServer();
      const client = await connect(server.url);
      const file = await client.fs.open(join(dir, 'data.bin'));
      expect(await file.read(1, 3)).toEqual({ data: data.subarray(1, 4), eof: false });
      const blocks: Buffer[] = [];
      for await (const block of file.blocks(512 * 1024)) blocks.push(block);
      expect(Buffer.concat(blocks).equals(data)).toBe(true);
      await file.close();
      await expect(file.read(0, 1)).rejects.toMatchObject({ code: -32004 });

      const copy = await client.fs.open(join(dir, 'copy.bin'), { mode: 'replace' });
      for (let offset = 0; offset < data.length; offset += 1024 * 1024) {
        await copy.write(offset, data.subarray(offset, offset + 1024 * 1024));
      }
      await copy.close();
      expect(readFileSync(join(dir, 'copy.bin')).equals(data)).toBe(true);
      const walked = await client.fs.walk(dir, {
        maxDepth: 1,
        maxDirectories: 10,
        maxEntries: 10,
        followDirectorySymlinks: false,
      });
      expect(walked).toEqual({
        entries: [
          { path: join(dir, 'copy.bin'), kind: 'file' },
          { path: join(dir, 'data.bin'), kind: 'file' },
        ],
        errors: [],
        truncated: false,
      });

      const echoed = await client.http(`${base}/echo`, {
        method: 'POST',
        headers: { 'X-Test': 'yes' },
        body: 'payload',
      });
      expect(echoed.status).toBe(200);
      expect(echoed.headers).toContainEqual({ name: 'x-echo', value: 'yes' });
      expect(echoed.body.toString()).toBe('POST payload');

      const streamed = await client.httpStream(`${base}/stream`, { timeoutMs: null });
      expect(streamed.status).toBe(200);
      const pieces: string[] = [];
      for await (const piece of streamed.body) {
        pieces.push(piece.toString());
        // the first event came while the server still held the response open
        if (pieces.length === 1) release?.();
      }
      expect(pieces.join('')).toBe('data: first\n\ndata: last\n\n');

      const broken = await client.httpStream(`${base}/broken`);
      const got: Buffer[] = [];
      await expect(
        (async () => {
          for await (const piece of broken.body) got.push(piece);
        })(),
      ).rejects.toThrow('http/request body failed: error decoding response body');
      expect(Buffer.concat(got).toString()).toBe('part');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('holds a streamed HTTP body back while nobody reads it, and loses nothing', async () => {
    const total = 32 * 1024 * 1024;
    let finished = false;
    const http = createServer((_req, res) => {
      res.writeHead(200);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const piece = Buffer.alloc(64 * 1024, (sent / (64 * 1024)) & 0xff);
          sent += piece.length;
          if (!res.write(piece)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end(() => {
          finished = true;
        });
      };
      pump();
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      server = await startTestExecServer();
      const client = await connect(server.url, { highWaterBytes: 1024 * 1024 });
      const port = (http.address() as AddressInfo).port;
      const response = await client.httpStream(`http://127.0.0.1:${port}/`, { timeoutMs: null });
      await sleep(1000);
      // the client stopped reading its socket, the server its HTTP response: the sender waits
      expect(finished).toBe(false);
      let bytes = 0;
      let intact = true;
      for await (const piece of response.body) {
        for (let i = 0; i < piece.length; i += 4096) {
          if (piece[i] !== (Math.floor((bytes + i) / (64 * 1024)) & 0xff)) intact = false;
        }
        bytes += piece.length;
      }
      expect(bytes).toBe(total);
      expect(intact).toBe(true);
      expect(finished).toBe(true);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('does not stall on a streamed body nobody reads yet, or one given up part way', async () => {
    const big = Buffer.alloc(8 * 1024 * 1024, 7);
    const http = createServer((req, res) => {
      res.writeHead(200);
      res.end(req.url === '/small' ? 'small' : big);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      server = await startTestExecServer();
      const client = await connect(server.url, { highWaterBytes: 1024 * 1024 });
      // A's body is over the high-water mark and unread while B is awaited: B still arrives
      const a = await client.httpStream(`${base}/big`);
      await sleep(300);
      const b = await client.httpStream(`${base}/big`);
      const length = async (body: AsyncIterable<Buffer>) => {
        let n = 0;
        for await (const piece of body) n += piece.length;
        return n;
      };
      expect(await length(a.body)).toBe(big.length);
      expect(await length(b.body)).toBe(big.length);
      // a reader that stops early gives the rest up; the connection goes on
      const c = await client.httpStream(`${base}/big`);
      for await (const _piece of c.body) break;
      await sleep(300);
      expect((await client.http(`${base}/small`)).body.toString()).toBe('small');
      const process = await client.start(params('after', ['echo', 'still flowing']));
      expect((await process.collect()).output.toString()).toBe('still flowing\n');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('ExecServerClient against a scripted server', () => {
  it('fails a process whose notification does not parse, rather than waiting on the gap', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => {
      ws.on('message', (data) => {
        const message = JSON.parse(data.toString()) as { id?: number; method: string };
        if (message.method === 'initialize') {
          ws.send(
            JSON.stringify({
              id: message.id,
              result: {
                sessionId: '6f1c6d1e-6f7a-4c1f-9d0b-2f7d9c3c1a11',
                environmentInfo: describeEnvironment(),
              },
            }),
          );
        } else if (message.method === 'process/start') {
          ws.send(
            JSON.stringify({ id: message.id, result: { processId: 'p', sandboxType: 'none' } }),
          );
          ws.send(
            JSON.stringify({
              method: 'process/output',
              params: { processId: 'p', seq: 1, stream: 'stdout', chunk: '%%%' },
            }),
          );
        }
      });
    });
    try {
      const port = (wss.address() as AddressInfo).port;
      const client = await connect(`ws://127.0.0.1:${port}`);
      const process = await client.start(params('p', ['true']));
      await expect(process.collect()).rejects.toThrow(/malformed process\/output: /);
    } finally {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    }
  });
});
