import { createHash } from 'node:crypto';
import { type ChangeObject, diffLines } from 'diff';

/**
 * Unified diffs as the reference prints them (its diff library's format): hunk ranges omit a
 * length of 1 (`@@ -3 +3 @@`) and start one line earlier for an empty side (`@@ -0,0 +1 @@`), and
 * a line without a final newline is followed by `\ No newline at end of file`. The line diff is
 * the `diff` library's; the same pair of texts is diffed once for every context size asked (a
 * patch's item shows one line of context, the turn diff three, and for a turn's first patch the
 * texts are the same).
 */

function range(start: number, length: number): string {
  if (length === 1) return `${start}`;
  // an empty side names the line before the hunk (0 for the start of the file)
  return `${length === 0 ? start - 1 : start},${length}`;
}

/** One line of a line diff: kept (` `), removed (`-`) or added (`+`). */
interface DiffLine {
  mark: ' ' | '-' | '+';
  text: string;
  /** The line ends its file without a newline. */
  unterminated: boolean;
}

let last: { before: string; after: string; lines: DiffLine[] } | undefined;

function diffLinesOf(before: string, after: string): DiffLine[] {
  if (last && last.before === before && last.after === after) return last.lines;
  const lines: DiffLine[] = [];
  for (const change of diffLines(before, after) as ChangeObject<string>[]) {
    const mark = change.added ? '+' : change.removed ? '-' : ' ';
    const parts = change.value.split('\n');
    const open = parts.pop();
    for (const text of parts) lines.push({ mark, text, unterminated: false });
    if (open !== undefined && open !== '') lines.push({ mark, text: open, unterminated: true });
  }
  last = { before, after, lines };
  return lines;
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
