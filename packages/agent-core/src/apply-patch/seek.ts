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

/**
 * Where `pattern` starts in `lines`, searching from `start` (or, for an end-of-file chunk, first
 * at the very end); undefined when no pass finds it. An empty pattern matches at `start`.
 */
export function seekSequence(
  lines: readonly string[],
  pattern: readonly string[],
  start: number,
  endOfFile: boolean,
): number | undefined {
  if (pattern.length === 0) return start;
  if (pattern.length > lines.length) return undefined;
  const last = lines.length - pattern.length;
  const from = endOfFile ? last : start;
  for (const normalize of PASSES) {
    const wanted = pattern.map(normalize);
    for (let at = from; at <= last; at++) {
      let matches = true;
      for (let i = 0; i < wanted.length; i++) {
        if (normalize(lines[at + i] ?? '') !== wanted[i]) {
          matches = false;
          break;
        }
      }
      if (matches) return at;
    }
  }
  return undefined;
}
