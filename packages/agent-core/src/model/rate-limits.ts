import type { app } from '@tether/protocol';

/**
 * What a model response's headers say about the account's rate limits, as `account/rateLimits/*`
 * carry it. The reference reads its own `x-codex-*` families (`x-codex-primary-used-percent`,
 * `…-window-minutes`, `…-reset-at`, the `secondary` window, `x-codex-credits-*`, and further
 * `x-<limit>-primary-used-percent` families); OpenAI's API and many gateways send the
 * `x-ratelimit-*` request and token budgets instead, which tether reads when no `x-codex-*` header
 * is there: requests as the primary window, tokens as the secondary one.
 */
export type RateLimitSnapshot = app.RateLimitSnapshot;

type HeaderSource = Pick<Headers, 'get' | 'forEach'>;

const snapshot = (
  limitId: string,
  fields: Partial<Pick<RateLimitSnapshot, 'limitName' | 'primary' | 'secondary' | 'credits'>>,
): RateLimitSnapshot => ({
  limitId,
  limitName: fields.limitName ?? null,
  normalModelSlug: null,
  primary: fields.primary ?? null,
  secondary: fields.secondary ?? null,
  credits: fields.credits ?? null,
  individualLimit: null,
  spendControlReached: null,
  planType: null,
  rateLimitReachedType: null,
});

/**
 * The snapshots of one response: the `codex` family first (always, empty when the headers say
 * nothing, as the reference reports it after every response), then other `x-codex-*`-style
 * families that carry data.
 */
export function rateLimitsFromHeaders(
  headers: HeaderSource,
  nowMs = Date.now(),
): RateLimitSnapshot[] {
  const codex = familySnapshot(headers, 'codex');
  const hasCodex = codex.primary || codex.secondary || codex.credits;
  const first = hasCodex ? codex : (openAiSnapshot(headers, nowMs) ?? codex);
  const others = new Set<string>();
  headers.forEach((_value, name) => {
    const match = /^x-(.+)-primary-used-percent$/.exec(name.toLowerCase());
    const id = match?.[1] ? normalizeLimitId(match[1]) : undefined;
    if (id && id !== 'codex') others.add(id);
  });
  const rest = [...others]
    .sort()
    .map((id) => familySnapshot(headers, id))
    .filter(hasRateLimitData);
  return [first, ...rest];
}

/** Whether a snapshot says anything (a window or credits). */
export function hasRateLimitData(snapshot: RateLimitSnapshot): boolean {
  return Boolean(snapshot.primary || snapshot.secondary || snapshot.credits);
}

function normalizeLimitId(name: string): string {
  return name.trim().toLowerCase().replaceAll('-', '_');
}

function familySnapshot(headers: HeaderSource, limitId: string): RateLimitSnapshot {
  const prefix = `x-${limitId.replaceAll('_', '-')}`;
  const name = headers.get(`${prefix}-limit-name`)?.trim();
  return snapshot(limitId, {
    limitName: name ? name : null,
    primary: codexWindow(headers, `${prefix}-primary`),
    secondary: codexWindow(headers, `${prefix}-secondary`),
    credits: credits(headers),
  });
}

/** A window the reference reports: a used percentage, and data beyond a bare zero. */
function codexWindow(headers: HeaderSource, prefix: string): app.RateLimitWindow | null {
  const used = float(headers.get(`${prefix}-used-percent`));
  if (used === undefined) return null;
  const minutes = integer(headers.get(`${prefix}-window-minutes`));
  const resetsAt = integer(headers.get(`${prefix}-reset-at`));
  if (used === 0 && !minutes && resetsAt === undefined) return null;
  return {
    usedPercent: roundPercent(used),
    windowDurationMins: minutes ?? null,
    resetsAt: resetsAt ?? null,
  };
}

function credits(headers: HeaderSource): app.CreditsSnapshot | null {
  const hasCredits = bool(headers.get('x-codex-credits-has-credits'));
  const unlimited = bool(headers.get('x-codex-credits-unlimited'));
  if (hasCredits === undefined || unlimited === undefined) return null;
  const balance = headers.get('x-codex-credits-balance')?.trim();
  return { hasCredits, unlimited, balance: balance ? balance : null };
}

/** OpenAI's `x-ratelimit-{limit,remaining,reset}-{requests,tokens}`, as a `codex` snapshot. */
function openAiSnapshot(headers: HeaderSource, nowMs: number): RateLimitSnapshot | undefined {
  const primary = openAiWindow(headers, 'requests', nowMs);
  const secondary = openAiWindow(headers, 'tokens', nowMs);
  if (!primary && !secondary) return undefined;
  return snapshot('codex', { primary, secondary });
}

function openAiWindow(
  headers: HeaderSource,
  unit: 'requests' | 'tokens',
  nowMs: number,
): app.RateLimitWindow | null {
  const limit = float(headers.get(`x-ratelimit-limit-${unit}`));
  const remaining = float(headers.get(`x-ratelimit-remaining-${unit}`));
  if (limit === undefined || remaining === undefined || limit <= 0) return null;
  const resetMs = durationMs(headers.get(`x-ratelimit-reset-${unit}`));
  return {
    usedPercent: roundPercent(((limit - Math.min(Math.max(remaining, 0), limit)) / limit) * 100),
    windowDurationMins: null,
    resetsAt: resetMs === undefined ? null : Math.ceil((nowMs + resetMs) / 1000),
  };
}

/** OpenAI's reset durations: `1s`, `6m0s`, `120ms`, `1h2m3.5s`. */
function durationMs(value: string | null): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  let total = 0;
  let matched = '';
  for (const part of text.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)) {
    const amount = Number(part[1]);
    const unit = part[2];
    total += amount * (unit === 'h' ? 3_600_000 : unit === 'm' ? 60_000 : unit === 's' ? 1000 : 1);
    matched += part[0];
  }
  return matched === text ? total : undefined;
}

/** The wire carries whole percents; the reference rounds half away from zero. */
function roundPercent(value: number): number {
  return Math.sign(value) * Math.round(Math.abs(value));
}

function float(value: string | null): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : undefined;
}

function integer(value: string | null): number | undefined {
  if (value === null || !/^-?\d+$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

function bool(value: string | null): boolean | undefined {
  const text = value?.trim().toLowerCase();
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  return undefined;
}
