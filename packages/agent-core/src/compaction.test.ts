import { type app, silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentOptions, agentRuntimeFactory } from './agent.js';
import {
  approxTokens,
  buildCompactedHistory,
  COMPACTION_PROMPT,
  collectUserMessages,
  SUMMARY_PREFIX,
  truncateToTokens,
} from './compaction.js';
import { type ResponseInputItem, ResponsesClient } from './model/index.js';
import type { ThreadEvent, ThreadRuntime, ThreadSettings } from './runtime.js';
import { childProcesses } from './test-support/child-processes.js';
import { testSettings } from './test-support/settings.js';
import {
  conversationOf,
  isContextMessage,
  type MockReply,
  MockResponsesServer,
  mockReply,
} from './testing/index.js';

const settings: ThreadSettings = testSettings();

/**
 * A system prompt for tests with windows of about a thousand tokens, which tether's own prompt
 * would fill by itself: every request still starts with it and counts it.
 */
const SHORT_PROMPT = 'You are a coding agent. Be brief.';

const mocks: MockResponsesServer[] = [];
const runtimes: ThreadRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.shutdown();
  for (const mock of mocks.splice(0)) await mock.close();
});

const user = (text: string): ResponseInputItem => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text }],
});
const assistant = (text: string): ResponseInputItem => ({
  type: 'message',
  role: 'assistant',
  content: [{ type: 'output_text', text }],
});

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function itemsOf(body: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(body.input) ? body.input.filter(isRecord) : [];
}

function textOf(item: Record<string, unknown> | undefined): string {
  if (!item || !Array.isArray(item.content)) return '';
  return item.content.map((part) => (isRecord(part) ? String(part.text ?? '') : '')).join('');
}

/** One line per item: who said what, or which call and its output. */
function lines(items: readonly unknown[]): string[] {
  return items.filter(isRecord).map((item) => {
    if (item.type === 'message') return `${String(item.role)}: ${textOf(item)}`;
    return `${String(item.type)} ${String(item.call_id)}`;
  });
}

/** The conversation a request carries, one line per item (no system prompt, no context messages). */
function summarize(body: Record<string, unknown>): string[] {
  return lines(conversationOf(body.input));
}

/** The system prompt a request starts with: a developer message, never the `instructions` field. */
function systemPromptOf(body: Record<string, unknown>): string | undefined {
  const first = itemsOf(body)[0];
  expect(body.instructions).toBeUndefined();
  return first?.role === 'developer' ? textOf(first) : undefined;
}

/** How many context messages (permissions, environment) a request carries. */
const contextMessages = (body: Record<string, unknown>) => itemsOf(body).filter(isContextMessage);

/** What the mock charges for a request: its instructions, input and tools, 4 bytes a token. */
function requestTokens(body: Record<string, unknown>): number {
  let bytes = Buffer.byteLength(typeof body.instructions === 'string' ? body.instructions : '');
  for (const item of itemsOf(body)) bytes += Buffer.byteLength(JSON.stringify(item));
  if (Array.isArray(body.tools)) bytes += Buffer.byteLength(JSON.stringify(body.tools));
  return Math.ceil(bytes / 4);
}

const isCompactionRequest = (body: Record<string, unknown>) =>
  textOf(itemsOf(body).at(-1)) === COMPACTION_PROMPT;

