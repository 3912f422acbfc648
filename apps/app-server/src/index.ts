export { type AgentFlags, agentFromOptions, DEFAULT_MODEL } from './agent-config.js';
export { runCommand } from './command-exec.js';
export { parseDuration } from './duration.js';
export { experimentalFilter } from './experimental.js';
export { type ListenerDeps, type ListenerJournal, ThreadListener } from './listener.js';
export { serverNotification } from './notify.js';
export { MessageProcessor, PROTOCOL_VERSION } from './processor.js';
export {
  AppServer,
  type AppServerOptions,
  DEFAULT_THREAD_UNLOAD_DELAY_MS,
} from './server.js';
export { DEFAULT_SETTINGS, type SettingsDefaults } from './settings.js';
export { parseThreadId } from './thread-id.js';
export { ThreadManager } from './threads.js';
