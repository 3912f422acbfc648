import { agentRuntimeFactory, ResponsesClient } from '@tether/agent-core';
import { MockResponsesServer, mockReasoning, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { expectWireShape, sleep, tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, runTurn, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
  for (const m of mocks.splice(0)) await m.close();
});

async function serve(home: string, mock: MockResponsesServer, experimentalApi = true) {
  const s = await startServer(async () => ({ status: 'completed' }), {
    home,
    runtimeFactory: agentRuntimeFactory({
      model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
      environment: async () => {
        throw new Error('these turns run no commands');
      },
    }),
  });
  servers.push(s);
  const c = await client(s, 'reasoning', { experimentalApi });
  clients.push(c);
  return { s, c };
}

const text = (threadId: string, value: string): app.TurnStartParams => ({
  threadId,
  input: [{ type: 'text', text: value }],
});

const reasoningOf = (mock: MockResponsesServer, index: number) => {
  const input = mock.requests.at(index)?.body.input;
  return (Array.isArray(input) ? input : []).filter(
    (item: { type?: unknown }) => item.type === 'reasoning',
  );
};

describe('reasoning and the settings sent to the model', () => {
  it('a resumed thread sends back the reasoning of its earlier turns and shows its reasoning items', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, mock);
    const { thread } = await first.c.request('thread/start', { cwd: '/tmp' });
    mock.enqueue(
      mockReply.output([
        mockReasoning({ id: 'rs_1', summary: [['why']], encryptedContent: 'ENC1' }),
        { type: 'text', deltas: ['one'] },
      ]),
    );
    const from = await runTurn(first.c, text(thread.id, 'first'));
    const streamed = first.c.notifications.since(from);
    const methods = streamed.map((n) => n.method);
    expect(methods).toContain('item/reasoning/summaryPartAdded');
    expect(methods).toContain('item/reasoning/summaryTextDelta');
    for (const n of streamed) if (n.method.startsWith('item/')) expectWireShape(n);
    await first.s.shutdown({ waitForTurns: true });

    const second = await serve(home, mock);
    const resumed = await second.c.request('thread/resume', { threadId: thread.id });
    const items = resumed.thread.turns.flatMap((turn: app.Turn) => turn.items);
    expect(
      items.filter((item) => app.isKnownThreadItem(item) && item.type === 'reasoning'),
    ).toEqual([
      expect.objectContaining({ type: 'reasoning', id: 'rs_1', summary: ['why'], content: [] }),
    ]);
    mock.enqueue(mockReply.text('two'));
    await runTurn(second.c, text(thread.id, 'second'));
    expect(reasoningOf(mock, 1)).toEqual([
      {
        type: 'reasoning',
        id: 'rs_1',
        summary: [{ type: 'summary_text', text: 'why' }],
        content: null,
        encrypted_content: 'ENC1',
      },
    ]);
  });

  it('config, turn/start and a collaboration mode set what is sent; thread/settings/updated reports it', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { s, c } = await serve(home, mock);
    const stable = await client(s, 'stable', {});
    clients.push(stable);
    const started = await c.request('thread/start', {
      cwd: '/tmp',
      config: { model_reasoning_effort: 'low', model_reasoning_summary: 'concise' },
    });
    expect(started.reasoningEffort).toBe('low');
    const threadId = started.thread.id;
    await stable.request('thread/resume', { threadId });
    mock.enqueue(mockReply.text('a'), mockReply.text('b'), mockReply.text('c'));

    // the thread's model (the server's default), with config's reasoning
    await runTurn(c, text(threadId, 'from config'));
    // a collaboration mode's model and effort win over the request's own
    const from = await runTurn(c, {
      ...text(threadId, 'in a mode'),
      model: 'ignored-model',
      effort: 'high',
      collaborationMode: {
        mode: 'default',
        settings: {
          model: 'mode-model',
          reasoning_effort: 'medium',
          developer_instructions: 'DEV',
        },
      },
    });
    const updated = c.notifications
      .since(from)
      .filter((n) => n.method === 'thread/settings/updated');
    expect(updated).toHaveLength(1);
    expectWireShape(updated[0]);
    expect(updated[0]?.params).toMatchObject({
      threadId,
      threadSettings: {
        model: 'mode-model',
        effort: 'medium',
        summary: 'concise',
        collaborationMode: {
          mode: 'default',
          settings: {
            model: 'mode-model',
            reasoning_effort: 'medium',
            developer_instructions: 'DEV',
          },
        },
      },
    });
    // a later effort shows in the mode too, as the reference reports it; personality is kept
    const later = await runTurn(c, {
      ...text(threadId, 'later'),
      effort: 'xhigh',
      personality: 'friendly',
    });
    const [last] = c.notifications
      .since(later)
      .filter((n) => n.method === 'thread/settings/updated');
    expect(last?.params).toMatchObject({
      threadSettings: {
        effort: 'xhigh',
        personality: 'friendly',
        collaborationMode: { settings: { model: 'mode-model', reasoning_effort: 'xhigh' } },
      },
    });
    expect(mock.requests.map((r) => [r.body.model, r.body.reasoning])).toEqual([
      ['gpt-5', { effort: 'low', summary: 'concise' }],
      ['mode-model', { effort: 'medium', summary: 'concise' }],
      ['mode-model', { effort: 'xhigh', summary: 'concise' }],
    ]);
    // the notification is experimental: a connection without the capability is not sent it
    await sleep(50);
    expect(stable.notifications.since().map((n) => n.method)).not.toContain(
      'thread/settings/updated',
    );
    // persisted: after a restart the thread reasons as it did
    await s.shutdown({ waitForTurns: true });
    const again = await serve(home, mock);
    await again.c.request('thread/resume', { threadId });
    mock.enqueue(mockReply.text('d'));
    await runTurn(again.c, text(threadId, 'after a restart'));
    expect([mock.requests.at(-1)?.body.model, mock.requests.at(-1)?.body.reasoning]).toEqual([
      'mode-model',
      { effort: 'xhigh', summary: 'concise' },
    ]);
  });
});
