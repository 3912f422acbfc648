import { describe, expect, it } from 'vitest';
import {
  anchoredDiff,
  diffHunks,
  gitBlobId,
  gitFileDiff,
  lineDiff,
  MAX_EDIT_LENGTH,
} from './unified-diff.js';

const ten = 'one\ntwo\nthree\nfour\nfive\nsix\nseven\neight\nnine\nten\n';
const tenEdited = 'one\nTWO\nthree\nfour\nfive\nsix\nseven\nEIGHT\nnine\nten\n';

// every expected string below is what codex 0.169.0 sent for the same edit
describe('unified diffs as the reference prints them', () => {
  it('item diffs: hunks with one line of context and no headers', () => {
    expect(diffHunks(ten, tenEdited, 1)).toBe(
      '@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n@@ -7,3 +7,3 @@\n seven\n-eight\n+EIGHT\n nine\n',
    );
    expect(diffHunks('a\r\nb\r\n', 'a\r\nB\r\n', 1)).toBe('@@ -1,2 +1,2 @@\n a\r\n-b\r\n+B\r\n');
    expect(diffHunks('same\n', 'same\n', 1)).toBe('');
  });

  it('merges hunks whose context touches, as difflib groups them', () => {
    // two unchanged lines between the changes: exactly twice the context, one hunk
    expect(diffHunks('1\n2\n3\n4\n5\n6\n', '1\nX\n3\n4\nY\n6\n', 1)).toBe(
      '@@ -1,6 +1,6 @@\n 1\n-2\n+X\n 3\n 4\n-5\n+Y\n 6\n',
    );
    // three: two hunks
    expect(diffHunks('1\n2\n3\n4\n5\n6\n7\n', '1\nX\n3\n4\n5\nY\n7\n', 1)).toBe(
      '@@ -1,3 +1,3 @@\n 1\n-2\n+X\n 3\n@@ -5,3 +5,3 @@\n 5\n-6\n+Y\n 7\n',
    );
    expect(diffHunks('', 'a\nb\n', 3)).toBe('@@ -0,0 +1,2 @@\n+a\n+b\n');
    expect(diffHunks('a\n', '', 3)).toBe('@@ -1 +0,0 @@\n-a\n');
  });

  it('marks a last line without a newline', () => {
    expect(diffHunks('x\ny\nz', 'x\nY\nz\n', 1)).toBe(
      '@@ -1,3 +1,3 @@\n x\n-y\n-z\n\\ No newline at end of file\n+Y\n+z\n',
    );
    expect(diffHunks('x\ny\nz', 'x\ny\nZ\n', 1)).toBe(
      '@@ -2,2 +2,2 @@\n y\n-z\n\\ No newline at end of file\n+Z\n',
    );
  });

  it('git-style file entries with blob ids, mode lines and three lines of context', () => {
    expect(gitFileDiff('a.txt', ten, 'a.txt', tenEdited)).toBe(
      'diff --git a/a.txt b/a.txt\nindex c9e9e05f445e6b772f19fea1449759b7458a446e..c7c405153aa3bd8281edf575b1da702f6d957122\n--- a/a.txt\n+++ b/a.txt\n@@ -1,10 +1,10 @@\n one\n-two\n+TWO\n three\n four\n five\n six\n seven\n-eight\n+EIGHT\n nine\n ten\n',
    );
    expect(gitFileDiff('gone.txt', 'bye\n', 'gone.txt', undefined)).toBe(
      'diff --git a/gone.txt b/gone.txt\ndeleted file mode 100644\nindex b023018cabc396e7692c70bbf5784a93d3f738ab..0000000000000000000000000000000000000000\n--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n',
    );
    expect(gitFileDiff('new.txt', undefined, 'new.txt', 'n\n')).toBe(
      'diff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0000000000000000000000000000000000000000..8ba3a16384aacc37d01564b28401755ce8053f51\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+n\n',
    );
    expect(gitFileDiff('mv.txt', 'm1\nm2\n', 'sub/moved.txt', 'M1\nm2\n')).toBe(
      'diff --git a/mv.txt b/sub/moved.txt\nindex b5692e52ea4c05b80534a2959c7f5f31659a65b0..351d525f51a5a1c64c5cdd69b38e892c9d156345\n--- a/mv.txt\n+++ b/sub/moved.txt\n@@ -1,2 +1,2 @@\n-m1\n+M1\n m2\n',
    );
    expect(gitFileDiff('x', 'same\n', 'x', 'same\n')).toBe('');
  });

  it('blob ids are git hash-object ids', () => {
    // `printf 'hello\n' | git hash-object --stdin`
    expect(gitBlobId('hello\n')).toBe('ce013625030ba8dba906f756967f9e9ca394464a');
  });
});

