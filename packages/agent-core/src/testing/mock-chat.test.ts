import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SseParser } from '../model/sse.js';
import { MockResponsesServer, mockReply } from './mock-responses.js';

let mock: MockResponsesServer;

beforeEach(async () => {
  mock = await MockResponsesServer.start();
});

afterEach(async () => {
  await mock.close();
});

const post = (body: Record<string, unknown>) =>
  fetch(`${mock.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

/** The `data:` payloads of a chat stream (`[DONE]` as the string). */
function payloads(text: string): unknown[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()].map((e) =>
    e.data === '[DONE]' ? e.data : JSON.parse(e.data),
  );
}

describe('MockResponsesServer on /v1/chat/completions', () => {
  it('streams a scripted reply as chat.completion.chunk objects, usage only when asked', async () => {
    const reply = () =>
      mockReply.text(['Hi', ' there'], { usage: { inputTokens: 7, outputTokens: 2 } });
    mock.enqueue(reply(), reply());
    const plain = await post({ model: 'chat-model', messages: [], stream: true });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/event-stream');
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
      id: 'chatcmpl_mock_1',
      object: 'chat.completion.chunk',
      created: expect.any(Number),
      model: 'chat-model',
      choices,
      ...extra,
    });
    expect(payloads(await plain.text())).toEqual([
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'Hi' }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: ' there' }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
      '[DONE]',
    ]);

    const withUsage = await post({
      model: 'chat-model',
      messages: [],
      stream: true,
      stream_options: { include_usage: true },
    });
    const last = payloads(await withUsage.text()).slice(-2);
    expect(last).toEqual([
      {
        id: 'chatcmpl_mock_2',
        object: 'chat.completion.chunk',
        created: expect.any(Number),
        model: 'chat-model',
        choices: [],
        usage: {
          prompt_tokens: 7,
          completion_tokens: 2,
          total_tokens: 9,
          prompt_tokens_details: { cached_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0 },
        },
      },
      '[DONE]',
    ]);
    expect(mock.requests.map((r) => r.path)).toEqual([
      '/v1/chat/completions',
      '/v1/chat/completions',
    ]);
  });

  it('refuses a tool call left unanswered with HTTP 400, without using the script', async () => {
    mock.enqueue(mockReply.text('kept'));
    const response = await post({
      model: 'm',
      stream: true,
      messages: [
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{}' } }],
        },
        { role: 'user', content: 'next' },
      ],
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'messages' },
    });
    expect(mock.pendingReplies).toBe(1);
  });
});
