import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect, failure } from '../../test-support/model-stream.js';
import { MockResponsesServer, mockReply } from '../../testing/mock-responses.js';
import type { ModelClientConfig } from '../client.js';
import type { FunctionTool, ModelEvent, ResponsesRequest } from '../types.js';
import { createModelClient } from '../wire-api.js';
import { ChatCompletionsClient } from './client.js';

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

const execTool: FunctionTool = {
  type: 'function',
  name: 'exec_command',
  description: 'Runs a command',
  parameters: { type: 'object', properties: { cmd: { type: 'string' } }, required: ['cmd'] },
  strict: false,
};

function client(config: Partial<ModelClientConfig> = {}): ChatCompletionsClient {
  return new ChatCompletionsClient({
    baseUrl: mock.baseUrl,
    model: 'test-model',
    maxRetries: 3,
    retryBaseDelayMs: 1,
    ...config,
  });
}

function calls(events: ModelEvent[]) {
  return events.flatMap((event) => (event.type === 'functionCall' ? [event] : []));
}

describe('ChatCompletionsClient against the mock server', () => {
  it('streams a text reply as the same events as the Responses client, with usage', async () => {
    mock.enqueue(
      mockReply.text(['Hel', 'lo', '!'], {
        usage: { inputTokens: 12, cachedInputTokens: 4, outputTokens: 3, reasoningOutputTokens: 1 },
      }),
    );
    const { events, error } = await collect(
      client({ apiKey: 'sk-test', headers: { 'x-extra': 'yes' } }).stream(request),
    );
    expect(error).toBeUndefined();
    const messageId = events[1]?.type === 'messageStarted' ? events[1].itemId : '';
    expect(messageId).toMatch(/^msg_/);
    expect(events).toEqual([
      { type: 'created', responseId: 'chatcmpl_mock_1' },
      { type: 'messageStarted', itemId: messageId },
      { type: 'textDelta', itemId: messageId, delta: 'Hel' },
      { type: 'textDelta', itemId: messageId, delta: 'lo' },
      { type: 'textDelta', itemId: messageId, delta: '!' },
      {
        type: 'messageDone',
        itemId: messageId,
        text: 'Hello!',
        item: {
          type: 'message',
          role: 'assistant',
          content: [{ type: 'output_text', text: 'Hello!' }],
        },
      },
      {
        type: 'completed',
        responseId: 'chatcmpl_mock_1',
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
    expect(received?.path).toBe('/v1/chat/completions');
    expect(received?.headers.authorization).toBe('Bearer sk-test');
    expect(received?.headers.accept).toBe('text/event-stream');
    expect(received?.headers['x-extra']).toBe('yes');
    expect(received?.body).toEqual({
      model: 'test-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'hi' },
      ],
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(await received?.finished).toBe('completed');
  });

  it('joins a tool call whose arguments arrive over many chunks, and sends the tools', async () => {
    const command = 'git log --oneline -n 20 -- packages/agent-core/src';
    mock.enqueue(
      mockReply.textAndToolCall(['Looking.'], {
        name: 'exec_command',
        arguments: { cmd: command, workdir: '/work/repo' },
        callId: 'call_abc',
      }),
    );
    const { events, error } = await collect(
      client().stream({ ...request, tools: [execTool], reasoningEffort: 'low' }),
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
    // the mock sends 7 characters per chunk: this call took more than ten of them
    const args = JSON.stringify({ cmd: command, workdir: '/work/repo' });
    expect(args.length).toBeGreaterThan(70);
    const [call] = calls(events);
    expect(call).toMatchObject({
      type: 'functionCall',
      callId: 'call_abc',
      name: 'exec_command',
      arguments: args,
      item: { type: 'function_call', call_id: 'call_abc', name: 'exec_command', arguments: args },
    });
    expect(call?.itemId).toMatch(/^fc_/);
    expect(mock.requests[0]?.body).toMatchObject({
      tools: [
        {
          type: 'function',
          function: {
            name: 'exec_command',
            description: 'Runs a command',
            parameters: execTool.parameters,
            strict: false,
          },
        },
      ],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      reasoning_effort: 'low',
    });
  });

  it('yields two parallel tool calls in order and sends them back answered in one message', async () => {
    mock.enqueue(
      mockReply.output([
        { type: 'toolCall', name: 'exec_command', arguments: { cmd: 'ls' }, callId: 'call_1' },
        { type: 'toolCall', name: 'exec_command', arguments: { cmd: 'pwd' }, callId: 'call_2' },
      ]),
      mockReply.text('Both done.'),
    );
    const chat = client();
    const first = await collect(
      chat.stream({ ...request, tools: [execTool], parallelToolCalls: true }),
    );
    expect(first.error).toBeUndefined();
    const made = calls(first.events);
    expect(made.map((c) => [c.callId, c.arguments])).toEqual([
      ['call_1', '{"cmd":"ls"}'],
      ['call_2', '{"cmd":"pwd"}'],
    ]);
    expect(mock.requests[0]?.body.parallel_tool_calls).toBe(true);

    // the turn loop's next request: the calls, then their outputs
    const input = [
      ...request.input,
      ...made.map((c) => c.item),
      { type: 'function_call_output', call_id: 'call_1', output: 'a\nb' },
      { type: 'function_call_output', call_id: 'call_2', output: '/work' },
    ];
    const second = await collect(chat.stream({ ...request, input, tools: [execTool] }));
    expect(second.error).toBeUndefined();
    expect(second.events.find((e) => e.type === 'messageDone')).toMatchObject({
      text: 'Both done.',
    });
    expect(mock.requests[1]?.body.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'hi' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function',
            function: { name: 'exec_command', arguments: '{"cmd":"ls"}' },
          },
          {
            id: 'call_2',
            type: 'function',
            function: { name: 'exec_command', arguments: '{"cmd":"pwd"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'a\nb' },
      { role: 'tool', tool_call_id: 'call_2', content: '/work' },
    ]);
  });

  it('completes a stream that ends after its finish reason and usage without [DONE]', async () => {
    // role, "a", "b", finish reason, usage, [DONE]: the last one is left out
    mock.enqueue(
      mockReply.truncate({
        afterEvents: 5,
        reply: mockReply.text(['a', 'b'], { usage: { inputTokens: 7, outputTokens: 2 } }),
      }),
    );
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'ab' });
    expect(events.at(-1)).toEqual({
      type: 'completed',
      responseId: 'chatcmpl_mock_1',
      usage: {
        inputTokens: 7,
        cachedInputTokens: 0,
        outputTokens: 2,
        reasoningOutputTokens: 0,
        totalTokens: 9,
      },
    });
    expect(mock.requests).toHaveLength(1);
  });

  it('fails a stream that ends cleanly before its finish reason, as disconnected', async () => {
    mock.enqueue(
      mockReply.truncate({ afterEvents: 3, reply: mockReply.text(['a', 'b', 'c']) }),
      mockReply.text('must not be requested'),
    );
    const { events, error } = await collect(client().stream(request));
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'messageStarted',
      'textDelta',
      'textDelta',
    ]);
    expect(error).toMatchObject({ code: 'stream_disconnected', retryable: true });
    expect(error?.message).toMatch(/no finish_reason/);
    expect(mock.requests).toHaveLength(1);
  });

  it('retries a stream that drops before its first chunk', async () => {
    mock.enqueue(mockReply.drop({ afterEvents: 0 }), mockReply.text(['recovered']));
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'recovered' });
    expect(mock.requests).toHaveLength(2);
  });

  it('retries HTTP 500 and 429, then succeeds', async () => {
    mock.enqueue(
      mockReply.httpError(500),
      mockReply.httpError(429, undefined, { 'retry-after-ms': '5' }),
      mockReply.text('finally'),
    );
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.find((e) => e.type === 'messageDone')).toMatchObject({ text: 'finally' });
    expect(mock.requests.map((r) => r.path)).toEqual([
      '/v1/chat/completions',
      '/v1/chat/completions',
      '/v1/chat/completions',
    ]);
  });

  it('fails a 400 at once with the server words, as the Responses client does', async () => {
    const body = {
      error: {
        message: "This model's maximum context length is 8192 tokens.",
        type: 'invalid_request_error',
        code: 'context_length_exceeded',
      },
    };
    mock.enqueue(mockReply.httpError(400, body));
    const error = await failure(client().stream(request));
    expect(error).toMatchObject({
      code: 'bad_request',
      status: 400,
      retryable: false,
      apiCode: 'context_length_exceeded',
    });
    expect(error.message).toBe(
      `model request failed: HTTP 400 Bad Request: ${JSON.stringify(body)}`,
    );
    expect(mock.requests).toHaveLength(1);
  });

  it('gives up after maxRetries with the last HTTP error', async () => {
    mock.enqueue(
      mockReply.httpError(503),
      mockReply.httpError(503),
      mockReply.httpError(503),
      mockReply.httpError(503),
    );
    const error = await failure(client({ maxRetries: 2 }).stream(request));
    expect(error).toMatchObject({ code: 'server_error', status: 503, retryable: true });
    expect(error.message).toMatch(/gave up after 3 attempts\)$/);
    expect(mock.requests).toHaveLength(3);
  });

  it('turns an error object in the stream into a ModelError', async () => {
    mock.enqueue(mockReply.errorEvent('The engine crashed', { code: 'internal_error' }));
    // no retries: an error object is retried like any stream that broke before saying anything
    const { events, error } = await collect(client({ maxRetries: 0 }).stream(request));
    expect(events.map((e) => e.type)).toEqual(['created']);
    expect(error).toMatchObject({
      code: 'stream_error',
      apiCode: 'internal_error',
      message: 'model stream error: The engine crashed',
    });
  });

  it('turns finish reason "length" into the incomplete error of the Responses API', async () => {
    mock.enqueue(mockReply.incomplete('max_output_tokens', mockReply.text(['cut'])));
    const { events, error } = await collect(client().stream(request));
    expect(events.at(-1)?.type).toBe('textDelta');
    expect(error).toMatchObject({
      code: 'response_incomplete',
      apiCode: 'max_output_tokens',
      retryable: false,
    });
  });

  it('reports no usage when the server sends none', async () => {
    // a server that ignores include_usage: the completion has no usage, which is not an error
    mock.enqueue(mockReply.text('ok', { usage: null }));
    const { events, error } = await collect(client().stream(request));
    expect(error).toBeUndefined();
    expect(events.at(-1)).toEqual({
      type: 'completed',
      responseId: 'chatcmpl_mock_1',
      usage: null,
    });
  });

  it('posts to {baseUrl}/chat/completions for a base URL without /v1 and with a trailing slash', async () => {
    mock.enqueue(mockReply.text('ok'));
    const chat = client({ baseUrl: `http://127.0.0.1:${mock.port}/` });
    expect(chat.url).toBe(`http://127.0.0.1:${mock.port}/chat/completions`);
    const { error } = await collect(chat.stream(request));
    expect(error).toBeUndefined();
    expect(mock.requests[0]?.path).toBe('/chat/completions');
  });

  it('aborting mid-stream closes the request', async () => {
    mock.enqueue(mockReply.slow(mockReply.text(['a', 'b', 'c', 'd', 'e', 'f']), { delayMs: 30 }));
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
    expect(caught).toMatchObject({ code: 'aborted' });
    expect(await mock.requests[0]?.finished).toBe('clientClosed');
  });
});

