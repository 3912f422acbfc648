import { sleep } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { invalidParams, invalidRequest, RpcError } from './errors.js';
import type { Message, RequestMessage } from './jsonrpc.js';
import { method, type ServeOptions, serve } from './serve.js';

const table = {
  echo: method(z.object({ text: z.string() }), z.object({ text: z.string() })),
  slow: method(
    z.object({ key: z.string(), ms: z.number() }),
    z.object({ done: z.number() }),
    (p) => `k:${p.key}`,
  ),
  poll: method(
    z.object({ key: z.string() }),
    z.object({ polled: z.boolean() }),
    (p) => `k:${p.key}`,
  ),
  fail: method(z.object({ how: z.enum(['rpc', 'throw', 'sync']) }), z.object({})),
} as const;

interface Conn {
  log: string[];
  gateClosed: boolean;
  pollRelease?: () => void;
}

function fixture(overrides: Partial<ServeOptions<typeof table, Conn>> = {}) {
  const conn: Conn = { log: [], gateClosed: false };
  const sent: Message[] = [];
  const served = serve<typeof table, Conn>(
    table,
    {
      echo: (params) => ({ text: params.text }),
      slow: async (params, scope) => {
        scope.connection.log.push(`start ${params.key} ${params.ms}`);
        await sleep(params.ms);
        scope.connection.log.push(`end ${params.key} ${params.ms}`);
        scope.afterReply(() => {
          scope.connection.log.push(`after ${params.key} ${params.ms}`);
        });
        return { done: params.ms };
      },
      poll: async (_params, scope) => {
        scope.connection.log.push('poll start');
        scope.releaseOrder();
        await new Promise<void>((resolve) => {
          scope.connection.pollRelease = resolve;
        });
        return { polled: true };
      },
      fail: (params) => {
        if (params.how === 'rpc') throw new RpcError(invalidRequest('refused on purpose'));
        if (params.how === 'sync') throw new Error('sync boom');
        return Promise.reject(new Error('async boom'));
      },
    },
    {
      unknownMethod: (name) => invalidRequest(`unknown method ${name}`),
      invalidParams: (name, error) => invalidParams(`${name}: ${error.issues[0]?.message}`),
      unexpected: (error) => ({ code: -32603, message: `internal: ${(error as Error).message}` }),
      gate: (_m, _p, _raw, c) => (c.gateClosed ? invalidRequest('gate closed') : undefined),
      ...overrides,
    },
  );
  const connection = served.connection(conn, (message, written) => {
    sent.push(message);
    conn.log.push(`sent ${'id' in message ? String(message.id) : ''}`);
    written?.();
  });
  let id = 0;
  const call = (name: string, params?: unknown): Promise<void> => {
    id += 1;
    const request: RequestMessage =
      params === undefined
        ? { kind: 'request', id, method: name }
        : { kind: 'request', id, method: name, params };
    return connection.handle(request);
  };
  return { conn, sent, call };
}

describe('serve', () => {
  it('answers a typed handler with its result, and a sync one without waiting', async () => {
    const { sent, call } = fixture();
    await call('echo', { text: 'hi' });
    expect(sent).toEqual([{ kind: 'response', id: 1, result: { text: 'hi' } }]);
  });

  it('funnels every failure: unknown method, bad params, gate, RpcError, thrown errors', async () => {
    const { conn, sent, call } = fixture();
    await call('nope', {});
    await call('echo', { text: 5 });
    await call('fail', { how: 'rpc' });
    await call('fail', { how: 'sync' });
    await call('fail', { how: 'async' });
    await call('fail', { how: 'throw' });
    conn.gateClosed = true;
    await call('echo', { text: 'x' });
    expect(sent.map((m) => (m.kind === 'error' ? m.error.message : m.kind))).toEqual([
      'unknown method nope',
      expect.stringMatching(/^echo: /),
      'refused on purpose',
      'internal: sync boom',
      expect.stringMatching(/^echo: |^fail: /),
      'internal: async boom',
      'gate closed',
    ]);
  });

  it('runs requests with the same key in arrival order and others at once', async () => {
    const { conn, call } = fixture();
    await Promise.all([
      call('slow', { key: 'a', ms: 40 }),
      call('slow', { key: 'a', ms: 1 }),
      call('slow', { key: 'b', ms: 5 }),
    ]);
    const log = conn.log.filter((line) => !line.startsWith('sent'));
    // b overtakes the first a; the second a waits for the first (and its after-reply task)
    expect(log.indexOf('end b 5')).toBeLessThan(log.indexOf('end a 40'));
    expect(log.indexOf('after a 40')).toBeLessThan(log.indexOf('start a 1'));
  });

  it('runs after-reply tasks after the reply went out', async () => {
    const { conn, call } = fixture();
    await call('slow', { key: 'a', ms: 1 });
    expect(conn.log).toEqual(['start a 1', 'end a 1', 'sent 1', 'after a 1']);
  });

  it('lets a request release its place so later ones with its key start before it ends', async () => {
    const { conn, sent, call } = fixture();
    const polling = call('poll', { key: 'a' });
    await call('slow', { key: 'a', ms: 1 });
    expect(sent.map((m) => ('id' in m ? m.id : null))).toEqual([2]);
    conn.pollRelease?.();
    await polling;
    expect(sent.map((m) => ('id' in m ? m.id : null))).toEqual([2, 1]);
  });

  it('uses the serve-wide order for methods whose entry has no key', async () => {
    const unordered = fixture();
    await Promise.all([
      unordered.call('fail', { how: 'throw' }),
      unordered.call('echo', { text: 'x' }),
    ]);
    expect(unordered.sent.map((m) => ('id' in m ? m.id : null))).toEqual([2, 1]);
    const ordered = fixture({ order: () => 'connection' });
    await Promise.all([
      ordered.call('fail', { how: 'throw' }),
      ordered.call('echo', { text: 'x' }),
    ]);
    expect(ordered.sent.map((m) => ('id' in m ? m.id : null))).toEqual([1, 2]);
  });

  it('tells onWritten callbacks and still runs after-reply tasks when sending fails', async () => {
    const events: string[] = [];
    const served = serve(
      { ping: method(z.object({}), z.object({})) },
      {
        ping: (_p, scope) => {
          scope.onWritten((error) => events.push(`written ${error?.message ?? 'ok'}`));
          scope.afterReply(() => {
            events.push('after');
          });
          return {};
        },
      },
      {
        unknownMethod: () => invalidRequest('x'),
        invalidParams: () => invalidParams('x'),
        unexpected: () => ({ code: -32603, message: 'x' }),
      },
    );
    const connection = served.connection(null, () => Promise.reject(new Error('socket gone')));
    await connection.handle({ kind: 'request', id: 1, method: 'ping', params: {} });
    expect(events).toEqual(['written socket gone', 'after']);
  });
});
