export {
  type ConnectionSink,
  ExecConnection,
  ExecService,
  type ExecServiceOptions,
} from './connection.js';
export {
  DEFAULT_NOTIFICATION_WINDOW_BYTES,
  type DeliveryOptions,
  defaultUnconfirmedWindowBytes,
  type MessageSink,
} from './delivery.js';
export { describeEnvironment, EXECUTOR_VERSION } from './environment.js';
export {
  canonicalizeMethod,
  copyMethod,
  createDirectoryMethod,
  getMetadataMethod,
  MAX_ENCODABLE_READ_FILE_BYTES,
  MAX_READ_DIRECTORY_ENTRIES,
  MAX_READ_FILE_BYTES,
  readBoundedFile,
  readDirectoryMethod,
  readFileMethod,
  removeMethod,
  uriToPath,
  writeFileMethod,
} from './fs-methods.js';
export {
  LocalEnvironment,
  type LocalEnvironmentOptions,
  localEnvironment,
} from './local-environment.js';
export {
  ManagedProcess,
  type ManagedProcessOptions,
  type ProcessSpec,
} from './managed-process.js';
export { ExecSessionError, fsErrorObject, osErrorMessage } from './os-error.js';
export {
  DEFAULT_MAX_RETAINED_OUTPUT_BYTES,
  DEFAULT_RETAIN_RELEASED_OUTPUT_BYTES,
  MAX_CHUNK_BYTES,
  type OutputChunk,
  OutputLog,
  type OutputLogOptions,
  type OutputOverflow,
  type OutputStream,
  type ProcessEvent,
  type ReadWindow,
} from './output-log.js';
export { ProcessReaper, type ReaperOptions } from './reaper.js';
export {
  DEFAULT_SESSION_TTL_MS,
  type ResumeOutcome,
  SessionRegistry,
  type SessionRegistryOptions,
} from './registry.js';
export {
  BWRAP_MISSING_MESSAGE,
  type BwrapCommand,
  type BwrapOptions,
  bwrapCommand,
  checkAccess,
  checkSandbox,
  hostPath,
  layoutFor,
  layoutFromProfile,
  PROTECTED_NAMES,
  probeSandbox,
  type SandboxCheck,
  SandboxError,
  type SandboxLayout,
  type SandboxSupport,
} from './sandbox.js';
export {
  Attachment,
  DEFAULT_EXITED_PROCESS_TTL_MS,
  RESUMED_ELSEWHERE_MESSAGE,
  type ReadResult,
  type SandboxSettings,
  Session,
  type SessionOptions,
} from './session.js';
export {
  CORE_ENV_VARS,
  childEnvironment,
  DEFAULT_ENV_EXCLUDES,
  exitCodeFor,
  FALLBACK_PATH,
  resolveProgram,
} from './spawn-support.js';
export { type ChildOutput, type SpawnedChild, Spawner, type SpawnRequest } from './spawner.js';
