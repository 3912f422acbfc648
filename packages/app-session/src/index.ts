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
export { type ListenerDeps, type ListenerJournal, ThreadListener } from './listener.js';
export { serverNotification } from './notify.js';
export { AppService, type AppServiceOptions, DEFAULT_THREAD_UNLOAD_DELAY_MS } from './service.js';
export { DEFAULT_SETTINGS, type SettingsDefaults } from './settings.js';
export { type MessageSink, sinkConnection } from './sink-connection.js';
export { parseThreadId } from './thread-id.js';
export { ThreadManager } from './threads.js';
