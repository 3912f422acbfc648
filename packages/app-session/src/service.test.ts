import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { type Message, silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AppService } from './service.js';
import { sinkConnection } from './sink-connection.js';

const services: AppService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

function start(): AppService {
  const service = new AppService({
    home: mkdtempSync(join(tmpdir(), 'tether-app-session-')),
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
  });
  services.push(service);
  return service;
}

/** A client of the service: requests by id, answers and notifications as received. */
function client(service: AppService) {
  const received: Message[] = [];
  const connection = sinkConnection({ send: (message) => received.push(message) });
  const handler = service.connect(connection);
  let nextId = 1;
  const answer = (id: number): Promise<Message> =>
    waitFor(
      () => received.find((m) => (m.kind === 'response' || m.kind === 'error') && m.id === id),
      {
        what: `an answer to request ${id}`,
      },
    );
  const call = async (method: string, params?: unknown): Promise<Message> => {
    const id = nextId++;
    await handler.handle(
      params === undefined
        ? { kind: 'request', id, method }
        : { kind: 'request', id, method, params },
    );
    return answer(id);
  };
  const methods = () => received.flatMap((m) => (m.kind === 'notification' ? [m.method] : []));
  return { connection, handler, received, call, methods };
}

describe('AppService in-process, no sockets', () => {
  it('gates on initialize, answers through typed handlers and fans notifications out', async () => {
    const service = start();
    const a = client(service);
    const b = client(service);
    expect(await a.call('thread/list', {})).toMatchObject({
      kind: 'error',
      error: { code: -32600, message: 'Not initialized' },
    });
    const init = await a.call('initialize', { clientInfo: { name: 'mem', version: '1' } });
    expect(init).toMatchObject({ kind: 'response', result: { codexHome: expect.any(String) } });
    await b.call('initialize', { clientInfo: { name: 'other', version: '1' } });
    const started = await a.call('thread/start', { cwd: tmpdir() });
    if (started.kind !== 'response') throw new Error(JSON.stringify(started));
    const threadId = (started.result as { thread: { id: string } }).thread.id;
    // thread/started goes to every initialized connection, after the answer
    await waitFor(() => b.methods().includes('thread/started'));
    expect(a.received.findIndex((m) => m.kind === 'response')).toBeLessThan(
      a.received.findIndex((m) => m.kind === 'notification' && m.method === 'thread/started'),
    );
    await a.call('turn/start', { threadId, input: [{ type: 'text', text: 'hi' }] });
    await waitFor(() => a.methods().includes('turn/completed'));
    expect(a.methods()).toEqual(expect.arrayContaining(['turn/started', 'turn/completed']));
    // b never subscribed: thread events are not its business
    expect(b.methods()).not.toContain('turn/started');
    expect(await a.call('thread/loaded/list', {})).toMatchObject({
      result: { data: [threadId] },
    });
  });

  it('refuses what the reference refuses before any handler runs', async () => {
    const service = start();
    const a = client(service);
    await a.call('initialize', { clientInfo: { name: 'mem', version: '1' } });
    expect(await a.call('thread/read', { threadId: 5 })).toMatchObject({
      error: {
        code: -32600,
        message: 'Invalid request: invalid type: integer `5`, expected a string',
      },
    });
    expect(await a.call('thread/start', { dynamicTools: [] })).toMatchObject({
      error: { message: 'thread/start.dynamicTools requires experimentalApi capability' },
    });
    expect(await a.call('initialize', { clientInfo: { name: 'mem', version: '1' } })).toMatchObject(
      {
        error: { message: 'Already initialized' },
      },
    );
  });

  it('forgets a closed connection: its subscriptions go, the thread stays loaded for its delay', async () => {
    const service = start();
    const a = client(service);
    await a.call('initialize', { clientInfo: { name: 'mem', version: '1' } });
    const started = await a.call('thread/start', { cwd: tmpdir() });
    if (started.kind !== 'response') throw new Error(JSON.stringify(started));
    const threadId = (started.result as { thread: { id: string } }).thread.id;
    expect(service.state.subscribers(threadId)).toEqual([a.connection.id]);
    service.disconnect(a.connection.id);
    expect(service.state.subscribers(threadId)).toEqual([]);
    expect(service.connection(a.connection.id)).toBeUndefined();
    expect(service.threads.isLoaded(threadId)).toBe(true);
  });
});
