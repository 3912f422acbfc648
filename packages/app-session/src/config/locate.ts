/**
 * Where a key's value sits in a TOML text, for messages that name `<file>:<line>:<col>` as the
 * reference does. smol-toml gives positions for syntax errors only; a value of the wrong type is
 * found again here by a line scan of table headers and `key = value` lines (enough for the files
 * people write by hand: multi-line values are located by their first line).
 */

export type TextPosition = {
  /** 1-based. */
  line: number;
  /** 1-based, in Unicode scalar values. */
  column: number;
};
export type TextRange = { start: TextPosition; end: TextPosition };

const BARE = /^[A-Za-z0-9_-]+/;

/** The dotted key at the start of `text` and where it ends, or undefined when there is none. */
function readKey(text: string): { segments: string[]; rest: string } | undefined {
  const segments: string[] = [];
  let rest = text;
  for (;;) {
    rest = rest.trimStart();
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      const close = findClosingQuote(rest, 0);
      if (close === -1) return undefined;
      const raw = rest.slice(0, close + 1);
      segments.push(quote === '"' ? safeJson(raw) : raw.slice(1, -1));
      rest = rest.slice(close + 1);
    } else {
      const bare = BARE.exec(rest);
      if (!bare) return undefined;
      segments.push(bare[0]);
      rest = rest.slice(bare[0].length);
    }
    rest = rest.trimStart();
    if (rest[0] !== '.') return { segments, rest };
    rest = rest.slice(1);
  }
}

function safeJson(raw: string): string {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'string' ? value : raw.slice(1, -1);
  } catch {
    return raw.slice(1, -1);
  }
}

/** Index of the quote closing the string that opens at `start`, or -1. */
function findClosingQuote(text: string, start: number): number {
  const quote = text[start];
  for (let i = start + 1; i < text.length; i++) {
    if (quote === '"' && text[i] === '\\') {
      i++;
      continue;
    }
    if (text[i] === quote) return i;
  }
  return -1;
}

/** The length (in UTF-16 units) of the value token at the start of `text`. */
function valueLength(text: string): number {
  const first = text[0];
  if (first === '"' || first === "'") {
    const close = findClosingQuote(text, 0);
    return close === -1 ? text.length : close + 1;
  }
  if (first === '[' || first === '{') return 1;
  const token = /^[^\s#,\]}]+/.exec(text);
  return token ? token[0].length : 1;
}

const columnOf = (line: string, index: number) => Array.from(line.slice(0, index)).length + 1;

const startsWith = (path: readonly string[], prefix: readonly string[]) =>
  prefix.length <= path.length && prefix.every((segment, i) => path[i] === segment);

/**
 * The range of the value of `keyPath` (or of the nearest enclosing value or table that holds it)
 * in `source`; undefined when the scan cannot find it.
 */
export function locateValue(source: string, keyPath: readonly string[]): TextRange | undefined {
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  let enclosing: TextRange | undefined;
  for (const [index, line] of lines.entries()) {
    const trimmed = line.trimStart();
    const indent = line.length - trimmed.length;
    const lineNo = index + 1;
    if (trimmed.startsWith('[')) {
      const double = trimmed.startsWith('[[');
      const key = readKey(trimmed.slice(double ? 2 : 1));
      if (!key) continue;
      table = key.segments;
      if (startsWith(keyPath, table) && keyPath.length === table.length) {
        const at = { line: lineNo, column: columnOf(line, indent) };
        enclosing ??= { start: at, end: at };
      }
      continue;
    }
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const key = readKey(trimmed);
    if (!key?.rest.startsWith('=')) continue;
    const afterEq = key.rest.slice(1);
    const valueText = afterEq.trimStart();
    const valueIndex = line.length - valueText.length;
    const full = [...table, ...key.segments];
    const start = { line: lineNo, column: columnOf(line, valueIndex) };
    const end = {
      line: lineNo,
      column: columnOf(line, valueIndex + valueLength(valueText) - 1),
    };
    if (full.length === keyPath.length && startsWith(keyPath, full)) return { start, end };
    // the key holds the target (an inline table or array) or lies inside the target table
    if (startsWith(keyPath, full) || startsWith(full, keyPath)) enclosing ??= { start, end: start };
  }
  return enclosing;
}
