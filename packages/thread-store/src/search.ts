/**
 * Full-text search over a thread's messages: how the index is asked (a trigram phrase, or a LIKE
 * scan for short terms) and how occurrences and snippets are cut from a message, as the reference
 * presents them (whitespace collapsed, a window of about 48 characters before the match and 96
 * after, ranges in UTF-16 code units).
 */

/** Characters of context kept before and after a match in a snippet. */
export const SNIPPET_BEFORE = 48;
export const SNIPPET_AFTER = 96;

/**
 * How `message_text` is matched for a literal, case-insensitive substring: the trigram index
 * answers a quoted phrase of three or more characters; shorter terms fall back to LIKE (a scan).
 */
export function messageMatch(term: string): { where: string; value: string } {
  if ([...term].length >= 3) {
    return { where: 'message_text MATCH @match', value: `"${term.replaceAll('"', '""')}"` };
  }
  return { where: "message_text.text LIKE @match ESCAPE '\\'", value: `%${escapeLike(term)}%` };
}

export function escapeLike(term: string): string {
  return term.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** One match in a message: the snippet shown for it and where the match is in the snippet. */
export interface Occurrence {
  snippet: string;
  range: { start: number; end: number };
}

const collapse = (text: string) => text.replace(/\s+/g, ' ').trim();

/** Every non-overlapping, case-insensitive occurrence of `term` in `text`, in order. */
export function findOccurrences(text: string, term: string): Occurrence[] {
  const needle = collapse(term);
  if (needle === '') return [];
  const haystack = collapse(text);
  const pattern = new RegExp(needle.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'giu');
  const out: Occurrence[] = [];
  for (const match of haystack.matchAll(pattern)) {
    out.push(window(haystack, match.index, match.index + match[0].length));
  }
  return out;
}

/** The first occurrence (a search result's snippet), or undefined. */
export function firstOccurrence(text: string, term: string): Occurrence | undefined {
  return findOccurrences(text, term)[0];
}

function window(text: string, start: number, end: number): Occurrence {
  let from = Math.max(0, start - SNIPPET_BEFORE);
  let to = Math.min(text.length, end + SNIPPET_AFTER);
  // never cut a surrogate pair in half
  if (from > 0 && isLowSurrogate(text.charCodeAt(from))) from -= 1;
  if (to < text.length && isLowSurrogate(text.charCodeAt(to))) to += 1;
  const prefix = from > 0 ? '... ' : '';
  const suffix = to < text.length ? ' ...' : '';
  const offset = prefix.length - from;
  return {
    snippet: `${prefix}${text.slice(from, to)}${suffix}`,
    range: { start: start + offset, end: end + offset },
  };
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
