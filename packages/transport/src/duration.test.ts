import { describe, expect, it } from 'vitest';
import { parseDurationMs } from './duration.js';

describe('parseDurationMs', () => {
  it('reads ms, s, m and h, and a bare number as seconds', () => {
    expect(parseDurationMs('500ms')).toBe(500);
    expect(parseDurationMs('10s')).toBe(10_000);
    expect(parseDurationMs('1.5m')).toBe(90_000);
    expect(parseDurationMs('2h')).toBe(7_200_000);
    expect(parseDurationMs(' 90 ')).toBe(90_000);
    expect(parseDurationMs('0')).toBe(0);
    expect(parseDurationMs('0.0004')).toBe(0);
  });

  it('refuses anything else', () => {
    for (const text of ['', 'soon', '-1s', '10 s', '1d', '1e3', 's']) {
      expect(parseDurationMs(text)).toBeUndefined();
    }
  });
});