async function thread(
  options: {
    responder?: (body: Record<string, unknown>) => MockReply | undefined;
    agent?: Partial<AgentOptions>;
    conversation?: ResponseInputItem[];
    tokenUsage?: app.ThreadTokenUsage | null;
  } = {},
) {
  const mock = await MockResponsesServer.start(
    options.responder ? { responder: options.responder } : {},
  );
  mocks.push(mock);
  const factory = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => childProcesses,
    ...options.agent,
  });
  const rt = factory({
    threadId: 'thread-1',
    settings,
    conversation: options.conversation ?? [],
    tokenUsage: options.tokenUsage ?? null,
    logger: silentLogger(),
  });
  runtimes.push(rt);
  const events: ThreadEvent[] = [];
  void (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  const completion = (from: number, turnId: string) =>
    waitFor(
      () => {
        for (const e of events.slice(from)) {
          if (e.kind === 'notification' && e.method === 'turn/completed') {
            if (e.params.turn.id === turnId) return e.params.turn;
          }
        }
        return undefined;
      },
      { what: 'the turn to complete', timeoutMs: 20_000 },
    );
  /** Runs a turn to its end; its completed turn and the events it produced. */
  const turn = async (text: string) => {
    const from = events.length;
    const started = await rt.startTurn({
      input: [{ type: 'text', text }],
      clientUserMessageId: null,
      settings,
    });
    const completed = await completion(from, started.id);
    return { completed, events: events.slice(from) };
  };
  /** Runs a `thread/compact/start` turn to its end. */
  const compact = async () => {
    const from = events.length;
    const started = await rt.compact(settings);
    const completed = await completion(from, started.id);
    return { completed, events: events.slice(from) };
  };
  return { mock, rt, events, turn, compact };
}

/** The notifications among the events, as `method` plus a detail worth comparing. */
function notifications(events: readonly ThreadEvent[]): string[] {
  const lines: string[] = [];
  for (const e of events) {
    if (e.kind === 'compacted') lines.push('(compacted)');
    if (e.kind !== 'notification') continue;
    if (e.method === 'item/started' || e.method === 'item/completed') {
      lines.push(`${e.method} ${e.params.item.type}`);
    } else if (e.method !== 'item/agentMessage/delta') {
      lines.push(e.method);
    }
  }
  return lines;
}

function tokenUsages(events: readonly ThreadEvent[]): app.ThreadTokenUsage[] {
  const usages: app.ThreadTokenUsage[] = [];
  for (const e of events) {
    if (e.kind === 'notification' && e.method === 'thread/tokenUsage/updated') {
      usages.push(e.params.tokenUsage);
    }
  }
  return usages;
}

