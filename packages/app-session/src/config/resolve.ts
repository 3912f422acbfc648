/**
 * What the server runs with, resolved from the effective configuration: the model, its provider
 * (base URL, key, headers, query parameters, retries, timeouts, wire API) and the defaults of new
 * threads. Defaults are the reference's.
 */
import type { app } from '@tether/protocol';
import type { ConfigToml, ModelProviderToml } from './schema.js';

export const DEFAULT_MODEL = 'gpt-5';
export const DEFAULT_MODEL_PROVIDER = 'openai';
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';
/** The reference's provider defaults (`model_provider_info.rs`). */
export const DEFAULT_REQUEST_MAX_RETRIES = 4;
export const DEFAULT_STREAM_MAX_RETRIES = 5;
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** The reference caps both retry counts. */
export const MAX_RETRIES_CAP = 100;
/** Most bytes of AGENTS.md-style project docs put in the instructions (the reference's 32 KiB). */
export const DEFAULT_PROJECT_DOC_MAX_BYTES = 32 * 1024;

/** A provider as the model client needs it. */
export interface ResolvedProvider {
  id: string;
  name: string;
  baseUrl: string;
  wireApi: 'responses' | 'chat';
  /** The variable the key is read from, if the provider takes one. */
  envKey: string | null;
  envKeyInstructions: string | null;
  /** The key itself (from `envKey`, or `experimental_bearer_token`), when there is one. */
  apiKey: string | null;
  queryParams: Record<string, string>;
  /** `http_headers`, plus each `env_http_headers` entry whose variable is set. */
  headers: Record<string, string>;
  requestMaxRetries: number;
  streamMaxRetries: number;
  streamIdleTimeoutMs: number;
  requiresOpenaiAuth: boolean;
}

export interface ResolvedConfig {
  model: string;
  provider: ResolvedProvider;
  approvalPolicy: app.AskForApproval;
  sandboxMode: app.SandboxMode;
  /** Whether `sandbox_mode` was set (else the default applies). */
  sandboxConfigured: boolean;
  workspaceWrite: {
    writableRoots?: string[];
    networkAccess?: boolean;
    excludeTmpdirEnvVar?: boolean;
    excludeSlashTmp?: boolean;
  };
  reasoningEffort: string | null;
  reasoningSummary: app.ReasoningSummary | null;
  modelContextWindow: number | null;
  projectDocMaxBytes: number;
  instructions: string | null;
  developerInstructions: string | null;
  /** `model_catalog_json`: the file of models that replaces the built-in catalogue. */
  modelCatalogJson: string | null;
}

/** Command-line shorthands that change the selected provider (`--model-base-url`, `--api-key-env`). */
export interface ProviderShorthands {
  baseUrl?: string | undefined;
  envKey?: string | undefined;
}

export class ConfigResolveError extends Error {
  readonly code = 'config_unresolved';
}

function builtInOpenAi(config: ConfigToml, env: NodeJS.ProcessEnv): ModelProviderToml {
  return {
    name: 'OpenAI',
    base_url: config.openai_base_url ?? (env.OPENAI_BASE_URL || OPENAI_BASE_URL),
    env_key: 'OPENAI_API_KEY',
    wire_api: 'responses',
    requires_openai_auth: true,
  };
}

const capped = (value: number | undefined, fallback: number) =>
  Math.min(value ?? fallback, MAX_RETRIES_CAP);

export function resolveProvider(
  config: ConfigToml,
  env: NodeJS.ProcessEnv,
  shorthands: ProviderShorthands = {},
): ResolvedProvider {
  const id = config.model_provider ?? DEFAULT_MODEL_PROVIDER;
  // the built-in provider keeps its id; the reference does not let a table replace it
  const providers = config.model_providers ?? {};
  // an own key only: `constructor` or `__proto__` must not find Object's own members
  const info =
    id === DEFAULT_MODEL_PROVIDER
      ? builtInOpenAi(config, env)
      : Object.hasOwn(providers, id)
        ? providers[id]
        : undefined;
  if (!info) {
    throw new ConfigResolveError(`Model provider \`${id}\` not found`);
  }
  const baseUrl = shorthands.baseUrl ?? info.base_url ?? OPENAI_BASE_URL;
  const envKey = shorthands.envKey ?? info.env_key ?? null;
  const headers: Record<string, string> = { ...info.http_headers };
  for (const [header, variable] of Object.entries(info.env_http_headers ?? {})) {
    const value = env[variable];
    if (value) headers[header] = value;
  }
  return {
    id,
    name: info.name ?? id,
    baseUrl,
    wireApi: info.wire_api ?? 'responses',
    envKey,
    envKeyInstructions: info.env_key_instructions ?? null,
    apiKey: (envKey ? env[envKey] : undefined) || info.experimental_bearer_token || null,
    queryParams: { ...info.query_params },
    headers,
    requestMaxRetries: capped(info.request_max_retries, DEFAULT_REQUEST_MAX_RETRIES),
    streamMaxRetries: capped(info.stream_max_retries, DEFAULT_STREAM_MAX_RETRIES),
    streamIdleTimeoutMs: info.stream_idle_timeout_ms ?? DEFAULT_STREAM_IDLE_TIMEOUT_MS,
    requiresOpenaiAuth: info.requires_openai_auth ?? false,
  };
}

export function resolveConfig(
  config: ConfigToml,
  env: NodeJS.ProcessEnv,
  shorthands: ProviderShorthands = {},
): ResolvedConfig {
  const ws = config.sandbox_workspace_write ?? {};
  const approval = config.approval_policy;
  return {
    model: config.model ?? DEFAULT_MODEL,
    provider: resolveProvider(config, env, shorthands),
    approvalPolicy:
      approval === undefined
        ? 'on-request'
        : typeof approval === 'string'
          ? approval
          : {
              granular: {
                sandbox_approval: approval.granular.sandbox_approval ?? false,
                rules: approval.granular.rules ?? false,
                skill_approval: approval.granular.skill_approval ?? false,
                request_permissions: approval.granular.request_permissions ?? false,
                mcp_elicitations: approval.granular.mcp_elicitations ?? false,
              },
            },
    // the reference's default for a folder it has not been told to trust
    sandboxMode: config.sandbox_mode ?? 'read-only',
    sandboxConfigured: config.sandbox_mode !== undefined,
    workspaceWrite: {
      ...(ws.writable_roots ? { writableRoots: ws.writable_roots } : {}),
      ...(ws.network_access !== undefined ? { networkAccess: ws.network_access } : {}),
      ...(ws.exclude_tmpdir_env_var !== undefined
        ? { excludeTmpdirEnvVar: ws.exclude_tmpdir_env_var }
        : {}),
      ...(ws.exclude_slash_tmp !== undefined ? { excludeSlashTmp: ws.exclude_slash_tmp } : {}),
    },
    reasoningEffort: config.model_reasoning_effort ?? null,
    reasoningSummary: config.model_reasoning_summary ?? null,
    modelContextWindow: config.model_context_window ?? null,
    projectDocMaxBytes: config.project_doc_max_bytes ?? DEFAULT_PROJECT_DOC_MAX_BYTES,
    instructions: config.instructions ?? null,
    developerInstructions: config.developer_instructions ?? null,
    modelCatalogJson: config.model_catalog_json ?? null,
  };
}
