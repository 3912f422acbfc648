/**
 * Reads a duration flag value: `500ms`, `10s`, `1.5m`, `2h`, or a bare number of seconds. Returns
 * milliseconds (rounded), or undefined when the text is not a duration, so each executable can
 * word its own usage error.
 */
export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1;
  return Math.round(value * factor);
}
