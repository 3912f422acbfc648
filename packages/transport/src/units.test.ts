import { describe, expect, it } from 'vitest';
import { UsageError } from './cli.js';
import { parseDuration, parseSize } from './units.js';

describe('parseDuration', () => {
  it('reads ms, s, m and h, and a bare number as seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('2h')).toBe(7_200_000);
    expect(parseDuration('2')).toBe(2000);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration(' 90 ')).toBe(90_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('0.0004')).toBe(0);
  });

  it('refuses anything else with a usage error naming the value and the flag', () => {
    for (const text of ['', 'soon', '-1s', '10 s', '1d', '1e3', 's']) {
      expect(() => parseDuration(text), text).toThrow(UsageError);
    }
    expect(() => parseDuration('soon')).toThrow("invalid value 'soon': expected a duration");
    expect(() => parseDuration('soon', 'session-ttl')).toThrow(
      "invalid value 'soon' for '--session-ttl': expected a duration like 60s",
    );
  });
});

describe('parseSize', () => {
  it('reads bytes and binary or decimal units, in any case', () => {
    expect(parseSize('8MiB')).toBe(8 * 1024 * 1024);
    expect(parseSize('64KiB')).toBe(65_536);
    expect(parseSize('64k')).toBe(65_536);
    expect(parseSize('64kb')).toBe(64_000);
    expect(parseSize('1 GB')).toBe(1_000_000_000);
    expect(parseSize('1.5gib')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100000')).toBe(100_000);
    expect(parseSize('10B')).toBe(10);
    expect(parseSize('1.9')).toBe(1);
  });

  it('refuses anything else with a usage error', () => {
    for (const text of ['', 'big', '-1', '8 MiBs', '1e3', 'MiB', '8TiB']) {
      expect(() => parseSize(text), text).toThrow(UsageError);
    }
    expect(() => parseSize('big', 'max-retained-output')).toThrow(
      "invalid value 'big' for '--max-retained-output': expected a size like 8MiB",
    );
  });
});
