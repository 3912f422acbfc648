import { join } from 'node:path';
import {
  agentRuntimeFactory,
  createModelClient,
  type Environment,
  ExecPolicy,
  isWireApi,
  type ModelChoice,
  type ModelStreamer,
  type RateLimitSnapshot,
  type RuntimeFactory,
} from '@tether/agent-core';
import {
  type AuthStore,
  apiKeyFor,
  loadModelCatalogue,
  type ResolvedConfig,
  resolveConfig,
} from '@tether/app-session';
import { remoteEnvironment } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { CONTROL_SOCKET_DIR, type Logger, UsageError } from '@tether/transport';
import { parseDuration } from './duration.js';

export interface AgentFlags {
  model?: string | undefined;
  modelBaseUrl?: string | undefined;
  apiKeyEnv?: string | undefined;
  /** `responses` (default) or `chat` (Chat Completions), as `wire_api` in Codex's config. */
  wireApi?: string | undefined;
  modelTimeout?: string | undefined;
  modelRetries?: string | undefined;
  updatePlanTool?: boolean | undefined;
  execServerUrl?: string | undefined;
  execServerTokenEnv?: string | undefined;
  /** `freeform` or `function`; by default as the reference offers apply_patch to the model. */
  applyPatchTool?: string | undefined;
  /** The model's context window in tokens (for a model the catalogue does not know). */
  modelContextWindow?: string | undefined;
  /** Tokens in use at which the conversation is compacted (default 90% of the window). */
  modelAutoCompactTokenLimit?: string | undefined;
  /**
   * The resolved configuration (`config.toml`, `--profile`, `-c`): model, provider, retries and
   * timeouts. Without it, `model`, `modelBaseUrl` and `apiKeyEnv` are read as before.
   */
  config?: ResolvedConfig | undefined;
}

/** A whole number of tokens from a flag, or undefined when the flag is absent. */
export function tokenCount(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) <= 0 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(
      `invalid value '${value}' for '--${flag}': expected a positive whole number of tokens`,
    );
  }
  return Number(value);
}

/** Where the agent keeps its state, and what its sandboxes must hide. */
export interface AgentPlaces {
  /** tether's state directory: kept read-only inside a writable root; holds `rules/`. */
  home: string;
  /** Paths no sandboxed command may reach (the control socket: it would drive this server). */
  masked?: string[];
}

export const DEFAULT_MODEL = 'gpt-5';

/** What a user whose key was refused (or missing) can do: where this server reads the key. */
export function apiKeyHint(keyEnv: string, configured: boolean): string {
  return configured
    ? `The API key comes from the ${keyEnv} environment variable: set it to a key the model server accepts (--api-key-env names another variable)`
    : `No API key was sent: set ${keyEnv} to your API key (--api-key-env names another variable)`;
}
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/**
 * Builds the agent from flags and environment. With no API key and no base URL the server still
 * serves threads; every turn then fails with an error naming the missing setting.
 */
/** The account side of the model: a signed-in key, and where the rate limits go. */
export interface AgentAccount {
  store: AuthStore;
  onRateLimits?: (snapshots: RateLimitSnapshot[]) => void;
}

