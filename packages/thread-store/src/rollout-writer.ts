/**
 * One thread's rollout file, opened for appending. Every record is one line written with a single
 * `write(2)` call (looped only if the kernel writes less), so a crash of the process leaves at most
 * one torn line at the end, which readers ignore. Opening an existing file whose last byte is not a
 * newline (a torn line from an earlier crash) starts the next record on a new line, so the torn
 * fragment stays an unparseable line of its own and every later record reads back.
 *
 * Durability: `'write'` (the default) hands each record to the kernel before `append` returns,
 * which survives a crash of the process but not of the machine; `'fsync'` also calls `fsync(2)`
 * after every record (and on the directory when a file is created), which survives power loss at
 * the cost of a disk flush per record.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { errnoCode, ioError, ThreadStoreError } from './errors.js';
import { parseRecordLine, type RolloutRecord } from './records.js';

export type Durability = 'write' | 'fsync';

/** Where one record's line is in its rollout: byte offset and length, newline included. */
export interface LineSpan {
  offset: number;
  length: number;
}

export interface RolloutWriterOptions {
  /** `'write'`: one write(2) per record; `'fsync'`: write(2) then fsync(2). Default `'write'`. */
  durability?: Durability;
}

const NEWLINE = 0x0a;

/**
 * Serializes a record as one line. The line is parsed back with the reader's own schemas first, so
 * a record that would not read back (a field the reader requires left out, a value JSON cannot
 * carry) is refused here, loudly, instead of being written and skipped later.
 */
export function serializeRecord(record: RolloutRecord): Buffer {
  let json: string;
  try {
    json = JSON.stringify(record);
  } catch (cause) {
    throw new ThreadStoreError('INVALID_RECORD', `cannot serialize ${record.type} record`, {
      cause,
    });
  }
  const readBack = parseRecordLine(json);
  if (readBack.kind !== 'record') {
    const reason = readBack.kind === 'invalid' ? readBack.reason : 'unsupported version or type';
    throw new ThreadStoreError(
      'INVALID_RECORD',
      `refusing to write a ${record.type} record that would not read back: ${reason}`,
    );
  }
  return Buffer.from(`${json}\n`, 'utf8');
}

/** Serializes records as consecutive lines, with where each line is. */
function serializeAll(records: readonly RolloutRecord[]): { data: Buffer; spans: LineSpan[] } {
  const lines = records.map(serializeRecord);
  const spans: LineSpan[] = [];
  let at = 0;
  for (const line of lines) {
    spans.push({ offset: at, length: line.length });
    at += line.length;
  }
  return { data: Buffer.concat(lines), spans };
}

/** Calls fsync on a directory so a created or renamed entry survives power loss. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on directories; the data itself was synced.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * The rollout a writer had open lost its name: a revert replaced it (a new file renamed over it) or
 * the thread was deleted, in this process or another. The writer is closed and wrote nothing; its
 * owner finds the rollout again by its path (the thread store does, and retries).
 */
export class RolloutReplacedError extends ThreadStoreError {
  constructor(path: string) {
    super('THREAD_NOT_FOUND', `rollout was replaced or removed while open: ${path}`, { path });
  }
}

export class RolloutWriter {
  readonly path: string;
  readonly durability: Durability;
  #fd: number | null;
  #size: number;
  #tornTail: boolean;

  private constructor(path: string, fd: number, size: number, durability: Durability) {
    this.path = path;
    this.#fd = fd;
    this.#size = size;
    this.#tornTail = false;
    this.durability = durability;
  }

