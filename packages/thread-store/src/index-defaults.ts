/** How long a statement waits for another process's transaction on the index before failing. */
export const DEFAULT_INDEX_BUSY_TIMEOUT_MS = 5000;
