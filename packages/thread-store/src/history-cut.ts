/**
 * Cutting a thread's history to some of its turns: which records a fork copies, and which lines a
 * revert keeps. A revert works on the rollout's lines, not on the records this version reads, so a
 * line it cannot read (a newer format version, an unknown type) is carried through as it is, in its
 * place, instead of being lost.
 */
import {
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { ioError } from './errors.js';
import { parseRecordLine, type RolloutRecord } from './records.js';

const NEWLINE = 0x0a;

/**
 * Decides, record by record in file order, what stays when a history is cut to the turns in
 * `keptIds`: the records of those turns, the conversation items added between turns (`turnId`
 * null) up to the first record of a turn that is not kept, and with `keepThreadRecords` the
 * thread's own records (meta, name, settings, metadata, goal, read state, queue).
 */
export class HistoryCut {
  readonly #keptIds: ReadonlySet<string>;
  readonly #keepThreadRecords: boolean;
  #cut = false;

  constructor(keptIds: ReadonlySet<string>, options: { keepThreadRecords?: boolean } = {}) {
    this.#keptIds = keptIds;
    this.#keepThreadRecords = options.keepThreadRecords ?? false;
  }

  /** `turnId`: undefined for a record of the thread itself (it has no `turnId` field). */
  keeps(turnId: string | null | undefined): boolean {
    if (turnId === undefined) return this.#keepThreadRecords;
    if (turnId === null) return !this.#cut;
    if (this.#keptIds.has(turnId)) return true;
    this.#cut = true;
    return false;
  }
}

/** The records a fork copies (see {@link HistoryCut}). */
export function historyPrefix(
  records: readonly RolloutRecord[],
  keptIds: ReadonlySet<string>,
  options: { keepThreadRecords?: boolean } = {},
): RolloutRecord[] {
  const cut = new HistoryCut(keptIds, options);
  return records.filter((record) => cut.keeps('turnId' in record ? record.turnId : undefined));
}

/**
 * The complete lines of `data` (up to its last newline) that stay, each with its newline, as they
 * were. A record goes by its turn; a line this version cannot read but that is a JSON object (a
 * newer version, an unknown type, fields it does not know) goes by its `turnId` field the same way,
 * and stays with the thread's records when it has none; a line that is not JSON (a torn fragment
 * of a crashed write) is left out.
 */
export function keptLines(data: Buffer, cut: HistoryCut): Buffer {
  const kept: Buffer[] = [];
  let start = 0;
  for (;;) {
    const newline = data.indexOf(NEWLINE, start);
    if (newline === -1) break;
    const line = data.subarray(start, newline + 1);
    const text = data.toString('utf8', start, newline);
    start = newline + 1;
    if (text.trim() === '') continue;
    const turnId = turnIdOfLine(text);
    if (turnId !== false && cut.keeps(turnId)) kept.push(line);
  }
  return Buffer.concat(kept);
}

/**
 * The line's turn (undefined: none), or false for a line that is not a JSON object. A record's
 * `turnId` is its line's `turnId` field as written, so the JSON alone says it, for records this
 * version reads and lines it does not alike.
 */
function turnIdOfLine(text: string): string | null | undefined | false {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (!('turnId' in value)) return undefined;
  const turnId = value.turnId;
  return typeof turnId === 'string' || turnId === null ? turnId : undefined;
}

/**
 * A rollout opened for reading while it is rewritten: `read()` returns the complete lines added
 * since the last call (the first call returns the whole file), so lines other processes append to
 * the old file while a revert writes the new one are not lost.
 */
export class RolloutTail {
  readonly path: string;
  readonly #fd: number;
  #end = 0;

  constructor(path: string) {
    this.path = path;
    try {
      this.#fd = openSync(path, constants.O_RDONLY);
    } catch (cause) {
      throw ioError(`cannot read rollout ${path}`, cause, path);
    }
  }

  /**
   * The complete lines (each with its newline) added since the last call; a torn last line is
   * left for a later call, unless it is a whole record that only lacks its newline.
   */
  read(): Buffer {
    try {
      let data: Buffer;
      if (this.#end === 0) {
        data = readFileSync(this.#fd);
      } else {
        const size = fstatSync(this.#fd).size;
        data = Buffer.alloc(Math.max(0, size - this.#end));
        let read = 0;
        while (read < data.length) {
          const n = readSync(this.#fd, data, read, data.length - read, this.#end + read);
          if (n === 0) break;
          read += n;
        }
        data = data.subarray(0, read);
      }
      const complete = data.lastIndexOf(NEWLINE) + 1;
      const rest = data.subarray(complete);
      if (rest.length > 0 && parseRecordLine(rest.toString('utf8')).kind === 'record') {
        // a last record whose newline alone was lost reads back (as readRollout reads it)
        this.#end += data.length;
        return Buffer.concat([data, Buffer.from([NEWLINE])]);
      }
      this.#end += complete;
      return data.subarray(0, complete);
    } catch (cause) {
      throw ioError(`cannot read rollout ${this.path}`, cause, this.path);
    }
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** Appends complete lines to a rollout as they are (one write). */
export function appendLines(path: string, data: Buffer, fsync: boolean): void {
  if (data.length === 0) return;
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
    if (fsync) fsyncSync(fd);
  } catch (cause) {
    throw ioError(`cannot append to rollout ${path}`, cause, path);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