export async function agentFromOptions(
  flags: AgentFlags,
  env: NodeJS.ProcessEnv,
  logger: Logger,
  places?: AgentPlaces,
  account?: AgentAccount,
) {
  const resolved =
    flags.config ??
    resolveConfig(flags.model ? { model: flags.model } : {}, env, {
      baseUrl: flags.modelBaseUrl,
      envKey: flags.apiKeyEnv,
    });
  const { provider } = resolved;
  const model = resolved.model;
  const apiKey = provider.apiKey ?? undefined;
  // the retries a turn announces ("Reconnecting... 1/5"): the reference counts those by the
  // provider's stream_max_retries (5); its request_max_retries are silent retries underneath
  const retries =
    flags.modelRetries === undefined ? provider.streamMaxRetries : Number(flags.modelRetries);
  if (!Number.isInteger(retries) || retries < 0) {
    throw new Error(
      `invalid value \`${flags.modelRetries}\` for --model-retries; expected a whole number`,
    );
  }
  const timeoutMs = flags.modelTimeout ? parseDuration(flags.modelTimeout) : 60_000;
  const modelProvider = provider.id;
  // --wire-api wins over the provider's wire_api
  const wireApi = flags.wireApi ?? provider.wireApi;
  if (!isWireApi(wireApi)) {
    throw new UsageError(`invalid value \`${wireApi}\` for --wire-api; expected responses or chat`);
  }

  const keyEnv = provider.envKey ?? 'OPENAI_API_KEY';
  // the key is looked up before each turn: one a client signs in with (auth.json) applies to the
  // next turn without a restart, and a client per key is kept
  const clients = new Map<string, ModelStreamer>();
  const modelClient = (): ModelChoice => {
    const key = (account ? apiKeyFor(provider, account.store) : provider.apiKey) ?? undefined;
    const missing = missingModelSetting(resolved, env, key);
    if (missing) return { missing };
    let client = clients.get(key ?? '');
    if (!client) {
      client = createModelClient(
        {
          wireApi,
          model,
          baseUrl: provider.baseUrl,
          ...(key ? { apiKey: key } : {}),
          requestTimeoutMs: timeoutMs,
          streamIdleTimeoutMs: provider.streamIdleTimeoutMs,
          maxRetries: retries,
          headers: provider.headers,
          queryParams: provider.queryParams,
          apiKeyHint: apiKeyHint(keyEnv, key !== undefined),
          ...(account?.onRateLimits ? { onRateLimits: account.onRateLimits } : {}),
        },
        logger.child({ component: 'model', provider: provider.id, wireApi }),
      );
      clients.set(key ?? '', client);
    }
    return client;
  };
  // model_catalog_json: the models' reasoning defaults and windows
  const catalogue = loadModelCatalogue(
    resolved.modelCatalogJson,
    places?.home ?? process.cwd(),
    (m) => logger.warn(m),
  );

  const execUrl = flags.execServerUrl ?? (env.TETHER_EXEC_SERVER_URL || undefined);
  const token = flags.execServerTokenEnv ? env[flags.execServerTokenEnv] : undefined;
  let environment: Promise<Environment> | undefined;
  const getEnvironment = (): Promise<Environment> => {
    if (!environment) {
      const created = execUrl
        ? remoteEnvironment(execUrl, {
            ...(token ? { token } : {}),
            onError: (error) => logger.error({ err: error }, 'exec-server connection lost'),
          })
        : localEnvironment(
            places
              ? {
                  sandbox: {
                    protectedPaths: [places.home],
                    masked: [join(places.home, CONTROL_SOCKET_DIR), ...(places.masked ?? [])],
                  },
                }
              : {},
          );
      // a failed connection is retried on the next command instead of being cached
      created.catch(() => {
        if (environment === created) environment = undefined;
      });
      environment = created;
    }
    return environment;
  };

  // the user's exec-policy rules (`<home>/rules/*.rules`): what they allowed once runs unasked
  const execPolicy = places
    ? new ExecPolicy(join(places.home, 'rules'), logger.child({ component: 'exec-policy' }))
    : undefined;
  const contextWindow = tokenCount(flags.modelContextWindow, 'model-context-window');
  const compactLimit = tokenCount(
    flags.modelAutoCompactTokenLimit,
    'model-auto-compact-token-limit',
  );
  const runtimeFactory: RuntimeFactory = agentRuntimeFactory({
    model: modelClient,
    catalogue,
    environment: getEnvironment,
    // config's model_context_window, and the flag over it
    ...(resolved.modelContextWindow !== null
      ? { modelContextWindow: resolved.modelContextWindow }
      : {}),
    ...(contextWindow !== undefined ? { modelContextWindow: contextWindow } : {}),
    // project_doc_max_bytes: the budget of a project's AGENTS.md files
    projectDocMaxBytes: resolved.projectDocMaxBytes,
    ...(compactLimit !== undefined ? { modelAutoCompactTokenLimit: compactLimit } : {}),
    ...(execPolicy ? { execPolicy } : {}),
    // the Chat Completions API has no custom tools: there apply_patch is a function
    ...(flags.applyPatchTool === 'freeform' || flags.applyPatchTool === 'function'
      ? { applyPatchTool: flags.applyPatchTool }
      : wireApi === 'chat'
        ? { applyPatchTool: 'function' as const }
        : {}),
    // the user's own AGENTS.md lives in tether's home, as the reference's in CODEX_HOME
    ...(places ? { home: places.home } : {}),
    ...(flags.updatePlanTool ? { updatePlanTool: true } : {}),
  });
  /** What the sandbox lacks here, as `configWarning`s for each client that connects. */
  const configWarnings = async (): Promise<app.ConfigWarningNotification[]> => {
    try {
      const capability = await (await getEnvironment()).sandboxCapability();
      if (capability.available) return [];
      return [
        {
          summary: `tether cannot sandbox commands: ${capability.problem ?? 'unknown reason'}. Until this is fixed, a command that needs the sandbox asks to run without it (or fails under approval policy \`never\`). Run \`tether-app-server --check-sandbox\` to check.`,
          details: null,
        },
      ];
    } catch {
      return [];
    }
  };
  return {
    model,
    modelProvider,
    /** `project_doc_max_bytes`: the most bytes of AGENTS.md files put in the instructions. */
    projectDocMaxBytes: resolved.projectDocMaxBytes,
    apiKeyConfigured: apiKey !== undefined,
    runtimeFactory,
    environment: getEnvironment,
    configWarnings,
    execPolicy,
    close: async () => {
      if (environment) await (await environment.catch(() => undefined))?.close();
    },
  };
}

/**
 * Why no model can be called with this configuration, or undefined when one can: OpenAI's API
 * without a key (and no other base URL), or a provider whose `env_key` variable is unset.
 */
function missingModelSetting(
  resolved: ResolvedConfig,
  env: NodeJS.ProcessEnv,
  apiKey: string | undefined,
): string | undefined {
  const { provider } = resolved;
  if (apiKey) return undefined;
  if (provider.id === 'openai') {
    if (provider.baseUrl !== OPENAI_BASE_URL) return undefined;
    return `no model is configured: set ${provider.envKey ?? 'OPENAI_API_KEY'} to use the OpenAI API, or --model-base-url (or OPENAI_BASE_URL, or a [model_providers] entry in config.toml) for an OpenAI-compatible server`;
  }
  if (provider.envKey && !env[provider.envKey]) {
    return `Missing environment variable: \`${provider.envKey}\`.${provider.envKeyInstructions ? ` ${provider.envKeyInstructions}` : ''}`;
  }
  return undefined;
}
