export { type AgentFlags, agentFromOptions, DEFAULT_MODEL } from './agent-config.js';
export { AppServer, type AppServerOptions, DEFAULT_THREAD_UNLOAD_DELAY_MS } from './server.js';