/** What a line diff says each side held. */
function sides(lines: ReturnType<typeof lineDiff>): { before: string; after: string } {
  let before = '';
  let after = '';
  for (const line of lines) {
    const text = line.text + (line.unterminated ? '' : '\n');
    if (line.mark !== '+') before += text;
    if (line.mark !== '-') after += text;
  }
  return { before, after };
}

/** `count` lines of pseudo-random words from a small vocabulary (so lines repeat), seeded. */
function randomText(seed: number, count: number, vocabulary: number): string {
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state;
  };
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`w${next() % vocabulary} w${next() % vocabulary}`);
  return `${lines.join('\n')}${next() % 2 === 0 ? '\n' : ''}`;
}

describe('large line diffs', () => {
  it('two different 5 MB files are diffed in about a second, not hours', () => {
    const lines = 100_000;
    const before = Array.from({ length: lines }, (_, i) => `old line ${i} with some text`);
    const after = Array.from({ length: lines }, (_, i) => `new line ${i} with some text`);
    const a = `${before.join('\n')}\n`;
    const b = `${after.join('\n')}\n`;
    expect(a.length + b.length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    const hunks = diffHunks(a, b, 3);
    expect(hunks.startsWith(`@@ -1,${lines} +1,${lines} @@\n-old line 0 with some text\n`)).toBe(
      true,
    );
    expect(sides(lineDiff(a, b))).toEqual({ before: a, after: b });
    // the Myers diff alone took over 20 s for a tenth of this
    expect(performance.now() - started).toBeLessThan(10_000);
  }, 30_000);

  it('scattered edits past the Myers bound still come out line by line', () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => `line ${i} of the file`);
    const a = `${lines.join('\n')}\n`;
    // 2,000 edits: 4,000 edit steps, past MAX_EDIT_LENGTH
    const edited = lines.map((line, i) => (i % 25 === 5 ? `${line} (edited)` : line));
    const b = `${edited.join('\n')}\n`;
    const diff = lineDiff(a, b);
    expect(sides(diff)).toEqual({ before: a, after: b });
    expect(diff.filter((line) => line.mark === '-')).toHaveLength(2_000);
    expect(diff.filter((line) => line.mark === '+')).toHaveLength(2_000);
    expect(diffHunks(a, b, 1).split('\n')[0]).toBe('@@ -5,3 +5,3 @@');
    expect(MAX_EDIT_LENGTH).toBeLessThan(4_000);
  });

  it('the anchored diff gives back both sides, whatever the texts', () => {
    for (let seed = 1; seed <= 40; seed++) {
      // few distinct lines (no anchors), some, and many (most lines unique)
      const vocabulary = [2, 40, 5_000][seed % 3] ?? 2;
      const a = randomText(seed, 500 + seed * 37, vocabulary);
      const b = randomText(seed * 7 + 3, 400 + seed * 53, vocabulary);
      expect(sides(anchoredDiff(a, b))).toEqual({ before: a, after: b });
    }
    expect(anchoredDiff('a\nb', 'a\nb\n')).toEqual([
      { mark: ' ', text: 'a', unterminated: false },
      { mark: '-', text: 'b', unterminated: true },
      { mark: '+', text: 'b', unterminated: false },
    ]);
  });
});
