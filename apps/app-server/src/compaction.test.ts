import { agentRuntimeFactory, ResponsesClient, type RuntimeFactory } from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { expectReferenceShape, expectWireShape, tempHome } from '@tether/test-kit';
import { silentLogger } from '@tether/transport';
import { afterEach, describe, expect, it } from 'vitest';
import { agentFromOptions, tokenCount } from './agent-config.js';
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

function agentFor(mock: MockResponsesServer): RuntimeFactory {
  const environment = localEnvironment();
  return agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: () => environment,
  });
}

async function serve(home: string, runtimeFactory: RuntimeFactory) {
  const s = await startServer(async () => ({ status: 'completed' }), { home, runtimeFactory });
  servers.push(s);
  const c = await client(s, 'compaction', { experimentalApi: true });
  clients.push(c);
  return { s, c };
}

async function runTurn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
    timeoutMs: 20_000,
  });
  return c.notifications.since(from);
}

/** The texts of a request's input messages, `role: text`. */
function inputOf(mock: MockResponsesServer, index: number): string[] {
  const input = mock.requests.at(index)?.body.input;
  if (!Array.isArray(input)) throw new Error(`request ${index} has no input`);
  return input.map((raw: { role?: string; content?: Array<{ text?: string }> }) => {
    const text = (raw.content ?? []).map((part) => part.text ?? '').join('');
    return `${raw.role}: ${text.split('\n')[0]}`;
  });
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Method names, with the item type for item notifications. */
const methods = (notifications: ReadonlyArray<{ method: string; params: unknown }>) =>
  notifications
    .filter((n) => n.method !== 'item/agentMessage/delta')
    .map((n) => {
      const item = isRecord(n.params) && isRecord(n.params.item) ? n.params.item : undefined;
      return typeof item?.type === 'string' ? `${n.method} ${item.type}` : n.method;
    });

describe('thread/compact/start', () => {
  it("emits the reference's notifications in its order and shapes, and a restarted server continues from the compacted conversation", async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, agentFor(mock));
    const { thread } = await first.c.request('thread/start', {
      cwd: '/tmp',
      approvalPolicy: 'never',
    });
    mock.enqueue(
      mockReply.text('reply one'),
      mockReply.text('reply two'),
      mockReply.text('THE SUMMARY'),
      mockReply.text('reply three'),
    );
    await runTurn(first.c, thread.id, 'question one');
    await runTurn(first.c, thread.id, 'question two');

    const from = first.c.notifications.cursor;
    const result = await first.c.request('thread/compact/start', { threadId: thread.id });
    expectReferenceShape('ThreadCompactStartResponse', result);
    expect(result).toEqual({});
    await first.c.waitForNotification(
      'turn/completed',
      (p) => (p.turn as app.Turn).status === 'completed',
      { from, timeoutMs: 20_000 },
    );
    const seen = first.c.notifications.since(from);
    expect(methods(seen)).toEqual([
      'thread/status/changed',
      'turn/started',
      'item/started contextCompaction',
      'thread/tokenUsage/updated',
      'thread/tokenUsage/updated',
      'thread/tokenUsage/updated',
      'item/completed contextCompaction',
      'thread/status/changed',
      'turn/completed',
    ]);
    for (const notification of seen) expectWireShape(notification);
    expect(seen.at(-1)?.params).toMatchObject({
      turn: { status: 'completed', items: [], itemsView: 'notLoaded' },
    });
    const usage = seen.filter((n) => n.method === 'thread/tokenUsage/updated').at(-1);
    expect(usage?.params).toMatchObject({ tokenUsage: { modelContextWindow: 258_400 } });

    // the compaction turn and its item are part of the thread's history
    const read = await first.c.request('thread/read', { threadId: thread.id, includeTurns: true });
    const compactionTurn = read.thread.turns.at(-1);
    expect(compactionTurn?.items.map((item) => item.type)).toEqual(['contextCompaction']);
    expectReferenceShape('ThreadItem', compactionTurn?.items[0]);

    // a restart: the conversation read back from the rollout is the compacted one
    first.c.close();
    await first.s.shutdown();
    const second = await serve(home, agentFor(mock));
    await second.c.request('thread/resume', { threadId: thread.id });
    await runTurn(second.c, thread.id, 'question three');
    expect(inputOf(mock, -1)).toEqual([
      'user: question one',
      'user: question two',
      'user: Earlier parts of this conversation were compacted. A model worked on this task before you and, before its context was cleared, wrote the summary below; the user messages above are the ones it had received, and the tool results it saw are gone. Continue the work from this summary: build on what it reports as done instead of repeating it. The summary:',
      'user: question three',
    ]);
    expect(inputOf(mock, -1)).toHaveLength(4);
    const summary = mock.requests.at(-1)?.body.input;
    expect(JSON.stringify(summary)).toContain('THE SUMMARY');
  });

  it('answers thread not found for a thread that is not loaded', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = await serve(tempHome(), agentFor(mock));
    await expect(
      c.request('thread/compact/start', { threadId: '01a200ff-0000-7000-8000-000000000000' }),
    ).rejects.toMatchObject({
      code: -32600,
      message: 'thread not found: 01a200ff-0000-7000-8000-000000000000',
    });
  });
});

describe('--model-context-window', () => {
  it('sets the window: 95% reported, compaction before the next turn at 90%', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const agent = await agentFromOptions(
      {
        model: 'mock-model',
        modelBaseUrl: mock.baseUrl,
        modelRetries: '0',
        modelContextWindow: '20000',
      },
      { OPENAI_API_KEY: 'sk-test' },
      silentLogger(),
    );
    const { c } = await serve(tempHome(), agent.runtimeFactory);
    const { thread } = await c.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });
    mock.enqueue(
      mockReply.text('full', { usage: { inputTokens: 17_990, outputTokens: 10 } }),
      mockReply.text('SUMMARY'),
      mockReply.text('after'),
    );
    const firstTurn = await runTurn(c, thread.id, 'fill');
    const usage = firstTurn.find((n) => n.method === 'thread/tokenUsage/updated');
    expect(usage).toBeDefined();
    expectWireShape(usage);
    expect(usage?.params).toMatchObject({ tokenUsage: { modelContextWindow: 19_000 } });
    const second = await runTurn(c, thread.id, 'next');
    for (const notification of second) expectWireShape(notification);
    const secondTurn = methods(second);
    expect(secondTurn.indexOf('item/completed contextCompaction')).toBeGreaterThan(-1);
    expect(secondTurn.indexOf('item/completed contextCompaction')).toBeLessThan(
      secondTurn.indexOf('item/started userMessage'),
    );
    await agent.close();
  });

  it('takes a positive whole number of tokens only', () => {
    expect(tokenCount(undefined, 'model-context-window')).toBeUndefined();
    expect(tokenCount('128000', 'model-context-window')).toBe(128_000);
    for (const bad of ['0', '-5', '1.5', 'lots', '']) {
      expect(() => tokenCount(bad, 'model-context-window')).toThrow(
        /--model-context-window.*positive whole number/,
      );
    }
  });
});
