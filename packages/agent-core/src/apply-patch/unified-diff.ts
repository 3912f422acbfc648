import { createHash } from 'node:crypto';
import { structuredPatch } from 'diff';

/**
 * Unified diffs as the reference prints them (its diff library's format): hunk ranges omit a
 * length of 1 (`@@ -3 +3 @@`) and start one line earlier for an empty side (`@@ -0,0 +1 @@`), and
 * a line without a final newline is followed by `\ No newline at end of file`.
 */

function range(start: number, length: number): string {
  if (length === 1) return `${start}`;
  // an empty side names the line before the hunk (0 for the start of the file)
  return `${length === 0 ? Math.max(0, start - 1) : start},${length}`;
}

/**
 * The hunks turning `before` into `after` with `context` lines around each change, without file
 * headers; `''` when they are equal.
 */
export function diffHunks(before: string, after: string, context: number): string {
  if (before === after) return '';
  const patch = structuredPatch('', '', before, after, undefined, undefined, { context });
  let out = '';
  for (const hunk of patch.hunks) {
    out += `@@ -${range(hunk.oldStart, hunk.oldLines)} +${range(hunk.newStart, hunk.newLines)} @@\n`;
    for (const line of hunk.lines) out += `${line}\n`;
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
