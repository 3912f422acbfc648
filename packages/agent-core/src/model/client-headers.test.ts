import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { collect } from '../test-support/model-stream.js';
import { MockResponsesServer, mockReply } from '../testing/mock-responses.js';
import { ChatCompletionsClient } from './chat/client.js';
import { type ModelClientConfig, ResponsesClient } from './client.js';
import type { ResponsesRequest } from './types.js';

let mock: MockResponsesServer;
beforeEach(async () => {
  mock = await MockResponsesServer.start();
});
afterEach(async () => {
  await mock.close();
});

const request: ResponsesRequest = {
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
};

// the default: an unreachable server is retried without end, so a misclassified failure would hang
const config = (extra: Partial<ModelClientConfig>): ModelClientConfig => ({
  baseUrl: mock.baseUrl,
  model: 'test-model',
  retryBaseDelayMs: 1,
  connectionRetryDelayMs: 1,
  ...extra,
});

describe('a request fetch refuses to build', () => {
  it.each([
    ['a line break', 'sk-abc\ndef', 'U+000A at position 7'],
    ['a character outside Latin-1', 'sk-€uro', 'U+20AC at position 4'],
  ])(
    'with %s in the API key fails at once, naming the key, without quoting it',
    async (_, apiKey, where) => {
      for (const make of [
        (c: ModelClientConfig) => new ResponsesClient(c),
        (c: ModelClientConfig) => new ChatCompletionsClient(c),
      ]) {
        const client = make(config({ apiKey, apiKeyHint: 'The API key comes from GW_KEY' }));
        const { events, error } = await collect(client.stream(request));
        expect(events).toEqual([]);
        expect(error?.code).toBe('invalid_config');
        expect(error?.retryable).toBe(false);
        expect(error?.message).toContain('the API key contains a character that cannot be sent');
        expect(error?.message).toContain(where);
        expect(error?.message).toContain('The API key comes from GW_KEY');
        expect(error?.message).not.toContain(apiKey);
      }
      expect(mock.requests).toHaveLength(0);
    },
  );

  it('names a bad http_headers value', async () => {
    const client = new ResponsesClient(config({ headers: { 'X-Team': 'a\r\nInjected: 1' } }));
    const { events, error } = await collect(client.stream(request));
    expect(events).toEqual([]);
    expect(error).toMatchObject({ code: 'invalid_config', retryable: false });
    expect(error?.message).toContain('HTTP header `X-Team`');
    expect(mock.requests).toHaveLength(0);
  });

  it('still sends a Latin-1 key', async () => {
    mock.enqueue(mockReply.text('ok'));
    const { error } = await collect(
      new ResponsesClient(config({ apiKey: 'sk-é' })).stream(request),
    );
    expect(error).toBeUndefined();
    expect(mock.requests).toHaveLength(1);
  });
});
