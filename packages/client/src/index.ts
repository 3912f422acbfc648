export {
  AppServerClient,
  AppServerError,
  appSchemas,
  type ReceivedNotification,
  type ReceivedServerRequest,
} from './app-client.js';
export {
  type ExecClientOptions,
  ExecProcess,
  ExecServerClient,
  ExecServerError,
  type ProcessOutputEvent,
} from './exec-client.js';
export {
  ExecFile,
  type HttpRequestOptions,
  type HttpResponse,
} from './exec-remote.js';
