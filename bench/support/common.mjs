// Helpers the benchmarks share: clocks, timeouts, medians and quantiles, number formatting, and
// the machine's CPU counters (to report how busy the machine was during a run).
import { cpus } from 'node:os';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export const nowMs = () => performance.timeOrigin + performance.now();

export { sleep } from '@tether/test-kit';

/** A promise with its resolve and reject; an unobserved rejection is not reported as unhandled. */
export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** The median of the numbers in `values` (null, undefined and NaN are left out); null if none. */
export const median = (values) => {
  const sorted = values.filter((v) => typeof v === 'number' && !Number.isNaN(v));
  sorted.sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Figures over repeated runs (one object per run): for each field named in `medians` its median,
 * for each in `maxima` its largest value.
 */
export function acrossRuns(runs, { medians = [], maxima = [] }) {
  const values = (field) => runs.map((run) => run[field]);
  return Object.fromEntries([
    ...medians.map((field) => [field, median(values(field))]),
    ...maxima.map((field) => [field, Math.max(...values(field))]),
  ]);
}

/** The nearest-rank quantile (q in 0..1). */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

export const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '-'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Busy and total CPU time of the whole machine so far (ms, summed over cores). */
export function machineCpu() {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.irq + times.idle;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/**
 * Measures a forked child's clock against ours over IPC: the child answers `{type: 'clock',
 * parentMs}` with `{type: 'clock', childMs}`. Returns `(pings) => {roundTripMs, offsetMs}` from the
 * ping with the shortest round trip (offset = the child's clock minus ours).
 */
export function childClockOffset(child) {
  let clockReply = null;
  child.on('message', (message) => {
    if (message.type === 'clock') clockReply?.(message);
  });
  return async (pings) => {
    let best = null;
    for (let i = 0; i < pings; i++) {
      const reply = new Promise((resolve) => {
        clockReply = resolve;
      });
      const sentMs = nowMs();
      child.send({ type: 'clock', parentMs: sentMs });
      const { childMs } = await withTimeout(reply, 10_000, 'the clock check');
      const receivedMs = nowMs();
      const roundTripMs = receivedMs - sentMs;
      if (best === null || roundTripMs < best.roundTripMs) {
        best = { roundTripMs, offsetMs: childMs - (sentMs + receivedMs) / 2 };
      }
    }
    return best;
  };
}
