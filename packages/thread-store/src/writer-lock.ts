/**
 * One writer per thread across processes: `<home>/thread-writer-locks/<threadId>.lock`, held with
 * an exclusive lock that the kernel releases when the holder dies, however it dies (the reference
 * keeps its locks in the same directory).
 *
 * Node has no flock(2), so the lock is SQLite's: the lock file is an (empty) SQLite database and
 * the holder keeps an exclusive transaction open on it. SQLite takes POSIX advisory locks for that,
 * which are released with the process, and it tracks them per file within a process, so a second
 * holder in the same process is refused as well. Nothing is ever written to the file.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ThreadStoreError } from './errors.js';

export const WRITER_LOCKS_DIR = 'thread-writer-locks';

/** A held writer lock; `release` is idempotent. */
export interface WriterLock {
  readonly threadId: string;
  release(): void;
}

/** The reference's words when another process writes the thread. */
export function activeWriterMessage(threadId: string): string {
  return `thread ${threadId} already has an active writer`;
}

/**
 * Takes the writer lock of a thread, or fails with `WRITER_ACTIVE` at once (never waits) when
 * another holder, in this process or another, has it.
 */
export function acquireWriterLock(home: string, threadId: string): WriterLock {
  const dir = join(home, WRITER_LOCKS_DIR);
  let db: Database.Database;
  try {
    mkdirSync(dir, { recursive: true });
    db = new Database(join(dir, `${threadId}.lock`), { timeout: 0 });
  } catch (cause) {
    throw new ThreadStoreError(
      'IO_ERROR',
      `cannot open the writer lock of thread ${threadId}: ${describe(cause)}`,
      { cause },
    );
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (cause) {
    db.close();
    if (isBusy(cause)) {
      throw new ThreadStoreError('WRITER_ACTIVE', activeWriterMessage(threadId), { cause });
    }
    throw new ThreadStoreError(
      'IO_ERROR',
      `cannot take the writer lock of thread ${threadId}: ${describe(cause)}`,
      { cause },
    );
  }
  let held = true;
  return {
    threadId,
    release() {
      if (!held) return;
      held = false;
      try {
        db.exec('ROLLBACK');
      } catch {
        // closing releases the lock either way
      }
      db.close();
    },
  };
}

function describe(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : '';
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && code !== '' ? `${code}: ${message}` : message;
}

function isBusy(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    (error.code === 'SQLITE_BUSY' || error.code === 'SQLITE_LOCKED')
  );
}
