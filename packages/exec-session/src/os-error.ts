import { constants } from 'node:os';
import {
  type ErrorObject,
  internalError,
  invalidRequest,
  notFound,
  RpcError,
} from '@tether/protocol';

/** glibc's `strerror` text for the errors a process or filesystem call commonly meets. */
const STRERROR: Record<string, string> = {
  EPERM: 'Operation not permitted',
  ENOENT: 'No such file or directory',
  ESRCH: 'No such process',
  EINTR: 'Interrupted system call',
  EIO: 'Input/output error',
  ENXIO: 'No such device or address',
  E2BIG: 'Argument list too long',
  ENOEXEC: 'Exec format error',
  EBADF: 'Bad file descriptor',
  ECHILD: 'No child processes',
  EAGAIN: 'Resource temporarily unavailable',
  ENOMEM: 'Cannot allocate memory',
  EACCES: 'Permission denied',
  EFAULT: 'Bad address',
  EBUSY: 'Device or resource busy',
  EEXIST: 'File exists',
  EXDEV: 'Invalid cross-device link',
  ENODEV: 'No such device',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EINVAL: 'Invalid argument',
  ENFILE: 'Too many open files in system',
  EMFILE: 'Too many open files',
  ETXTBSY: 'Text file busy',
  EFBIG: 'File too large',
  ENOSPC: 'No space left on device',
  ESPIPE: 'Illegal seek',
  EROFS: 'Read-only file system',
  EMLINK: 'Too many links',
  EPIPE: 'Broken pipe',
  ENAMETOOLONG: 'File name too long',
  ENOTEMPTY: 'Directory not empty',
  ELOOP: 'Too many levels of symbolic links',
  ENOTSUP: 'Operation not supported',
  EDQUOT: 'Disk quota exceeded',
};

/** A Node system error: `code` like `ENOENT` and, usually, a negative `errno`. */
export interface SystemErrorLike {
  code?: unknown;
  errno?: unknown;
  message?: unknown;
}

function asSystemError(error: unknown): SystemErrorLike {
  return typeof error === 'object' && error !== null ? (error as SystemErrorLike) : {};
}

/** The error's code (`ENOENT`), when it is a system error. */
export function errorCode(error: unknown): string | undefined {
  const code = asSystemError(error).code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The message the reference (a Rust `std::io::Error`) prints for an OS error:
 * `No such file or directory (os error 2)`. Anything that is not a system error keeps its message.
 */
export function osErrorMessage(error: unknown): string {
  const code = errorCode(error);
  const errnoByName = constants.errno as Record<string, number | undefined>;
  const number = code === undefined ? undefined : errnoByName[code];
  if (code !== undefined && number !== undefined) {
    return `${STRERROR[code] ?? code} (os error ${number})`;
  }
  const message = asSystemError(error).message;
  return typeof message === 'string' ? message : String(error);
}

/**
 * Maps a filesystem error to the reference's JSON-RPC error: not found → -32004, invalid input or
 * permission denied → -32600, anything else → -32603; the message is the OS error's.
 */
export function fsErrorObject(error: unknown): ErrorObject {
  const message = osErrorMessage(error);
  switch (errorCode(error)) {
    case 'ENOENT':
      return notFound(message);
    case 'EINVAL':
    case 'EACCES':
    case 'EPERM':
      return invalidRequest(message);
    default:
      return internalError(message);
  }
}

/** A filesystem failure as the error to throw: an `RpcError` passes through, anything else is mapped. */
export function fsFailure(error: unknown): RpcError {
  return error instanceof RpcError ? error : new RpcError(fsErrorObject(error), { cause: error });
}

/** A local failure with a string `code` and a `cause`, as the project's conventions ask. */
export class ExecSessionError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExecSessionError';
    this.code = code;
  }
}
