/** The longest wait the client accepts from `Retry-After` before giving up on the wait's length. */
export const MAX_RETRY_AFTER_MS = 120_000;

/**
 * The wait a response asks for: `retry-after-ms` (OpenAI's, milliseconds) first, then
 * `Retry-After` as delta-seconds or as an HTTP date. `undefined` when absent or unparseable.
 */
export function parseRetryAfter(
  headers: { get(name: string): string | null },
  nowMs: number = Date.now(),
): number | undefined {
  const ms = headers.get('retry-after-ms')?.trim();
  if (ms && /^\d+(\.\d+)?$/.test(ms)) return clamp(Number(ms));
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return clamp(Number(value) * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return clamp(date - nowMs);
}

/**
 * The wait a rate-limit message asks for ("… Please try again in 1.5s.", "… in 20ms"), as the
 * Responses API words it inside a stream where no header can carry it.
 */
export function retryDelayFromMessage(message: string): number | undefined {
  const match = /try again in\s*(\d+(?:\.\d+)?)\s*(ms|s|sec|secs|seconds?)\b/i.exec(message);
  if (!match) return undefined;
  const value = Number(match[1]);
  return clamp(match[2]?.toLowerCase() === 'ms' ? value : value * 1000);
}

function clamp(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}

/** The longest computed backoff before jitter. */
export const MAX_BACKOFF_MS = 30_000;

/**
 * Exponential backoff with jitter: `base * 2^retry` (at most `MAX_BACKOFF_MS`), scaled by a random
 * factor in [0.5, 1.5). `retry` counts from 0 for the first retry.
 */
export function backoffDelay(
  retry: number,
  baseMs: number,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(baseMs * 2 ** Math.min(retry, 30), MAX_BACKOFF_MS);
  return Math.round(exponential * (0.5 + random()));
}
