import { internalError, invalidRequest, methodNotFound, RpcError } from '@tether/protocol';
import { isThreadStoreError } from '@tether/thread-store';

/**
 * The reference's words for a thread a method cannot find. Which one a method uses depends on
 * where its handler looks first (the loaded threads, the rollouts, or the state database), so
 * each method names its own.
 */
export const threadErrors = {
  /** thread/read, thread/turns/list, thread/readState/update. */
  notLoaded: (id: string) => new RpcError(invalidRequest(`thread not loaded: ${id}`)),
  /** thread/resume, thread/fork, thread/archive, thread/delete, thread/name/set. */
  noRollout: (id: string) => new RpcError(invalidRequest(`no rollout found for thread id ${id}`)),
  /** turn/*, thread/revert, thread/metadata/update, thread/settings/update, goals, inject. */
  notFound: (id: string) => new RpcError(invalidRequest(`thread not found: ${id}`)),
  /** A method the reference answers only for paginated, persisted threads. */
  unsupported: (method: string) => new RpcError(methodNotFound(`${method} is not supported yet`)),
  /** A thread another server process writes. */
  activeWriter: (id: string) =>
    new RpcError(invalidRequest(`thread ${id} already has an active writer`)),
} as const;

/**
 * Turns a thread-store failure into the client's error: bad input is -32600 with the store's
 * message, a failing disk is -32603 naming the file and the system error.
 */
export function storeError(error: unknown, threadId?: string): RpcError {
  if (error instanceof RpcError) return error;
  if (isThreadStoreError(error)) {
    switch (error.code) {
      case 'WRITER_ACTIVE':
        return threadErrors.activeWriter(threadId ?? '');
      case 'IO_ERROR':
      case 'INDEX_ERROR':
      case 'STORE_CLOSED':
        return new RpcError(internalError(error.message), { cause: error });
      default:
        return new RpcError(invalidRequest(error.message), { cause: error });
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RpcError(internalError(message), { cause: error });
}
