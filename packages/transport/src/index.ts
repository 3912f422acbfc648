export {
  AuthConfigError,
  type AuthDecision,
  authorizeUpgrade,
  DEFAULT_MAX_CLOCK_SKEW_SECONDS,
  MIN_SIGNED_BEARER_SECRET_BYTES,
  resolveWebSocketAuth,
  WEB_SOCKET_AUTH_CLI_OPTIONS,
  type WebSocketAuth,
  type WebSocketAuthFlags,
  webSocketAuthFlagsFrom,
} from './auth.js';
export {
  type CliOutcome,
  type CliSpec,
  type CliValues,
  COMMON_CLI_HELP,
  COMMON_CLI_OPTIONS,
  DEFAULT_LOG_LEVEL,
  exitWithStartupError,
  exitWithUsageError,
  LOG_LEVEL_ENV,
  LOG_LEVELS,
  type LogLevel,
  parseCli,
  parseProcessCli,
  readPackageVersion,
  USAGE_EXIT_CODE,
  UsageError,
  usageErrorText,
} from './cli.js';
export {
  allocateConnectionId,
  CloseCodes,
  type CloseReason,
  type Connection,
  type ConnectionOrigin,
  type ConnectionWriter,
  DEFAULT_INBOUND_CAPACITY,
  Inbound,
  type Readable,
  type TransportEvent,
} from './connection.js';
export { BoundedQueue } from './inbound-queue.js';
export {
  CONTROL_SOCKET_DIR,
  CONTROL_SOCKET_FILE,
  DEFAULT_LISTEN_URL,
  defaultControlSocketPath,
  isLoopbackAddress,
  type ListenTarget,
  ListenUrlError,
  type ListenUrlOptions,
  parseListenUrl,
  STARTUP_LOCK_FILE,
} from './listen-url.js';
export {
  type CreateLoggerOptions,
  createLogger,
  type Logger,
  REDACTED,
  REDACTED_LOG_PATHS,
  silentLogger,
} from './logger.js';
export { type StdioHandle, type StdioOptions, startStdio } from './stdio.js';
export { StreamLineWriter } from './stream-writer.js';
export { parseDuration, parseSize } from './units.js';
export {
  CONTROL_SOCKET_DIR_MODE,
  CONTROL_SOCKET_MODE,
  ControlSocketError,
  type ProbeResult,
  prepareControlSocketPath,
  probeControlSocket,
  type StartUnixSocketOptions,
  startUnixSocket,
  type UnixSocketListener,
} from './unix-socket.js';
export {
  NonLoopbackWithoutAuthError,
  type StartWebSocketOptions,
  startWebSocket,
  type WebSocketAcceptorOptions,
  type WebSocketListener,
} from './websocket.js';
