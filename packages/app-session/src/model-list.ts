/**
 * `model/list`: the model catalogue (codex 0.169.0's, or the `model_catalog_json` file that
 * replaces it) merged with what the provider serves. This goes beyond the reference, which lists
 * its catalogue only: when the provider answers `GET /models` (a local vLLM, Ollama or llama.cpp
 * server, a gateway), the list is the models it serves, described from the catalogue when it
 * knows them; OpenAI's own API, or a provider that does not answer, gets the catalogue. The
 * configured model is always listed, and is the default.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  BUILT_IN_CATALOGUE,
  type CatalogueEntry,
  effortDescription,
  type ModelCatalogue,
  parseModelCatalogue,
} from '@tether/agent-core';
import { type app, invalidRequest, RpcError } from '@tether/protocol';
import type { Logger } from '@tether/transport';
import { type AuthStore, apiKeyFor } from './auth-store.js';
import type { ConfigService, ResolvedProvider } from './config/index.js';
import type { ServedModels } from './served-models.js';

/** What a model the catalogue does not know offers a client's picker. */
const UNKNOWN_MODEL_EFFORTS = ['low', 'medium', 'high'];

/**
 * The catalogue a configuration names (`model_catalog_json`, relative to the state directory),
 * or the built-in one; a file that cannot be used is reported and the built-in one kept.
 */
export function loadModelCatalogue(
  path: string | null,
  home: string,
  onError?: (message: string) => void,
): ModelCatalogue {
  if (!path) return BUILT_IN_CATALOGUE;
  const file = isAbsolute(path) ? path : join(home, path);
  try {
    return parseModelCatalogue(readFileSync(file, 'utf8'));
  } catch (error) {
    onError?.(
      `model_catalog_json ${file} cannot be used (${(error as Error).message}); using the built-in model catalogue`,
    );
    return BUILT_IN_CATALOGUE;
  }
}

function fromCatalogue(entry: CatalogueEntry, isDefault: boolean): app.ModelInfo {
  return {
    id: entry.slug,
    model: entry.slug,
    upgrade: entry.upgrade?.model ?? null,
    upgradeInfo: entry.upgrade
      ? {
          model: entry.upgrade.model,
          upgradeCopy: null,
          modelLink: null,
          migrationMarkdown: entry.upgrade.migrationMarkdown,
          retirementAt: null,
        }
      : null,
    availabilityNux: entry.availabilityNux ? { message: entry.availabilityNux } : null,
    displayName: entry.displayName,
    description: entry.description,
    modelSpecialty: entry.modelSpecialty,
    hidden: entry.hidden,
    supportedReasoningEfforts: entry.supportedReasoningEfforts.map((effort) => ({
      reasoningEffort: effort,
      description: effortDescription(effort),
    })),
    // the reference's `ModelPreset` default for a model without one
    defaultReasoningEffort: entry.defaultReasoningEffort ?? 'none',
    inputModalities: entry.inputModalities.filter(
      (m): m is 'text' | 'image' | 'audio' => m === 'text' || m === 'image' || m === 'audio',
    ),
    supportsPersonality: false,
    multiAgentVersion: entry.multiAgentVersion,
    additionalSpeedTiers: [...entry.additionalSpeedTiers],
    serviceTiers: entry.serviceTiers.map((tier) => ({ ...tier })),
    defaultServiceTier: entry.defaultServiceTier,
    availableAccessPrograms: null,
    isDefault,
  };
}

function unknownModel(slug: string, description: string, isDefault: boolean): app.ModelInfo {
  return {
    id: slug,
    model: slug,
    upgrade: null,
    upgradeInfo: null,
    availabilityNux: null,
    displayName: slug,
    description,
    modelSpecialty: null,
    hidden: false,
    supportedReasoningEfforts: UNKNOWN_MODEL_EFFORTS.map((effort) => ({
      reasoningEffort: effort,
      description: effortDescription(effort),
    })),
    defaultReasoningEffort: 'medium',
    // tether sends the model text only
    inputModalities: ['text'],
    supportsPersonality: false,
    multiAgentVersion: null,
    additionalSpeedTiers: [],
    serviceTiers: [],
    defaultServiceTier: null,
    availableAccessPrograms: null,
    isDefault,
  };
}

/** Whether the provider is OpenAI's own API, whose `/models` lists far more than chat models. */
function isOpenAiApi(provider: ResolvedProvider): boolean {
  try {
    return new URL(provider.baseUrl).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}

export interface ModelListOptions {
  home: string;
  config: ConfigService;
  store: AuthStore;
  served: ServedModels;
  logger: Logger;
}

export class ModelList {
  constructor(private readonly options: ModelListOptions) {}

  async list(params: app.ModelListParams): Promise<app.ModelListResponse> {
    const snapshot = this.options.config.loadForThread();
    const wanted = params?.modelProvider ?? snapshot.resolved.provider.id;
    let provider: ResolvedProvider;
    try {
      provider = this.options.config.provider(snapshot, wanted);
    } catch {
      throw new RpcError(
        invalidRequest(
          `This chat uses model provider “${wanted}”, which is no longer configured. Restore this provider’s configuration to continue.`,
          { type: 'modelProviderNotConfigured', modelProvider: wanted },
        ),
      );
    }
    const catalogue = loadModelCatalogue(
      snapshot.resolved.modelCatalogJson,
      this.options.home,
      (m) => this.options.logger.warn(m),
    );
    const configured = snapshot.resolved.model;
    const served = isOpenAiApi(provider)
      ? null
      : await this.options.served.list(provider, apiKeyFor(provider, this.options.store));
    const models: app.ModelInfo[] = [];
    if (served) {
      for (const slug of served) {
        const entry = catalogue.get(slug);
        models.push(
          entry
            ? fromCatalogue(entry, slug === configured)
            : unknownModel(slug, `Served by ${provider.name}.`, slug === configured),
        );
      }
    } else {
      for (const entry of catalogue.entries()) {
        models.push(fromCatalogue(entry, entry.slug === configured));
      }
    }
    if (!models.some((model) => model.id === configured)) {
      const entry = catalogue.get(configured);
      models.unshift(
        entry
          ? fromCatalogue(entry, true)
          : unknownModel(
              configured,
              `The model this tether server is configured with (${provider.name}).`,
              true,
            ),
      );
    }
    const visible = params?.includeHidden ? models : models.filter((model) => !model.hidden);
    return page(visible, params?.cursor ?? null, params?.limit ?? null);
  }
}

/** The reference's paging: the cursor is the index to start at; a limit of 0 still lists one. */
function page(
  models: app.ModelInfo[],
  cursor: string | null,
  limit: number | null,
): app.ModelListResponse {
  const total = models.length;
  let start = 0;
  if (cursor !== null) {
    if (!/^\d+$/.test(cursor)) throw new RpcError(invalidRequest(`invalid cursor: ${cursor}`));
    start = Number(cursor);
    if (start > total) {
      throw new RpcError(invalidRequest(`cursor ${start} exceeds total models ${total}`));
    }
  }
  const end = Math.min(total, start + Math.max(1, limit ?? total));
  return { data: models.slice(start, end), nextCursor: end < total ? String(end) : null };
}
