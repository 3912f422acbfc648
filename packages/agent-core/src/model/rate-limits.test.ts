import { expectWireShape } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { rateLimitsFromHeaders } from './rate-limits.js';

const notification = (rateLimits: unknown) => ({
  method: 'account/rateLimits/updated',
  params: { rateLimits },
});

describe('rate limits from response headers', () => {
  it('reads the x-codex-* windows and credits as the reference does, rounding percents', () => {
    const [codex, ...rest] = rateLimitsFromHeaders(
      new Headers({
        'x-codex-primary-used-percent': '12.5',
        'x-codex-primary-window-minutes': '300',
        'x-codex-primary-reset-at': '1704069000',
        'x-codex-secondary-used-percent': '40',
        'x-codex-secondary-window-minutes': '10080',
        'x-codex-credits-has-credits': 'true',
        'x-codex-credits-unlimited': '0',
        'x-codex-credits-balance': ' 12.00 ',
        'x-codex-other-primary-used-percent': '80',
        'x-codex-other-limit-name': 'gpt-other',
      }),
    );
    expect(codex).toEqual({
      limitId: 'codex',
      limitName: null,
      normalModelSlug: null,
      primary: { usedPercent: 13, windowDurationMins: 300, resetsAt: 1704069000 },
      secondary: { usedPercent: 40, windowDurationMins: 10080, resetsAt: null },
      credits: { hasCredits: true, unlimited: false, balance: '12.00' },
      individualLimit: null,
      spendControlReached: null,
      planType: null,
      rateLimitReachedType: null,
    });
    expect(rest.map((s) => [s.limitId, s.limitName, s.primary?.usedPercent])).toEqual([
      ['codex_other', 'gpt-other', 80],
    ]);
    expectWireShape(notification(codex));
    expectWireShape(notification(rest[0]));
  });

  it('reports an empty codex snapshot when the headers say nothing', () => {
    const snapshots = rateLimitsFromHeaders(new Headers({ 'content-type': 'text/event-stream' }));
    expect(snapshots).toHaveLength(1);
    expect(snapshots[0]).toMatchObject({ limitId: 'codex', primary: null, secondary: null });
    expectWireShape(notification(snapshots[0]));
  });

  it("maps OpenAI's x-ratelimit-* budgets to the primary (requests) and secondary (tokens) windows", () => {
    const now = 1_700_000_000_000;
    const [codex] = rateLimitsFromHeaders(
      new Headers({
        'x-ratelimit-limit-requests': '500',
        'x-ratelimit-remaining-requests': '499',
        'x-ratelimit-reset-requests': '120ms',
        'x-ratelimit-limit-tokens': '30000',
        'x-ratelimit-remaining-tokens': '22500',
        'x-ratelimit-reset-tokens': '1m30s',
      }),
      now,
    );
    expect(codex?.primary).toEqual({
      usedPercent: 0,
      windowDurationMins: null,
      resetsAt: 1_700_000_001,
    });
    expect(codex?.secondary).toEqual({
      usedPercent: 25,
      windowDurationMins: null,
      resetsAt: 1_700_000_090,
    });
    expectWireShape(notification(codex));
  });

  it('prefers the x-codex-* family when a server sends both', () => {
    const [codex] = rateLimitsFromHeaders(
      new Headers({
        'x-codex-primary-used-percent': '50',
        'x-ratelimit-limit-requests': '10',
        'x-ratelimit-remaining-requests': '0',
      }),
    );
    expect(codex?.primary?.usedPercent).toBe(50);
    expect(codex?.secondary).toBeNull();
  });
});
