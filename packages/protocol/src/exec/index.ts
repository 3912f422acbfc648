import type { z } from 'zod';
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

export { Base64, base64Error, isBase64 } from './base64.js';
export {
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
  FsOpenMode,
  FsOpenParams,
  FsOpenResult,
  FsReadBlockParams,
  FsReadBlockResult,
  FsReadDirectoryEntry,
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
  WalkEntry,
  WalkError,
  WalkOptions,
} from './fs.js';
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
export {
  HttpHeader,
  HttpRequestBodyDeltaNotification,
  HttpRequestParams,
  HttpRequestResult,
} from './http.js';
export {
  ProcessClosedNotification,
  ProcessEnvInherit,
  ProcessEnvPolicy,
  ProcessExitedNotification,
  ProcessId,
  ProcessOutputChunk,
  ProcessOutputNotification,
  ProcessOutputStream,
  ProcessReadParams,
  ProcessReadResult,
  ProcessSignalName,
  ProcessSignalParams,
  ProcessSignalResult,
  ProcessStartParams,
  ProcessStartResult,
  ProcessTerminateParams,
  ProcessTerminateResult,
  ProcessWriteParams,
  ProcessWriteResult,
  ProcessWriteStatus,
  Seq,
} from './process.js';
export {
  FileSystemAccessMode,
  FileSystemPath,
  FileSystemSandboxEntry,
  FileSystemSandboxPolicy,
  FileSystemSpecialPath,
  NetworkSandboxPolicy,
  PermissionProfile,
  SandboxContext,
  serdeValueName,
  WindowsSandboxLevel,
} from './sandbox.js';
export {
  FileUri,
  fileUriError,
  fileUriToPath,
  pathToFileUri,
  RELATIVE_URI_MESSAGE,
} from './uri.js';

/** Client → server requests of the exec-server: params and result schema per method. */
export const requests = {
  initialize: { params: InitializeParams, result: InitializeResult },
  'environment/info': { params: EnvironmentInfoParams, result: EnvironmentInfoResult },
  'environment/status': { params: EnvironmentStatusParams, result: EnvironmentStatusResult },
  'process/start': { params: ProcessStartParams, result: ProcessStartResult },
  'process/read': { params: ProcessReadParams, result: ProcessReadResult },
  'process/write': { params: ProcessWriteParams, result: ProcessWriteResult },
  'process/signal': { params: ProcessSignalParams, result: ProcessSignalResult },
  'process/terminate': { params: ProcessTerminateParams, result: ProcessTerminateResult },
  'fs/readFile': { params: FsReadFileParams, result: FsReadFileResult },
  'fs/writeFile': { params: FsWriteFileParams, result: FsWriteFileResult },
  'fs/createDirectory': { params: FsCreateDirectoryParams, result: FsCreateDirectoryResult },
  'fs/getMetadata': { params: FsGetMetadataParams, result: FsGetMetadataResult },
  'fs/readDirectory': { params: FsReadDirectoryParams, result: FsReadDirectoryResult },
  'fs/remove': { params: FsRemoveParams, result: FsRemoveResult },
  'fs/copy': { params: FsCopyParams, result: FsCopyResult },
  'fs/canonicalize': { params: FsCanonicalizeParams, result: FsCanonicalizeResult },
  'fs/open': { params: FsOpenParams, result: FsOpenResult },
  'fs/readBlock': { params: FsReadBlockParams, result: FsReadBlockResult },
  'fs/writeBlock': { params: FsWriteBlockParams, result: FsWriteBlockResult },
  'fs/close': { params: FsCloseParams, result: FsCloseResult },
  'fs/walk': { params: FsWalkParams, result: FsWalkResult },
  'http/request': { params: HttpRequestParams, result: HttpRequestResult },
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
