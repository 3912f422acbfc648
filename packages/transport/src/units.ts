import { UsageError } from './cli.js';

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const MS_PER: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Reads a duration flag value of either executable: `500ms`, `10s`, `1.5m`, `2h`, or a bare
 * number of seconds (as the reference's flags count). Returns milliseconds, rounded. `flag`
 * (without dashes) names the flag in the error.
 */
export function parseDuration(text: string, flag?: string): number {
  const match = DURATION.exec(text.trim());
  const ms = MS_PER[match?.[2] ?? 's'];
  if (!match || ms === undefined) {
    throw new UsageError(
      `${invalid(text, flag)}: expected a duration like 60s, 500ms or 30m (a bare number is seconds)`,
    );
  }
  return Math.round(Number(match[1]) * ms);
}

const SIZE = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/;
// `k`, `m` and `g` alone are binary, as most tools that take sizes read them.
const BYTES_PER: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/**
 * Reads a size flag value: `8MiB`, `512KiB`, `1.5GB`, `1048576` (bytes), units in any case.
 * Returns whole bytes, rounded down. `flag` (without dashes) names the flag in the error.
 */
export function parseSize(text: string, flag?: string): number {
  const match = SIZE.exec(text.trim());
  const unit = BYTES_PER[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    throw new UsageError(`${invalid(text, flag)}: expected a size like 8MiB, 64KiB or 100000`);
  }
  return Math.floor(Number(match[1]) * unit);
}

function invalid(text: string, flag: string | undefined): string {
  return flag === undefined ? `invalid value '${text}'` : `invalid value '${text}' for '--${flag}'`;
}
