import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Logger, silentLogger } from '@tether/protocol';
import { ModelError } from './errors.js';
import { hasRateLimitData, type RateLimitSnapshot, rateLimitsFromHeaders } from './rate-limits.js';
import { backoffDelay, parseRetryAfter } from './retry.js';
import { SseParser } from './sse.js';
import {
  isPermanentApiCode,
  ResponseStreamTranslator,
  type StreamTranslator,
} from './translate.js';
import type { ModelEvent, ResponsesRequest } from './types.js';

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_REQUEST_TIMEOUT_MS = 120_000;
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** As many as the reference's `stream_max_retries` (its notices read "Reconnecting... 1/5"). */
export const DEFAULT_MAX_RETRIES = 5;
export const DEFAULT_RETRY_BASE_DELAY_MS = 200;
/** The reference's first wait for an unreachable server; it doubles up to the maximum. */
export const DEFAULT_CONNECTION_RETRY_DELAY_MS = 5_000;
export const MAX_CONNECTION_RETRY_DELAY_MS = 60_000;

export interface ModelClientConfig {
  /** Where the Responses API lives; `{baseUrl}/responses` is called. Default OpenAI's. */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <apiKey>`. Optional for local servers (vLLM, Ollama...). */
  apiKey?: string;
  model: string;
  /** Abort an attempt that has not received its first body byte after this long. */
  requestTimeoutMs?: number;
  /** Abort a stream that receives nothing for this long once it has started. */
  streamIdleTimeoutMs?: number;
  /** Retries on HTTP 429/5xx, connection failures, timeouts and streams that drop before any event. */
  maxRetries?: number;
  /** First backoff; doubles per retry, with jitter. A `Retry-After` from the server wins. */
  retryBaseDelayMs?: number;
  /** Extra request headers (an `OpenAI-Organization`, a proxy's header...). */
  headers?: Record<string, string>;
  /**
   * Retries when the server cannot be reached at all. Unbounded by default, as in the reference
   * (a laptop that lost its network gets its turn back once the network returns); they do not
   * count against `maxRetries`.
   */
  maxConnectionRetries?: number;
  /** First wait before retrying an unreachable server; doubles up to a minute. */
  connectionRetryDelayMs?: number;
  /**
   * Where the API key comes from, in words a user can act on ("set OPENAI_API_KEY…"): added to
   * the message of a refused (401/403) or missing key.
   */
  apiKeyHint?: string;
  /** Added to the URL's query (`query_params` of a provider, e.g. Azure's `api-version`). */
  queryParams?: Record<string, string>;
  /** Told what each accepted response's headers say about the account's rate limits. */
  onRateLimits?: (snapshots: RateLimitSnapshot[]) => void;
}

/** Codes the client retries by itself (while nothing has been yielded yet). */
const RETRIED: ReadonlySet<string> = new Set([
  'connection_failed',
  'timeout',
  'stream_disconnected',
  'rate_limited',
  'server_error',
  'response_failed',
  // the reference reads past an `error` event and retries the stream that then ends
  'stream_error',
]);

/** API codes of a failed response that the same request would meet again at once. */
const NOT_RETRIED_IN_STREAM: ReadonlySet<string> = new Set(['server_is_overloaded', 'slow_down']);

function retried(error: ModelError): boolean {
  if (!RETRIED.has(error.code)) return false;
  // as the reference: a failed response is retried unless the model is at capacity
  return !(
    error.code === 'response_failed' &&
    error.apiCode !== undefined &&
    NOT_RETRIED_IN_STREAM.has(error.apiCode)
  );
}

const EXCERPT_READ_LIMIT = 4096;
const EXCERPT_LENGTH = 500;
/** After `response.completed`, how long to wait for the body's end so the connection is reused. */
const DRAIN_AFTER_COMPLETED_MS = 1000;

/**
 * A streaming client for the OpenAI Responses API (`POST {baseUrl}/responses` with
 * `stream: true`). Each `stream()` call is one model turn: it retries what is safe to retry
 * before the first event, then yields the response's events and finishes after
 * `response.completed`, or throws a `ModelError`.
 */
export class ResponsesClient {
  readonly url: string;
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly requestTimeoutMs: number;
  private readonly streamIdleTimeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly extraHeaders: Record<string, string>;
  private readonly needsApiKey: boolean;
  private readonly maxConnectionRetries: number;
  private readonly connectionRetryDelayMs: number;
  private readonly apiKeyHint: string | undefined;
  private readonly onRateLimits: ((snapshots: RateLimitSnapshot[]) => void) | undefined;
  private readonly logger: Logger;
  /** Why the request headers cannot be sent at all (a key with a line break...), if they cannot. */
  private readonly headerError: ModelError | undefined;

  constructor(config: ModelClientConfig, logger?: Logger) {
    if (typeof config.model !== 'string' || config.model.trim() === '') {
      throw new ModelError('invalid_config', 'model client: no model configured', {
        retryable: false,
      });
    }
    const baseUrl = config.baseUrl ?? DEFAULT_BASE_URL;
    let parsed: URL;
    try {
      parsed = new URL(baseUrl);
    } catch (cause) {
      throw new ModelError('invalid_config', `model client: invalid base URL "${baseUrl}"`, {
        retryable: false,
        cause,
      });
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ModelError(
        'invalid_config',
        `model client: base URL "${baseUrl}" is not an http(s) URL`,
        { retryable: false },
      );
    }
    const query = new URLSearchParams(config.queryParams ?? {}).toString();
    this.url = `${baseUrl.replace(/\/+$/, '')}/${this.endpoint()}${query ? `?${query}` : ''}`;
    this.model = config.model;
    this.apiKey = config.apiKey || undefined;
    this.needsApiKey = parsed.hostname === 'api.openai.com';
    this.requestTimeoutMs = nonNegative(config.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS);
    this.streamIdleTimeoutMs = nonNegative(
      config.streamIdleTimeoutMs,
      DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    );
    this.maxRetries = Math.floor(nonNegative(config.maxRetries, DEFAULT_MAX_RETRIES));
    this.retryBaseDelayMs = nonNegative(config.retryBaseDelayMs, DEFAULT_RETRY_BASE_DELAY_MS);
    this.extraHeaders = { ...config.headers };
    this.maxConnectionRetries = Math.floor(nonNegative(config.maxConnectionRetries, Infinity));
    this.connectionRetryDelayMs = nonNegative(
      config.connectionRetryDelayMs,
      DEFAULT_CONNECTION_RETRY_DELAY_MS,
    );
    this.apiKeyHint = config.apiKeyHint || undefined;
    this.onRateLimits = config.onRateLimits;
    this.logger = logger ?? silentLogger();
    this.headerError = unsendableHeader(this.headers(), this.apiKeyHint);
  }

  /**
   * Streams one response. Aborting `signal` (or leaving the loop early) cancels the request and
   * closes its connection; the iteration then throws a `ModelError` with code `aborted`.
   */
  async *stream(
    request: ResponsesRequest,
    signal?: AbortSignal,
  ): AsyncGenerator<ModelEvent, void, undefined> {
    if (signal?.aborted) throw abortedError(signal.reason);
    if (this.needsApiKey && this.apiKey === undefined) {
      throw new ModelError(
        'missing_api_key',
        `model request not sent: ${this.url} needs an API key and none is configured (set OPENAI_API_KEY, or point the model base URL at a local server)`,
        { retryable: false, ...(this.apiKeyHint ? { hint: this.apiKeyHint } : {}) },
      );
    }
    // fetch would refuse these headers before connecting, on every attempt: retrying (as for an
    // unreachable server, without end) could never succeed, so the turn fails at once instead
    if (this.headerError) throw this.headerError;
    const body = JSON.stringify(this.requestBody(request));
    let retries = 0;
    let connectionRetries = 0;
    let connectionDelayMs = this.connectionRetryDelayMs;
    for (let attempt = 0; ; attempt++) {
      let yielded = false;
      try {
        for await (const event of this.attempt(body, attempt, signal)) {
          // `created` says nothing yet: a stream that breaks after it is retried as a whole
          if (event.type !== 'created' && event.type !== 'rateLimits') yielded = true;
          yield event;
        }
        return;
      } catch (caught) {
        const error =
          caught instanceof ModelError
            ? caught
            : new ModelError('stream_error', `model client failed: ${describe(caught)}`, {
                retryable: false,
                cause: caught,
              });
        if (signal?.aborted) throw abortedError(signal.reason);
        const retry = !yielded && error.retryable && retried(error);
        if (!retry) throw error;
        let delayMs: number;
        if (error.code === 'connection_failed' && connectionRetries < this.maxConnectionRetries) {
          connectionRetries++;
          delayMs = connectionDelayMs;
          connectionDelayMs = Math.min(connectionDelayMs * 2, MAX_CONNECTION_RETRY_DELAY_MS);
          yield { type: 'retry', attempt: connectionRetries, maxRetries: null, delayMs, error };
        } else {
          if (retries >= this.maxRetries) throw exhausted(error, attempt + 1);
          delayMs = error.retryAfterMs ?? backoffDelay(retries, this.retryBaseDelayMs);
          retries++;
          yield { type: 'retry', attempt: retries, maxRetries: this.maxRetries, delayMs, error };
        }
        this.logger.warn(
          { attempt: attempt + 1, code: error.code, status: error.status, delayMs },
          `${error.message}; retrying in ${delayMs} ms`,
        );
        try {
          await sleep(delayMs, undefined, signal ? { signal } : undefined);
        } catch {
          throw abortedError(signal?.reason);
        }
      }
    }
  }

  /** The path under the base URL that this wire API posts to. */
  protected endpoint(): string {
    return 'responses';
  }

  /** A fresh translator of this wire API's events, one per HTTP response. */
  protected translator(logger: Logger): StreamTranslator {
    return new ResponseStreamTranslator(logger);
  }

  protected requestBody(request: ResponsesRequest): Record<string, unknown> {
    const body: Record<string, unknown> = { model: request.model || this.model };
    if (request.instructions !== undefined) body.instructions = request.instructions;
    body.input = request.input;
    if (request.tools !== undefined && request.tools.length > 0) {
      body.tools = request.tools;
      body.tool_choice = 'auto';
      body.parallel_tool_calls = request.parallelToolCalls ?? false;
    }
    if (request.reasoning !== undefined) {
      body.reasoning = request.reasoning;
    } else if (request.reasoningEffort || request.reasoningSummary) {
      body.reasoning = {
        ...(request.reasoningEffort ? { effort: request.reasoningEffort } : {}),
        ...(request.reasoningSummary ? { summary: request.reasoningSummary } : {}),
      };
    }
    if (request.serviceTier) body.service_tier = request.serviceTier;
    body.store = false;
    // nothing is stored on the server: reasoning comes back encrypted so that the next request
    // can carry it (as the reference asks)
    body.include = ['reasoning.encrypted_content'];
    body.stream = true;
    return body;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'text/event-stream',
    };
    if (this.apiKey !== undefined) headers.authorization = `Bearer ${this.apiKey}`;
    return { ...headers, ...this.extraHeaders };
  }

  /** One HTTP attempt: yields translated events; throws a `ModelError` on any failure. */
  private async *attempt(
    body: string,
    attempt: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<ModelEvent, void, undefined> {
    const controller = new AbortController();
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer: NodeJS.Timeout | undefined;
    let timedOut: ModelError | undefined;
    const disarm = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    };
    const arm = (ms: number, message: string) => {
      disarm();
      if (ms <= 0 || !Number.isFinite(ms)) return;
      timer = setTimeout(() => {
        timedOut = new ModelError('timeout', message, { retryable: true });
        controller.abort(timedOut);
      }, ms);
    };
    const failure = (error: unknown, connecting: boolean): ModelError => {
      if (error instanceof ModelError) return error;
      if (signal?.aborted) return abortedError(signal.reason);
      if (timedOut !== undefined) return timedOut;
      // undici reports a network failure as TypeError("fetch failed") with the cause attached; a
      // TypeError without a cause is a request it refused to build, which no retry can change.
      // Its own message can quote a header value (the key), so it is kept only as the cause.
      if (connecting && error instanceof TypeError && error.cause === undefined) {
        return new ModelError(
          'invalid_config',
          `model request not sent: the request to ${this.url} could not be built (check the provider's API key, http_headers and base URL)`,
          { retryable: false, cause: error },
        );
      }
      return connecting
        ? new ModelError(
            'connection_failed',
            `model request failed: could not reach ${this.url}: ${describe(error)}`,
            { retryable: true, cause: error },
          )
        : new ModelError(
            'stream_disconnected',
            `model stream ended before response.completed: ${describe(error)}`,
            { retryable: true, cause: error },
          );
    };

    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let completed = false;
    try {
      this.logger.debug({ url: this.url, attempt: attempt + 1 }, 'model request');
      arm(
        this.requestTimeoutMs,
        `model request timed out: no response within ${this.requestTimeoutMs} ms`,
      );
      let response: Response;
      try {
        response = await fetch(this.url, {
          method: 'POST',
          headers: this.headers(),
          body,
          signal: controller.signal,
        });
      } catch (error) {
        throw failure(error, true);
      }
      if (!response.ok) {
        const text = await readExcerpt(response);
        if (signal?.aborted) throw abortedError(signal.reason);
        throw httpError(response, text, this.url, this.apiKeyHint);
      }
      const contentType = response.headers.get('content-type');
      if (contentType === null || contentType.toLowerCase().includes('text/event-stream')) {
        // reported when the server sent rate-limit headers (the reference also reports an empty
        // snapshot after every response; a local server that sends none stays quiet here)
        const snapshots = rateLimitsFromHeaders(response.headers).filter(hasRateLimitData);
        if (snapshots.length > 0) {
          this.onRateLimits?.(snapshots);
          yield { type: 'rateLimits', snapshots };
        }
      }
      if (contentType !== null && !contentType.toLowerCase().includes('text/event-stream')) {
        const text = await readExcerpt(response);
        throw new ModelError(
          'bad_request',
          `model request failed: expected a text/event-stream response, got ${contentType}${excerptSuffix(text)}`,
          { status: response.status, retryable: false },
        );
      }
      if (response.body === null) {
        throw new ModelError(
          'stream_disconnected',
          'model stream ended before response.completed',
          {
            status: response.status,
            retryable: true,
          },
        );
      }
      reader = response.body.getReader();
      const parser = new SseParser();
      const translator = this.translator(this.logger);
      let first = true;
      for (;;) {
        if (!first) {
          arm(
            this.streamIdleTimeoutMs,
            `model stream timed out: nothing received for ${this.streamIdleTimeoutMs} ms`,
          );
        }
        let chunk: Awaited<ReturnType<typeof reader.read>>;
        try {
          chunk = await reader.read();
        } catch (error) {
          throw failure(error, false);
        }
        disarm();
        first = false;
        const sseEvents = chunk.done ? parser.end() : parser.push(chunk.value);
        for (const sse of sseEvents) {
          const step = translator.translate(sse);
          for (const event of step.events) yield event;
          if (step.completed) {
            completed = true;
            return;
          }
        }
        if (chunk.done) {
          // a wire API whose end marker is optional (chat's `[DONE]`) may call the body's end final
          const last = translator.end?.();
          if (last?.completed) {
            for (const event of last.events) yield event;
            completed = true;
            return;
          }
          throw new ModelError(
            'stream_disconnected',
            'model stream ended before response.completed',
            { status: response.status, retryable: true },
          );
        }
      }
    } finally {
      disarm();
      signal?.removeEventListener('abort', onAbort);
      if (completed && reader !== undefined) drain(reader, controller);
      else controller.abort();
    }
  }
}

