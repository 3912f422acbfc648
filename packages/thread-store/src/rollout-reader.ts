/**
 * Reads a rollout back into records. A last line without its newline is a torn write from a crash
 * and is ignored, unless it is a complete record whose newline alone was lost (it stays readable
 * after the next append repairs the line break, so it is read the same way now). A line that is not
 * a record (a torn line repaired by a later append, or damage) is skipped with a warning; a record
 * of a newer format version is skipped quietly. Nothing in one line affects another.
 */

import { readFileSync } from 'node:fs';
import type { Logger } from '@tether/protocol';
import { ioError } from './errors.js';
import { parseRecordLine, type RolloutRecord } from './records.js';
import type { LineSpan } from './rollout-writer.js';

/** A line of a rollout that is not a record: its 1-based line number and why. */
export interface UnreadableLine {
  line: number;
  reason: string;
}

export interface RolloutContents {
  records: RolloutRecord[];
  /** Where each record's line is in the file (same order as `records`). */
  spans: LineSpan[];
  /** Bytes read (the file size at the time of reading). */
  size: number;
  /** Lines skipped because they were not records (a torn last line is not counted here). */
  invalidLines: number;
  /** Those lines: line number and reason, at most the first {@link MAX_REPORTED_LINES}. */
  unreadable: UnreadableLine[];
  /** Records skipped because of a newer format version or an unknown type. */
  unsupportedLines: number;
  /** Whether the file ended in a torn line that was ignored. */
  tornTail: boolean;
}

/** Unreadable lines listed by line number in {@link RolloutContents.unreadable}. */
export const MAX_REPORTED_LINES = 20;

export function readRollout(path: string, logger?: Logger): RolloutContents {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (cause) {
    throw ioError(`cannot read rollout ${path}`, cause);
  }
  return parseRollout(data, path, logger);
}

const NEWLINE = 0x0a;

export function parseRollout(data: Buffer, path: string, logger?: Logger): RolloutContents {
  const contents: RolloutContents = {
    records: [],
    spans: [],
    size: data.length,
    invalidLines: 0,
    unreadable: [],
    unsupportedLines: 0,
    tornTail: false,
  };
  let start = 0;
  let lineNumber = 0;
  while (start < data.length) {
    const newline = data.indexOf(NEWLINE, start);
    const end = newline === -1 ? data.length : newline;
    lineNumber += 1;
    const line = data.toString('utf8', start, end);
    const span = { offset: start, length: (newline === -1 ? end : end + 1) - start };
    start = end + 1;
    if (line.trim() === '') continue;
    const parsed = parseRecordLine(line);
    if (parsed.kind === 'record') {
      contents.records.push(parsed.record);
      contents.spans.push(span);
    } else if (newline === -1) {
      // After the last newline: a torn write from a crash (a complete record whose newline alone
      // was lost is read above like any other).
      contents.tornTail = true;
      logger?.warn(
        { path, bytes: end - span.offset },
        'ignoring torn last line of rollout (interrupted write)',
      );
    } else if (parsed.kind === 'unsupported') {
      contents.unsupportedLines += 1;
      logger?.debug(
        { path, line: lineNumber, version: parsed.version, type: parsed.type },
        'skipping rollout record of an unsupported version or type',
      );
    } else {
      contents.invalidLines += 1;
      if (contents.unreadable.length < MAX_REPORTED_LINES) {
        contents.unreadable.push({ line: lineNumber, reason: parsed.reason });
      }
      logger?.warn(
        { path, line: lineNumber, reason: parsed.reason },
        'skipping unreadable rollout line',
      );
    }
  }
  return contents;
}
