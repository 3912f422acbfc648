import { pidAlive, sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecService } from './connection.js';
import { newService, startParams, TestClient } from './test-support/harness.js';

let service: ExecService;
afterEach(() => service?.shutdown());

function decode(chunks: { chunk: string }[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.chunk, 'base64')));
}

interface ReadResult {
  chunks: { seq: number; stream: string; chunk: string }[];
  nextSeq: number;
  closed: boolean;
  exited: boolean;
  firstRetainedSeq?: number;
}

/** Reads a process to its close from `afterSeq` on, returning the bytes. */
async function readAll(client: TestClient, processId: string, afterSeq = 0): Promise<Buffer> {
  const parts: Buffer[] = [];
  let cursor = afterSeq;
  for (;;) {
    const read = await client.call<ReadResult>('process/read', {
      processId,
      afterSeq: cursor,
      waitMs: 5_000,
    });
    parts.push(decode(read.chunks));
    cursor = read.nextSeq - 1;
    if (read.closed && read.chunks.length === 0) return Buffer.concat(parts);
  }
}

describe('detach and resume', () => {
  it('keeps processes across a drop and lets the new connection catch up by seq', async () => {
    service = newService();
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call(
      'process/start',
      startParams('r', ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6; do echo line$i; sleep 0.03; done']),
    );
    await a.waitFor(() => a.notifications('process/output', 'r').length > 0);
    const seen = a.notifications('process/output', 'r');
    const lastSeen = Math.max(...seen.map((p) => p.seq as number));
    a.disconnect();
    await sleep(60);

    const b = new TestClient(service);
    expect(await b.initialize(sessionId)).toBe(sessionId);
    const rest = await readAll(b, 'r', lastSeen);
    const before = decode(seen as { chunk: string }[]);
    expect(Buffer.concat([before, rest]).toString()).toBe(
      'line1\nline2\nline3\nline4\nline5\nline6\n',
    );
    // a session can be resumed again (A → B → C)
    b.disconnect();
    const c = new TestClient(service);
    expect(await c.initialize(sessionId)).toBe(sessionId);
    expect((await readAll(c, 'r')).toString()).toContain('line6');
  });

  it('refuses a resume while attached (-32010) without disturbing the owner', async () => {
    service = newService();
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    const b = new TestClient(service);
    expect(await b.request('initialize', { clientName: 'b', resumeSessionId: sessionId })).toEqual({
      error: {
        code: -32010,
        message: `session ${sessionId} is already attached to another connection`,
      },
    });
    await a.call('process/start', startParams('ok', ['true']));
    await a.waitClosed('ok');
    // the failed resume did not use up b's initialize
    expect(await b.initialize()).not.toBe(sessionId);
  });

  it('expires a detached session after the TTL and kills its process groups', async () => {
    service = newService({ sessionTtlMs: 100 });
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call(
      'process/start',
      startParams('ttl', ['/bin/sh', '-c', 'sleep 600 & echo $!; wait']),
    );
    await a.waitFor(() => a.notifications('process/output', 'ttl').length > 0);
    const grandchild = Number(
      decode(a.notifications('process/output', 'ttl') as { chunk: string }[]),
    );
    const leader = service.registry.get(sessionId)?.processes()[0]?.pid as number;
    a.disconnect();
    expect(pidAlive(leader)).toBe(true);
    await sleep(250);
    const b = new TestClient(service);
    expect(
      await b.request('initialize', { clientName: 'late', resumeSessionId: sessionId }),
    ).toEqual({
      error: { code: -32600, message: `unknown session id ${sessionId}` },
    });
    await waitFor(() => !pidAlive(leader) && !pidAlive(grandchild));
  });

  it('decides expiry at resume time even before the timer fires', async () => {
    let now = 0;
    service = newService({ sessionTtlMs: 1_000_000, now: () => now });
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call('process/start', startParams('s', ['sleep', '600']));
    const pid = service.registry.get(sessionId)?.processes()[0]?.pid as number;
    a.disconnect();
    now = 999_999;
    const b = new TestClient(service);
    expect(await b.initialize(sessionId)).toBe(sessionId);
    expect(pidAlive(pid)).toBe(true);
    b.disconnect();
    now += 1_000_000;
    const c = new TestClient(service);
    expect(
      (await c.request('initialize', { clientName: 'c', resumeSessionId: sessionId })).error,
    ).toEqual({ code: -32600, message: `unknown session id ${sessionId}` });
    await waitFor(() => !pidAlive(pid));
  });

  it('answers an old attachment’s long poll with an error once another connection resumes', async () => {
    service = newService();
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call('process/start', startParams('idle', ['sleep', '30']));
    const poll = a.request('process/read', { processId: 'idle', afterSeq: 0, waitMs: 20_000 });
    let settled = false;
    void poll.then(() => {
      settled = true;
    });
    await sleep(100);
    expect(settled).toBe(false); // the poll is waiting
    // the connection drops while its long poll waits; its session detaches
    a.connection.close();
    const b = new TestClient(service);
    await b.initialize(sessionId);
    expect(await poll).toEqual({
      error: { code: -32600, message: 'session has been resumed by another connection' },
    });
  });

  it('does not queue notifications while detached', async () => {
    service = newService();
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call(
      'process/start',
      startParams('q', ['/bin/sh', '-c', 'sleep 0.1; echo detached; sleep 0.2; echo attached']),
    );
    a.disconnect();
    await sleep(200);
    const b = new TestClient(service);
    await b.initialize(sessionId);
    await b.waitClosed('q');
    const pushed = b.notifications('process/output', 'q');
    expect(decode(pushed as { chunk: string }[]).toString()).toBe('attached\n');
    expect((await readAll(b, 'q')).toString()).toBe('detached\nattached\n');
  });
});

describe('output retention and backpressure', () => {
  it('stops reading a child whose retained output is full and nobody reads, losing nothing', async () => {
    service = newService({ maxRetainedOutputBytes: 64 * 1024 });
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    const total = 2 * 1024 * 1024;
    await a.call(
      'process/start',
      startParams('big', ['head', '-c', String(total), '/dev/urandom']),
    );
    a.disconnect();
    await sleep(200);
    const session = service.registry.get(sessionId);
    const process = session?.processes()[0];
    // the child is blocked on its pipe: retention stays bounded and it has not exited
    expect(process?.isPaused).toBe(true);
    expect(process?.exited).toBe(false);
    expect(process?.log.retainedBytes).toBeLessThanOrEqual(64 * 1024 + 65_536);
    const b = new TestClient(service);
    await b.initialize(sessionId);
    const bytes = await readAll(b, 'big');
    expect(bytes.length).toBe(total);
  });

  it('paces notifications to a connection that stops draining, then delivers everything', async () => {
    service = newService({
      maxRetainedOutputBytes: 128 * 1024,
      notificationWindowBytes: 64 * 1024,
    });
    const a = new TestClient(service);
    await a.initialize();
    a.stalled = true;
    const total = 4 * 1024 * 1024;
    await a.call('process/start', startParams('paced', ['head', '-c', String(total), '/dev/zero']));
    await sleep(200);
    const sent = a.notifications('process/output', 'paced').length;
    // only about a window's worth was handed over while nothing drained
    expect(sent * 8192).toBeLessThan(total / 4);
    a.drain();
    const out = await a.waitClosed('paced');
    expect(out.length).toBe(total);
    const seqs = a.messages
      .filter((m) => m.kind === 'notification')
      .map((m) => (m as { params: { seq: number } }).params.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('with drop-oldest, keeps the child running and names the first seq still held', async () => {
    service = newService({ maxRetainedOutputBytes: 64 * 1024, overflow: 'drop-oldest' });
    const a = new TestClient(service);
    const sessionId = await a.initialize();
    await a.call(
      'process/start',
      startParams('drop', ['head', '-c', String(1024 * 1024), '/dev/zero']),
    );
    a.disconnect();
    const session = service.registry.get(sessionId);
    await waitFor(() => session?.processes()[0]?.closed === true);
    const b = new TestClient(service);
    await b.initialize(sessionId);
    const read = await b.call<ReadResult>('process/read', { processId: 'drop', afterSeq: 0 });
    expect(read.firstRetainedSeq).toBeGreaterThan(1);
    expect(read.chunks[0]?.seq).toBe(read.firstRetainedSeq);
    expect(decode(read.chunks).length).toBeLessThanOrEqual(64 * 1024 + 8192);
  });
});
