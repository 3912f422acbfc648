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

const post = (path: string, body: unknown = { model: 'm', input: [] }) =>
  fetch(`http://127.0.0.1:${mock.port}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

function parse(text: string): Array<{ event: string; data: Record<string, unknown> }> {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()].map((e) => ({
    event: e.event,
    data: JSON.parse(e.data) as Record<string, unknown>,
  }));
}

describe('MockResponsesServer', () => {
  it('binds loopback and serves the Responses API event shape', async () => {
    expect(mock.baseUrl).toBe(`http://127.0.0.1:${mock.port}/v1`);
    mock.enqueue(mockReply.text(['Hi', ' there'], { usage: { inputTokens: 7, outputTokens: 2 } }));
    const response = await post('/v1/responses', { model: 'gpt-test', input: [], stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const text = await response.text();
    expect(text).toMatch(
      /^event: response\.created\ndata: \{"type":"response\.created","sequence_number":0,"response":\{"id":"resp_mock_1",/,
    );
    expect(text.endsWith('\n\n')).toBe(true);
    const events = parse(text);
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    for (const [i, e] of events.entries()) {
      expect(e.data.type).toBe(e.event);
      expect(e.data.sequence_number).toBe(i);
    }
    expect(events[0]?.data.response).toMatchObject({
      id: 'resp_mock_1',
      object: 'response',
      status: 'in_progress',
      model: 'gpt-test',
    });
    expect(events[4]?.data).toMatchObject({
      item_id: 'msg_mock_1_0',
      output_index: 0,
      content_index: 0,
      delta: 'Hi',
    });
    expect(events[8]?.data.item).toEqual({
      id: 'msg_mock_1_0',
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hi there', annotations: [] }],
    });
    expect(events[9]?.data.response).toMatchObject({
      status: 'completed',
      usage: {
        input_tokens: 7,
        input_tokens_details: { cached_tokens: 0 },
        output_tokens: 2,
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: 9,
      },
    });
    expect(mock.requests[0]?.outcome).toBe('completed');
  });

  it('streams a function_call item with its argument events', async () => {
    mock.enqueue(mockReply.toolCall({ name: 'exec_command', arguments: '{"cmd":"pwd"}' }));
    const events = parse(await (await post('/responses')).text());
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events[5]?.data.item).toEqual({
      id: 'fc_mock_1_0',
      type: 'function_call',
      status: 'completed',
      arguments: '{"cmd":"pwd"}',
      call_id: 'call_mock_1_0',
      name: 'exec_command',
    });
    expect(mock.requests[0]?.path).toBe('/responses');
  });

  it('refuses, as the real API does, a call without its output and an output without its call', async () => {
    const call = {
      type: 'function_call',
      call_id: 'call_1',
      name: 'exec_command',
      arguments: '{}',
    };
    const output = { type: 'function_call_output', call_id: 'call_1', output: 'done' };
    const user = { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] };
    mock.enqueue(mockReply.text('answered'));
    const orphanCall = await post('/v1/responses', { model: 'm', input: [user, call, user] });
    expect(orphanCall.status).toBe(400);
    expect(await orphanCall.json()).toEqual({
      error: {
        message: 'No tool output found for function call call_1.',
        type: 'invalid_request_error',
        param: 'input',
        code: null,
      },
    });
    const orphanOutput = await post('/v1/responses', { model: 'm', input: [user, output] });
    expect(orphanOutput.status).toBe(400);
    expect(await orphanOutput.text()).toContain(
      'No tool call found for function call output with call_id call_1.',
    );
    // neither consumed the script; a whole conversation gets the scripted reply
    const paired = await post('/v1/responses', { model: 'm', input: [user, call, output] });
    expect(paired.status).toBe(200);
    expect(await paired.text()).toContain('"delta":"answered"');

    const lenient = await MockResponsesServer.start({ requireCallOutputs: false });
    try {
      const response = await fetch(`${lenient.baseUrl}/responses`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', input: [user, call] }),
      });
      expect(response.status).toBe(200);
      await response.text();
    } finally {
      await lenient.close();
    }
  });

  it('answers in script order, then with the default reply when the script is empty', async () => {
    mock.enqueue(mockReply.httpError(500, 'boom'), mockReply.text('second'));
    expect(mock.pendingReplies).toBe(2);
    const first = await post('/v1/responses');
    expect(first.status).toBe(500);
    expect(await first.text()).toBe('boom');
    expect(await (await post('/v1/responses')).text()).toContain('"delta":"second"');
    const third = await (await post('/v1/responses')).text();
    expect(third).toContain('"text":"Hello from mock."');
    expect(mock.requests.map((r) => r.defaulted)).toEqual([false, false, true]);
    expect(mock.pendingReplies).toBe(0);
  });

  it('sends HTTP errors with their headers and a JSON error body by default', async () => {
    mock.enqueue(mockReply.httpError(429, undefined, { 'retry-after': '3' }));
    const response = await post('/v1/responses');
    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('3');
    expect(await response.json()).toEqual({
      error: { message: 'mock HTTP 429', type: 'mock_error', param: null, code: null },
    });
  });

  it('records bodies and headers in order, including a body that is not JSON', async () => {
    const waiting = mock.waitForRequests(2);
    await (await post('/v1/responses', { model: 'a', input: [1] })).text();
    await (await post('/v1/responses', 'not json')).text();
    const requests = await waiting;
    expect(requests.map((r) => r.body)).toEqual([{ model: 'a', input: [1] }, {}]);
    expect(requests[1]?.rawBody).toBe('not json');
    expect(requests[0]?.headers['content-type']).toBe('application/json');
    expect(requests.map((r) => r.index)).toEqual([0, 1]);
  });

  it('answers 404 on other routes without consuming the script', async () => {
    mock.enqueue(mockReply.text('kept'));
    const response = await post('/v1/completions');
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { type: 'not_found' } });
    expect(mock.requests).toHaveLength(0);
    expect(mock.pendingReplies).toBe(1);
  });

  it('streams thousands of deltas through backpressure', async () => {
    const deltas = Array.from({ length: 5000 }, (_, i) => `d${i} `);
    mock.enqueue(mockReply.text(deltas));
    const events = parse(await (await post('/v1/responses')).text());
    expect(events.filter((e) => e.event === 'response.output_text.delta')).toHaveLength(5000);
    expect(events.at(-1)?.event).toBe('response.completed');
  });

  it('stops writing when the client goes away during a slow reply', async () => {
    const deltas = Array.from({ length: 500 }, (_, i) => `t${i}`);
    mock.enqueue(mockReply.slow(mockReply.text(deltas), { delayMs: 20 }));
    const controller = new AbortController();
    const response = await fetch(`${mock.baseUrl}/responses`, {
      method: 'POST',
      body: '{}',
      signal: controller.signal,
    });
    const reader = response.body?.getReader();
    await reader?.read();
    controller.abort();
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
  });

  it('close() ends hanging requests', async () => {
    mock.enqueue(mockReply.hang());
    const pending = post('/v1/responses').then(
      () => 'answered',
      () => 'failed',
    );
    const [request] = await mock.waitForRequests(1);
    await mock.close();
    expect(await request?.finished).toBe('serverClosed');
    expect(await pending).toBe('failed');
  });
});