  /**
   * Creates a new rollout (and its directories) whose first line is `first`. Fails with
   * `THREAD_EXISTS` when the file already exists.
   */
  static create(path: string, first: RolloutRecord, options: RolloutWriterOptions = {}) {
    const line = serializeRecord(first);
    const durability = options.durability ?? 'write';
    let fd: number;
    try {
      mkdirSync(dirname(path), { recursive: true });
      fd = openSync(
        path,
        constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL,
        0o600,
      );
    } catch (cause) {
      if (errnoCode(cause) === 'EEXIST') {
        throw new ThreadStoreError('THREAD_EXISTS', `rollout already exists: ${path}`, { cause });
      }
      throw ioError(`cannot create rollout ${path}`, cause, path);
    }
    const writer = new RolloutWriter(path, fd, 0, durability);
    try {
      writer.#write(line);
    } catch (error) {
      // A rollout whose first line did not make it is no thread: leave nothing behind.
      writer.close();
      rmSync(path, { force: true });
      throw error;
    }
    if (durability === 'fsync') syncDirectory(dirname(path));
    return writer;
  }

  /** Opens an existing rollout for appending, repairing a torn last line first. */
  static open(path: string, options: RolloutWriterOptions = {}): RolloutWriter {
    let fd: number;
    try {
      fd = openSync(path, constants.O_RDWR | constants.O_APPEND);
    } catch (cause) {
      throw ioError(`cannot open rollout ${path}`, cause, path);
    }
    try {
      const size = fstatSync(fd).size;
      const writer = new RolloutWriter(path, fd, size, options.durability ?? 'write');
      writer.#tornTail = size > 0 && lastByte(fd, size) !== NEWLINE;
      return writer;
    } catch (cause) {
      closeSync(fd);
      throw ioError(`cannot open rollout ${path}`, cause, path);
    }
  }

  /** Bytes in the file as far as this writer knows (its size after the last append). */
  get size(): number {
    return this.#size;
  }

  get closed(): boolean {
    return this.#fd === null;
  }

  /** Appends one record as one line. Returns where the line starts and its length (newline included). */
  append(record: RolloutRecord): LineSpan {
    return this.#write(serializeRecord(record));
  }

