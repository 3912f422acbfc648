import { createHash } from 'node:crypto';
import { type ChangeObject, diffArrays, diffLines } from 'diff';

/**
 * Unified diffs as the reference prints them (its diff library's format): hunk ranges omit a
 * length of 1 (`@@ -3 +3 @@`) and start one line earlier for an empty side (`@@ -0,0 +1 @@`), and
 * a line without a final newline is followed by `\ No newline at end of file`. The line diff is
 * the `diff` library's; the same pair of texts is diffed once for every context size asked (a
 * patch's item shows one line of context, the turn diff three, and for a turn's first patch the
 * texts are the same).
 *
 * The line diff is Myers' (the library's), bounded: past {@link MAX_EDIT_LENGTH} edits its cost
 * grows with the product of the sizes (two different 5 MB files would take hours), so a larger
 * diff is computed by anchoring instead (see `anchoredDiff`): linear-ish, and as minimal as
 * Myers' wherever the files have lines that occur once on each side.
 */

/** Edits (removed plus added lines) up to which the Myers diff runs; beyond, the anchored one. */
export const MAX_EDIT_LENGTH = 1000;
/** Stretches without anchors are still diffed with Myers up to this many edits. */
const SMALL_EDIT_LENGTH = 200;

function range(start: number, length: number): string {
  if (length === 1) return `${start}`;
  // an empty side names the line before the hunk (0 for the start of the file)
  return `${length === 0 ? start - 1 : start},${length}`;
}

/** One line of a line diff: kept (` `), removed (`-`) or added (`+`). */
export interface DiffLine {
  mark: ' ' | '-' | '+';
  text: string;
  /** The line ends its file without a newline. */
  unterminated: boolean;
}

let last: { before: string; after: string; lines: DiffLine[] } | undefined;

/** The line diff of two texts: each line of either, kept (` `), removed (`-`) or added (`+`). */
export function lineDiff(before: string, after: string): readonly DiffLine[] {
  return diffLinesOf(before, after);
}

function diffLinesOf(before: string, after: string): DiffLine[] {
  if (last && last.before === before && last.after === after) return last.lines;
  const changes = diffLines(before, after, { maxEditLength: MAX_EDIT_LENGTH });
  const lines = changes === undefined ? anchoredDiff(before, after) : fromChanges(changes);
  last = { before, after, lines };
  return lines;
}

function fromChanges(changes: ChangeObject<string>[]): DiffLine[] {
  const lines: DiffLine[] = [];
  for (const change of changes) {
    const mark = change.added ? '+' : change.removed ? '-' : ' ';
    const parts = change.value.split('\n');
    const open = parts.pop();
    for (const text of parts) lines.push({ mark, text, unterminated: false });
    if (open !== undefined && open !== '') lines.push({ mark, text: open, unterminated: true });
  }
  return lines;
}

/** A text's lines, each with its line break (the last one may have none). */
function splitLines(text: string): string[] {
  const lines: string[] = [];
  let from = 0;
  for (;;) {
    const newline = text.indexOf('\n', from);
    if (newline === -1) break;
    lines.push(text.slice(from, newline + 1));
    from = newline + 1;
  }
  if (from < text.length) lines.push(text.slice(from));
  return lines;
}

type Region = { kind: 'region'; a0: number; a1: number; b0: number; b1: number };
type Run = { kind: 'keep' | 'remove' | 'add'; from: number; to: number };

/**
 * A line diff for texts too different for Myers within its bound, in the manner of patience diff:
 * common leading and trailing lines are kept; in between, lines that occur exactly once on each
 * side and in the same order (the longest increasing run of them) are kept as anchors, and the
 * stretches between anchors are diffed the same way. A stretch without anchors is diffed with
 * Myers when that takes few edits, else shown as removed then added. The work is bounded: once it passes a few
 * times the size of the texts, what is left is shown as removed then added.
 */
