import { silentLogger } from '@tether/protocol';
import { expectWireShape, waitFor } from '@tether/test-kit';
import { afterEach, expect, it } from 'vitest';
import { agentRuntimeFactory } from './agent.js';
import { ChatCompletionsClient, type RateLimitSnapshot, ResponsesClient } from './model/index.js';
import type { ThreadEvent, ThreadRuntime } from './runtime.js';
import { testSettings } from './test-support/settings.js';
import { MockResponsesServer, mockReply } from './testing/index.js';

const mocks: MockResponsesServer[] = [];
const runtimes: ThreadRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.shutdown();
  for (const mock of mocks.splice(0)) await mock.close();
});

const HEADERS = {
  'x-codex-primary-used-percent': '42',
  'x-codex-primary-window-minutes': '300',
  'x-codex-primary-reset-at': '1704069000',
};

it.each(['responses', 'chat'] as const)(
  'reports the rate limits of each response after its token usage (%s wire API)',
  async (wireApi) => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    mock.enqueue(mockReply.text('hi', { headers: HEADERS }));
    const seen: RateLimitSnapshot[][] = [];
    const config = {
      model: 'mock-model',
      baseUrl: mock.baseUrl,
      maxRetries: 0,
      onRateLimits: (s: RateLimitSnapshot[]) => seen.push(s),
    };
    const rt = agentRuntimeFactory({
      model: wireApi === 'chat' ? new ChatCompletionsClient(config) : new ResponsesClient(config),
      environment: async () => {
        throw new Error('no commands here');
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
    await rt.startTurn({
      input: [{ type: 'text', text: 'hi' }],
      clientUserMessageId: null,
      settings: testSettings(),
    });
    await waitFor(() =>
      events.some((e) => e.kind === 'notification' && e.method === 'turn/completed'),
    );
    const methods = events.flatMap((e) => (e.kind === 'notification' ? [e.method] : []));
    const usage = methods.indexOf('thread/tokenUsage/updated');
    expect(methods.slice(usage, usage + 2)).toEqual([
      'thread/tokenUsage/updated',
      'account/rateLimits/updated',
    ]);
    const update = events.find(
      (e) => e.kind === 'notification' && e.method === 'account/rateLimits/updated',
    );
    expect(update).toMatchObject({
      params: {
        rateLimits: {
          limitId: 'codex',
          primary: { usedPercent: 42, windowDurationMins: 300, resetsAt: 1704069000 },
        },
      },
    });
    if (update?.kind === 'notification') expectWireShape(update);
    expect(seen[0]?.[0]?.primary?.usedPercent).toBe(42);
  },
);
