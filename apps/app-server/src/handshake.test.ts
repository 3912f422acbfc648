import { AppServerClient } from '@tether/client';
import { app, type RpcError } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, replyBody, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

async function server() {
  const s = await startServer(replyBody(['hi']));
  servers.push(s);
  return s;
}
async function raw(s: AppServer) {
  const c = await AppServerClient.connectWebSocket(s.url as string);
  clients.push(c);
  return c;
}
const errorOf = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected an error');
    },
    (e: RpcError) => ({ code: e.code, message: e.message }),
  );

describe('handshake', () => {
  it('gates requests on initialize and refuses a second one', async () => {
    const s = await server();
    const c = await raw(s);
    expect(await errorOf(c.requestRaw('thread/list', {}))).toEqual({
      code: -32600,
      message: 'Not initialized',
    });
    // the reference decodes before it gates: an unknown method or bad params say so first
    expect((await errorOf(c.requestRaw('foo/unknownMethod', {}))).message).toMatch(
      /^Invalid request: unknown variant `foo\/unknownMethod`/,
    );
    expect(await errorOf(c.requestRaw('thread/read', { threadId: 5 }))).toEqual({
      code: -32600,
      message: 'Invalid request: invalid type: integer `5`, expected a string',
    });
    const result = await c.initialize({ name: 'probe', version: '1.0.0' });
    expect(app.InitializeResponse.parse(result)).toEqual(result);
    expect(result.userAgent).toMatch(/^probe\/0\.169\.0 .*\(probe; 1\.0\.0\)$/);
    // the reference's keys and no others
    expect(Object.keys(result).sort()).toEqual([
      'codexHome',
      'platformFamily',
      'platformOs',
      'userAgent',
    ]);
    expect(result.platformFamily).toBe('unix');
    expect(
      await errorOf(c.requestRaw('initialize', { clientInfo: { name: 'x', version: '1' } })),
    ).toEqual({
      code: -32600,
      message: 'Already initialized',
    });
  });

  it('answers unknown methods and bad params with -32600 naming the problem', async () => {
    const s = await server();
    const c = await raw(s);
    await c.initialize({ name: 'probe', version: '1' });
    const unknown = await errorOf(c.requestRaw('foo/unknownMethod', {}));
    expect(unknown.code).toBe(-32600);
    expect(unknown.message).toMatch(
      /^Invalid request: unknown variant `foo\/unknownMethod`, expected one of `initialize`, /,
    );
    // the reference's own list, in its decoder's order (not tether's table)
    expect(unknown.message).toContain('`thread/realtime/start`');
    // a method the reference has and tether does not is refused as such, not as unknown
    expect(await errorOf(c.requestRaw('fuzzyFileSearch', { query: 'x', roots: [] }))).toEqual({
      code: -32601,
      message: '`fuzzyFileSearch` is not implemented by tether',
    });
    // serde's from_value words: no field path
    expect(await errorOf(c.requestRaw('thread/read', { threadId: 5 }))).toEqual({
      code: -32600,
      message: 'Invalid request: invalid type: integer `5`, expected a string',
    });
    expect(await errorOf(c.requestRaw('thread/start', { approvalPolicy: 'sometimes' }))).toEqual({
      code: -32600,
      message:
        'Invalid request: unknown variant `sometimes`, expected one of `untrusted`, `on-request`, `granular`, `never`',
    });
    expect(
      await errorOf(
        c.requestRaw('turn/start', {
          threadId: '01a200ff-0000-7000-8000-000000000000',
          input: [{ type: 'nope' }],
        }),
      ),
    ).toEqual({
      code: -32600,
      message:
        'Invalid request: unknown variant `nope`, expected one of `text`, `image`, `localImage`, `audio`, `localAudio`, `skill`, `mention`',
    });
    expect(await errorOf(c.requestRaw('thread/read', null))).toEqual({
      code: -32600,
      message: 'Invalid request: missing field `params`',
    });
    expect(await errorOf(c.requestRaw('thread/read', {}))).toEqual({
      code: -32600,
      message: 'Invalid request: missing field `threadId`',
    });
    expect(await errorOf(c.requestRaw('thread/read'))).toEqual({
      code: -32600,
      message: 'Invalid request: missing field `params`',
    });
    expect((await errorOf(c.requestRaw('thread/read', { threadId: 'not-a-uuid' }))).message).toBe(
      'invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1',
    );
    expect(
      await errorOf(
        c.requestRaw('thread/read', { threadId: '01a200ff-0000-7000-8000-000000000000' }),
      ),
    ).toEqual({ code: -32600, message: 'thread not loaded: 01a200ff-0000-7000-8000-000000000000' });
    expect(
      (
        await errorOf(
          c.requestRaw('initialize', { clientInfo: { name: 'bad\rname', version: '1' } }),
        )
      ).message,
    ).toBe('Already initialized');
  });

  it('refuses a client name that is not a valid header value', async () => {
    const s = await server();
    const c = await raw(s);
    expect(
      await errorOf(
        c.requestRaw('initialize', { clientInfo: { name: 'bad\rname', version: '1' } }),
      ),
    ).toEqual({
      code: -32600,
      message: "Invalid clientInfo.name: 'bad\rname'. Must be a valid HTTP header value.",
    });
    // a failed initialize does not count: a good one still works
    await c.initialize({ name: 'good', version: '1' });
  });

  it('ignores malformed frames and keeps the connection; routes same ids per connection', async () => {
    const s = await server();
    const a = await raw(s);
    const b = await raw(s);
    await a.initialize({ name: 'a', version: '1' });
    // b is not initialized: the same id on both connections is answered independently
    const [ra, rb] = await Promise.allSettled([
      a.requestRaw('thread/loaded/list', {}, 77),
      b.requestRaw('thread/loaded/list', {}, 77),
    ]);
    expect(ra).toMatchObject({ status: 'fulfilled', value: { data: [] } });
    expect(rb).toMatchObject({ status: 'rejected', reason: { message: 'Not initialized' } });
    // a raw garbage frame is skipped; the next request is answered
    a.peer.channel.sendRaw('{not json');
    expect(await a.request('thread/loaded/list', {})).toEqual({ data: [], nextCursor: null });
  });

  it('broadcasts reach initialized connections only and honour opt-outs', async () => {
    const s = await server();
    const a = await client(s, 'a');
    const optedOut = await client(s, 'b', { optOutNotificationMethods: ['thread/started'] });
    const uninitialized = await raw(s);
    const started = await a.request('thread/start', { cwd: '/tmp' });
    await a.waitForNotification('thread/started');
    // the opted-out and the uninitialized connections never get it
    await a.request('thread/loaded/list', {});
    await optedOut.request('thread/loaded/list', {});
    expect(optedOut.notifications.since().map((n) => n.method)).not.toContain('thread/started');
    expect(uninitialized.notifications.since()).toEqual([]);
    expect(started.thread.id).toMatch(/^[0-9a-f-]{36}$/);
    await waitFor(() => a.notifications.since().some((n) => n.method === 'thread/started'));
  });
});
