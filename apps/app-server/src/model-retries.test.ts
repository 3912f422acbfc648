import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { silentLogger } from '@tether/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { agentFromOptions } from './agent-config.js';
import type { AppServer } from './server.js';
import { client, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
  for (const m of mocks.splice(0)) await m.close();
});

describe('the default number of model retries', () => {
  it("is the provider's stream_max_retries (5), announced as n/5 as the reference does", async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const agent = await agentFromOptions(
      { model: 'mock-model', modelBaseUrl: mock.baseUrl },
      { OPENAI_API_KEY: 'sk-test' },
      silentLogger(),
    );
    const s = await startServer(async () => ({ status: 'completed' }), {
      home: tempHome(),
      runtimeFactory: agent.runtimeFactory,
    });
    servers.push(s);
    const c = await client(s, 'model-retries', {});
    clients.push(c);
    // five 500s (retried at once: the server asks for a 1 ms wait), then an answer
    const busy = () => mockReply.httpError(500, undefined, { 'retry-after-ms': '1' });
    mock.enqueue(busy(), busy(), busy(), busy(), busy(), mockReply.text('done'));
    const { thread } = await c.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });
    const from = c.notifications.cursor;
    const { turn } = await c.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'hi' }],
    });
    const done = await c.waitForNotification(
      'turn/completed',
      (p) => (p.turn as app.Turn).id === turn.id,
      { from, timeoutMs: 20_000 },
    );
    expect((done.params as { turn: app.Turn }).turn.status).toBe('completed');
    const notices = c.notifications
      .since(from)
      .filter((n) => n.method === 'error')
      .map((n) => (n.params as { error: { message: string } }).error.message);
    expect(notices).toEqual([1, 2, 3, 4, 5].map((n) => `Reconnecting... ${n}/5`));
    expect(mock.requests).toHaveLength(6);
    await agent.close();
  });
});
