/**
 * The models a provider actually serves: `GET {base_url}/models`, as OpenAI-compatible servers
 * (vLLM, Ollama, llama.cpp's server, LM Studio, most gateways) answer it. Answers are kept for a
 * while so a client opening its model picker does not wait on the server each time; a server that
 * does not answer is remembered briefly too, and `model/list` falls back to the catalogue.
 */
import type { Logger } from '@tether/transport';
import { z } from 'zod';

/** How long a provider's list is reused (5 minutes). */
export const DEFAULT_SERVED_MODELS_TTL_MS = 5 * 60 * 1000;
/** How long a provider that did not answer is left alone before it is asked again. */
export const DEFAULT_SERVED_MODELS_FAILURE_TTL_MS = 30 * 1000;
/** How long `model/list` waits for the provider. */
export const DEFAULT_SERVED_MODELS_TIMEOUT_MS = 5 * 1000;

/** What the request needs to know about the provider. */
export interface ModelSource {
  id: string;
  baseUrl: string;
  queryParams: Record<string, string>;
  headers: Record<string, string>;
}

export interface ServedModelsOptions {
  logger: Logger;
  ttlMs?: number;
  failureTtlMs?: number;
  timeoutMs?: number;
}

// OpenAI's shape (`data[].id`); a few servers list `models[]` with `id` or `name` instead
const OpenAiModelList = z.looseObject({ data: z.array(z.looseObject({ id: z.string() })) });
const OtherModelList = z.looseObject({
  models: z.array(z.looseObject({ id: z.string().optional(), name: z.string().optional() })),
});

function modelIds(body: unknown): string[] | undefined {
  const openAi = OpenAiModelList.safeParse(body);
  if (openAi.success) return openAi.data.data.map((model) => model.id);
  const other = OtherModelList.safeParse(body);
  if (other.success) return other.data.models.flatMap((model) => model.id ?? model.name ?? []);
  return undefined;
}

export class ServedModels {
  private readonly cache = new Map<string, { until: number; models: Promise<string[] | null> }>();

  constructor(private readonly options: ServedModelsOptions) {}

  /** The ids the provider serves, in its order; null when it did not say. */
  list(source: ModelSource, apiKey: string | null): Promise<string[] | null> {
    const query = new URLSearchParams(source.queryParams).toString();
    const url = `${source.baseUrl.replace(/\/+$/, '')}/models${query ? `?${query}` : ''}`;
    const key = JSON.stringify([url, source.headers, apiKey]);
    const cached = this.cache.get(key);
    if (cached && cached.until > Date.now()) return cached.models;
    const entry = {
      until: Date.now() + (this.options.ttlMs ?? DEFAULT_SERVED_MODELS_TTL_MS),
      models: this.fetch(url, source, apiKey).then((models) => {
        if (models === null) {
          entry.until =
            Date.now() + (this.options.failureTtlMs ?? DEFAULT_SERVED_MODELS_FAILURE_TTL_MS);
        }
        return models;
      }),
    };
    this.cache.set(key, entry);
    return entry.models;
  }

  private async fetch(
    url: string,
    source: ModelSource,
    apiKey: string | null,
  ): Promise<string[] | null> {
    const headers: Record<string, string> = { accept: 'application/json', ...source.headers };
    if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    const timeoutMs = this.options.timeoutMs ?? DEFAULT_SERVED_MODELS_TIMEOUT_MS;
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new Error(`HTTP ${response.status}`);
      }
      const ids = modelIds(await response.json());
      if (!ids) throw new Error('the answer is not a list of models');
      return [...new Set(ids.filter((id) => id !== ''))];
    } catch (error) {
      this.options.logger.warn(
        { provider: source.id, url: withoutSecrets(url), err: error },
        'the model provider did not list its models; model/list shows the catalogue',
      );
      return null;
    }
  }
}

/** The URL for a log line: without credentials or query (where keys tend to hide). */
function withoutSecrets(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    parsed.search = '';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}
