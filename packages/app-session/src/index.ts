export { Accounts, RateLimitBoard, UNSUPPORTED_LOGIN_MESSAGE } from './accounts.js';
export { AUTH_FILE, AuthStore, apiKeyFor } from './auth-store.js';
export { runCommand } from './command-exec.js';
export {
  CONFIG_FILE,
  ConfigLoadError,
  type ConfigOverride,
  ConfigOverrideError,
  ConfigService,
  type ConfigServiceOptions,
  configService,
  DEFAULT_PROJECT_DOC_MAX_BYTES,
  type ProviderShorthands,
  parseOverride,
  type ResolvedConfig,
  type ResolvedProvider,
  resolveConfig,
  settingsFromConfig,
} from './config/index.js';
export { AppConnection } from './connection.js';
export { experimentalFilter } from './experimental.js';
export type { ClientState } from './handlers/context.js';
export { PROTOCOL_VERSION } from './handlers/initialize.js';
export { INSTALLATION_ID_FILE, installationId } from './installation.js';
export { type ListenerDeps, type ListenerJournal, ThreadListener } from './listener.js';
export { loadModelCatalogue } from './model-list.js';
export { serverNotification } from './notify.js';
export {
  DEFAULT_SERVED_MODELS_FAILURE_TTL_MS,
  DEFAULT_SERVED_MODELS_TIMEOUT_MS,
  DEFAULT_SERVED_MODELS_TTL_MS,
  ServedModels,
  type ServedModelsOptions,
} from './served-models.js';
export { AppService, type AppServiceOptions, DEFAULT_THREAD_UNLOAD_DELAY_MS } from './service.js';
export { DEFAULT_SETTINGS, type SettingsDefaults } from './settings.js';
export { type MessageSink, sinkConnection } from './sink-connection.js';
export { parseThreadId } from './thread-id.js';
export { ThreadManager } from './threads.js';