describe('the compacted conversation', () => {
  it('keeps what the user said, not added context or earlier summaries, then the summary last', () => {
    const summary = `${SUMMARY_PREFIX}\nolder summary`;
    const items = [
      user('<environment_context>cwd</environment_context>'),
      user('first'),
      assistant('reply'),
      { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' },
      { type: 'function_call_output', call_id: 'c1', output: 'ok' },
      user(summary),
      user('<turn_aborted>\ninterrupted\n</turn_aborted>'),
      user('second'),
    ];
    expect(collectUserMessages(items)).toEqual(['first', 'second']);
    expect(buildCompactedHistory(['first', 'second'], 'the summary')).toEqual([
      user('first'),
      user('second'),
      user('the summary'),
    ]);
    expect(buildCompactedHistory([], '')).toEqual([user('(no summary available)')]);
  });

  it('keeps the most recent user messages within the budget, the oldest that does not fit cut short', () => {
    const old = 'o'.repeat(400); // 100 tokens
    const middle = 'm'.repeat(200); // 50 tokens
    const recent = 'r'.repeat(120); // 30 tokens
    const kept = buildCompactedHistory([old, middle, recent], 'S', 100);
    expect(kept.map((m) => m.content[0]?.text.slice(0, 1))).toEqual(['o', 'm', 'r', 'S']);
    expect(kept[1]?.content[0]?.text).toBe(middle);
    const cut = kept[0]?.content[0]?.text ?? '';
    expect(cut).toMatch(/^o+…\d+ tokens truncated…o+$/);
    expect(approxTokens(cut.replace(/….*…/, ''))).toBeLessThanOrEqual(20);
    // nothing older than the message that was cut
    expect(buildCompactedHistory([old, middle, recent], 'S', 80)).toHaveLength(3);
  });

  it('cuts a long text in the middle, keeping its start and its end', () => {
    const text = `START${'x'.repeat(1000)}END`;
    const cut = truncateToTokens(text, 10);
    expect(cut.startsWith('START')).toBe(true);
    expect(cut.endsWith('END')).toBe(true);
    expect(cut).toContain('tokens truncated');
    expect(truncateToTokens('short', 10)).toBe('short');
  });
});

describe('token usage', () => {
  it('reports 95% of the window as modelContextWindow: the catalogue, the fallback, the option', async () => {
    const fallback = await thread();
    fallback.mock.enqueue(mockReply.text('hi', { usage: { inputTokens: 12, outputTokens: 3 } }));
    const { events } = await fallback.turn('hello');
    expect(tokenUsages(events)).toEqual([
      {
        total: expect.objectContaining({ totalTokens: 15, inputTokens: 12, outputTokens: 3 }),
        last: expect.objectContaining({ totalTokens: 15, inputTokens: 12, outputTokens: 3 }),
        modelContextWindow: 258_400,
      },
    ]);

    const configured = await thread({ agent: { modelContextWindow: 10_000 } });
    configured.mock.enqueue(mockReply.text('hi'));
    const second = await configured.turn('hello');
    expect(tokenUsages(second.events).map((u) => u.modelContextWindow)).toEqual([9_500]);

    const known = await thread();
    known.mock.enqueue(mockReply.text('hi'));
    const rt = known.rt;
    const from = known.events.length;
    const started = await rt.startTurn({
      input: [{ type: 'text', text: 'hello' }],
      clientUserMessageId: null,
      settings: testSettings({ model: 'gpt-6.1-terra' }),
    });
    const usage = await waitFor(
      () =>
        known.events
          .slice(from)
          .find(
            (e) =>
              e.kind === 'notification' &&
              e.method === 'thread/tokenUsage/updated' &&
              e.params.turnId === started.id,
          ),
      { what: 'token usage' },
    );
    expect(usage.kind === 'notification' && usage.method === 'thread/tokenUsage/updated').toBe(
      true,
    );
    if (usage.kind === 'notification' && usage.method === 'thread/tokenUsage/updated') {
      expect(usage.params.tokenUsage.modelContextWindow).toBe(475_000);
    }
  });
});

describe('thread/compact/start', () => {
  it('summarises with the model in a turn of its own, then the next request holds the user messages and the summary', async () => {
    const { mock, turn, compact } = await thread();
    mock.enqueue(
      mockReply.text('first reply', { usage: { inputTokens: 20, outputTokens: 4 } }),
      mockReply.text('second reply', { usage: { inputTokens: 40, outputTokens: 4 } }),
      mockReply.text('THE SUMMARY', { usage: { inputTokens: 90, outputTokens: 6 } }),
      mockReply.text('after'),
    );
    await turn('first question');
    await turn('second question');
    const { completed, events } = await compact();

    // the reference's order: the item, the usage so far, the summary's usage, the estimate
    expect(notifications(events)).toEqual([
      'turn/started',
      'item/started contextCompaction',
      'thread/tokenUsage/updated',
      'thread/tokenUsage/updated',
      '(compacted)',
      'thread/tokenUsage/updated',
      'item/completed contextCompaction',
      'turn/completed',
    ]);
    expect(completed).toMatchObject({ status: 'completed', items: [], itemsView: 'notLoaded' });
    const usages = tokenUsages(events);
    expect(usages[0]?.last.totalTokens).toBe(44);
    expect(usages[1]?.last).toMatchObject({ inputTokens: 90, outputTokens: 6, totalTokens: 96 });
    expect(usages[1]?.total.totalTokens).toBe(24 + 44 + 96);
    // the estimate: only a token count, and the totals unchanged
    expect(usages[2]?.last).toMatchObject({ inputTokens: 0, outputTokens: 0 });
    expect(usages[2]?.last.totalTokens).toBeGreaterThan(0);
    expect(usages[2]?.total).toEqual(usages[1]?.total);

    // an ordinary streamed request: the turn's system prompt, the whole conversation with its
    // context messages, then the prompt, without tools
    const request = mock.requests[2]?.body ?? {};
    expect(systemPromptOf(request)).toBe(systemPromptOf(mock.requests[0]?.body ?? {}));
    expect(contextMessages(request)).toHaveLength(2);
    expect(summarize(request)).toEqual([
      'user: first question',
      'assistant: first reply',
      'user: second question',
      'assistant: second reply',
      `user: ${COMPACTION_PROMPT}`,
    ]);
    expect(request.stream).toBe(true);
    expect(request.tools).toBeUndefined();
    // with the turn's reasoning, as the reference sends it
    expect(request.reasoning).toBeDefined();
    expect(request.reasoning).toEqual(mock.requests[0]?.body.reasoning);

    await turn('third question');
    const next = mock.requests[3]?.body ?? {};
    expect(summarize(next)).toEqual([
      'user: first question',
      'user: second question',
      `user: ${SUMMARY_PREFIX}\nTHE SUMMARY`,
      'user: third question',
    ]);
    // the summary replaced the context messages too: the compaction put them back
    expect(contextMessages(next)).toHaveLength(2);
  });

  it("summarises with the thread's own system prompt, and counts it in the estimate", async () => {
    const { mock, rt, events, turn } = await thread();
    mock.enqueue(mockReply.text('reply'), mockReply.text('SUMMARY'));
    await turn('question');
    // a thread started with baseInstructions: far longer than tether's own prompt
    const baseInstructions = `Base instructions of this thread. ${'b'.repeat(40_000)}`;
    const from = events.length;
    const started = await rt.compact(testSettings({ baseInstructions }));
    await waitFor(
      () =>
        events
          .slice(from)
          .some(
            (e) =>
              e.kind === 'notification' &&
              e.method === 'turn/completed' &&
              e.params.turn.id === started.id,
          ),
      { what: 'the compaction turn to complete' },
    );
    expect(systemPromptOf(mock.requests[1]?.body ?? {})).toBe(baseInstructions);
    const estimate = tokenUsages(events.slice(from)).at(-1);
    expect(estimate?.last.totalTokens).toBeGreaterThan(approxTokens(baseInstructions));
  });

  it('interrupts a running turn first, as the reference does', async () => {
    const { mock, rt, events, compact } = await thread();
    mock.enqueue(
      mockReply.hang({ afterEvents: 2 }),
      mockReply.text('SUMMARY'),
      mockReply.text('next'),
    );
    const from = events.length;
    const running = await rt.startTurn({
      input: [{ type: 'text', text: 'long one' }],
      clientUserMessageId: null,
      settings,
    });
    await mock.waitForRequests(1);
    const compaction = await compact();
    const interrupted = events
      .slice(from)
      .find((e) => e.kind === 'notification' && e.method === 'turn/completed');
    expect(interrupted?.kind === 'notification' && interrupted.method === 'turn/completed').toBe(
      true,
    );
    if (interrupted?.kind === 'notification' && interrupted.method === 'turn/completed') {
      expect(interrupted.params.turn).toMatchObject({ id: running.id, status: 'interrupted' });
    }
    expect(compaction.completed.status).toBe('completed');
    // the interrupted turn's input is kept, its interruption note is not
    expect(summarize(mock.requests[1]?.body ?? {}).at(0)).toBe('user: long one');
    // the context messages come back before the last user message, as the reference puts them
    const replaced = compaction.events.find((e) => e.kind === 'compacted');
    expect(replaced?.kind === 'compacted' && replaced.items.map((i) => i.role)).toEqual([
      'developer',
      'user',
      'user',
      'user',
    ]);
    const items = replaced?.kind === 'compacted' ? replaced.items : [];
    expect(items.slice(0, 2).every((item) => isContextMessage(item))).toBe(true);
    expect(lines(items.slice(2))).toEqual(['user: long one', `user: ${SUMMARY_PREFIX}\nSUMMARY`]);
  });

  it('fails the compaction turn with an error when the model fails, leaving the conversation as it was', async () => {
    const { mock, turn, compact } = await thread();
    mock.enqueue(mockReply.text('reply'), mockReply.httpError(500), mockReply.text('still here'));
    await turn('question');
    const { completed, events } = await compact();
    expect(completed.status).toBe('failed');
    expect(notifications(events)).toContain('error');
    expect(events.some((e) => e.kind === 'compacted')).toBe(false);
    await turn('again');
    expect(summarize(mock.requests[2]?.body ?? {})).toEqual([
      'user: question',
      'assistant: reply',
      'user: again',
    ]);
  });

  it('drops the oldest items from the summary request when the API says it is too long', async () => {
    let compactions = 0;
    const { mock, turn, compact } = await thread({
      responder: (body) => {
        if (!isCompactionRequest(body)) return undefined;
        compactions += 1;
        if (compactions > 1) return mockReply.text('SUMMARY');
        return mockReply.httpError(400, {
          error: {
            message: 'Your input exceeds the context window of this model.',
            type: 'invalid_request_error',
            param: 'input',
            code: 'context_length_exceeded',
          },
        });
      },
    });
    mock.enqueue(mockReply.text('one'), mockReply.text('two'));
    await turn('q1');
    await turn('q2');
    const { completed } = await compact();
    expect(completed.status).toBe('completed');
    const [first, second] = mock.requests.filter((r) => isCompactionRequest(r.body));
    const refused = first?.body ?? {};
    const retried = second?.body ?? {};
    expect(summarize(refused)).toEqual([
      'user: q1',
      'assistant: one',
      'user: q2',
      'assistant: two',
      `user: ${COMPACTION_PROMPT}`,
    ]);
    // the retry leaves out the oldest item of the conversation (the first context message)
    // and keeps the system prompt in front
    expect(systemPromptOf(retried)).toBe(systemPromptOf(refused));
    expect(lines(itemsOf(retried).slice(1))).toEqual(lines(itemsOf(refused).slice(2)));
    expect(isContextMessage(itemsOf(refused)[1])).toBe(true);
  });
});

describe('automatic compaction', () => {
  it('compacts before a turn whose context passed 90% of the window, ahead of its user message', async () => {
    const { mock, turn } = await thread({ agent: { modelContextWindow: 10_000 } });
    mock.enqueue(
      mockReply.text('big', { usage: { inputTokens: 8_980, outputTokens: 20 } }),
      mockReply.text('SUMMARY'),
      mockReply.text('small again'),
    );
    const first = await turn('fill it up');
    expect(notifications(first.events)).not.toContain('item/started contextCompaction');
    const second = await turn('next');
    expect(notifications(second.events).slice(0, 4)).toEqual([
      'turn/started',
      'item/started contextCompaction',
      'thread/tokenUsage/updated',
      'thread/tokenUsage/updated',
    ]);
    const lines = notifications(second.events);
    expect(lines.indexOf('item/completed contextCompaction')).toBeLessThan(
      lines.indexOf('item/started userMessage'),
    );
    expect(second.completed.status).toBe('completed');
    // the summary request does not carry the new input; the turn's request carries it after
    expect(summarize(mock.requests[1]?.body ?? {})).toEqual([
      'user: fill it up',
      'assistant: big',
      `user: ${COMPACTION_PROMPT}`,
    ]);
    const next = mock.requests[2]?.body ?? {};
    expect(summarize(next)).toEqual([
      'user: fill it up',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
      'user: next',
    ]);
    expect(contextMessages(next)).toHaveLength(2);
  });

  it('stays below 90%: no compaction', async () => {
    const { mock, turn } = await thread({ agent: { modelContextWindow: 10_000 } });
    mock.enqueue(
      mockReply.text('big', { usage: { inputTokens: 8_970, outputTokens: 20 } }),
      mockReply.text('fine'),
    );
    await turn('one');
    const second = await turn('two');
    expect(notifications(second.events)).not.toContain('item/started contextCompaction');
    expect(mock.requests).toHaveLength(2);
  });

  it('leaves the oldest items out of a summary request that would not fit the window', async () => {
    const { mock, turn } = await thread({
      agent: { modelContextWindow: 1_000, instructions: SHORT_PROMPT },
    });
    mock.enqueue(
      mockReply.text('big', { usage: { inputTokens: 900, outputTokens: 20 } }),
      mockReply.text('SUMMARY'),
      mockReply.text('small again'),
    );
    await turn('fill it up');
    await turn('next');
    // 920 tokens in use and the prompt would pass 1000: the oldest item of the conversation (the
    // permissions message, about 130 tokens) is not sent; the system prompt still leads
    const first = mock.requests[0]?.body ?? {};
    const request = mock.requests[1]?.body ?? {};
    expect(systemPromptOf(request)).toBe(SHORT_PROMPT);
    expect(contextMessages(first)).toHaveLength(2);
    expect(contextMessages(request)).toEqual(contextMessages(first).slice(1));
    expect(lines(itemsOf(request).slice(2))).toEqual([
      'user: fill it up',
      'assistant: big',
      `user: ${COMPACTION_PROMPT}`,
    ]);
    // what the user said is kept all the same
    expect(summarize(mock.requests[2]?.body ?? {})).toEqual([
      'user: fill it up',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
      'user: next',
    ]);
  });

  it('compacts between a tool output and the follow-up request when the context fills mid-turn', async () => {
    const { mock, turn } = await thread({
      agent: {
        modelContextWindow: 2_000,
        modelAutoCompactTokenLimit: 1_500,
        instructions: SHORT_PROMPT,
      },
    });
    mock.enqueue(
      mockReply.toolCall(
        { name: 'exec_command', arguments: { cmd: 'echo tool-ran' }, callId: 'call_1' },
        { usage: { inputTokens: 1_480, outputTokens: 30 } },
      ),
      mockReply.text('SUMMARY'),
      mockReply.text('done'),
    );
    const { completed, events } = await turn('run something');
    expect(completed.status).toBe('completed');
    const lines = notifications(events);
    expect(lines.indexOf('item/completed commandExecution')).toBeLessThan(
      lines.indexOf('item/started contextCompaction'),
    );
    expect(lines.indexOf('item/completed contextCompaction')).toBeLessThan(
      lines.indexOf('item/started agentMessage'),
    );
    expect(summarize(mock.requests[1]?.body ?? {})).toEqual([
      'user: run something',
      'function_call call_1',
      'function_call_output call_1',
      `user: ${COMPACTION_PROMPT}`,
    ]);
    const followUp = mock.requests[2]?.body ?? {};
    expect(summarize(followUp)).toEqual([
      'user: run something',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
    ]);
    // the follow-up of the same turn is told the context again, before the last user message
    // (where the reference puts it)
    expect(systemPromptOf(followUp)).toBe(SHORT_PROMPT);
    expect(contextMessages(followUp)).toEqual(contextMessages(mock.requests[0]?.body ?? {}));
    const followUpItems = itemsOf(followUp);
    expect(followUpItems.slice(1, 3).every((item) => isContextMessage(item))).toBe(true);
    expect(followUpItems.slice(3).map((item) => `${String(item.role)}: ${textOf(item)}`)).toEqual([
      'user: run something',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
    ]);
  });

  it('a resumed thread counts from its stored usage and compacts on its first turn', async () => {
    const stored: app.ThreadTokenUsage = {
      total: {
        totalTokens: 5_000,
        inputTokens: 4_900,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        outputTokens: 100,
        reasoningOutputTokens: 0,
      },
      last: {
        totalTokens: 950,
        inputTokens: 900,
        cachedInputTokens: 0,
        cacheWriteInputTokens: 0,
        outputTokens: 50,
        reasoningOutputTokens: 0,
      },
      modelContextWindow: 950,
    };
    const { mock, turn } = await thread({
      agent: { modelContextWindow: 1_000, instructions: SHORT_PROMPT },
      conversation: [user('before the restart'), assistant('old reply')],
      tokenUsage: stored,
    });
    mock.enqueue(mockReply.text('SUMMARY'), mockReply.text('fresh'));
    const { events } = await turn('after the restart');
    expect(notifications(events)).toContain('item/started contextCompaction');
    const next = mock.requests[1]?.body ?? {};
    expect(summarize(next)).toEqual([
      'user: before the restart',
      `user: ${SUMMARY_PREFIX}\nSUMMARY`,
      'user: after the restart',
    ]);
    expect(systemPromptOf(next)).toBe(SHORT_PROMPT);
    expect(contextMessages(next)).toHaveLength(2);
    // running totals go on from the stored ones
    expect(tokenUsages(events).at(-1)?.total.totalTokens).toBeGreaterThan(5_000);
  });

  it('a long conversation through a tiny window: no request ever exceeds the window', async () => {
    const window = 4_000;
    const sizes: number[] = [];
    const prompts = new Set<string | undefined>();
    const contextCounts: number[] = [];
    let summaries = 0;
    const responder = (body: Record<string, unknown>): MockReply => {
      const tokens = requestTokens(body);
      sizes.push(tokens);
      prompts.add(systemPromptOf(body));
      if (!isCompactionRequest(body)) contextCounts.push(contextMessages(body).length);
      if (tokens > window) {
        // what the real API answers, so an oversized request could never go unnoticed
        return mockReply.httpError(400, {
          error: {
            message: `input of ${tokens} tokens exceeds the context window`,
            type: 'invalid_request_error',
            param: 'input',
            code: 'context_length_exceeded',
          },
        });
      }
      const items = itemsOf(body);
      const last = items.at(-1);
      const reply = (text: string) =>
        mockReply.text(text, { usage: { inputTokens: tokens, outputTokens: approxTokens(text) } });
      if (isCompactionRequest(body)) return reply(`summary number ${++summaries}`);
      if (last?.type === 'function_call_output') return reply(`ran it: ${'r'.repeat(120)}`);
      const said = textOf(last);
      if (said.startsWith('RUN')) {
        return mockReply.toolCall(
          { name: 'exec_command', arguments: { cmd: "head -c 700 /dev/zero | tr '\\0' o" } },
          { usage: { inputTokens: tokens, outputTokens: 40 } },
        );
      }
      return reply(`answer to ${said.slice(0, 12)}: ${'a'.repeat(240)}`);
    };
    const { turn } = await thread({ responder, agent: { modelContextWindow: window } });
    let compactions = 0;
    for (let i = 1; i <= 40; i++) {
      const text = i % 4 === 0 ? `RUN step ${i}` : `turn ${i}: ${'w'.repeat(140)}`;
      const { completed, events } = await turn(text);
      expect(completed.status, `turn ${i}`).toBe('completed');
      compactions += events.filter(
        (e) =>
          e.kind === 'notification' &&
          e.method === 'item/completed' &&
          e.params.item.type === 'contextCompaction',
      ).length;
    }
    expect(sizes.length).toBeGreaterThan(40);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(window);
    // the sizes count all a request carries: tether's own system prompt (a sixth of
    // the window) in every request, and the context messages in every turn's request, compacted or not
    expect([...prompts]).toHaveLength(1);
    expect(approxTokens([...prompts][0] ?? '')).toBeGreaterThan(window / 8);
    expect(new Set(contextCounts)).toEqual(new Set([2]));
    expect(compactions).toBeGreaterThanOrEqual(3);
    expect(summaries).toBe(compactions);
  });
});
