/**
 * What tether knows about models: how they are shown to clients (`model/list`), what reasoning they
 * take by default, how many tokens their window holds and where automatic compaction starts. The
 * built-in entries are those of codex 0.169.0's catalogue; a configuration may replace them
 * (`model_catalog_json`, in the reference's format). A model the catalogue does not list gets the
 * reference's fallback metadata (a 272k window, no default effort), so a client sees the same
 * `modelContextWindow` and the model the same `reasoning` from both servers.
 */
import { z } from 'zod';
import { type ReasoningDefaults, UNKNOWN_MODEL_REASONING } from './model/reasoning.js';
import { BUILT_IN_MODELS, EFFORT_DESCRIPTIONS } from './model-catalogue-data.js';

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

/** Settings that override the catalogue (`model_context_window`, the command-line flags). */
export interface ModelContextOverrides {
  /** The window to use instead of the catalogue's (capped at the model's largest window). */
  contextWindow?: number | undefined;
  /** Tokens in use at which compaction starts, instead of 90% of the window. */
  autoCompactTokenLimit?: number | undefined;
}

/** One model of the catalogue. */
export interface CatalogueEntry {
  slug: string;
  displayName: string;
  description: string;
  /** Lower comes first in `model/list`. */
  priority: number;
  /** Left out of `model/list` unless a client asks for hidden models. */
  hidden: boolean;
  /** The effort sent when a turn names none; null sends none. */
  defaultReasoningEffort: string | null;
  supportedReasoningEfforts: readonly string[];
  /** The summary mode sent when a turn names none (`none` sends none). */
  defaultReasoningSummary: string;
  /** Whether the model takes `reasoning.summary` at all. */
  supportsReasoningSummaryParameter: boolean;
  inputModalities: readonly string[];
  contextWindow: number;
  maxContextWindow: number;
  autoCompactTokenLimit?: number | null;
  effectiveContextWindowPercent?: number;
  multiAgentVersion: string | null;
  modelSpecialty: string | null;
  availabilityNux: string | null;
  upgrade: { model: string; migrationMarkdown: string } | null;
  serviceTiers: ReadonlyArray<{ id: string; name: string; description: string }>;
  additionalSpeedTiers: readonly string[];
  defaultServiceTier: string | null;
}

/** The reference's default share of the window reported as usable. */
export const DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT = 95;

/** The reference's fallback for a model its catalogue does not list. */
export const FALLBACK_CONTEXT_WINDOW = 272_000;

/** What each effort means, for a client's picker; an effort tether has no words for gets its name. */
export function effortDescription(effort: string): string {
  return EFFORT_DESCRIPTIONS[effort] ?? effort;
}

const FALLBACK: ModelContextInfo = {
  contextWindow: FALLBACK_CONTEXT_WINDOW,
  maxContextWindow: FALLBACK_CONTEXT_WINDOW,
  autoCompactTokenLimit: null,
  effectiveContextWindowPercent: DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT,
};

/** A set of models, looked up by slug. */
export class ModelCatalogue {
  private readonly bySlug: ReadonlyMap<string, CatalogueEntry>;

  constructor(entries: readonly CatalogueEntry[]) {
    this.bySlug = new Map(entries.map((entry) => [entry.slug, entry]));
  }

  /** Every entry, by priority (the order `model/list` shows them in). */
  entries(): CatalogueEntry[] {
    return [...this.bySlug.values()].sort((a, b) => a.priority - b.priority);
  }

  get(slug: string | null | undefined): CatalogueEntry | undefined {
    return slug ? this.bySlug.get(slug) : undefined;
  }

  has(slug: string | null | undefined): boolean {
    return this.get(slug) !== undefined;
  }

  /**
   * The model's context metadata with the overrides applied as the reference applies them: a
   * configured window never exceeds the model's largest one.
   */
  contextInfo(
    slug: string | null | undefined,
    overrides: ModelContextOverrides = {},
  ): ModelContextInfo {
    const entry = this.get(slug);
    const info: ModelContextInfo = entry
      ? {
          contextWindow: entry.contextWindow,
          maxContextWindow: entry.maxContextWindow,
          autoCompactTokenLimit: entry.autoCompactTokenLimit ?? null,
          effectiveContextWindowPercent:
            entry.effectiveContextWindowPercent ?? DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT,
        }
      : { ...FALLBACK };
    if (overrides.contextWindow !== undefined) {
      info.contextWindow = Math.min(overrides.contextWindow, info.maxContextWindow);
    }
    if (overrides.autoCompactTokenLimit !== undefined) {
      info.autoCompactTokenLimit = overrides.autoCompactTokenLimit;
    }
    return info;
  }

  /**
   * What the model is sent for reasoning when the turn names nothing: the catalogue's default
   * effort and summary mode (the reference sends `{effort: "medium"}` for gpt-5.5), or the
   * reference's fallback for a model it does not list (no effort, summaries `auto`).
   */
  reasoningDefaults(slug: string | null | undefined): ReasoningDefaults {
    const entry = this.get(slug);
    if (!entry) return UNKNOWN_MODEL_REASONING;
    return {
      effort: entry.defaultReasoningEffort,
      summary: entry.defaultReasoningSummary,
      summaryParameter: entry.supportsReasoningSummaryParameter,
    };
  }
}