/**
 * Why fetch would refuse one of `headers`, naming the setting and never quoting the value (it may
 * be the key): a header value must be Latin-1 without line breaks or NUL, a name an HTTP token.
 */
function unsendableHeader(
  headers: Record<string, string>,
  apiKeyHint: string | undefined,
): ModelError | undefined {
  for (const [name, value] of Object.entries(headers)) {
    try {
      new Headers([[name, value]]);
      continue;
    } catch {}
    const isKey = name.toLowerCase() === 'authorization';
    // the position is counted in the key itself, as the user wrote it
    const chars = [...(isKey ? value.replace(/^Bearer /, '') : value)];
    const bad = chars.findIndex((char) => {
      const code = char.codePointAt(0) ?? 0;
      return code > 0xff || code === 0 || code === 0x0a || code === 0x0d;
    });
    const code = (chars[bad]?.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    const why =
      bad === -1
        ? 'is not a valid HTTP header'
        : `contains a character that cannot be sent in an HTTP header (U+${code} at position ${bad + 1}; a line break or a character outside Latin-1)`;
    const message = isKey
      ? `model request not sent: the API key ${why}; set a valid key${apiKeyHint ? `. ${apiKeyHint}` : ''}`
      : `model request not sent: the value of HTTP header \`${name}\` (the provider's http_headers or env_http_headers) ${why}`;
    return new ModelError('invalid_config', message, { retryable: false });
  }
  return undefined;
}

function nonNegative(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

function abortedError(reason: unknown): ModelError {
  return new ModelError('aborted', 'model request aborted', { retryable: false, cause: reason });
}

function exhausted(error: ModelError, attempts: number): ModelError {
  if (attempts <= 1) return error;
  return new ModelError(error.code, `${error.message} (gave up after ${attempts} attempts)`, {
    status: error.status,
    retryable: error.retryable,
    apiCode: error.apiCode,
    retryAfterMs: error.retryAfterMs,
    ...(error.apiMessage !== undefined ? { apiMessage: error.apiMessage } : {}),
    ...(error.body !== undefined ? { body: error.body } : {}),
    ...(error.url !== undefined ? { url: error.url } : {}),
    ...(error.hint !== undefined ? { hint: error.hint } : {}),
    cause: error,
  });
}

/** An error's message followed by its causes' messages (`fetch failed: connect ECONNREFUSED`). */
export function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      if (current.message && !parts.includes(current.message)) parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.length > 0 ? parts.join(': ') : 'unknown error';
}

function httpError(
  response: Response,
  text: string,
  url: string,
  apiKeyHint: string | undefined,
): ModelError {
  const status = response.status;
  const statusText = response.statusText || STATUS_CODES[status] || '';
  const { code: apiCode, message: apiMessage } = apiErrorOf(text);
  const code =
    status === 401 || status === 403
      ? 'unauthorized'
      : status === 429
        ? 'rate_limited'
        : status >= 500
          ? 'server_error'
          : 'bad_request';
  const retryable = (status === 429 || status >= 500) && !isPermanentApiCode(apiCode);
  const head = `model request failed: HTTP ${status}${statusText ? ` ${statusText}` : ''}`;
  return new ModelError(code, `${head}${excerptSuffix(text)}`, {
    status,
    retryable,
    apiCode,
    retryAfterMs: parseRetryAfter(response.headers),
    ...(apiMessage !== undefined ? { apiMessage } : {}),
    body: text,
    url,
    ...(code === 'unauthorized' && apiKeyHint ? { hint: apiKeyHint } : {}),
  });
}

function excerptSuffix(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '';
  return `: ${flat.length > EXCERPT_LENGTH ? `${flat.slice(0, EXCERPT_LENGTH)}…` : flat}`;
}

/** The `error.code` (else `error.type`) and `error.message` of an API error body. */
function apiErrorOf(text: string): { code?: string; message?: string } {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || !('error' in parsed)) return {};
    const error = parsed.error;
    if (typeof error !== 'object' || error === null) return {};
    const code =
      'code' in error && typeof error.code === 'string'
        ? error.code
        : 'type' in error && typeof error.type === 'string'
          ? error.type
          : undefined;
    const message =
      'message' in error && typeof error.message === 'string' ? error.message : undefined;
    return {
      ...(code !== undefined ? { code } : {}),
      ...(message !== undefined ? { message } : {}),
    };
  } catch {
    // not JSON: no API code
  }
  return {};
}

/** The start of an error response's body; never throws (a broken body gives what arrived). */
async function readExcerpt(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < EXCERPT_READ_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // keep what arrived
  } finally {
    reader.cancel().catch(() => {});
  }
  return text;
}

/** Reads a finished response to its end so the connection goes back to the pool; aborts if slow. */
function drain(reader: ReadableStreamDefaultReader<Uint8Array>, controller: AbortController): void {
  const timer = setTimeout(() => controller.abort(), DRAIN_AFTER_COMPLETED_MS);
  timer.unref();
  const step = (): Promise<void> =>
    reader.read().then((result) => (result.done ? undefined : step()));
  step()
    .catch(() => {})
    .finally(() => clearTimeout(timer));
}