export function anchoredDiff(before: string, after: string): DiffLine[] {
  const aLines = splitLines(before);
  const bLines = splitLines(after);
  const table = new Map<string, number>();
  const intern = (lines: string[]) => {
    const ids = new Int32Array(lines.length);
    lines.forEach((line, i) => {
      let id = table.get(line);
      if (id === undefined) {
        id = table.size;
        table.set(line, id);
      }
      ids[i] = id;
    });
    return ids;
  };
  const a = intern(aLines);
  const b = intern(bLines);
  const out: DiffLine[] = [];
  const emit = (mark: DiffLine['mark'], line: string | undefined) => {
    if (line === undefined) return;
    const unterminated = !line.endsWith('\n');
    out.push({ mark, text: unterminated ? line : line.slice(0, -1), unterminated });
  };
  const run = (step: Run) => {
    for (let i = step.from; i < step.to; i++) {
      if (step.kind === 'add') emit('+', bLines[i]);
      else emit(step.kind === 'keep' ? ' ' : '-', aLines[i]);
    }
  };
  let budget = 8 * (a.length + b.length) + 100_000;
  // tasks in reverse order of output
  const stack: Array<Region | Run> = [{ kind: 'region', a0: 0, a1: a.length, b0: 0, b1: b.length }];
  for (let task = stack.pop(); task; task = stack.pop()) {
    if (task.kind !== 'region') {
      run(task);
      continue;
    }
    let { a0, a1, b0, b1 } = task;
    while (a0 < a1 && b0 < b1 && a[a0] === b[b0]) {
      run({ kind: 'keep', from: a0, to: a0 + 1 });
      a0++;
      b0++;
    }
    let tail = 0;
    while (a0 < a1 - tail && b0 < b1 - tail && a[a1 - tail - 1] === b[b1 - tail - 1]) tail++;
    a1 -= tail;
    b1 -= tail;
    if (tail > 0) stack.push({ kind: 'keep', from: a1, to: a1 + tail });
    budget -= a1 - a0 + (b1 - b0);
    const replace = () => {
      stack.push({ kind: 'add', from: b0, to: b1 });
      stack.push({ kind: 'remove', from: a0, to: a1 });
    };
    if (a0 === a1 || b0 === b1 || budget < 0) {
      replace();
      continue;
    }
    const anchors = uniqueAnchors(a, a0, a1, b, b0, b1);
    if (anchors.length === 0) {
      const runs = myersRuns(a, a0, a1, b, b0, b1);
      if (runs === undefined) replace();
      else for (const step of runs.reverse()) stack.push(step);
      continue;
    }
    // between anchors, from the last one back (the stack pops the first one first)
    let aEnd = a1;
    let bEnd = b1;
    for (let k = anchors.length - 1; k >= 0; k--) {
      const anchor = anchors[k];
      if (!anchor) continue;
      const [ai, bi] = anchor;
      stack.push({ kind: 'region', a0: ai + 1, a1: aEnd, b0: bi + 1, b1: bEnd });
      stack.push({ kind: 'keep', from: ai, to: ai + 1 });
      aEnd = ai;
      bEnd = bi;
    }
    stack.push({ kind: 'region', a0, a1: aEnd, b0, b1: bEnd });
  }
  return out;
}

/**
 * Lines occurring exactly once in `a[a0..a1)` and once in `b[b0..b1)`, as pairs of positions, the
 * longest subsequence of them in the same order on both sides.
 */
function uniqueAnchors(
  a: Int32Array,
  a0: number,
  a1: number,
  b: Int32Array,
  b0: number,
  b1: number,
): Array<[number, number]> {
  // per line id: [count in a, position in a, count in b, position in b]
  const seen = new Map<number, [number, number, number, number]>();
  for (let i = a0; i < a1; i++) {
    const id = a[i] ?? -1;
    const entry = seen.get(id);
    if (entry) entry[0]++;
    else seen.set(id, [1, i, 0, -1]);
  }
  for (let j = b0; j < b1; j++) {
    const entry = seen.get(b[j] ?? -1);
    if (!entry) continue;
    entry[2]++;
    entry[3] = j;
  }
  const pairs: Array<[number, number]> = [];
  for (const [countA, i, countB, j] of seen.values()) {
    if (countA === 1 && countB === 1) pairs.push([i, j]);
  }
  pairs.sort((x, y) => x[0] - y[0]);
  // longest increasing subsequence of the b positions (patience sorting)
  const tails: number[] = [];
  const previous = new Int32Array(pairs.length).fill(-1);
  for (let k = 0; k < pairs.length; k++) {
    const j = pairs[k]?.[1] ?? 0;
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((pairs[tails[mid] ?? 0]?.[1] ?? 0) < j) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) previous[k] = tails[lo - 1] ?? -1;
    tails[lo] = k;
  }
  const chain: Array<[number, number]> = [];
  for (let k = tails.at(-1) ?? -1; k >= 0; k = previous[k] ?? -1) {
    const pair = pairs[k];
    if (pair) chain.push(pair);
  }
  return chain.reverse();
}

