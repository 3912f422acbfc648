import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MockReply, MockResponsesServer, mockReply } from '../testing/mock-responses.js';
import { ResponsesClient } from './client.js';
import {
  CONTEXT_WINDOW_EXCEEDED_MESSAGE,
  type CodexErrorInfo,
  classifyModelError,
  INTERNAL_SERVER_ERROR_MESSAGE,
  QUOTA_EXCEEDED_MESSAGE,
  retryNoticeOf,
  SERVER_OVERLOADED_MESSAGE,
  turnErrorOf,
  USAGE_LIMIT_MESSAGE,
  WAITING_FOR_NETWORK_MESSAGE,
} from './error-info.js';
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
  input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] }],
};

const HINT =
  'The API key comes from the OPENAI_API_KEY environment variable (--api-key-env names another)';

/** The error a real request meets when the mock answers `reply` (no retries). */
async function failureFor(reply: MockReply, baseUrl = mock.baseUrl): Promise<ModelError> {
  mock.enqueue(reply);
  const client = new ResponsesClient({
    model: 'm',
    baseUrl,
    apiKey: 'sk-mock',
    maxRetries: 0,
    maxConnectionRetries: 0,
    apiKeyHint: HINT,
  });
  const events: ModelEvent[] = [];
  try {
    for await (const event of client.stream(request)) events.push(event);
  } catch (error) {
    if (error instanceof ModelError) return error;
    throw error;
  }
  throw new Error(`expected a failure, got ${events.map((e) => e.type).join(', ')}`);
}

const body = (message: string, extra: Record<string, unknown> = {}) => ({
  error: { message, type: 'invalid_request_error', param: null, code: null, ...extra },
});

describe('the failures a client is told about, as the reference words and classifies them', () => {
  // Each row was observed on codex 0.169.0 pointed at a mock answering the same way.
  const url = () => `${mock.baseUrl}/responses`;
  const rows: Array<[string, () => MockReply, () => string, CodexErrorInfo]> = [
    [
      'a refused key (401), naming where the key comes from',
      () =>
        mockReply.httpError(
          401,
          body('Incorrect API key provided: sk-mock.', { code: 'invalid_api_key' }),
        ),
      () =>
        `unexpected status 401 Unauthorized: Incorrect API key provided: sk-mock., url: ${url()}. ${HINT}`,
      { httpConnectionFailed: { httpStatusCode: 401 } },
    ],
    [
      'a 403',
      () => mockReply.httpError(403, body('forbidden')),
      () => `unexpected status 403 Forbidden: forbidden, url: ${url()}. ${HINT}`,
      { httpConnectionFailed: { httpStatusCode: 403 } },
    ],
    [
      'a 400, shown as its body',
      () => mockReply.httpError(400, body('Invalid value for tools', { param: 'tools' })),
      () => JSON.stringify(body('Invalid value for tools', { param: 'tools' })),
      'other',
    ],
    [
      'a 400 for a too-long input',
      () =>
        mockReply.httpError(
          400,
          body('Your input exceeds the context window.', { code: 'context_length_exceeded' }),
        ),
      () => CONTEXT_WINDOW_EXCEEDED_MESSAGE,
      'contextWindowExceeded',
    ],
    [
      'an unknown model',
      () =>
        mockReply.httpError(404, body('The model `x` does not exist', { code: 'model_not_found' })),
      () => 'The model `x` does not exist',
      'modelNotFound',
    ],
    [
      'a rate limit (429)',
      () =>
        mockReply.httpError(429, {
          error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' },
        }),
      () => 'exceeded retry limit, last status: 429 Too Many Requests',
      { responseTooManyFailedAttempts: { httpStatusCode: 429 } },
    ],
    [
      'a usage limit',
      () => mockReply.httpError(429, { error: { message: 'x', type: 'usage_limit_reached' } }),
      () => USAGE_LIMIT_MESSAGE,
      'usageLimitExceeded',
    ],
    [
      'an exhausted quota',
      () =>
        mockReply.httpError(429, {
          error: { message: 'quota', type: 'insufficient_quota', code: 'insufficient_quota' },
        }),
      () => QUOTA_EXCEEDED_MESSAGE,
      'usageLimitExceeded',
    ],
    [
      'a 500',
      () => mockReply.httpError(500),
      () => INTERNAL_SERVER_ERROR_MESSAGE,
      'internalServerError',
    ],
    [
      'a 502 from a proxy',
      () => mockReply.httpError(502, '<html>Bad Gateway</html>'),
      () => `unexpected status 502 Bad Gateway: <html>Bad Gateway</html>, url: ${url()}`,
      { httpConnectionFailed: { httpStatusCode: 502 } },
    ],
    [
      'an overloaded model (503)',
      () =>
        mockReply.httpError(503, {
          error: { message: 'overloaded', type: 'server_error', code: 'server_is_overloaded' },
        }),
      () => SERVER_OVERLOADED_MESSAGE,
      'serverOverloaded',
    ],
    [
      'a stream that ends before response.completed',
      () => mockReply.truncate({ afterEvents: 1 }),
      () => 'stream disconnected before completion: stream closed before response.completed',
      'other',
    ],
    [
      'a failed response',
      () => mockReply.failed('Something broke'),
      () => 'stream disconnected before completion: Something broke',
      'other',
    ],
    [
      'a failed response for a too-long input',
      () => mockReply.failed('too long', { code: 'context_length_exceeded' }),
      () => CONTEXT_WINDOW_EXCEEDED_MESSAGE,
      'contextWindowExceeded',
    ],
    [
      'a failed response from a model at capacity',
      () => mockReply.failed('overloaded', { code: 'server_is_overloaded' }),
      () => SERVER_OVERLOADED_MESSAGE,
      'serverOverloaded',
    ],
    [
      'a failed response over quota',
      () => mockReply.failed('quota', { code: 'insufficient_quota' }),
      () => QUOTA_EXCEEDED_MESSAGE,
      'usageLimitExceeded',
    ],
    [
      'an in-stream rate limit',
      () =>
        mockReply.failed('Rate limit reached. Please try again in 0.05s.', {
          code: 'rate_limit_exceeded',
        }),
      () => 'rate limit exceeded: Rate limit reached. Please try again in 0.05s.',
      'rateLimitExceeded',
    ],
  ];

  it.each(rows)('%s', async (_what, reply, message, info) => {
    const error = await failureFor(reply());
    expect(classifyModelError(error)).toMatchObject({ message: message(), codexErrorInfo: info });
    expect(turnErrorOf(error)).toEqual({
      message: message(),
      codexErrorInfo: info,
      additionalDetails: null,
      misalignment: null,
    });
  });

  it('a dropped stream and an unreachable server', async () => {
    const dropped = await failureFor(mockReply.drop({ afterEvents: 1 }));
    expect(turnErrorOf(dropped)).toMatchObject({
      message: expect.stringMatching(/^stream disconnected before completion: \S/),
      codexErrorInfo: 'other',
    });
    const closed = await MockResponsesServer.start();
    const baseUrl = closed.baseUrl;
    await closed.close();
    const refused = await failureFor(mockReply.text('unused'), baseUrl);
    expect(turnErrorOf(refused)).toMatchObject({
      message: expect.stringMatching(/^Connection failed: .*ECONNREFUSED/),
      codexErrorInfo: { httpConnectionFailed: { httpStatusCode: null } },
    });
  });

  it('reports the failure a retried request gave up on, not the "gave up" wrapper', async () => {
    mock.enqueue(mockReply.httpError(502, 'bad'), mockReply.httpError(502, 'bad'));
    const client = new ResponsesClient({ model: 'm', baseUrl: mock.baseUrl, maxRetries: 1 });
    let caught: unknown;
    try {
      for await (const _ of client.stream(request)) {
        // drained
      }
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ModelError);
    expect(turnErrorOf(caught)).toMatchObject({
      message: `unexpected status 502 Bad Gateway: bad, url: ${mock.baseUrl}/responses`,
      codexErrorInfo: { httpConnectionFailed: { httpStatusCode: 502 } },
    });
  });

  it('anything else a turn fails with is "other"', () => {
    expect(turnErrorOf(new Error('exec_command failed: boom'))).toEqual({
      message: 'exec_command failed: boom',
      codexErrorInfo: 'other',
      additionalDetails: null,
      misalignment: null,
    });
  });
});

