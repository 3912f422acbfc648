import { app, silentLogger } from '@tether/protocol';
import { expectWireShape, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRuntimeFactory } from './agent.js';
import { ResponsesClient } from './model/index.js';
import type { ThreadEvent, ThreadRuntime, ThreadSettings } from './runtime.js';
import { testSettings } from './test-support/settings.js';
import { MockResponsesServer, mockReasoning, mockReply } from './testing/index.js';

const mocks: MockResponsesServer[] = [];
const runtimes: ThreadRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.shutdown();
  for (const mock of mocks.splice(0)) await mock.close();
});

async function agent() {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  const rt = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => {
      throw new Error('these turns run no commands');
    },
  })({
    threadId: 'thread-1',
    settings: testSettings(),
    conversation: [],
    tokenUsage: null,
    logger: silentLogger(),
  });
  runtimes.push(rt);
  const events: ThreadEvent[] = [];
  void (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  /** Runs a turn to its end; the notifications it sent, as the client reads them. */
  const turn = async (text: string, settings: ThreadSettings = testSettings()) => {
    const from = events.length;
    await rt.startTurn({ input: [{ type: 'text', text }], clientUserMessageId: null, settings });
    await waitFor(
      () =>
        events
          .slice(from)
          .some((e) => e.kind === 'notification' && e.method === 'turn/completed') || undefined,
      { what: 'the turn to complete' },
    );
    return events.slice(from).flatMap((e) => (e.kind === 'notification' ? [e] : []));
  };
  return { mock, turn };
}

type Sent = Awaited<ReturnType<Awaited<ReturnType<typeof agent>>['turn']>>;

/** The reasoning notifications of a turn, reduced to what identifies them. */
function reasoningTrail(sent: Sent): unknown[] {
  return sent.flatMap((m): unknown[][] => {
    if (m.method === 'item/started' || m.method === 'item/completed') {
      const item = m.params.item;
      if (!app.isKnownThreadItem(item) || item.type !== 'reasoning') return [];
      return [[m.method, item.id, item.summary, item.content]];
    }
    if (m.method === 'item/reasoning/summaryPartAdded') {
      return [[m.method, m.params.itemId, m.params.summaryIndex]];
    }
    if (m.method === 'item/reasoning/summaryTextDelta') {
      return [[m.method, m.params.itemId, m.params.summaryIndex, m.params.delta]];
    }
    if (m.method === 'item/reasoning/textDelta') {
      return [[m.method, m.params.itemId, m.params.contentIndex, m.params.delta]];
    }
    return [];
  });
}

const reasoningInputs = (body: Record<string, unknown>) =>
  (Array.isArray(body.input) ? body.input : []).filter(
    (item: { type?: unknown }) => item.type === 'reasoning',
  );

describe('reasoning items', () => {
  it('streams a reasoning item as the reference does, each notification in its schema', async () => {
    const { mock, turn } = await agent();
    mock.enqueue(
      mockReply.output([
        mockReasoning({
          id: 'rs_1',
          summary: [['**Plan**', ' first'], ['second']],
          text: ['raw ', 'thought'],
          encryptedContent: 'ENC1',
        }),
        { type: 'text', deltas: ['Done.'] },
      ]),
    );
    const sent = await turn('think');
    // the order codex 0.169.0 sends for the same stream
    expect(reasoningTrail(sent)).toEqual([
      ['item/started', 'rs_1', [], []],
      ['item/reasoning/summaryPartAdded', 'rs_1', 0],
      ['item/reasoning/summaryTextDelta', 'rs_1', 0, '**Plan**'],
      ['item/reasoning/summaryTextDelta', 'rs_1', 0, ' first'],
      ['item/reasoning/summaryPartAdded', 'rs_1', 1],
      ['item/reasoning/summaryTextDelta', 'rs_1', 1, 'second'],
      ['item/reasoning/textDelta', 'rs_1', 0, 'raw '],
      ['item/reasoning/textDelta', 'rs_1', 0, 'thought'],
      ['item/completed', 'rs_1', ['**Plan** first', 'second'], ['raw thought']],
    ]);
    // the reasoning item comes before the message it led to
    const started = sent.flatMap((m) =>
      m.method === 'item/started' && app.isKnownThreadItem(m.params.item)
        ? [m.params.item.type]
        : [],
    );
    expect(started).toEqual(['userMessage', 'reasoning', 'agentMessage']);
    for (const message of sent) {
      if (message.method.startsWith('item/')) expectWireShape(message);
    }
  });

  it('carries reasoning with its encrypted content into the next request of the turn and later turns', async () => {
    const { mock, turn } = await agent();
    mock.enqueue(
      mockReply.output([
        mockReasoning({ id: 'rs_1', encryptedContent: 'ENC1' }),
        { type: 'toolCall', name: 'not_a_tool', arguments: {}, callId: 'call_1' },
      ]),
      mockReply.output([
        mockReasoning({ id: 'rs_2', encryptedContent: 'ENC2' }),
        { type: 'text', deltas: ['Done.'] },
      ]),
      mockReply.output([
        // a server that keeps no encrypted content: the item still goes back, with null
        mockReasoning({ id: 'rs_3', encryptedContent: null, text: ['raw'] }),
        { type: 'text', deltas: ['Again.'] },
      ]),
      mockReply.text('Third.'),
    );
    await turn('one');
    await turn('two');
    await turn('three');
    const [first, second, third, fourth] = mock.requests.map((r) => r.body);
    for (const body of [first, second, third, fourth]) {
      expect(body?.store).toBe(false);
      expect(body?.include).toEqual(['reasoning.encrypted_content']);
    }
    expect(reasoningInputs(first ?? {})).toEqual([]);
    // the call's request: the reasoning sits before the call, as the model produced it
    const input: unknown[] = Array.isArray(second?.input) ? second.input : [];
    const order = input.map((i) => {
      const item = i !== null && typeof i === 'object' ? { ...i } : {};
      return 'type' in item && item.type === 'reasoning' && 'id' in item
        ? item.id
        : 'type' in item
          ? item.type
          : i;
    });
    expect(order).toEqual(['message', 'rs_1', 'function_call', 'function_call_output']);
    expect(reasoningInputs(second ?? {})).toEqual([
      {
        type: 'reasoning',
        id: 'rs_1',
        summary: [{ type: 'summary_text', text: '**Thinking** it over' }],
        content: null,
        encrypted_content: 'ENC1',
      },
    ]);
    expect(reasoningInputs(third ?? {}).map((i: { id?: unknown }) => i.id)).toEqual([
      'rs_1',
      'rs_2',
    ]);
    expect(reasoningInputs(fourth ?? {}).at(-1)).toEqual({
      type: 'reasoning',
      id: 'rs_3',
      summary: [{ type: 'summary_text', text: '**Thinking** it over' }],
      content: [{ type: 'reasoning_text', text: 'raw' }],
      encrypted_content: null,
    });
  });

  it("sends the turn's effort and summary as the reference does", async () => {
    const { mock, turn } = await agent();
    mock.enqueue(mockReply.text('a'), mockReply.text('b'), mockReply.text('c'));
    await turn('defaults');
    await turn('set', testSettings({ reasoningEffort: 'high', reasoningSummary: 'detailed' }));
    await turn('none', testSettings({ reasoningEffort: null, reasoningSummary: 'none' }));
    expect(mock.requests.map((r) => r.body.reasoning)).toEqual([
      { summary: 'auto' },
      { effort: 'high', summary: 'detailed' },
      {},
    ]);
  });
});
