/** Why a thread-store operation failed. */
export type ThreadStoreErrorCode =
  /** No rollout for this thread id (neither active nor archived). */
  | 'THREAD_NOT_FOUND'
  /** A thread with this id already has a rollout. */
  | 'THREAD_EXISTS'
  /** The id is not a UUID (ids name files, so anything else is refused). */
  | 'INVALID_THREAD_ID'
  /** `fork` named a `lastTurnId` the thread does not have. */
  | 'TURN_NOT_FOUND'
  /** A parameter is out of range (for example more than 100 `excludedThreadIds`). */
  | 'INVALID_ARGUMENT'
  /** `listThreads` got a cursor it did not issue, or one issued for another sort. */
  | 'INVALID_CURSOR'
  /** A record could not be serialized (for example a BigInt or a cycle in an item). */
  | 'INVALID_RECORD'
  /** `archive` of an archived thread. */
  | 'ALREADY_ARCHIVED'
  /** `unarchive` of a thread that is not archived. */
  | 'NOT_ARCHIVED'
  /** Another holder (another server process) writes this thread. */
  | 'WRITER_ACTIVE'
  /** The store was closed. */
  | 'STORE_CLOSED'
  /** A file-system operation failed (the `cause` is the Node error). */
  | 'IO_ERROR'
  /** The SQLite index failed (the `cause` is the SQLite error). */
  | 'INDEX_ERROR';

/** A local failure of the thread store: an `Error` with a string `code` and the underlying `cause`. */
export class ThreadStoreError extends Error {
  override readonly name = 'ThreadStoreError';
  readonly code: ThreadStoreErrorCode;
  /** The file the failure is about, when there is one. */
  readonly path: string | undefined;

  constructor(
    code: ThreadStoreErrorCode,
    message: string,
    options?: { cause?: unknown; path?: string },
  ) {
    super(message, options);
    this.code = code;
    this.path = options?.path;
  }

  /** The system error code (`ENOSPC`, `EIO`…) of the cause, if there is one. */
  get errno(): string | undefined {
    return errnoCode(this.cause);
  }
}

export function isThreadStoreError(error: unknown): error is ThreadStoreError {
  return error instanceof ThreadStoreError;
}

/** Wraps a file-system failure, keeping a ThreadStoreError as it is. */
export function ioError(message: string, cause: unknown, path?: string): ThreadStoreError {
  if (cause instanceof ThreadStoreError) return cause;
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new ThreadStoreError('IO_ERROR', `${message}${detail}`, {
    cause,
    ...(path !== undefined ? { path } : {}),
  });
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`…), if it is one. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}
