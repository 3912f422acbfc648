/**
 * `modelProvider/list` and `modelProvider/capabilities/read`: the providers the configuration
 * defines, in the reference's shape. The built-in `openai` provider is always listed; a provider
 * whose settings go beyond a name, a base URL and an `env_key` (headers, a bearer token, query
 * parameters, credentials in the URL) is reported as configured outside the gateway form.
 */
import type { app } from '@tether/protocol';
import type { ConfigSnapshot } from './config/index.js';

const BUILT_IN_PROVIDER = 'openai';

/** The base URL a client may be shown: none when it carries credentials or a query. */
export function displayableUrl(baseUrl: string | undefined): string | null {
  if (!baseUrl) return null;
  try {
    const url = new URL(baseUrl);
    if (url.username || url.password || url.search) return null;
    return baseUrl;
  } catch {
    return null;
  }
}

/** Which layer set a key: a `-c` flag (sessionFlags) wins over the files and cannot be edited. */
function setByFlag(snapshot: ConfigSnapshot, path: string[]): boolean {
  const flags = snapshot.layers.find((layer) => layer.name.type === 'sessionFlags');
  let value: unknown = flags?.table;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
    value = (value as Record<string, unknown>)[key];
  }
  return value !== undefined;
}

function definedInUserFile(snapshot: ConfigSnapshot, id: string): boolean {
  return snapshot.layers.some((layer) => {
    if (layer.name.type !== 'user') return false;
    const providers = layer.table.model_providers;
    return typeof providers === 'object' && providers !== null && Object.hasOwn(providers, id);
  });
}

export function providerList(snapshot: ConfigSnapshot): app.ModelProviderListResponse {
  const configured = snapshot.config.model_providers ?? {};
  const data: app.ModelProviderSummary[] = Object.entries(configured)
    .filter(([id]) => id !== BUILT_IN_PROVIDER)
    .map(([id, info]) => {
      const baseUrl = displayableUrl(info.base_url);
      const external =
        (info.base_url !== undefined && baseUrl === null) ||
        info.http_headers !== undefined ||
        info.env_http_headers !== undefined ||
        info.experimental_bearer_token !== undefined ||
        info.query_params !== undefined ||
        info.requires_openai_auth !== undefined;
      const auth: app.ProviderSettings = {
        type: 'customGateway',
        auth: external
          ? { mode: 'externallyConfigured', envKey: info.env_key ?? null }
          : info.env_key
            ? { mode: 'environmentVariable', envKey: info.env_key }
            : { mode: 'none' },
      };
      return {
        id,
        name: info.name ?? id,
        canEdit: definedInUserFile(snapshot, id) && !setByFlag(snapshot, ['model_providers', id]),
        baseUrl,
        settings: auth,
      };
    });
  data.push({
    id: BUILT_IN_PROVIDER,
    name: 'OpenAI',
    canEdit: false,
    baseUrl: null,
    settings: { type: 'openai' },
  });
  data.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    data,
    defaultProviderId: snapshot.resolved.provider.id,
    canChangeDefault: !setByFlag(snapshot, ['model_provider']),
  };
}

/**
 * What the selected provider offers beyond the model: OpenAI's API hosts web search and image
 * generation (the reference answers true for it); a local server or a gateway does not.
 */
export function providerCapabilities(
  snapshot: ConfigSnapshot,
): app.ModelProviderCapabilitiesReadResponse {
  const { provider } = snapshot.resolved;
  let openAi = false;
  try {
    openAi = new URL(provider.baseUrl).hostname === 'api.openai.com';
  } catch {
    openAi = false;
  }
  return { imageGeneration: openAi, webSearch: openAi };
}
