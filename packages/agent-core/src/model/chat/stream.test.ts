import { silentLogger } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { ModelError } from '../errors.js';
import type { ModelEvent } from '../types.js';
import { ChatStreamTranslator } from './stream.js';

/** Feeds `data:` payloads to one translator; returns its events and whether it completed. */
function run(payloads: Array<Record<string, unknown> | string>, end = false) {
  const translator = new ChatStreamTranslator(silentLogger());
  const events: ModelEvent[] = [];
  let completed = false;
  for (const payload of payloads) {
    const data = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const step = translator.translate({ event: 'message', data, lastEventId: '' });
    events.push(...step.events);
    completed ||= step.completed;
  }
  if (end) {
    const step = translator.end();
    events.push(...step.events);
    completed ||= step.completed;
  }
  return { events, completed };
}

const delta = (value: Record<string, unknown>, finish: string | null = null) => ({
  id: 'cc',
  choices: [{ index: 0, delta: value, finish_reason: finish }],
});

const callsOf = (events: ModelEvent[]) =>
  events.flatMap((e) => (e.type === 'functionCall' ? [[e.callId, e.name, e.arguments]] : []));

describe('ChatStreamTranslator', () => {
  it('joins interleaved pieces of parallel calls by index', () => {
    const { events, completed } = run([
      delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"x"' } }] }),
      delta({ tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: '{"y"' } }] }),
      delta({ tool_calls: [{ index: 1, function: { arguments: ':2}' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }),
      delta({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(completed).toBe(true);
    expect(callsOf(events)).toEqual([
      ['a', 'f', '{"x":1}'],
      ['b', 'g', '{"y":2}'],
    ]);
    expect(events.at(-1)).toEqual({ type: 'completed', responseId: 'cc', usage: null });
  });

  it('takes a new call id at an index already used as a new call', () => {
    const { events } = run([
      delta({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{}' } }] }),
      delta({ tool_calls: [{ index: 0, id: 'b', function: { name: 'f', arguments: '{"n":2}' } }] }),
      delta({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(callsOf(events)).toEqual([
      ['a', 'f', '{}'],
      ['b', 'f', '{"n":2}'],
    ]);
  });

  it('gives a call without an id one of its own, and takes arguments sent as an object', () => {
    const { events } = run([
      delta({ tool_calls: [{ index: 0, function: { name: 'f', arguments: { cmd: 'ls' } } }] }),
      delta({}, 'tool_calls'),
      '[DONE]',
    ]);
    const [call] = callsOf(events);
    expect(call?.[0]).toMatch(/^call_/);
    expect(call?.slice(1)).toEqual(['f', '{"cmd":"ls"}']);
  });

  it('completes at [DONE] with what arrived when no finish reason came, skipping bad chunks', () => {
    const { events, completed } = run([
      delta({
        content: [
          { type: 'text', text: 'part' },
          { type: 'text', text: 's' },
        ],
      }),
      'not json',
      delta({ reasoning: { text: 'thinking' } }),
      '[DONE]',
    ]);
    expect(completed).toBe(true);
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'messageStarted',
      'textDelta',
      'reasoningStarted',
      'reasoningTextDelta',
      'reasoningDone',
      'messageDone',
      'completed',
    ]);
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'parts' });
    expect(events.find((e) => e.type === 'reasoningDone')).toMatchObject({
      item: { type: 'reasoning', content: [{ type: 'reasoning_text', text: 'thinking' }] },
    });
  });

  it('is complete at the end of the body once the choice finished, and cut short before', () => {
    expect(run([delta({ content: 'x' }, 'stop')], true).completed).toBe(true);
    expect(() => run([delta({ content: 'x' })], true)).toThrow(
      expect.objectContaining({ code: 'stream_disconnected', retryable: true }),
    );
  });

  it('throws an error object sent mid-stream, and finish reason content_filter', () => {
    const failed = () =>
      run([
        delta({ content: 'partial' }),
        { error: { message: 'out of memory', type: 'internal_error', code: 500 } },
      ]);
    expect(failed).toThrow(ModelError);
    expect(failed).toThrow(
      expect.objectContaining({
        code: 'stream_error',
        apiCode: 'internal_error',
        message: 'model stream error: out of memory',
      }),
    );
    expect(() => run([delta({ content: 'x' }, 'content_filter')])).toThrow(
      expect.objectContaining({ code: 'response_incomplete', apiCode: 'content_filter' }),
    );
  });

  it('ignores choices other than the first', () => {
    const { events } = run([
      { id: 'cc', choices: [{ index: 1, delta: { content: 'other' }, finish_reason: null }] },
      delta({ content: 'mine' }, 'stop'),
      '[DONE]',
    ]);
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'mine' });
  });
});
