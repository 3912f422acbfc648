import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pidAlive, sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type ExecServer, type ExecServerOptions, startExecServer } from './server.js';
import { startParams, WsClient } from './test-support/ws-client.js';

let server: ExecServer | undefined;
const clients: WsClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.terminate();
  await server?.close();
  server = undefined;
});

async function start(options: ExecServerOptions = {}): Promise<ExecServer> {
  server = await startExecServer(options);
  return server;
}

async function connect(url: string): Promise<WsClient> {
  const client = await WsClient.connect(url);
  clients.push(client);
  return client;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** `seq 1 N` as the reference's large-output transcript uses, and its bytes. */
function seqOutput(n: number): Buffer {
  return execFileSync('seq', ['1', String(n)], { maxBuffer: 1024 * 1024 * 1024 });
}

describe('websocket protocol', () => {
  it('serves /readyz and answers malformed frames with id -1, keeping the connection', async () => {
    const { url } = await start();
    const http = url.replace('ws://', 'http://');
    expect((await fetch(`${http}/readyz`)).status).toBe(200);
    const client = await connect(url);
    client.keepRaw = true;
    client.send('this is not json{');
    client.send('[{"id":50,"method":"fs/getMetadata","params":{"path":"file:///tmp"}}]');
    client.send('{"id":null,"method":"fs/getMetadata","params":{"path":"file:///tmp"}}');
    // too long for V8 to quote in its message: the fault is found in the frame itself
    const long = `{"id":7,"method":"fs/getMetadata","params":{"path":"${'x'.repeat(300)}"}} ]`;
    client.send(long);
    await client.waitFor(() => client.raw.length === 4);
    const prefix = `failed to parse websocket JSON-RPC message from exec-server websocket ${client.channel.local}: `;
    expect(client.raw).toEqual([
      { error: { code: -32600, message: `${prefix}expected ident at line 1 column 2` }, id: -1 },
      { error: { code: -32600, message: `${prefix}expected a JSON-RPC object` }, id: -1 },
      {
        error: {
          code: -32600,
          message: `${prefix}data did not match any variant of untagged enum RequestId`,
        },
        id: -1,
      },
      {
        error: {
          code: -32600,
          message: `${prefix}trailing characters at line 1 column ${long.length}`,
        },
        id: -1,
      },
    ]);
    const sessionId = await client.initialize();
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('has its spawn helper running before the first client connects, and stops it on close', async () => {
    const running = await start();
    const helpers = await running.service.spawnHelpers();
    expect(helpers).toHaveLength(1);
    const pid = helpers[0]?.helperPid as number;
    expect(pidAlive(pid)).toBe(true);
    await running.close();
    server = undefined;
    await waitFor(() => !pidAlive(pid));
  });

  it('drops a connection that sends an unknown notification', async () => {
    const { url } = await start();
    const client = await connect(url);
    await client.initialize();
    client.notify('bogus/notification');
    expect(await client.closed).toBe(1008);
    const early = await connect(url);
    early.notify('initialized');
    expect(await early.closed).toBe(1008);
  });

  it('runs a PTY: cat echoes what is written', async () => {
    const { url } = await start();
    const client = await connect(url);
    await client.initialize();
    await client.call('process/start', startParams('cat', ['cat'], { tty: true }));
    await client.call('process/write', {
      processId: 'cat',
      chunk: Buffer.from('ping\n').toString('base64'),
      writeId: 'w1',
    });
    const cat = client.collector('cat');
    await client.waitFor(() => cat.bytes().toString() === 'ping\r\nping\r\n');
    await client.call('process/terminate', { processId: 'cat' });
    await client.waitFor(() => cat.complete);
    expect(cat.exitCode).toBe(137);
  });
});

describe('file handles and http/request over a websocket', () => {
  it('reads a file in blocks through fs/open and streams an HTTP body as bodyDelta', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'exec-ws-'));
    const file = join(dir, 'data.bin');
    const data = randomBytes(3 * 1024 * 1024 + 17);
    writeFileSync(file, data);
    const http = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.end(data);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const { url } = await start();
      const client = await connect(url);
      await client.initialize();
      await client.call('fs/open', { handleId: 'f', path: `file://${file}` });
      const blocks: Buffer[] = [];
      for (let offset = 0, eof = false; !eof; ) {
        const block = await client.call('fs/readBlock', {
          handleId: 'f',
          offset,
          len: 1024 * 1024,
        });
        const chunk = Buffer.from(block.chunk as string, 'base64');
        blocks.push(chunk);
        offset += chunk.length;
        eof = block.eof as boolean;
      }
      expect(sha(Buffer.concat(blocks))).toBe(sha(data));
      await client.call('fs/close', { handleId: 'f' });

      client.keepRaw = true;
      const port = (http.address() as AddressInfo).port;
      const result = await client.call('http/request', {
        requestId: 'dl',
        method: 'GET',
        url: `http://127.0.0.1:${port}/data`,
        streamResponse: true,
      });
      expect(result).toMatchObject({ status: 200, bodyBase64: '' });
      const deltas = () =>
        (client.raw as Array<{ method?: string; params?: Record<string, unknown> }>)
          .filter((m) => m.method === 'http/request/bodyDelta')
          .map((m) => m.params as { seq: number; deltaBase64: string; done: boolean });
      await client.waitFor(() => deltas().some((d) => d.done));
      expect(deltas().map((d) => d.seq)).toEqual(deltas().map((_, i) => i + 1));
      const body = Buffer.concat(deltas().map((d) => Buffer.from(d.deltaBase64, 'base64')));
      expect(sha(body)).toBe(sha(data));
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('output delivery', () => {
  it('delivers 50 MB byte-identical, seqs without gaps, closed last', async () => {
    const { url } = await start();
    const client = await connect(url);
    await client.initialize();
    const expected = seqOutput(6_500_000);
    await client.call('process/start', startParams('big', ['seq', '1', '6500000']));
    const big = client.collector('big');
    await client.waitFor(() => big.complete, 120_000);
    const bytes = big.bytes();
    expect(bytes.length).toBe(expected.length);
    expect(sha(bytes)).toBe(sha(expected));
    expect(Math.max(...[...big.output.values()].map((b) => b.length))).toBeLessThanOrEqual(8192);
    expect(big.closedSeq).toBe(big.output.size + 2);
  });

  it('loses nothing when the client stops reading its socket for 5 s', async () => {
    const { url } = await start({ maxRetainedOutputBytes: 1024 * 1024 });
    const client = await connect(url);
    await client.initialize();
    // 50 MB: more than the socket buffers, the notification window and the retention can hold
    const expected = seqOutput(6_500_000);
    await client.call('process/start', startParams('paused', ['seq', '1', '6500000']));
    const paused = client.collector('paused');
    await client.waitFor(() => paused.output.size > 10);
    client.channel.pause();
    await sleep(5_000);
    const session = server?.service.registry.get(server.service.registry.ids()[0] as string);
    // the child is held back (blocked on its pipe), not buffered without bound
    expect(session?.processes()[0]?.exited).toBe(false);
    client.channel.resume();
    await client.waitFor(() => paused.complete, 120_000);
    expect(client.closeCode).toBeUndefined();
    expect(sha(paused.bytes())).toBe(sha(expected));
  });

  it('when the outbound queue limit trips, the client resumes and catches up from its last seq', async () => {
    const { url } = await start({
      maxQueuedBytes: 128 * 1024,
      slowGraceMs: 200,
      notificationWindowBytes: 8 * 1024 * 1024,
      writerHighWaterBytes: 1024 * 1024,
    });
    const a = await connect(url);
    const sessionId = await a.initialize();
    const expected = seqOutput(2_000_000);
    await a.call('process/start', startParams('slow', ['seq', '1', '2000000']));
    const seen = a.collector('slow');
    await a.waitFor(() => seen.output.size > 10);
    a.channel.pause();
    // the router closes the stalled socket (1013) and the session detaches
    await waitFor(() => server?.service.registry.get(sessionId)?.attachment === undefined);
    a.channel.resume();
    await a.closed;
    // resume and read from the last seq seen; if the small queue limit trips again, do it again
    let resumes = 0;
    while (!seen.complete) {
      const b = await connect(url);
      const reply = await b.request('initialize', { clientName: 'b', resumeSessionId: sessionId });
      if (reply.error) {
        expect(reply.error.code).toBe(-32010);
        b.terminate();
        await sleep(20);
        continue;
      }
      resumes += 1;
      b.notify('initialized');
      b.processes.set('slow', seen);
      // a rejection here means this connection was closed again: resume once more
      // a rejection here means this connection was closed again: resume once more
      await b.catchUp('slow', seen.contiguous, 64 * 1024).catch(() => undefined);
      b.terminate();
      await b.closed;
    }
    expect(resumes).toBeGreaterThan(0);
    expect(sha(seen.bytes())).toBe(sha(expected));
  });

  it('survives a dropped connection mid-output: resume, read from the last seen seq, byte-identical', async () => {
    const { url } = await start();
    const a = await connect(url);
    const sessionId = await a.initialize();
    const expected = seqOutput(3_000_000);
    await a.call('process/start', startParams('mid', ['seq', '1', '3000000']));
    const seen = a.collector('mid');
    await a.waitFor(() => seen.output.size > 200);
    a.terminate();
    await a.closed;
    const b = await connect(url);
    expect(await b.initialize(sessionId)).toBe(sessionId);
    b.processes.set('mid', seen);
    const lastSeen = seen.contiguous;
    expect(lastSeen).toBeGreaterThan(0);
    await b.catchUp('mid', lastSeen);
    expect(seen.bytes().length).toBe(expected.length);
    expect(sha(seen.bytes())).toBe(sha(expected));
  });
});

describe('sessions over websockets', () => {
  it('refuses a second attach with -32010 and an unknown id with -32600', async () => {
    const { url } = await start();
    const a = await connect(url);
    const sessionId = await a.initialize();
    const b = await connect(url);
    expect(await b.request('initialize', { clientName: 'b', resumeSessionId: sessionId })).toEqual({
      id: 1,
      error: {
        code: -32010,
        message: `session ${sessionId} is already attached to another connection`,
      },
    });
    const fresh = await b.initialize();
    expect(fresh).not.toBe(sessionId);
    const c = await connect(url);
    const unknown = '00000000-0000-0000-0000-000000000000';
    expect(
      (await c.request('initialize', { clientName: 'c', resumeSessionId: unknown })).error,
    ).toEqual({
      code: -32600,
      message: `unknown session id ${unknown}`,
    });
  });

  it('fails a resume after the TTL, and the processes are gone from the OS', async () => {
    const { url } = await start({ sessionTtlMs: 150 });
    const a = await connect(url);
    const sessionId = await a.initialize();
    await a.call(
      'process/start',
      startParams('ttl', ['/bin/sh', '-c', 'sleep 600 & echo $!; wait']),
    );
    const ttl = a.collector('ttl');
    await a.waitFor(() => ttl.output.size > 0);
    const grandchild = Number(ttl.bytes().toString());
    const leader = server?.service.registry.get(sessionId)?.processes()[0]?.pid as number;
    a.terminate();
    await sleep(400);
    const b = await connect(url);
    expect(
      (await b.request('initialize', { clientName: 'late', resumeSessionId: sessionId })).error,
    ).toEqual({
      code: -32600,
      message: `unknown session id ${sessionId}`,
    });
    await waitFor(() => !pidAlive(leader) && !pidAlive(grandchild));
  });

  it('decides the TTL race atomically: 200 resumes around the boundary', async () => {
    const ttlMs = 50;
    const { url } = await start({ sessionTtlMs: ttlMs });
    let succeeded = 0;
    let failed = 0;
    for (let round = 0; round < 200; round++) {
      const a = await connect(url);
      const sessionId = await a.initialize();
      await a.call('process/start', startParams('race', ['sleep', '600']));
      const pid = server?.service.registry.get(sessionId)?.processes()[0]?.pid as number;
      a.terminate();
      await a.closed;
      // spread the resume across both sides of the boundary; steer toward the side not yet seen
      const lean = succeeded === 0 ? 0 : failed === 0 ? ttlMs * 3 : undefined;
      await sleep(lean ?? Math.floor(Math.random() * ttlMs * 2));
      const b = await connect(url);
      const reply = await b.request('initialize', {
        clientName: 'race',
        resumeSessionId: sessionId,
      });
      if (reply.result) {
        succeeded += 1;
        expect(reply.result.sessionId).toBe(sessionId);
        // resumed: the process is alive and still owned by the session
        expect(pidAlive(pid)).toBe(true);
        b.notify('initialized');
        expect(await b.call('process/terminate', { processId: 'race' })).toEqual({ running: true });
      } else {
        failed += 1;
        expect(reply.error).toEqual({ code: -32600, message: `unknown session id ${sessionId}` });
        await waitFor(() => !pidAlive(pid));
      }
      b.terminate();
      clients.splice(0);
    }
    expect(succeeded + failed).toBe(200);
    expect(succeeded).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
  }, 120_000);
});
