/**
 * Finding a chunk's lines in a file, as leniently as the reference: the first pass that finds them
 * wins, from exact to loosest, so an exact match elsewhere beats a fuzzy one here.
 *   1. exactly;
 *   2. ignoring trailing whitespace;
 *   3. ignoring leading and trailing whitespace;
 *   4. also treating typographic dashes, quotes and odd spaces as their ASCII forms (models write
 *      ASCII for files that hold `–`, `’` or a non-breaking space).
 */

/** Dashes, quotes and spaces that a model writes as plain ASCII. */
const PUNCTUATION: ReadonlyMap<string, string> = new Map([
  ...['\u2010', '\u2011', '\u2012', '\u2013', '\u2014', '\u2015', '\u2212'].map(
    (c): [string, string] => [c, '-'],
  ),
  ...['\u2018', '\u2019', '\u201A', '\u201B'].map((c): [string, string] => [c, "'"]),
  ...['\u201C', '\u201D', '\u201E', '\u201F'].map((c): [string, string] => [c, '"']),
  ...[
    '\u00A0',
    '\u2002',
    '\u2003',
    '\u2004',
    '\u2005',
    '\u2006',
    '\u2007',
    '\u2008',
    '\u2009',
    '\u200A',
    '\u202F',
    '\u205F',
    '\u3000',
  ].map((c): [string, string] => [c, ' ']),
]);

const PUNCTUATION_PATTERN = new RegExp(`[${[...PUNCTUATION.keys()].join('')}]`, 'g');

function asciiPunctuation(line: string): string {
  return line.trim().replace(PUNCTUATION_PATTERN, (c) => PUNCTUATION.get(c) ?? c);
}

type Normalize = (line: string) => string;

const PASSES: readonly Normalize[] = [
  (line) => line,
  (line) => line.trimEnd(),
  (line) => line.trim(),
  asciiPunctuation,
];

/** The lines of a file under one pass's normalization, each as a small integer (equal lines, equal ids). */
interface PassIndex {
  readonly ids: Int32Array;
  readonly table: Map<string, number>;
}

/**
 * Finds chunks in one file, pass by pass. Each pass normalizes the file's lines once (lazily) and
 * numbers the distinct results, and a pattern is then searched for as a sequence of numbers with
 * Knuth-Morris-Pratt: a search costs the lines it scans plus the pattern's length, never their
 * product, so a large file, a long pattern or many chunks cannot make a patch quadratic (a file of
 * repeated lines included).
 */
export class LineSeeker {
  private readonly passes: Array<PassIndex | undefined> = [];

  constructor(private readonly lines: readonly string[]) {}

  /**
   * Where `pattern` starts, searching from `start` (or, for an end-of-file chunk, only at the very
   * end); undefined when no pass finds it. An empty pattern matches at `start`.
   */
  seek(pattern: readonly string[], start: number, endOfFile: boolean): number | undefined {
    if (pattern.length === 0) return start;
    if (pattern.length > this.lines.length) return undefined;
    const last = this.lines.length - pattern.length;
    const from = endOfFile ? last : start;
    if (from > last) return undefined;
    for (let pass = 0; pass < PASSES.length; pass++) {
      const index = this.index(pass);
      const wanted = patternIds(pattern, index.table, PASSES[pass] ?? ((line) => line));
      if (wanted === undefined) continue; // a line of the pattern is nowhere in the file
      const at = endOfFile
        ? matchesAt(index.ids, wanted, last)
          ? last
          : undefined
        : findSequence(index.ids, wanted, from);
      if (at !== undefined) return at;
    }
    return undefined;
  }

  private index(pass: number): PassIndex {
    const known = this.passes[pass];
    if (known) return known;
    const normalize = PASSES[pass] ?? ((line: string) => line);
    const table = new Map<string, number>();
    const ids = new Int32Array(this.lines.length);
    for (let i = 0; i < this.lines.length; i++) {
      const line = normalize(this.lines[i] ?? '');
      let id = table.get(line);
      if (id === undefined) {
        id = table.size;
        table.set(line, id);
      }
      ids[i] = id;
    }
    const index = { ids, table };
    this.passes[pass] = index;
    return index;
  }
}

function patternIds(
  pattern: readonly string[],
  table: ReadonlyMap<string, number>,
  normalize: Normalize,
): Int32Array | undefined {
  const ids = new Int32Array(pattern.length);
  for (let i = 0; i < pattern.length; i++) {
    const id = table.get(normalize(pattern[i] ?? ''));
    if (id === undefined) return undefined;
    ids[i] = id;
  }
  return ids;
}

function matchesAt(ids: Int32Array, wanted: Int32Array, at: number): boolean {
  for (let i = 0; i < wanted.length; i++) if (ids[at + i] !== wanted[i]) return false;
  return true;
}

/** The first index at or after `from` where `wanted` occurs in `ids` (Knuth-Morris-Pratt). */
function findSequence(ids: Int32Array, wanted: Int32Array, from: number): number | undefined {
  const m = wanted.length;
  // fallback[i]: the length of the longest proper border of wanted[0..i]
  const fallback = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && wanted[i] !== wanted[k]) k = fallback[k - 1] ?? 0;
    if (wanted[i] === wanted[k]) k++;
    fallback[i] = k;
  }
  for (let i = from, k = 0; i < ids.length; i++) {
    while (k > 0 && ids[i] !== wanted[k]) k = fallback[k - 1] ?? 0;
    if (ids[i] === wanted[k]) k++;
    if (k === m) return i - m + 1;
  }
  return undefined;
}

/**
 * Where `pattern` starts in `lines`, searching from `start` (or, for an end-of-file chunk, only at
 * the very end); undefined when no pass finds it. An empty pattern matches at `start`. For several
 * searches in one file, a {@link LineSeeker} normalizes the file once.
 */
export function seekSequence(
  lines: readonly string[],
  pattern: readonly string[],
  start: number,
  endOfFile: boolean,
): number | undefined {
  return new LineSeeker(lines).seek(pattern, start, endOfFile);
}
