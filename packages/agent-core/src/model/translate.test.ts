import { silentLogger } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { ModelError } from './errors.js';
import { ResponseStreamTranslator } from './translate.js';
import type { ModelEvent } from './types.js';

function run(payloads: Array<Record<string, unknown> | string>): ModelEvent[] {
  const translator = new ResponseStreamTranslator(silentLogger());
  const events: ModelEvent[] = [];
  for (const payload of payloads) {
    const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const type = typeof payload === 'string' ? 'message' : String(payload.type);
    events.push(...translator.translate({ event: type, data, lastEventId: '' }).events);
  }
  return events;
}

describe('ResponseStreamTranslator', () => {
  it('starts a message seen only through its deltas and completes it with their text', () => {
    expect(
      run([
        { type: 'response.output_text.delta', item_id: 'm1', delta: 'a' },
        { type: 'response.output_text.delta', item_id: 'm1', delta: 'b' },
        { type: 'response.output_item.done', item: { type: 'message', id: 'm1' } },
      ]),
    ).toEqual([
      { type: 'messageStarted', itemId: 'm1' },
      { type: 'textDelta', itemId: 'm1', delta: 'a' },
      { type: 'textDelta', itemId: 'm1', delta: 'b' },
      {
        type: 'messageDone',
        itemId: 'm1',
        text: 'ab',
        // the item carried forward holds the text the deltas brought
        item: { type: 'message', id: 'm1', content: [{ type: 'output_text', text: 'ab' }] },
      },
    ]);
  });

  it('names items a server sent without ids by their output index', () => {
    expect(
      run([
        { type: 'response.output_item.added', output_index: 2, item: { type: 'message' } },
        { type: 'response.output_text.delta', output_index: 2, delta: 'x' },
        {
          type: 'response.output_item.done',
          output_index: 3,
          item: { type: 'function_call', name: 'f', arguments: { a: 1 } },
        },
      ]),
    ).toEqual([
      { type: 'messageStarted', itemId: 'item_2' },
      { type: 'textDelta', itemId: 'item_2', delta: 'x' },
      {
        type: 'functionCall',
        itemId: 'item_3',
        callId: 'item_3',
        name: 'f',
        arguments: '{"a":1}',
        // carried forward as the API takes it back: string arguments, a call id
        item: { type: 'function_call', name: 'f', arguments: '{"a":1}', call_id: 'item_3' },
      },
    ]);
  });

  it('skips unknown events, [DONE], unparseable data and nameless calls; passes other items on', () => {
    expect(
      run([
        { type: 'response.web_search_call.searching', item_id: 'w1' },
        '[DONE]',
        '{not json',
        '42',
        { type: 'response.output_item.done', item: { type: 'function_call', id: 'f' } },
        { type: 'response.output_item.done', item: { type: 'web_search_call', id: 'w1' } },
      ]),
    ).toEqual([{ type: 'otherItem', itemId: 'w1', item: { type: 'web_search_call', id: 'w1' } }]);
  });

  it('streams a reasoning item: its start, summary parts, summary and raw deltas, then the item to carry forward', () => {
    const at = { item_id: 'rs1', output_index: 0 };
    expect(
      run([
        {
          type: 'response.output_item.added',
          output_index: 0,
          item: { type: 'reasoning', id: 'rs1', summary: [] },
        },
        { type: 'response.reasoning_summary_part.added', ...at, summary_index: 0 },
        { type: 'response.reasoning_summary_text.delta', ...at, summary_index: 0, delta: 'Plan' },
        // the reference needs the index: a delta without one is skipped
        { type: 'response.reasoning_summary_text.delta', ...at, delta: 'lost' },
        { type: 'response.reasoning_summary_part.added', ...at, summary_index: 1 },
        { type: 'response.reasoning_summary_text.delta', ...at, summary_index: 1, delta: 'more' },
        { type: 'response.reasoning_text.delta', ...at, content_index: 0, delta: 'raw' },
        {
          type: 'response.output_item.done',
          output_index: 0,
          item: {
            id: 'rs1',
            type: 'reasoning',
            status: 'completed',
            summary: [
              { type: 'summary_text', text: 'Plan' },
              { type: 'summary_text', text: 'more' },
            ],
            content: [{ type: 'reasoning_text', text: 'raw' }],
            encrypted_content: 'ENC',
          },
        },
      ]),
    ).toEqual([
      { type: 'reasoningStarted', itemId: 'rs1' },
      { type: 'reasoningSummaryPartAdded', itemId: 'rs1', summaryIndex: 0 },
      { type: 'reasoningSummaryDelta', itemId: 'rs1', summaryIndex: 0, delta: 'Plan' },
      { type: 'reasoningSummaryPartAdded', itemId: 'rs1', summaryIndex: 1 },
      { type: 'reasoningSummaryDelta', itemId: 'rs1', summaryIndex: 1, delta: 'more' },
      { type: 'reasoningTextDelta', itemId: 'rs1', contentIndex: 0, delta: 'raw' },
      {
        type: 'reasoningDone',
        itemId: 'rs1',
        summary: ['Plan', 'more'],
        content: ['raw'],
        // the reference's shape: status dropped, members in its order
        item: {
          type: 'reasoning',
          id: 'rs1',
          summary: [
            { type: 'summary_text', text: 'Plan' },
            { type: 'summary_text', text: 'more' },
          ],
          content: [{ type: 'reasoning_text', text: 'raw' }],
          encrypted_content: 'ENC',
        },
      },
    ]);
  });

  it('carries a reasoning item the server kept no encrypted content for, as the reference does (null)', () => {
    const events = run([
      { type: 'response.output_item.done', item: { type: 'reasoning', id: 'r1', summary: [] } },
    ]);
    expect(events).toEqual([
      { type: 'reasoningStarted', itemId: 'r1' },
      {
        type: 'reasoningDone',
        itemId: 'r1',
        summary: [],
        content: [],
        item: { type: 'reasoning', id: 'r1', summary: [], content: null, encrypted_content: null },
      },
    ]);
    const done = events[1];
    expect(done?.type === 'reasoningDone' && Object.keys(done.item)).toEqual([
      'type',
      'id',
      'summary',
      'content',
      'encrypted_content',
    ]);
  });

  it('falls back to the SSE event name when the data has no type', () => {
    const translator = new ResponseStreamTranslator(silentLogger());
    const step = translator.translate({
      event: 'response.created',
      data: '{"response":{"id":"r9"}}',
      lastEventId: '',
    });
    expect(step.events).toEqual([{ type: 'created', responseId: 'r9' }]);
  });

  it('completes with null usage when none is sent, and computes a missing total', () => {
    const translator = new ResponseStreamTranslator(silentLogger());
    const done = (response: Record<string, unknown>) =>
      translator.translate({
        event: 'response.completed',
        data: JSON.stringify({ type: 'response.completed', response }),
        lastEventId: '',
      });
    expect(done({ id: 'r1' })).toEqual({
      events: [{ type: 'completed', responseId: 'r1', usage: null }],
      completed: true,
    });
    expect(done({ id: 'r1', usage: { input_tokens: 3, output_tokens: 4 } }).events[0]).toEqual({
      type: 'completed',
      responseId: 'r1',
      usage: {
        inputTokens: 3,
        cachedInputTokens: 0,
        outputTokens: 4,
        reasoningOutputTokens: 0,
        totalTokens: 7,
      },
    });
  });

  it('throws a ModelError for an error event nested under `error`', () => {
    expect(() =>
      run([{ type: 'error', error: { type: 'invalid_request_error', message: 'nope' } }]),
    ).toThrow(ModelError);
    let caught: unknown;
    try {
      run([{ type: 'error', error: { code: 'context_length_exceeded', message: 'too long' } }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({
      code: 'stream_error',
      apiCode: 'context_length_exceeded',
      retryable: false,
      message: 'model stream error: too long',
    });
  });
});
