import { parseDurationMs } from '@tether/transport';

/**
 * Parses `500ms`, `10s`, `30m`, `2h` or a bare number of seconds (the unit tether-exec-server's
 * duration flags use too) into milliseconds.
 */
export function parseDuration(text: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) {
    throw new Error(
      `invalid duration \`${text}\`; expected a number of seconds, or one with ms, s, m or h (e.g. 30m)`,
    );
  }
  return ms;
}
