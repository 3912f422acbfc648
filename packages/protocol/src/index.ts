export * as app from './app/index.js';
export type { EncodedFrame, EncodedMessage } from './encoded.js';
export { frameByteLength, frameText, writeFrame } from './encoded.js';
export {
  ErrorCode,
  internalError,
  invalidParams,
  invalidRequest,
  isRpcError,
  methodNotFound,
  notFound,
  RpcError,
  SERVER_OVERLOADED_MESSAGE,
  serverOverloaded,
  sessionAlreadyAttached,
} from './errors.js';
export * as exec from './exec/index.js';
export type {
  DecodeFailure,
  DecodeFailureKind,
  DecodeResult,
  ErrorMessage,
  ErrorObject,
  Message,
  NotificationMessage,
  RequestId,
  RequestMessage,
  ResponseMessage,
} from './jsonrpc.js';
export {
  decodeMessage,
  decodeValue,
  encodeMessage,
  errorResponse,
  isRequestId,
  notification,
  request,
  response,
  toWire,
} from './jsonrpc.js';
export { type LogFn, type Logger, silentLogger } from './logger.js';
export type {
  Handler,
  Handlers,
  MethodSpec,
  MethodTable,
  ReplySink,
  RequestScope,
  Served,
  ServedConnection,
  ServeOptions,
  TableMethod,
  TableParams,
  TableResult,
} from './serve.js';
export { inTable, method, serve } from './serve.js';
export type { ParseOutcome } from './validate.js';
export { parseWith } from './validate.js';
export { type DescribeOptions, describeZodError } from './zod-message.js';