/** codex 0.169.0's catalogue. */
export const BUILT_IN_CATALOGUE = new ModelCatalogue(BUILT_IN_MODELS);

const EffortPreset = z.looseObject({ effort: z.string(), description: z.string().optional() });

/**
 * One `models[]` entry of a `model_catalog_json` file, in the reference's `ModelInfo` field names.
 * Only `slug` is required: tether fills what a hand-written file leaves out with the values the
 * reference gives a model it knows nothing about.
 */
const CatalogueFileEntry = z.looseObject({
  slug: z.string().min(1),
  display_name: z.string().optional(),
  description: z.string().nullish(),
  priority: z.number().int().optional(),
  visibility: z.enum(['list', 'hide', 'none']).optional(),
  default_reasoning_level: z.string().nullish(),
  supported_reasoning_levels: z.array(EffortPreset).optional(),
  default_reasoning_summary: z.string().optional(),
  supports_reasoning_summary_parameter: z.boolean().optional(),
  supports_reasoning_summaries: z.boolean().optional(),
  input_modalities: z.array(z.string()).optional(),
  context_window: z.number().int().positive().nullish(),
  max_context_window: z.number().int().positive().nullish(),
  auto_compact_token_limit: z.number().int().positive().nullish(),
  effective_context_window_percent: z.number().int().min(1).max(100).optional(),
  multi_agent_version: z.string().nullish(),
  model_specialty: z.string().nullish(),
  availability_nux: z.looseObject({ message: z.string() }).nullish(),
  upgrade: z
    .looseObject({ model: z.string(), migration_markdown: z.string().optional() })
    .nullish(),
  service_tiers: z
    .array(z.looseObject({ id: z.string(), name: z.string(), description: z.string() }))
    .optional(),
  additional_speed_tiers: z.array(z.string()).optional(),
  default_service_tier: z.string().nullish(),
});
const CatalogueFile = z.looseObject({ models: z.array(CatalogueFileEntry) });

/** A `model_catalog_json` file that cannot be used: what is wrong with it. */
export class ModelCatalogueError extends Error {
  readonly code = 'model_catalogue_invalid';
}

/**
 * The catalogue of a `model_catalog_json` file (`{"models": [...]}`, the reference's format; the
 * file replaces the built-in catalogue, as in the reference).
 */
export function parseModelCatalogue(text: string): ModelCatalogue {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelCatalogueError(`not JSON: ${(cause as Error).message}`, { cause });
  }
  const parsed = CatalogueFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new ModelCatalogueError(`${issue?.message ?? 'invalid catalogue'}${where}`);
  }
  return new ModelCatalogue(
    parsed.data.models.map((model, index): CatalogueEntry => {
      const window = model.context_window ?? FALLBACK_CONTEXT_WINDOW;
      return {
        slug: model.slug,
        displayName: model.display_name ?? model.slug,
        description: model.description ?? '',
        priority: model.priority ?? index,
        hidden: (model.visibility ?? 'list') !== 'list',
        defaultReasoningEffort: model.default_reasoning_level ?? null,
        supportedReasoningEfforts: (model.supported_reasoning_levels ?? []).map((e) => e.effort),
        defaultReasoningSummary: model.default_reasoning_summary ?? 'auto',
        supportsReasoningSummaryParameter:
          model.supports_reasoning_summary_parameter ?? model.supports_reasoning_summaries ?? true,
        inputModalities: model.input_modalities ?? ['text', 'image'],
        contextWindow: window,
        maxContextWindow: Math.max(model.max_context_window ?? window, window),
        autoCompactTokenLimit: model.auto_compact_token_limit ?? null,
        effectiveContextWindowPercent:
          model.effective_context_window_percent ?? DEFAULT_EFFECTIVE_CONTEXT_WINDOW_PERCENT,
        multiAgentVersion: model.multi_agent_version ?? null,
        modelSpecialty: model.model_specialty ?? null,
        availabilityNux: model.availability_nux?.message ?? null,
        upgrade: model.upgrade
          ? {
              model: model.upgrade.model,
              migrationMarkdown: model.upgrade.migration_markdown ?? '',
            }
          : null,
        serviceTiers: model.service_tiers ?? [],
        additionalSpeedTiers: model.additional_speed_tiers ?? [],
        defaultServiceTier: model.default_service_tier ?? null,
      };
    }),
  );
}

/** Whether the built-in catalogue lists the model (an unlisted one runs on fallback metadata). */
export function isCataloguedModel(slug: string | null | undefined): boolean {
  return BUILT_IN_CATALOGUE.has(slug);
}

/** {@link ModelCatalogue.contextInfo} of the built-in catalogue. */
export function modelContextInfo(
  slug: string | null | undefined,
  overrides: ModelContextOverrides = {},
): ModelContextInfo {
  return BUILT_IN_CATALOGUE.contextInfo(slug, overrides);
}

/** The window clients are told about (`modelContextWindow`): the usable share of the window. */
export function reportedContextWindow(info: ModelContextInfo): number {
  return Math.floor((info.contextWindow * info.effectiveContextWindowPercent) / 100);
}

/** Tokens in use at which the conversation is compacted: the configured limit, else 90%. */
export function autoCompactTokenLimit(info: ModelContextInfo): number {
  return info.autoCompactTokenLimit ?? Math.floor((info.contextWindow * 9) / 10);
}