/**
 * A stretch diffed with Myers (the library's), as runs of kept, removed and added lines; undefined
 * past {@link SMALL_EDIT_LENGTH} edits.
 */
function myersRuns(
  a: Int32Array,
  a0: number,
  a1: number,
  b: Int32Array,
  b0: number,
  b1: number,
): Run[] | undefined {
  if (Math.abs(a1 - a0 - (b1 - b0)) > SMALL_EDIT_LENGTH) return undefined;
  const changes = diffArrays([...a.subarray(a0, a1)], [...b.subarray(b0, b1)], {
    maxEditLength: SMALL_EDIT_LENGTH,
  });
  if (changes === undefined) return undefined;
  const runs: Run[] = [];
  let i = a0;
  let j = b0;
  for (const change of changes) {
    const count = change.count;
    if (change.added) {
      runs.push({ kind: 'add', from: j, to: j + count });
      j += count;
    } else if (change.removed) {
      runs.push({ kind: 'remove', from: i, to: i + count });
      i += count;
    } else {
      runs.push({ kind: 'keep', from: i, to: i + count });
      i += count;
      j += count;
    }
  }
  return runs;
}

/**
 * The hunks turning `before` into `after` with `context` lines around each change, without file
 * headers; `''` when they are equal.
 */
export function diffHunks(before: string, after: string, context: number): string {
  if (before === after) return '';
  const lines = diffLinesOf(before, after);
  const changed: number[] = [];
  lines.forEach((line, index) => {
    if (line.mark !== ' ') changed.push(index);
  });
  let out = '';
  let i = 0;
  // line numbers before each diff line, on either side
  const oldBefore: number[] = [];
  const newBefore: number[] = [];
  let oldCount = 0;
  let newCount = 0;
  for (const line of lines) {
    oldBefore.push(oldCount);
    newBefore.push(newCount);
    if (line.mark !== '+') oldCount++;
    if (line.mark !== '-') newCount++;
  }
  while (i < changed.length) {
    // a hunk spans changes whose context overlaps or touches
    let j = i;
    while (j + 1 < changed.length && (changed[j + 1] ?? 0) - (changed[j] ?? 0) <= 2 * context + 1)
      j++;
    const start = Math.max(0, (changed[i] ?? 0) - context);
    const end = Math.min(lines.length, (changed[j] ?? 0) + context + 1);
    let oldLength = 0;
    let newLength = 0;
    let body = '';
    for (let k = start; k < end; k++) {
      const line = lines[k];
      if (!line) continue;
      if (line.mark !== '+') oldLength++;
      if (line.mark !== '-') newLength++;
      body += `${line.mark}${line.text}\n`;
      if (line.unterminated) body += '\\ No newline at end of file\n';
    }
    const oldStart = (oldBefore[start] ?? 0) + 1;
    const newStart = (newBefore[start] ?? 0) + 1;
    out += `@@ -${range(oldStart, oldLength)} +${range(newStart, newLength)} @@\n${body}`;
    i = j + 1;
  }
  return out;
}

const ZERO_OID = '0'.repeat(40);

/** Git's object id of a blob with these contents (so a client can match it against a repository). */
export function gitBlobId(contents: string): string {
  const data = Buffer.from(contents, 'utf8');
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
}

/**
 * One file's entry of a git-style diff: `diff --git`, the mode line of a created or deleted file,
 * the blob ids, `---`/`+++` headers and the hunks with three lines of context. `undefined` side
 * contents mean the file does not exist on that side. `''` when nothing changed.
 */
export function gitFileDiff(
  oldPath: string,
  oldContents: string | undefined,
  newPath: string,
  newContents: string | undefined,
): string {
  if (oldContents === newContents) return '';
  let out = `diff --git a/${oldPath} b/${newPath}\n`;
  if (oldContents === undefined) out += 'new file mode 100644\n';
  if (newContents === undefined) out += 'deleted file mode 100644\n';
  const oldId = oldContents === undefined ? ZERO_OID : gitBlobId(oldContents);
  const newId = newContents === undefined ? ZERO_OID : gitBlobId(newContents);
  out += `index ${oldId}..${newId}\n`;
  out += `--- ${oldContents === undefined ? '/dev/null' : `a/${oldPath}`}\n`;
  out += `+++ ${newContents === undefined ? '/dev/null' : `b/${newPath}`}\n`;
  out += diffHunks(oldContents ?? '', newContents ?? '', 3);
  return out;
}
