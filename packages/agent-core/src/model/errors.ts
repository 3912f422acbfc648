/** Why a model request failed. */
export type ModelErrorCode =
  /** The configuration is unusable (no model, a base URL that is not an http(s) URL). */
  | 'invalid_config'
  /** The endpoint is OpenAI's and no API key is configured. */
  | 'missing_api_key'
  /** HTTP 401 or 403. */
  | 'unauthorized'
  /** HTTP 429. */
  | 'rate_limited'
  /** HTTP 5xx. */
  | 'server_error'
  /** Any other HTTP status that is not a success (400, 404, 422...). */
  | 'bad_request'
  /** The connection could not be made or broke before a response arrived. */
  | 'connection_failed'
  /** No first byte within `requestTimeoutMs`, or no byte for `streamIdleTimeoutMs` mid-stream. */
  | 'timeout'
  /** The stream ended or broke before `response.completed`. */
  | 'stream_disconnected'
  /** The server sent `response.failed`. */
  | 'response_failed'
  /** The server sent `response.incomplete` (for example `max_output_tokens` reached). */
  | 'response_incomplete'
  /** The server sent an `error` event. */
  | 'stream_error'
  /** The caller's `AbortSignal` fired. */
  | 'aborted';

export interface ModelErrorOptions {
  status?: number;
  retryable: boolean;
  /** The API's own error code (`context_length_exceeded`, `invalid_api_key`...), when it sent one. */
  apiCode?: string;
  /** What the server asked for in `Retry-After` / `retry-after-ms`, in milliseconds. */
  retryAfterMs?: number;
  /** The API's own words: `error.message` of an error body or of `response.failed`. */
  apiMessage?: string;
  /** The start of an HTTP error response's body, as it came. */
  body?: string;
  /** The URL the request went to. */
  url?: string;
  /** What the user can do about it (for a refused key: where the key comes from). */
  hint?: string;
  cause?: unknown;
}

/**
 * A failed model request: an `Error` with a string `code`, the HTTP `status` when there was one,
 * and whether trying the same request again could succeed (`retryable`). The client has already
 * retried what it retries itself when this reaches the caller.
 */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  readonly code: ModelErrorCode;
  readonly status: number | undefined;
  readonly retryable: boolean;
  readonly apiCode: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly apiMessage: string | undefined;
  readonly body: string | undefined;
  readonly url: string | undefined;
  readonly hint: string | undefined;

  constructor(code: ModelErrorCode, message: string, options: ModelErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
    this.retryable = options.retryable;
    this.apiCode = options.apiCode;
    this.retryAfterMs = options.retryAfterMs;
    this.apiMessage = options.apiMessage;
    this.body = options.body;
    this.url = options.url;
    this.hint = options.hint;
  }
}

export function isModelError(error: unknown): error is ModelError {
  return error instanceof ModelError;
}
