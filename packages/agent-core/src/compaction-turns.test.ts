import { silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRuntimeFactory, TURN_ABORTED_TEXT } from './agent.js';
import { COMPACTION_PROMPT, SUMMARY_PREFIX } from './compaction.js';
import { ResponsesClient } from './model/index.js';
import type { ThreadEvent, ThreadRuntime } from './runtime.js';
import { childProcesses } from './test-support/child-processes.js';
import { testSettings } from './test-support/settings.js';
import { conversationOf, MockResponsesServer, mockReply } from './testing/index.js';

/**
 * Compaction turns beside ordinary ones, with the real agent and a mock model: a turn started
 * during a compaction, an interrupted compaction, and a turn whose compaction before its input
 * failed.
 */

const settings = testSettings();
const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function thread(modelContextWindow?: number) {
  const mock = await MockResponsesServer.start();
  cleanup.push(() => mock.close());
  const rt: ThreadRuntime = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => childProcesses,
    ...(modelContextWindow ? { modelContextWindow } : {}),
  })({ threadId: 't', settings, conversation: [], tokenUsage: null, logger: silentLogger() });
  cleanup.push(() => rt.shutdown());
  const events: ThreadEvent[] = [];
  void (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  const completed = (turnId: string) =>
    waitFor(() =>
      events.some(
        (e) =>
          e.kind === 'notification' && e.method === 'turn/completed' && e.params.turn.id === turnId,
      ),
    );
  const input = (text: string) => ({
    input: [{ type: 'text' as const, text }],
    clientUserMessageId: null,
    settings,
  });
  return { mock, rt, events, completed, input };
}

/** What a request carries after the system prompt and context: `role: text` per message. */
function said(body: Record<string, unknown> | undefined): string[] {
  const isRecord = (value: unknown): value is Record<string, unknown> =>
    typeof value === 'object' && value !== null;
  return conversationOf(body?.input).flatMap((item) =>
    isRecord(item) && item.type === 'message' && Array.isArray(item.content)
      ? [
          `${String(item.role)}: ${item.content.map((p) => (isRecord(p) ? String(p.text) : '')).join('')}`,
        ]
      : [],
  );
}

describe('compaction turns', () => {
  it('turn/start during thread/compact/start is refused as the reference refuses it; the next turn runs on the compacted conversation', async () => {
    const { mock, rt, events, completed, input } = await thread();
    mock.enqueue(mockReply.text('first reply'), mockReply.text('SUMMARY'), mockReply.text('next'));
    const first = await rt.startTurn(input('first'));
    await completed(first.id);
    const compaction = await rt.compact(settings);
    const refused = await rt.startTurn(input('during')).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: -32603,
      message: 'failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Compact }',
    });
    await completed(compaction.id);
    const next = await rt.startTurn(input('after'));
    await completed(next.id);
    const order = events.flatMap((e) =>
      e.kind === 'notification' && (e.method === 'turn/started' || e.method === 'turn/completed')
        ? [`${e.method} ${e.params.turn.id}`]
        : [],
    );
    expect(order.slice(2)).toEqual([
      `turn/started ${compaction.id}`,
      `turn/completed ${compaction.id}`,
      `turn/started ${next.id}`,
      `turn/completed ${next.id}`,
    ]);
    expect(mock.requests).toHaveLength(3);
    expect(said(mock.requests[1]?.body).at(-1)).toBe(`user: ${COMPACTION_PROMPT}`);
    // the refused input never reached the conversation
    expect(said(mock.requests[2]?.body)).toEqual([
      'user: first',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
      'user: after',
    ]);
  });

  it('an interrupted compaction leaves the conversation as it was, with the note of the interruption', async () => {
    const { mock, rt, completed, input } = await thread();
    mock.enqueue(mockReply.text('first reply'), mockReply.hang(), mockReply.text('next'));
    const first = await rt.startTurn(input('first'));
    await completed(first.id);
    const compaction = await rt.compact(settings);
    await mock.waitForRequests(2);
    await rt.interrupt(compaction.id);
    await completed(compaction.id);
    const next = await rt.startTurn(input('after'));
    await completed(next.id);
    expect(said(mock.requests[2]?.body)).toEqual([
      'user: first',
      'assistant: first reply',
      `user: ${TURN_ABORTED_TEXT}`,
      'user: after',
    ]);
  });

  it('the input of a turn whose compaction failed is shown and reaches the next request', async () => {
    const { mock, rt, events, completed, input } = await thread(10_000);
    mock.enqueue(
      mockReply.text('big', { usage: { inputTokens: 8_980, outputTokens: 20 } }),
      mockReply.httpError(500),
      mockReply.text('SUMMARY'),
      mockReply.text('answered'),
    );
    await completed((await rt.startTurn(input('fill it up'))).id);
    const from = events.length;
    const failing = await rt.startTurn(input('kept'));
    await completed(failing.id);
    const shown = events
      .slice(from)
      .flatMap((e) =>
        e.kind === 'notification' &&
        e.method === 'item/completed' &&
        e.params.item.type === 'userMessage'
          ? e.params.item.content
          : [],
      );
    expect(shown).toMatchObject([{ type: 'text', text: 'kept' }]);
    const final = events
      .slice(from)
      .find((e) => e.kind === 'notification' && e.method === 'turn/completed');
    expect(final).toMatchObject({ params: { turn: { status: 'failed' } } });
    await completed((await rt.startTurn(input('again'))).id);
    // the window is full still: another compaction, which keeps "kept", then the turn's request
    expect(mock.requests).toHaveLength(4);
    expect(said(mock.requests[3]?.body)).toEqual([
      'user: fill it up',
      'user: kept',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
      'user: again',
    ]);
  });
});
