import { STATUS_CODES } from 'node:http';
import type { app } from '@tether/protocol';
import { messageOf } from '../errors.js';
import { describe } from './client.js';
import { isModelError, type ModelError } from './errors.js';

/**
 * The machine-readable class of a failure as Codex clients read it (`codexErrorInfo`): the
 * variants the reference reports for model failures, camelCase on the wire.
 */
export type CodexErrorInfo =
  | 'contextWindowExceeded'
  | 'usageLimitExceeded'
  | 'rateLimitExceeded'
  | 'serverOverloaded'
  | 'modelNotFound'
  | 'internalServerError'
  | 'unauthorized'
  | 'badRequest'
  | 'other'
  | { httpConnectionFailed: { httpStatusCode: number | null } }
  | { responseStreamConnectionFailed: { httpStatusCode: number | null } }
  | { responseStreamDisconnected: { httpStatusCode: number | null } }
  | { responseTooManyFailedAttempts: { httpStatusCode: number | null } };

/** A failure as a client is told about it. */
export interface ClientFacingError {
  /** The reference's words for this failure (plus, for a refused key, where the key comes from). */
  message: string;
  codexErrorInfo: CodexErrorInfo;
  /** The HTTP status a retry notice reports (the reference leaves it out for some failures). */
  retryStatus: number | null;
}

// The reference's own messages for the failures it names (codex 0.169.0, as a client sees them).
export const CONTEXT_WINDOW_EXCEEDED_MESSAGE =
  "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";
export const QUOTA_EXCEEDED_MESSAGE = 'Quota exceeded. Check your plan and billing details.';
export const USAGE_LIMIT_MESSAGE = 'You\u2019ve hit your usage limit. Try again later.';
export const USAGE_NOT_INCLUDED_MESSAGE =
  'To use Codex with your ChatGPT plan, upgrade to Plus: https://chatgpt.com/explore/plus.';
export const SERVER_OVERLOADED_MESSAGE =
  'Selected model is at capacity. Please try a different model.';
export const INTERNAL_SERVER_ERROR_MESSAGE =
  'We\u2019re currently experiencing high demand, which may cause temporary errors.';
/** What a retry notice says while the model server cannot be reached (retried without a bound). */
export const WAITING_FOR_NETWORK_MESSAGE = 'Reconnecting... waiting for network';

/** The reference cuts a body it shows to this many bytes (then "..."). */
const BODY_SHOWN_BYTES = 1000;

/** API error codes (in an error body or a failed response) that name their own failure. */
function namedFailure(code: string | undefined): ClientFacingError | undefined {
  switch (code) {
    case 'context_length_exceeded':
      return plain(CONTEXT_WINDOW_EXCEEDED_MESSAGE, 'contextWindowExceeded');
    case 'insufficient_quota':
      return plain(QUOTA_EXCEEDED_MESSAGE, 'usageLimitExceeded');
    case 'usage_not_included':
      return plain(USAGE_NOT_INCLUDED_MESSAGE, 'usageLimitExceeded');
    case 'usage_limit_reached':
      return plain(USAGE_LIMIT_MESSAGE, 'usageLimitExceeded');
    case 'server_is_overloaded':
    case 'slow_down':
      return plain(SERVER_OVERLOADED_MESSAGE, 'serverOverloaded');
    default:
      return undefined;
  }
}

function plain(message: string, codexErrorInfo: CodexErrorInfo): ClientFacingError {
  return { message, codexErrorInfo, retryStatus: null };
}

/** `unexpected status 502 Bad Gateway: <the API's message or the body>, url: <url>`. */
function unexpectedStatus(error: ModelError, status: number): string {
  const reason = STATUS_CODES[status];
  const shown =
    error.apiMessage?.trim() || truncateBytes(error.body?.trim() ?? '') || 'Unknown error';
  const url = error.url ? `, url: ${error.url}` : '';
  return `unexpected status ${status}${reason ? ` ${reason}` : ''}: ${shown}${url}`;
}

function truncateBytes(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= BODY_SHOWN_BYTES) return text;
  // a cut in the middle of a character drops the partial character
  return `${bytes
    .subarray(0, BODY_SHOWN_BYTES)
    .toString('utf8')
    .replace(/\uFFFD$/, '')}...`;
}

function withHint(message: string, hint: string | undefined): string {
  return hint ? `${message}. ${hint}` : message;
}

/**
 * How the reference reports a model failure: its message and `codexErrorInfo` (observed on codex
 * 0.169.0 against a mock answering 400/401/403/404/429/500/502/503, failed responses and dropped
 * streams). A refused or missing key also says where the key comes from.
 */