describe('a Chat Completions server that does things its own way', () => {
  let server: Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** Serves these raw `data:` payloads (in one write each) as the only answer. */
  async function serve(payloads: string[]): Promise<string> {
    server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (const payload of payloads) res.write(`data: ${payload}\n\n`);
      res.end();
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/v1`;
  }

  it('streams reasoning_content (llama.cpp, vLLM) as reasoning deltas, its item done before the message', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      JSON.stringify({ id: 'c1', choices: [{ index: 0, delta, finish_reason: finish }] });
    const baseUrl = await serve([
      chunk({ role: 'assistant', reasoning_content: 'The user ' }),
      chunk({ reasoning_content: 'says hi.' }),
      chunk({ content: 'Hi!' }),
      chunk({}, 'stop'),
      '[DONE]',
    ]);
    const chat = createModelClient({ wireApi: 'chat', baseUrl, model: 'm', maxRetries: 0 });
    expect(chat).toBeInstanceOf(ChatCompletionsClient);
    const { events, error } = await collect(chat.stream(request));
    expect(error).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual([
      'created',
      'reasoningStarted',
      'reasoningTextDelta',
      'reasoningTextDelta',
      'messageStarted',
      'textDelta',
      'reasoningDone',
      'messageDone',
      'completed',
    ]);
    expect(events[6]).toMatchObject({
      type: 'reasoningDone',
      content: ['The user says hi.'],
      item: {
        type: 'reasoning',
        summary: [],
        content: [{ type: 'reasoning_text', text: 'The user says hi.' }],
      },
    });
  });

  it('assembles calls sent without index (by id), and a call finished with "stop"', async () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      JSON.stringify({ id: 'c2', choices: [{ delta, finish_reason: finish }] });
    const baseUrl = await serve([
      chunk({ tool_calls: [{ id: 'a', function: { name: 'exec_command', arguments: '{"cmd"' } }] }),
      chunk({ tool_calls: [{ function: { arguments: ':"ls"}' } }] }),
      chunk({ tool_calls: [{ id: 'b', function: { name: 'exec_command', arguments: '' } }] }),
      chunk({}, 'stop'),
      JSON.stringify({
        id: 'c2',
        choices: [],
        usage: {
          prompt_tokens: 100,
          completion_tokens: 20,
          total_tokens: 120,
          prompt_tokens_details: { cached_tokens: 64 },
          completion_tokens_details: { reasoning_tokens: 8 },
        },
      }),
      '[DONE]',
    ]);
    const chat = createModelClient({ wireApi: 'chat', baseUrl, model: 'm', maxRetries: 0 });
    const { events, error } = await collect(chat.stream(request));
    expect(error).toBeUndefined();
    expect(calls(events).map((c) => [c.callId, c.name, c.arguments])).toEqual([
      ['a', 'exec_command', '{"cmd":"ls"}'],
      // a call with no arguments gets an empty object, which every server takes back
      ['b', 'exec_command', '{}'],
    ]);
    expect(events.at(-1)).toEqual({
      type: 'completed',
      responseId: 'c2',
      usage: {
        inputTokens: 100,
        cachedInputTokens: 64,
        outputTokens: 20,
        reasoningOutputTokens: 8,
        totalTokens: 120,
      },
    });
  });
});

describe('createModelClient', () => {
  it('makes a Responses client by default and a chat client for wire API "chat"', () => {
    const responses = createModelClient({ model: 'm', baseUrl: 'http://127.0.0.1:1/v1' });
    expect(responses).not.toBeInstanceOf(ChatCompletionsClient);
    expect(responses.url).toBe('http://127.0.0.1:1/v1/responses');
    const chat = createModelClient({
      model: 'm',
      baseUrl: 'http://127.0.0.1:1/v1',
      wireApi: 'chat',
    });
    expect(chat.url).toBe('http://127.0.0.1:1/v1/chat/completions');
  });
});
