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
export { parseDurationMs } from './duration.js';
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
export { type Logger, silentLogger } from './logger.js';
export { type StdioHandle, type StdioOptions, startStdio } from './stdio.js';
export { StreamLineWriter } from './stream-writer.js';
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