  #write(line: Buffer): LineSpan {
    const fd = this.#fd;
    if (fd === null)
      throw new ThreadStoreError('STORE_CLOSED', `rollout writer closed: ${this.path}`);
    // Another process may have appended a thread-level record (a name, read state, goal) since
    // the last write: the file's size is where this line lands (O_APPEND).
    let replaced = false;
    try {
      const stat = fstatSync(fd);
      // No name left: a revert renamed a new rollout over this one, or the thread was deleted
      // (here or in another process). A line written now would be lost with the file.
      replaced = stat.nlink === 0;
      if (!replaced && stat.size !== this.#size) {
        this.#size = stat.size;
        this.#tornTail = stat.size > 0 && lastByte(fd, stat.size) !== NEWLINE;
      }
    } catch (cause) {
      throw ioError(`cannot append to rollout ${this.path}`, cause, this.path);
    }
    if (replaced) {
      this.close();
      throw new RolloutReplacedError(this.path);
    }
    // A torn line before us (from a crash, or from a write that failed half-way) gets its newline
    // in the same write as the record, so the record starts at the beginning of a line.
    const data = this.#tornTail ? Buffer.concat([Buffer.from([NEWLINE]), line]) : line;
    const before = this.#size;
    let offset = before + (data.length - line.length);
    let written = 0;
    try {
      while (written < data.length) {
        written += writeSync(fd, data, written, data.length - written);
      }
      if (this.durability === 'fsync') fsyncSync(fd);
    } catch (cause) {
      if (written > 0 && !this.#cutBack(fd, written)) {
        // Whatever reached the file is a torn line: the next record starts on a new line.
        this.#size += written;
        this.#tornTail = true;
      }
      throw ioError(`cannot append to rollout ${this.path}`, cause, this.path);
    }
    this.#size = before + written;
    this.#tornTail = false;
    // Another process may have appended between the fstat above and the write: then the line is
    // not where it was expected, and the caller (the index) must be told where it really is.
    try {
      const after = fstatSync(fd).size;
      if (after !== this.#size) {
        offset = findLine(fd, line, before, after) ?? offset;
        this.#size = after;
        this.#tornTail = after > 0 && lastByte(fd, after) !== NEWLINE;
      }
    } catch {
      // The line is written; only its position could not be checked (a page that finds another
      // line there has the index re-read).
    }
    return { offset, length: line.length };
  }

  /**
   * Takes back the part of a line a failed write left (a full disk takes the first bytes and
   * refuses the rest), so the file ends where it did before. False when it cannot, or when another
   * process appended meanwhile (cutting back would take its lines too).
   */
  #cutBack(fd: number, written: number): boolean {
    try {
      if (fstatSync(fd).size !== this.#size + written) return written === 0;
      ftruncateSync(fd, this.#size);
      return true;
    } catch {
      return written === 0;
    }
  }

  /** Flushes the file to disk (whatever the durability). */
  sync(): void {
    if (this.#fd === null) return;
    try {
      fsyncSync(this.#fd);
    } catch (cause) {
      throw ioError(`cannot sync rollout ${this.path}`, cause);
    }
  }

  close(): void {
    const fd = this.#fd;
    if (fd === null) return;
    this.#fd = null;
    try {
      closeSync(fd);
    } catch {
      // Closing cannot lose data that write(2) already handed to the kernel.
    }
  }
}

/**
 * Writes a whole rollout at once (a fork's copied history): into a temporary file first, then
 * linked into place, so the rollout appears complete or not at all. Returns its size in bytes and
 * where each record's line is.
 */
export function writeRolloutAtomically(
  path: string,
  records: readonly RolloutRecord[],
  options: RolloutWriterOptions = {},
): { size: number; spans: LineSpan[] } {
  const { data, spans } = serializeAll(records);
  const temp = `${path}.${process.pid}.tmp`;
  let fd: number | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    if (options.durability === 'fsync') fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    // link(2) refuses to replace an existing file, unlike rename(2).
    linkSync(temp, path);
    if (options.durability === 'fsync') syncDirectory(dirname(path));
    return { size: data.length, spans };
  } catch (cause) {
    if (errnoCode(cause) === 'EEXIST') {
      throw new ThreadStoreError('THREAD_EXISTS', `rollout already exists: ${path}`, { cause });
    }
    throw ioError(`cannot write rollout ${path}`, cause, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
  }
}

/**
 * Where `line` starts among the bytes `[from, to)` of the file (it was appended there, among lines
 * other processes appended at the same time), or undefined if it is not there whole.
 */
function findLine(fd: number, line: Buffer, from: number, to: number): number | undefined {
  const start = Math.max(0, from - 1);
  const buffer = Buffer.alloc(to - start);
  let read = 0;
  while (read < buffer.length) {
    const n = readSync(fd, buffer, read, buffer.length - read, start + read);
    if (n === 0) break;
    read += n;
  }
  const bytes = buffer.subarray(0, read);
  let at = bytes.indexOf(line, from - start);
  while (at >= 0) {
    // a line starts the file or follows a newline
    if (start + at === 0 || bytes[at - 1] === NEWLINE) return start + at;
    at = bytes.indexOf(line, at + 1);
  }
  return undefined;
}

function lastByte(fd: number, size: number): number | undefined {
  const buffer = Buffer.alloc(1);
  const read = readSync(fd, buffer, 0, 1, size - 1);
  return read === 1 ? buffer[0] : undefined;
}

/**
 * Replaces a rollout with `data` (complete lines) in one step (`thread/revert`): it is written to a
 * temporary file, then `more()` is asked for lines to add (what other processes appended to the old
 * file meanwhile), then the file is synced and renamed over the old one, so a crash at any point
 * leaves the old history or the new one, never a mix. Returns the new size.
 */
export function replaceRolloutAtomically(
  path: string,
  data: Buffer,
  more: () => Buffer = () => Buffer.alloc(0),
): number {
  const temp = `${path}.${process.pid}.replace.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600);
    let size = 0;
    for (const chunk of [data, more()]) {
      let written = 0;
      while (written < chunk.length) {
        written += writeSync(fd, chunk, written, chunk.length - written);
      }
      size += written;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temp, path);
    syncDirectory(dirname(path));
    return size;
  } catch (cause) {
    throw ioError(`cannot rewrite rollout ${path}`, cause, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
  }
}