export function classifyModelError(given: ModelError): ClientFacingError {
  let error = given;
  // the client's "gave up after N attempts" wraps the last failure: that one is reported
  while (isModelError(error.cause) && error.cause.code === error.code) error = error.cause;
  const status = error.status ?? null;
  switch (error.code) {
    case 'unauthorized':
      return {
        message: withHint(unexpectedStatus(error, status ?? 401), error.hint),
        codexErrorInfo: { httpConnectionFailed: { httpStatusCode: status } },
        retryStatus: status,
      };
    case 'rate_limited':
      return (
        namedFailure(error.apiCode) ?? {
          message:
            `exceeded retry limit, last status: ${status ?? 429} ${STATUS_CODES[status ?? 429] ?? ''}`.trimEnd(),
          codexErrorInfo: { responseTooManyFailedAttempts: { httpStatusCode: status } },
          retryStatus: status,
        }
      );
    case 'server_error': {
      const named = namedFailure(error.apiCode);
      if (named) return named;
      if (status === 500) return plain(INTERNAL_SERVER_ERROR_MESSAGE, 'internalServerError');
      return {
        message: unexpectedStatus(error, status ?? 500),
        codexErrorInfo: { httpConnectionFailed: { httpStatusCode: status } },
        retryStatus: status,
      };
    }
    case 'bad_request': {
      const named = namedFailure(error.apiCode);
      if (named) return named;
      if (error.apiCode === 'model_not_found') {
        return plain(error.apiMessage ?? unexpectedStatus(error, status ?? 404), 'modelNotFound');
      }
      // the reference shows a 400's body as it came
      if (status === 400) return plain(error.body?.trim() || unexpectedStatus(error, 400), 'other');
      if (status === null || status < 400) return plain(error.message, 'other');
      return {
        message: unexpectedStatus(error, status),
        codexErrorInfo: { httpConnectionFailed: { httpStatusCode: status } },
        retryStatus: status,
      };
    }
    case 'connection_failed':
      return {
        message: `Connection failed: ${error.cause === undefined ? error.message : describe(error.cause)}`,
        codexErrorInfo: { httpConnectionFailed: { httpStatusCode: null } },
        retryStatus: null,
      };
    case 'stream_disconnected':
      return plain(
        `stream disconnected before completion: ${error.cause === undefined ? 'stream closed before response.completed' : describe(error.cause)}`,
        'other',
      );
    case 'timeout':
      return plain(`stream disconnected before completion: ${error.message}`, 'other');
    case 'response_failed':
    case 'stream_error': {
      const named = namedFailure(error.apiCode);
      if (named) return named;
      const said = error.apiMessage ?? 'no reason given';
      if (error.apiCode === 'rate_limit_exceeded') {
        return plain(`rate limit exceeded: ${said}`, 'rateLimitExceeded');
      }
      if (error.apiCode === 'invalid_prompt') return plain(said, 'other');
      return plain(`stream disconnected before completion: ${said}`, 'other');
    }
    case 'response_incomplete':
      return plain(
        `stream disconnected before completion: Incomplete response returned, reason: ${error.apiCode ?? 'unknown'}`,
        'other',
      );
    case 'missing_api_key':
      return plain(withHint(error.message, error.hint), 'other');
    case 'invalid_config':
    case 'aborted':
      return plain(error.message, 'other');
  }
}

/** The `error` of a failed turn (and of its `error` notification), for anything a turn throws. */
export function turnErrorOf(error: unknown): app.TurnError {
  const { message, codexErrorInfo } = isModelError(error)
    ? classifyModelError(error)
    : plain(messageOf(error), 'other');
  return { message, codexErrorInfo, additionalDetails: null, misalignment: null };
}

/**
 * What an `error` notification with `willRetry: true` carries while the model request is
 * retried: `Reconnecting... 2/5` (or, for an unreachable server, the reference's "waiting for
 * network"), the failure in `additionalDetails`, and `responseStreamDisconnected` as the class.
 * Null when the reference retries without telling.
 */
export function retryNoticeOf(
  error: ModelError,
  attempt: number,
  maxRetries: number | null,
): app.TurnError | null {
  const classified = classifyModelError(error);
  // a model at capacity is retried quietly: the reference's notices come from its stream-level
  // retries, which leave that failure alone
  if (classified.codexErrorInfo === 'serverOverloaded') return null;
  return {
    message:
      maxRetries === null
        ? WAITING_FOR_NETWORK_MESSAGE
        : `Reconnecting... ${attempt}/${maxRetries}`,
    codexErrorInfo: { responseStreamDisconnected: { httpStatusCode: classified.retryStatus } },
    additionalDetails: classified.message,
    misalignment: null,
  };
}