describe('retry notices', () => {
  it('say "Reconnecting... n/max" with the failure in additionalDetails', async () => {
    const bad = await failureFor(mockReply.httpError(502, '<html>Bad Gateway</html>'));
    expect(retryNoticeOf(bad, 1, 5)).toEqual({
      message: 'Reconnecting... 1/5',
      codexErrorInfo: { responseStreamDisconnected: { httpStatusCode: 502 } },
      additionalDetails: `unexpected status 502 Bad Gateway: <html>Bad Gateway</html>, url: ${mock.baseUrl}/responses`,
      misalignment: null,
    });
    // the reference reports no status for its "high demand" 500
    const busy = await failureFor(mockReply.httpError(500));
    expect(retryNoticeOf(busy, 2, 5)).toMatchObject({
      message: 'Reconnecting... 2/5',
      codexErrorInfo: { responseStreamDisconnected: { httpStatusCode: null } },
      additionalDetails: INTERNAL_SERVER_ERROR_MESSAGE,
    });
  });

  it('say "waiting for network" for an unreachable server, and nothing for a model at capacity', async () => {
    const unreachable = new ModelError('connection_failed', 'could not reach', {
      retryable: true,
      cause: new Error('connect ECONNREFUSED 127.0.0.1:9'),
    });
    expect(retryNoticeOf(unreachable, 3, null)).toEqual({
      message: WAITING_FOR_NETWORK_MESSAGE,
      codexErrorInfo: { responseStreamDisconnected: { httpStatusCode: null } },
      additionalDetails: 'Connection failed: connect ECONNREFUSED 127.0.0.1:9',
      misalignment: null,
    });
    const overloaded = await failureFor(
      mockReply.httpError(503, { error: { message: 'o', code: 'server_is_overloaded' } }),
    );
    expect(retryNoticeOf(overloaded, 1, 5)).toBeNull();
  });
});
