/**
 * What tether knows about a model's context: how many tokens its window holds, how much of it a
 * client is told it may use, and where automatic compaction starts. The entries are those of
 * codex 0.169.0's built-in catalogue; a model it does not list gets the reference's fallback
 * metadata (a 272k window), so a client sees the same `modelContextWindow` from both servers.
 */
export interface ModelContextInfo {
  /** The model's context window in tokens. */
  contextWindow: number;
  /** The largest window a configured `modelContextWindow` may ask for. */
  maxContextWindow: number;
  /** Where automatic compaction starts; null: 90% of `contextWindow`. */
  autoCompactTokenLimit: number | null;
  /** The share of the window reported to clients as usable (the rest is headroom for output). */
  effectiveContextWindowPercent: number;
}

/** Settings that override the catalogue (a later issue reads them from config.toml). */
export interface ModelContextOverrides {
  /** The window to use instead of the catalogue's (capped at the model's largest window). */
  contextWindow?: number | undefined;
  /** Tokens in use at which compaction starts, instead of 90% of the window. */
  autoCompactTokenLimit?: number | undefined;
}

/** The reference's default share of the window reported as usable. */
export const DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT = 95;

/** The reference's fallback for a model its catalogue does not list. */
export const FALLBACK_CONTEXT_WINDOW = 272_000;

const entry = (contextWindow: number, maxContextWindow: number): ModelContextInfo => ({
  contextWindow,
  maxContextWindow,
  autoCompactTokenLimit: null,
  effectiveContextWindowPercent: DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT,
});

/** codex 0.169.0's bundled `models.json`, context fields only. */
const CATALOGUE: ReadonlyMap<string, ModelContextInfo> = new Map([
  ['gpt-6-astra', entry(272_000, 872_000)],
  ['gpt-6.1-sol', entry(272_000, 872_000)],
  ['gpt-6.1-terra', entry(500_000, 872_000)],
  ['gpt-6-sol', entry(272_000, 872_000)],
  ['gpt-6-luna', entry(272_000, 872_000)],
  ['gpt-5.6-sol', entry(272_000, 872_000)],
  ['gpt-5.6-terra', entry(272_000, 872_000)],
  ['gpt-5.6-luna', entry(272_000, 872_000)],
  ['gpt-daybreak-blue-latest', entry(272_000, 872_000)],
  ['gpt-daybreak-red-latest', entry(372_000, 372_000)],
  ['gpt-5.5', entry(272_000, 272_000)],
  ['codex-auto-review', entry(272_000, 872_000)],
]);

const FALLBACK: ModelContextInfo = entry(FALLBACK_CONTEXT_WINDOW, FALLBACK_CONTEXT_WINDOW);

/** Whether the catalogue lists the model (an unlisted one runs on fallback metadata). */
export function isCataloguedModel(slug: string | null | undefined): boolean {
  return slug !== null && slug !== undefined && CATALOGUE.has(slug);
}

/**
 * The model's context metadata with the overrides applied as the reference applies them: a
 * configured window never exceeds the model's largest one.
 */
export function modelContextInfo(
  slug: string | null | undefined,
  overrides: ModelContextOverrides = {},
): ModelContextInfo {
  const base = (slug ? CATALOGUE.get(slug) : undefined) ?? FALLBACK;
  const info = { ...base };
  if (overrides.contextWindow !== undefined) {
    info.contextWindow = Math.min(overrides.contextWindow, info.maxContextWindow);
  }
  if (overrides.autoCompactTokenLimit !== undefined) {
    info.autoCompactTokenLimit = overrides.autoCompactTokenLimit;
  }
  return info;
}

/** The window clients are told about (`modelContextWindow`): the usable share of the window. */
export function reportedContextWindow(info: ModelContextInfo): number {
  return Math.floor((info.contextWindow * info.effectiveContextWindowPercent) / 100);
}

/** Tokens in use at which the conversation is compacted: the configured limit, else 90%. */
export function autoCompactTokenLimit(info: ModelContextInfo): number {
  return info.autoCompactTokenLimit ?? Math.floor((info.contextWindow * 9) / 10);
}
