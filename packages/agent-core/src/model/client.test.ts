import { sleep } from '@tether/test-kit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, failure } from '../test-support/model-stream.js';
import { MockResponsesServer, mockReply } from '../testing/mock-responses.js';
import { type ModelClientConfig, ResponsesClient } from './client.js';
import { ModelError } from './errors.js';
import type { ModelEvent, ResponsesRequest } from './types.js';

let mock: MockResponsesServer;

beforeEach(async () => {
  mock = await MockResponsesServer.start();
});

afterEach(async () => {
  await mock.close();
});

const request: ResponsesRequest = {
  instructions: 'Be brief.',
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
};

function client(config: Partial<ModelClientConfig> = {}): ResponsesClient {
  return new ResponsesClient({
    baseUrl: mock.baseUrl,
    model: 'test-model',
    maxRetries: 3,
    retryBaseDelayMs: 1,
    ...config,
  });
}

describe('ResponsesClient against the mock server', () => {
  it('streams a text reply as ordered events ending with usage, and sends the request', async () => {
    mock.enqueue(
      mockReply.text(['Hel', 'lo', '!'], {
        usage: { inputTokens: 12, cachedInputTokens: 4, outputTokens: 3, reasoningOutputTokens: 1 },
      }),
    );
    const { events, error } = await collect(
      client({ apiKey: 'sk-test', headers: { 'x-extra': 'yes' } }).stream(request),
    );
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'created', responseId: 'resp_mock_1' },
      { type: 'messageStarted', itemId: 'msg_mock_1_0' },
      { type: 'textDelta', itemId: 'msg_mock_1_0', delta: 'Hel' },
      { type: 'textDelta', itemId: 'msg_mock_1_0', delta: 'lo' },
      { type: 'textDelta', itemId: 'msg_mock_1_0', delta: '!' },
      {
        type: 'messageDone',
        itemId: 'msg_mock_1_0',
        text: 'Hello!',
        item: {
          type: 'message',
          id: 'msg_mock_1_0',
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello!', annotations: [] }],
        },
      },
      {
        type: 'completed',
        responseId: 'resp_mock_1',
        usage: {
          inputTokens: 12,
          cachedInputTokens: 4,
          outputTokens: 3,
          reasoningOutputTokens: 1,
          totalTokens: 15,
        },
      },
    ]);
    const [received] = mock.requests;
    expect(received?.path).toBe('/v1/responses');
    expect(received?.headers.authorization).toBe('Bearer sk-test');
    expect(received?.headers.accept).toBe('text/event-stream');
    expect(received?.headers['x-extra']).toBe('yes');
    expect(received?.body).toEqual({
      model: 'test-model',
      instructions: 'Be brief.',
      input: request.input,
      store: false,
      include: ['reasoning.encrypted_content'],
      stream: true,
    });
    expect(await received?.finished).toBe('completed');
  });

  it('yields a function call with its arguments, and sends the tools', async () => {
    mock.enqueue(
      mockReply.textAndToolCall(['Running it.'], {
        name: 'exec_command',
        arguments: { cmd: 'ls -la' },
        callId: 'call_abc',
      }),
    );
    const tool = {
      type: 'function' as const,
      name: 'exec_command',
      description: 'Runs a command',
      parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
    };
    const { events, error } = await collect(
      client().stream({ ...request, tools: [tool], reasoningEffort: 'low' }),
    );
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'messageStarted',
      'textDelta',
      'messageDone',
      'functionCall',
      'completed',
    ]);
    expect(events[4]).toEqual({
      type: 'functionCall',
      itemId: 'fc_mock_1_1',
      callId: 'call_abc',
      name: 'exec_command',
      arguments: '{"cmd":"ls -la"}',
      item: {
        type: 'function_call',
        id: 'fc_mock_1_1',
        status: 'completed',
        call_id: 'call_abc',
        name: 'exec_command',
        arguments: '{"cmd":"ls -la"}',
      },
    });
    const body = mock.requests[0]?.body;
    expect(body?.tools).toEqual([tool]);
    expect(body?.tool_choice).toBe('auto');
    expect(body?.parallel_tool_calls).toBe(false);
    expect(body?.reasoning).toEqual({ effort: 'low' });
    expect(mock.requests[0]?.headers.authorization).toBeUndefined();
  });

  it('asks for encrypted reasoning, since nothing is stored, and sends it back on the next request', async () => {
    const reasoning = {
      type: 'reasoning',
      id: 'rs_1',
      summary: [],
      encrypted_content: 'gAAAA-opaque',
    };
    mock.enqueue(mockReply.text('one'), mockReply.text('two'));
    const c = client();
    expect((await collect(c.stream(request))).error).toBeUndefined();
    const next = { ...request, input: [...request.input, reasoning] };
    expect((await collect(c.stream(next))).error).toBeUndefined();
    for (const received of mock.requests) {
      expect(received.body.store).toBe(false);
      expect(received.body.include).toEqual(['reasoning.encrypted_content']);
    }
    expect(mock.requests[1]?.body.input).toEqual(next.input);
  });

  it('posts to {baseUrl}/responses for a base URL without /v1 and with a trailing slash', async () => {
    mock.enqueue(mockReply.text('ok'));
    const base = `http://127.0.0.1:${mock.port}/`;
    const { error } = await collect(client({ baseUrl: base }).stream(request));
    expect(error).toBeUndefined();
    expect(mock.requests[0]?.path).toBe('/responses');
  });

  it('reuses the client for consecutive streams', async () => {
    mock.enqueue(mockReply.text('one'), mockReply.text('two'), mockReply.text('three'));
    const c = client();
    for (const expected of ['one', 'two', 'three']) {
      const { events, error } = await collect(c.stream(request));
      expect(error).toBeUndefined();
      expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: expected });
    }
    expect(mock.requests).toHaveLength(3);
  });

  it('retries HTTP 500 and 503, then succeeds', async () => {
    mock.enqueue(mockReply.httpError(500), mockReply.httpError(503), mockReply.text('finally'));
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.at(-1)?.type).toBe('completed');
    expect(mock.requests).toHaveLength(3);
    expect(mock.requests.map((r) => r.rawBody)).toEqual(Array(3).fill(mock.requests[0]?.rawBody));
  });

  it('gives up after maxRetries with the last HTTP error', async () => {
    mock.enqueue(
      mockReply.httpError(502, 'bad gateway'),
      mockReply.httpError(502, 'bad gateway'),
      mockReply.httpError(502, 'bad gateway'),
    );
    const error = await failure(client({ maxRetries: 2 }).stream(request));
    expect(error.code).toBe('server_error');
    expect(error.status).toBe(502);
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(
      'model request failed: HTTP 502 Bad Gateway: bad gateway (gave up after 3 attempts)',
    );
    expect(mock.requests).toHaveLength(3);
  });

  it('honours Retry-After on a 429', async () => {
    mock.enqueue(
      mockReply.httpError(
        429,
        { error: { message: 'slow down', type: 'requests', code: 'rate_limit_exceeded' } },
        { 'retry-after': '1' },
      ),
      mockReply.text('after the wait'),
    );
    const started = performance.now();
    const { error } = await collect(client({ retryBaseDelayMs: 1 }).stream(request));
    const waited = performance.now() - started;
    expect(error).toBeUndefined();
    expect(mock.requests).toHaveLength(2);
    // the backoff alone would have waited about 1 ms: the second request waited for Retry-After
    expect(waited).toBeGreaterThanOrEqual(950);
  });

  it('honours retry-after-ms on a 429', async () => {
    mock.enqueue(
      mockReply.httpError(429, undefined, { 'retry-after-ms': '300' }),
      mockReply.text('ok'),
    );
    const started = performance.now();
    const { error } = await collect(client({ retryBaseDelayMs: 1 }).stream(request));
    expect(error).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(mock.requests).toHaveLength(2);
  });

  it('does not retry a 429 for an exhausted quota', async () => {
    mock.enqueue(
      mockReply.httpError(429, {
        error: { message: 'You exceeded your current quota', code: 'insufficient_quota' },
      }),
    );
    const error = await failure(client().stream(request));
    expect(error).toMatchObject({
      code: 'rate_limited',
      status: 429,
      retryable: false,
      apiCode: 'insufficient_quota',
    });
    expect(mock.requests).toHaveLength(1);
  });

  it('fails a 401 at once, non-retryable, with the body excerpt', async () => {
    const body = {
      error: {
        message: 'Incorrect API key provided: sk-te***st.',
        type: 'invalid_request_error',
        code: 'invalid_api_key',
      },
    };
    mock.enqueue(mockReply.httpError(401, body));
    const error = await failure(client({ apiKey: 'sk-test' }).stream(request));
    expect(error).toBeInstanceOf(ModelError);
    expect(error.name).toBe('ModelError');
    expect(error).toMatchObject({
      code: 'unauthorized',
      status: 401,
      retryable: false,
      apiCode: 'invalid_api_key',
    });
    expect(error.message).toBe(
      `model request failed: HTTP 401 Unauthorized: ${JSON.stringify(body)}`,
    );
    expect(mock.requests).toHaveLength(1);
  });

  it('cuts a long error body to an excerpt', async () => {
    mock.enqueue(mockReply.httpError(400, `${'x'.repeat(2000)}\n\n  tail`));
    const error = await failure(client().stream(request));
    expect(error.code).toBe('bad_request');
    expect(error.message).toBe(`model request failed: HTTP 400 Bad Request: ${'x'.repeat(500)}…`);
  });

  it('rejects a 200 answer that is not an event stream', async () => {
    mock.enqueue(mockReply.httpError(200, { id: 'resp_1', output: [] }));
    const error = await failure(client().stream(request));
    expect(error.code).toBe('bad_request');
    expect(error.message).toContain('expected a text/event-stream response, got application/json');
    expect(mock.requests).toHaveLength(1);
  });

  it('retries a stream that drops before its first event', async () => {
    mock.enqueue(mockReply.drop({ afterEvents: 0 }), mockReply.text(['recovered']));
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'recovered' });
    expect(mock.requests).toHaveLength(2);
    expect(await mock.requests[0]?.finished).toBe('dropped');
  });

  it('fails a stream that drops mid-reply without retrying', async () => {
    mock.enqueue(
      mockReply.drop({ afterEvents: 5, reply: mockReply.text(['a', 'b', 'c', 'd']) }),
      mockReply.text('must not be requested'),
    );
    const { events, error } = await collect(client().stream(request));
    expect(events.map((e) => e.type)).toEqual(['created', 'messageStarted', 'textDelta']);
    expect(error?.code).toBe('stream_disconnected');
    expect(error?.retryable).toBe(true);
    expect(error?.message).toMatch(/^model stream ended before response\.completed/);
    expect(mock.requests).toHaveLength(1);
  });

  it('fails a stream that ends cleanly before response.completed', async () => {
    // the whole reply but its last event: the server ends the response after output_item.done
    mock.enqueue(mockReply.truncate({ afterEvents: 8, reply: mockReply.text(['x']) }));
    const { events, error } = await collect(client().stream(request));
    expect(events.at(-1)?.type).toBe('messageDone');
    expect(error?.code).toBe('stream_disconnected');
    expect(error?.message).toMatch(/^model stream ended before response\.completed/);
  });

  it('turns response.failed into a ModelError, retried as the reference retries it', async () => {
    mock.enqueue(
      mockReply.failed('Something broke', { code: 'server_error' }),
      mockReply.failed('Something broke', { code: 'server_error' }),
    );
    const { events, error } = await collect(client({ maxRetries: 1 }).stream(request));
    expect(events.map((e) => e.type)).toEqual(['created', 'retry', 'created']);
    expect(error).toMatchObject({
      code: 'response_failed',
      apiCode: 'server_error',
      apiMessage: 'Something broke',
      retryable: true,
      message: 'model response failed: Something broke (gave up after 2 attempts)',
    });
    expect(mock.requests).toHaveLength(2);
  });

  it('does not retry a failed response whose model is at capacity', async () => {
    mock.enqueue(mockReply.failed('overloaded', { code: 'server_is_overloaded' }));
    const error = await failure(client().stream(request));
    expect(error).toMatchObject({ code: 'response_failed', apiCode: 'server_is_overloaded' });
    expect(mock.requests).toHaveLength(1);
  });

  it('waits as long as an in-stream rate limit asks before retrying', async () => {
    mock.enqueue(
      mockReply.failed('Rate limit reached for requests. Please try again in 0.3s.', {
        code: 'rate_limit_exceeded',
      }),
      mockReply.text('after the wait'),
    );
    const started = performance.now();
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    const retry = events.find((e) => e.type === 'retry');
    expect(retry).toMatchObject({ attempt: 1, maxRetries: 3, delayMs: 300 });
    expect(mock.requests).toHaveLength(2);
  });

  it('yields a retry event per retry, counting attempts against maxRetries', async () => {
    mock.enqueue(
      mockReply.httpError(502, 'bad gateway'),
      mockReply.drop({ afterEvents: 1 }),
      mockReply.text('third time'),
    );
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => [e.attempt, e.maxRetries, e.error.code, e.error.status])).toEqual([
      [1, 3, 'server_error', 502],
      [2, 3, 'stream_disconnected', undefined],
    ]);
    // the stream that broke after `created` started over: the consumer sees `created` again
    expect(events.map((e) => e.type).slice(0, 4)).toEqual(['retry', 'created', 'retry', 'created']);
  });

  it('marks a failed response for a too-long context as not retryable', async () => {
    mock.enqueue(
      mockReply.failed('Your input exceeds the context window', {
        code: 'context_length_exceeded',
      }),
    );
    const error = await failure(client().stream(request));
    expect(error).toMatchObject({ code: 'response_failed', retryable: false });
  });

  it('turns an error event into a ModelError, retried as the reference retries the stream', async () => {
    mock.enqueue(
      mockReply.errorEvent('Something broke', { code: 'internal' }),
      mockReply.errorEvent('Something broke', { code: 'internal' }),
    );
    const error = await failure(client({ maxRetries: 1 }).stream(request));
    expect(error).toMatchObject({
      code: 'stream_error',
      apiCode: 'internal',
      message: 'model stream error: Something broke (gave up after 2 attempts)',
    });
    expect(mock.requests).toHaveLength(2);
  });

  it('does not retry a usage limit or an exhausted quota', async () => {
    mock.enqueue(
      mockReply.httpError(429, { error: { message: 'x', type: 'usage_limit_reached' } }),
    );
    expect(await failure(client().stream(request))).toMatchObject({
      code: 'rate_limited',
      retryable: false,
    });
    mock.enqueue(mockReply.errorEvent('quota', { code: 'insufficient_quota' }));
    expect(await failure(client().stream(request))).toMatchObject({ retryable: false });
    expect(mock.requests).toHaveLength(2);
  });

  it('turns response.incomplete into a ModelError naming the reason', async () => {
    mock.enqueue(mockReply.incomplete('max_output_tokens'));
    const { events, error } = await collect(client().stream(request));
    expect(events.at(-1)?.type).toBe('messageDone');
    expect(error).toMatchObject({
      code: 'response_incomplete',
      retryable: false,
      message: 'model response incomplete: max_output_tokens',
    });
  });

  it('aborting mid-stream closes the request', async () => {
    const deltas = Array.from({ length: 200 }, (_, i) => `tick${i} `);
    mock.enqueue(mockReply.slow(mockReply.text(deltas), { delayMs: 20 }));
    const controller = new AbortController();
    const events: ModelEvent[] = [];
    let caught: unknown;
    try {
      for await (const event of client().stream(request, controller.signal)) {
        events.push(event);
        if (event.type === 'textDelta') controller.abort();
      }
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelError);
    expect(caught).toMatchObject({ code: 'aborted', retryable: false });
    expect(events.at(-1)?.type).toBe('textDelta');
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
    expect(mock.requests).toHaveLength(1);
  });

  it('aborting while waiting for the first byte closes the request', async () => {
    mock.enqueue(mockReply.hang());
    const controller = new AbortController();
    const stream = client().stream(request, controller.signal);
    const pending = failure(stream);
    await mock.waitForRequests(1);
    controller.abort();
    expect((await pending).code).toBe('aborted');
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
  });

  it('leaving the loop early closes the request', async () => {
    mock.enqueue(mockReply.slow(mockReply.text(['a', 'b', 'c', 'd', 'e', 'f']), { delayMs: 50 }));
    for await (const event of client().stream(request)) {
      if (event.type === 'messageStarted') break;
    }
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
  });

  it('an already aborted signal sends nothing', async () => {
    const error = await failure(client().stream(request, AbortSignal.abort()));
    expect(error.code).toBe('aborted');
    expect(mock.requests).toHaveLength(0);
  });

  it('aborting during the backoff stops the retries', async () => {
    mock.enqueue(mockReply.httpError(500), mockReply.text('never'));
    const controller = new AbortController();
    const pending = failure(
      client({ retryBaseDelayMs: 60_000 }).stream(request, controller.signal),
    );
    await mock.waitForRequests(1);
    await mock.requests[0]?.finished;
    controller.abort();
    expect((await pending).code).toBe('aborted');
    expect(mock.requests).toHaveLength(1);
  });

  it('times out a server that never answers, retries, then fails', async () => {
    mock.enqueue(mockReply.hang(), mockReply.hang());
    const error = await failure(client({ requestTimeoutMs: 150, maxRetries: 1 }).stream(request));
    expect(error).toMatchObject({ code: 'timeout', retryable: true });
    expect(error.message).toBe(
      'model request timed out: no response within 150 ms (gave up after 2 attempts)',
    );
    expect(mock.requests).toHaveLength(2);
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
    expect(await mock.requests[1]?.finished).toBe('clientClosed');
  });

  it('times out a stream that goes silent after it started, without retrying', async () => {
    mock.enqueue(mockReply.hang({ afterEvents: 4 }), mockReply.text('must not be requested'));
    const { events, error } = await collect(client({ streamIdleTimeoutMs: 150 }).stream(request));
    expect(events.map((e) => e.type)).toEqual(['created', 'messageStarted']);
    expect(error).toMatchObject({
      code: 'timeout',
      message: 'model stream timed out: nothing received for 150 ms',
    });
    expect(mock.requests).toHaveLength(1);
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
  });

  it('does not count a slow consumer as an idle stream', async () => {
    mock.enqueue(mockReply.text(['a', 'b', 'c']));
    const events: ModelEvent[] = [];
    for await (const event of client({ streamIdleTimeoutMs: 50 }).stream(request)) {
      events.push(event);
      await sleep(80);
    }
    expect(events.at(-1)?.type).toBe('completed');
  });

  it('retries a refused connection, then fails with connection_failed', async () => {
    const closed = await MockResponsesServer.start();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const { events, error: failed } = await collect(
      client({ baseUrl, maxRetries: 0, maxConnectionRetries: 2, connectionRetryDelayMs: 5 }).stream(
        request,
      ),
    );
    // an unreachable server is retried apart from maxRetries, the wait doubling each time
    expect(events).toMatchObject([
      { type: 'retry', attempt: 1, maxRetries: null, delayMs: 5 },
      { type: 'retry', attempt: 2, maxRetries: null, delayMs: 10 },
    ]);
    const error = failed ?? new ModelError('aborted', 'no failure', { retryable: false });
    expect(error.code).toBe('connection_failed');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(
      /^model request failed: could not reach http:\/\/127\.0\.0\.1:\d+\/v1\/responses: /,
    );
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(error.message).toMatch(/\(gave up after 3 attempts\)$/);
  });
});

describe('ResponsesClient configuration', () => {
  it('refuses to call OpenAI without an API key, naming the setting', async () => {
    const c = new ResponsesClient({ model: 'gpt-5' });
    expect(c.url).toBe('https://api.openai.com/v1/responses');
    const error = await failure(c.stream(request));
    expect(error.code).toBe('missing_api_key');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('OPENAI_API_KEY');
  });

  it('rejects an empty model and a base URL that is not http(s)', () => {
    expect(() => new ResponsesClient({ model: ' ' })).toThrow(ModelError);
    expect(() => new ResponsesClient({ model: 'm', baseUrl: 'not a url' })).toThrow(
      /invalid base URL/,
    );
    expect(() => new ResponsesClient({ model: 'm', baseUrl: 'ftp://example.com' })).toThrow(
      /not an http\(s\) URL/,
    );
  });
});
