import type { z } from 'zod';
import { method } from '../serve.js';
import {
  FsCanonicalizeParams,
  FsCanonicalizeResult,
  FsCloseParams,
  FsCloseResult,
  FsCopyParams,
  FsCopyResult,
  FsCreateDirectoryParams,
  FsCreateDirectoryResult,
  FsGetMetadataParams,
  FsGetMetadataResult,
  FsOpenParams,
  FsOpenResult,
  FsReadBlockParams,
  FsReadBlockResult,
  FsReadDirectoryParams,
  FsReadDirectoryResult,
  FsReadFileParams,
  FsReadFileResult,
  FsRemoveParams,
  FsRemoveResult,
  FsWalkParams,
  FsWalkResult,
  FsWriteBlockParams,
  FsWriteBlockResult,
  FsWriteFileParams,
  FsWriteFileResult,
} from './fs.js';
import {
  EnvironmentInfoParams,
  EnvironmentInfoResult,
  EnvironmentStatusParams,
  EnvironmentStatusResult,
  InitializedParams,
  InitializeParams,
  InitializeResult,
} from './handshake.js';
import { HttpRequestBodyDeltaNotification, HttpRequestParams, HttpRequestResult } from './http.js';
import {
  ProcessClosedNotification,
  ProcessExitedNotification,
  ProcessOutputNotification,
  ProcessReadParams,
  ProcessReadResult,
  ProcessSignalParams,
  ProcessSignalResult,
  ProcessStartParams,
  ProcessStartResult,
  ProcessTerminateParams,
  ProcessTerminateResult,
  ProcessWriteParams,
  ProcessWriteResult,
} from './process.js';

export * from './base64.js';
export * from './fs.js';
export {
  EnvironmentInfo,
  EnvironmentInfoParams,
  EnvironmentInfoResult,
  EnvironmentStatusParams,
  EnvironmentStatusResult,
  InitializedParams,
  InitializeParams,
  InitializeResult,
  ShellInfo,
} from './handshake.js';
export * from './http.js';
export * from './process.js';
export * from './sandbox.js';
export * from './uri.js';

/**
 * Client → server requests of the exec-server: params and result schema per method. Calls naming
 * the same process start in arrival order, and so do calls naming the same file handle.
 */
export const requests = {
  initialize: method(InitializeParams, InitializeResult),
  'environment/info': method(EnvironmentInfoParams, EnvironmentInfoResult),
  'environment/status': method(EnvironmentStatusParams, EnvironmentStatusResult),
  'process/start': method(ProcessStartParams, ProcessStartResult, (p) => `process:${p.processId}`),
  'process/read': method(ProcessReadParams, ProcessReadResult, (p) => `process:${p.processId}`),
  'process/write': method(ProcessWriteParams, ProcessWriteResult, (p) => `process:${p.processId}`),
  'process/signal': method(
    ProcessSignalParams,
    ProcessSignalResult,
    (p) => `process:${p.processId}`,
  ),
  'process/terminate': method(
    ProcessTerminateParams,
    ProcessTerminateResult,
    (p) => `process:${p.processId}`,
  ),
  'fs/readFile': method(FsReadFileParams, FsReadFileResult),
  'fs/writeFile': method(FsWriteFileParams, FsWriteFileResult),
  'fs/createDirectory': method(FsCreateDirectoryParams, FsCreateDirectoryResult),
  'fs/getMetadata': method(FsGetMetadataParams, FsGetMetadataResult),
  'fs/readDirectory': method(FsReadDirectoryParams, FsReadDirectoryResult),
  'fs/remove': method(FsRemoveParams, FsRemoveResult),
  'fs/copy': method(FsCopyParams, FsCopyResult),
  'fs/canonicalize': method(FsCanonicalizeParams, FsCanonicalizeResult),
  'fs/open': method(FsOpenParams, FsOpenResult, (p) => `handle:${p.handleId}`),
  'fs/readBlock': method(FsReadBlockParams, FsReadBlockResult, (p) => `handle:${p.handleId}`),
  'fs/writeBlock': method(FsWriteBlockParams, FsWriteBlockResult, (p) => `handle:${p.handleId}`),
  'fs/close': method(FsCloseParams, FsCloseResult, (p) => `handle:${p.handleId}`),
  'fs/walk': method(FsWalkParams, FsWalkResult),
  'http/request': method(HttpRequestParams, HttpRequestResult),
} as const;

/**
 * Client → server notifications. `initialized` is the only one the reference knows; any other
 * makes it drop the connection.
 */
export const clientNotifications = {
  initialized: InitializedParams,
} as const;

/** Server → client notifications, params schema per method. */
export const notifications = {
  'process/output': ProcessOutputNotification,
  'process/exited': ProcessExitedNotification,
  'process/closed': ProcessClosedNotification,
  'http/request/bodyDelta': HttpRequestBodyDeltaNotification,
} as const;

export type RequestMethod = keyof typeof requests;
export type ParamsOf<M extends RequestMethod> = z.output<(typeof requests)[M]['params']>;
export type ResultOf<M extends RequestMethod> = z.output<(typeof requests)[M]['result']>;

export type ClientNotificationMethod = keyof typeof clientNotifications;
export type ClientNotificationParamsOf<M extends ClientNotificationMethod> = z.output<
  (typeof clientNotifications)[M]
>;

export type NotificationMethod = keyof typeof notifications;
export type NotificationParamsOf<M extends NotificationMethod> = z.output<
  (typeof notifications)[M]
>;

/** True when `method` is an exec-server request method (own keys only, so not `toString`). */
export function isRequestMethod(method: string): method is RequestMethod {
  return Object.hasOwn(requests, method);
}

export function isClientNotificationMethod(method: string): method is ClientNotificationMethod {
  return Object.hasOwn(clientNotifications, method);
}

export function isNotificationMethod(method: string): method is NotificationMethod {
  return Object.hasOwn(notifications, method);
}
