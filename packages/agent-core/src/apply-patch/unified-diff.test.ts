import { describe, expect, it } from 'vitest';
import { diffHunks, gitBlobId, gitFileDiff } from './unified-diff.js';

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
