import { pidAlive, sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExecService } from './connection.js';
import { newService, startParams, TestClient } from './test-support/harness.js';

let service: ExecService;
afterEach(() => service?.shutdown());

async function ready(options: { encoded?: boolean } = {}): Promise<TestClient> {
  service = newService();
  const client = new TestClient(service, options);
  await client.initialize();
  return client;
}

describe('handshake and lifecycle gate', () => {
  it('answers the reference messages before initialize and before initialized', async () => {
    service = newService();
    const client = new TestClient(service);
    expect(await client.request('process/start', startParams('p0', ['true']))).toEqual({
      error: { code: -32600, message: 'client must call initialize before using exec methods' },
    });
    expect(await client.request('fs/getMetadata', { path: 'file:///tmp' })).toEqual({
      error: {
        code: -32600,
        message: 'client must call initialize before using filesystem methods',
      },
    });
    // params decoding runs before the gate
    expect(await client.request('process/start', {})).toEqual({
      error: { code: -32602, message: 'missing field `processId`' },
    });
    const init = await client.request('initialize', { clientName: 'x' });
    const result = init.result as {
      sessionId: string;
      environmentInfo: { executorVersion: string };
    };
    expect(result.sessionId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(result.environmentInfo.executorVersion).toBe('0.169.0');
    expect(await client.request('process/start', startParams('p0', ['true']))).toEqual({
      error: { code: -32600, message: 'client must send initialized before using exec methods' },
    });
    expect(await client.request('initialize', { clientName: 'again' })).toEqual({
      error: { code: -32600, message: 'initialize may only be sent once per connection' },
    });
    client.notify('initialized', {});
    expect(await client.request('environment/info', {})).toEqual({
      result: service.environmentInfo,
    });
    expect(client.dropped).toBeUndefined();
  });

  it('answers unknown methods and bad params like the reference', async () => {
    const client = await ready();
    expect(await client.request('nope/method', {})).toEqual({
      error: { code: -32601, message: 'exec-server stub does not implement `nope/method` yet' },
    });
    expect(await client.request('process/read')).toEqual({
      error: { code: -32602, message: 'invalid type: null, expected struct ReadParams' },
    });
    const bad = [
      [
        { ...startParams('p1', ['true']), argv: 'true' },
        'invalid type: string "true", expected a sequence',
      ],
      [{ processId: 'p1', argv: ['true'], cwd: 'file:///tmp', env: {} }, 'missing field `tty`'],
      [startParams('p1', []), 'argv must not be empty'],
      [
        startParams('p1', ['true'], { cwd: 'relative/dir' }),
        'invalid URI: relative URL without a base',
      ],
      [startParams('p1', ['true'], { cwd: '/tmp' }), 'invalid URI: relative URL without a base'],
    ] as const;
    for (const [params, message] of bad) {
      expect(await client.request('process/start', params)).toEqual({
        error: { code: -32602, message },
      });
    }
    expect(
      await client.request('process/write', { processId: 'x', chunk: '%%%', writeId: 'w' }),
    ).toEqual({ error: { code: -32602, message: 'Invalid symbol 37, offset 0.' } });
    expect(await client.request('process/write', { processId: 'x', chunk: 'eA==' })).toEqual({
      error: { code: -32602, message: 'missing field `writeId`' },
    });
  });

  it('drops the connection for unknown notifications, client responses and early initialized', async () => {
    const a = await ready();
    a.notify('bogus/notification', {});
    expect(a.dropped).toMatch(/bogus/);
    const b = new TestClient(service);
    await b.initialize();
    b.connection.handle({ kind: 'response', id: 77, result: {} });
    expect(b.dropped).toBeDefined();
    const c = new TestClient(service);
    c.notify('initialized', {});
    expect(c.dropped).toMatch(/before initialize/);
  });

  it('lets a fresh initialize follow a failed resume on the same connection', async () => {
    service = newService();
    const client = new TestClient(service);
    const unknown = '00000000-0000-0000-0000-000000000000';
    expect(
      await client.request('initialize', { clientName: 'x', resumeSessionId: unknown }),
    ).toEqual({ error: { code: -32600, message: `unknown session id ${unknown}` } });
    const sessionId = await client.initialize();
    expect(sessionId).not.toBe(unknown);
  });
});

describe('processes', () => {
  it.each([
    ['serialized', true],
    ['message objects', false],
  ])(
    'numbers output, exited and closed with one seq and closes last (notifications as %s)',
    async (_, encoded) => {
      const client = await ready({ encoded });
      const started = await client.call(
        'process/start',
        startParams('p', [
          '/bin/sh',
          '-c',
          'printf out1; printf err1 >&2; sleep 0.05; printf out2; exit 3',
        ]),
      );
      expect(started).toEqual({ processId: 'p', sandboxType: 'none' });
      await client.waitClosed('p');
      const events = client.messages
        .filter((m) => m.kind === 'notification')
        .map((m) => m as { method: string; params: { seq: number; processId: string } })
        .filter((m) => m.params.processId === 'p');
      expect(events.map((e) => e.params.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.at(-1)?.method).toBe('process/closed');
      const exited = client.notifications('process/exited', 'p')[0];
      expect(exited).toMatchObject({ exitCode: 3, sandboxDenied: false });
      const text = (stream: string) =>
        client
          .notifications('process/output', 'p')
          .filter((p) => p.stream === stream)
          .map((p) => Buffer.from(p.chunk as string, 'base64').toString())
          .join('');
      expect(text('stdout')).toBe('out1out2');
      expect(text('stderr')).toBe('err1');
      const read = await client.call<Record<string, unknown>>('process/read', { processId: 'p' });
      expect(read).toMatchObject({
        nextSeq: events.length + 1,
        exited: true,
        exitCode: 3,
        closed: true,
        failure: null,
        sandboxDenied: false,
      });
    },
  );

  it('passes env exactly, honours arg0, and looks argv[0] up on PATH', async () => {
    const client = await ready();
    await client.call(
      'process/start',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
      startParams('env', ['sh', '-c', 'echo "FOO=$FOO HOME=${HOME:-unset}"; echo "$0"'], {
        env: { PATH: '/usr/bin:/bin', FOO: 'bar' },
        arg0: 'custom-argv0',
      }),
    );
    expect((await client.waitClosed('env')).toString()).toBe('FOO=bar HOME=unset\ncustom-argv0\n');
    // an empty env still finds echo (server PATH fallback)
    await client.call('process/start', startParams('bare', ['echo', 'hi'], { env: {} }));
    expect((await client.waitClosed('bare')).toString()).toBe('hi\n');
  });

  it('refuses duplicate ids, frees the id after a spawn failure', async () => {
    const client = await ready();
    expect(
      await client.request('process/start', startParams('x', ['/definitely/not/here'])),
    ).toEqual({
      error: { code: -32603, message: 'No such file or directory (os error 2)' },
    });
    expect(
      await client.request(
        'process/start',
        startParams('x', ['true'], { cwd: 'file:///tmp/definitely-not-here' }),
      ),
    ).toEqual({ error: { code: -32603, message: 'No such file or directory (os error 2)' } });
    await client.call('process/start', startParams('x', ['sleep', '5']));
    expect(await client.request('process/start', startParams('x', ['sleep', '5']))).toEqual({
      error: { code: -32600, message: 'process x already exists' },
    });
    expect(await client.call('process/terminate', { processId: 'x' })).toEqual({ running: true });
    await client.waitClosed('x');
    // an exited process is kept: its id stays taken
    expect(await client.request('process/start', startParams('x', ['true']))).toEqual({
      error: { code: -32600, message: 'process x already exists' },
    });
  });

  it('frees an exited process id after the retention delay', async () => {
    service = newService({ exitedProcessTtlMs: 50 });
    const client = new TestClient(service);
    await client.initialize();
    await client.call('process/start', startParams('r', ['true']));
    await client.waitClosed('r');
    // kept while the retention runs (timers may fire late on a busy machine: poll)
    let reply = await client.request('process/read', { processId: 'r' });
    for (let i = 0; i < 100 && reply.result; i++) {
      await sleep(50);
      reply = await client.request('process/read', { processId: 'r' });
    }
    expect(reply).toEqual({ error: { code: -32600, message: 'unknown process id r' } });
    await client.call('process/start', startParams('r', ['true']));
  });

  it('reports write statuses and terminates with 137, interrupts with 130', async () => {
    const client = await ready();
    await client.call('process/start', startParams('dup', ['sleep', '5']));
    expect(
      await client.call('process/write', { processId: 'dup', chunk: 'eA==', writeId: 'w1' }),
    ).toEqual({
      status: 'stdinClosed',
    });
    expect(
      await client.call('process/write', { processId: 'ghost', chunk: 'eA==', writeId: 'w2' }),
    ).toEqual({
      status: 'unknownProcess',
    });
    expect(await client.request('process/read', { processId: 'ghost' })).toEqual({
      error: { code: -32600, message: 'unknown process id ghost' },
    });
    expect(await client.call('process/terminate', { processId: 'ghost' })).toEqual({
      running: false,
    });
    expect(await client.call('process/terminate', { processId: 'dup' })).toEqual({ running: true });
    await client.waitClosed('dup');
    expect(client.notifications('process/exited', 'dup')[0]).toMatchObject({
      seq: 1,
      exitCode: 137,
    });
    expect(client.notifications('process/closed', 'dup')[0]).toMatchObject({ seq: 2 });
    expect(await client.call('process/terminate', { processId: 'dup' })).toEqual({
      running: false,
    });

    await client.call(
      'process/start',
      startParams('trap', [
        '/bin/sh',
        '-c',
        'trap "" TERM INT; echo ready; while :; do sleep 1; done',
      ]),
    );
    await client.waitFor(() => client.notifications('process/output', 'trap').length > 0);
    expect(await client.call('process/terminate', { processId: 'trap' })).toEqual({
      running: true,
    });
    await client.waitClosed('trap');
    expect(client.notifications('process/exited', 'trap')[0]).toMatchObject({ exitCode: 137 });

    await client.call('process/start', startParams('int', ['sleep', '30']));
    expect(await client.call('process/signal', { processId: 'int', signal: 'interrupt' })).toEqual(
      {},
    );
    await client.waitClosed('int');
    expect(client.notifications('process/exited', 'int')[0]).toMatchObject({ exitCode: 130 });
  });

  it('writes to a piped stdin, and fails once the process is gone', async () => {
    const client = await ready();
    await client.call('process/start', startParams('cat', ['cat'], { pipeStdin: true }));
    const write = (chunk: string, writeId: string) =>
      client.request('process/write', { processId: 'cat', chunk, writeId });
    expect(await write(Buffer.from('first line\n').toString('base64'), 'w1')).toEqual({
      result: { status: 'accepted' },
    });
    expect(await write('', 'w3')).toEqual({ result: { status: 'accepted' } });
    await client.waitFor(() => client.notifications('process/output', 'cat').length > 0);
    expect(await client.call('process/terminate', { processId: 'cat' })).toEqual({ running: true });
    await client.waitClosed('cat');
    expect(await write('bGF0ZQo=', 'w4')).toEqual({
      error: { code: -32603, message: 'failed to write to process stdin' },
    });
  });

  it('kills the whole process group on terminate', async () => {
    const client = await ready();
    await client.call(
      'process/start',
      startParams('tree', ['/bin/sh', '-c', 'sleep 30 & echo $!; wait']),
    );
    await client.waitFor(() => client.notifications('process/output', 'tree').length > 0);
    const grandchild = Number(
      Buffer.from(
        client.notifications('process/output', 'tree')[0]?.chunk as string,
        'base64',
      ).toString(),
    );
    expect(await client.call('process/terminate', { processId: 'tree' })).toEqual({
      running: true,
    });
    await client.waitClosed('tree');
    await waitFor(() => !pidAlive(grandchild));
  });
});

describe('process/read', () => {
  it('follows the reference rules for afterSeq, maxBytes and nextSeq', async () => {
    const client = await ready();
    await client.call(
      'process/start',
      startParams('lp', ['/bin/sh', '-c', 'echo one; sleep 0.05; echo two']),
    );
    await client.waitClosed('lp');
    const read = (params: Record<string, unknown>) =>
      client.call<{ chunks: { seq: number; chunk: string }[]; nextSeq: number }>('process/read', {
        processId: 'lp',
        ...params,
      });
    const all = await read({ afterSeq: 0 });
    expect(all.chunks.map((c) => Buffer.from(c.chunk, 'base64').toString())).toEqual([
      'one\n',
      'two\n',
    ]);
    expect(all.nextSeq).toBe(5);
    const one = await read({ afterSeq: 1, maxBytes: 1 });
    expect(one.chunks.map((c) => c.seq)).toEqual([2]);
    expect(one.nextSeq).toBe(3);
    expect(await read({ afterSeq: 999 })).toMatchObject({ chunks: [], nextSeq: 5, closed: true });
  });

  it('long-polls: wakes on output, on exit, and times out when idle', async () => {
    const client = await ready();
    await client.call(
      'process/start',
      startParams('lp', ['/bin/sh', '-c', 'sleep 0.1; echo one; sleep 0.1']),
    );
    const first = await client.call<{ chunks: unknown[]; nextSeq: number }>('process/read', {
      processId: 'lp',
      afterSeq: 0,
      waitMs: 10_000,
    });
    expect(first.chunks).toHaveLength(1);
    expect(first.nextSeq).toBe(2);
    const second = await client.call<Record<string, unknown>>('process/read', {
      processId: 'lp',
      afterSeq: 1,
      waitMs: 10_000,
    });
    expect(second).toMatchObject({ chunks: [], exited: true, exitCode: 0 });
    expect(second.nextSeq).toBeGreaterThanOrEqual(3);

    await client.call('process/start', startParams('idle', ['sleep', '5']));
    expect(
      await client.call('process/read', { processId: 'idle', afterSeq: 0, waitMs: 50 }),
    ).toMatchObject({ chunks: [], nextSeq: 1, exited: false, closed: false });
  });

  it('does not hold back other requests while a long poll waits', async () => {
    const client = await ready();
    await client.call('process/start', startParams('idle', ['sleep', '5']));
    const poll = client.request('process/read', { processId: 'idle', afterSeq: 0, waitMs: 10_000 });
    const meta = await client.call('fs/getMetadata', { path: 'file:///tmp' });
    expect(meta).toMatchObject({ isDirectory: true });
    // the same process is not held back either: terminate wakes the poll with the exit
    expect(await client.call('process/terminate', { processId: 'idle' })).toEqual({
      running: true,
    });
    expect((await poll).result).toMatchObject({ exited: true, exitCode: 137 });
  });

  it('starts calls naming the same process in arrival order', async () => {
    const client = await ready();
    const start = client.request('process/start', startParams('o', ['cat'], { pipeStdin: true }));
    const write = client.request('process/write', {
      processId: 'o',
      chunk: Buffer.from('hello\n').toString('base64'),
      writeId: 'w',
    });
    const terminate = client.request('process/terminate', { processId: 'o' });
    expect((await start).result).toEqual({ processId: 'o', sandboxType: 'none' });
    expect((await write).result).toEqual({ status: 'accepted' });
    expect((await terminate).result).toEqual({ running: true });
  });
});

describe('tty processes', () => {
  it('runs under a PTY with one pty stream, and cat echoes what is written', async () => {
    const client = await ready();
    await client.call(
      'process/start',
      startParams(
        'tty',
        [
          '/bin/sh',
          '-c',
          // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
          'test -t 0 && echo stdin-is-tty; test -t 1 && echo stdout-is-tty; echo "TERM=${TERM:-unset}"; echo to-stderr >&2; exit 5',
        ],
        { tty: true },
      ),
    );
    const out = await client.waitClosed('tty');
    expect(out.toString()).toBe('stdin-is-tty\r\nstdout-is-tty\r\nTERM=unset\r\nto-stderr\r\n');
    expect(client.notifications('process/output', 'tty').every((p) => p.stream === 'pty')).toBe(
      true,
    );
    expect(client.notifications('process/exited', 'tty')[0]).toMatchObject({ exitCode: 5 });

    await client.call('process/start', startParams('cat', ['cat'], { tty: true }));
    expect(
      await client.call('process/write', {
        processId: 'cat',
        chunk: Buffer.from('hello\n').toString('base64'),
        writeId: 'w1',
      }),
    ).toEqual({ status: 'accepted' });
    const text = () =>
      Buffer.concat(
        client
          .notifications('process/output', 'cat')
          .map((p) => Buffer.from(p.chunk as string, 'base64')),
      ).toString();
    // the terminal echoes the input line, then cat prints it back
    await client.waitFor(() => text() === 'hello\r\nhello\r\n');
    await client.call('process/terminate', { processId: 'cat' });
    await client.waitClosed('cat');
    expect(client.notifications('process/exited', 'cat')[0]).toMatchObject({ exitCode: 137 });
  });
});
