export {
  type AppClientEvents,
  type AppClientOptions,
  AppServerClient,
  appSchemas,
  type ReceivedServerRequest,
} from './app-client.js';
export {
  BaseChannel,
  type Channel,
  ChannelClosedError,
  type ChannelReceiver,
  type CloseInfo,
} from './channel.js';
export { channelPair, PairChannel } from './channel-pair.js';
export {
  ChildProcessChannel,
  type SpawnStdioOptions,
  StreamChannel,
  spawnStdio,
} from './channel-stdio.js';
export {
  connectUnix,
  connectWebSocket,
  WebSocketChannel,
  type WebSocketChannelOptions,
} from './channel-websocket.js';
export {
  type ExecClientOptions,
  ExecProcess,
  ExecServerClient,
  type ProcessOutputEvent,
} from './exec-client.js';
export {
  ExecFile,
  type HttpRequestOptions,
  type HttpResponse,
} from './exec-remote.js';
export {
  DEFAULT_KEPT_NOTIFICATIONS,
  NotificationLog,
  type ReceivedNotification,
} from './notification-log.js';
export { type RemoteEnvironmentOptions, remoteEnvironment } from './remote-environment.js';
export {
  type RequestHandler,
  RpcPeer,
  type RpcPeerEvents,
  UnexpectedResultError,
} from './rpc-peer.js';
