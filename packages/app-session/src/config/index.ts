/** The configuration: `config.toml` and its layers, checked, resolved and edited in place. */
import type { SettingsDefaults } from '../settings.js';
import type { ResolvedConfig } from './resolve.js';
import { ConfigService, type ConfigServiceOptions } from './service.js';

export { locateValue, type TextRange } from './locate.js';
export {
  type ConfigOverride,
  ConfigOverrideError,
  parseOverride,
  splitKeyPath,
} from './overrides.js';
export {
  ConfigResolveError,
  DEFAULT_MODEL,
  DEFAULT_PROJECT_DOC_MAX_BYTES,
  DEFAULT_REQUEST_MAX_RETRIES,
  DEFAULT_STREAM_IDLE_TIMEOUT_MS,
  DEFAULT_STREAM_MAX_RETRIES,
  OPENAI_BASE_URL,
  type ProviderShorthands,
  type ResolvedConfig,
  type ResolvedProvider,
  resolveConfig,
} from './resolve.js';
export { type ConfigToml, checkConfig, describeValue } from './schema.js';
export {
  CONFIG_FILE,
  ConfigLoadError,
  ConfigService,
  type ConfigServiceOptions,
  type ConfigSnapshot,
  DEFAULT_SYSTEM_CONFIG_FILE,
} from './service.js';

export function configService(options: ConfigServiceOptions): ConfigService {
  return new ConfigService(options);
}

/** The defaults of new threads that the configuration sets. */
export function settingsFromConfig(resolved: ResolvedConfig): Partial<SettingsDefaults> {
  return {
    model: resolved.model,
    modelProvider: resolved.provider.id,
    approvalPolicy: resolved.approvalPolicy,
    sandbox: resolved.sandboxMode,
    sandboxConfigured: resolved.sandboxConfigured,
    workspaceWrite: resolved.workspaceWrite,
    reasoningEffort: resolved.reasoningEffort,
    reasoningSummary: resolved.reasoningSummary,
  };
}
