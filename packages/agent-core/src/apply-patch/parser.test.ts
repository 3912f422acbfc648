import { describe, expect, it } from 'vitest';
import { PatchParseError, parsePatch } from './parser.js';

const wrap = (body: string) => `*** Begin Patch\n${body}\n*** End Patch`;
const message = (text: string) => {
  try {
    parsePatch(text);
  } catch (error) {
    if (error instanceof PatchParseError) return error.message;
    throw error;
  }
  throw new Error('parsed');
};

describe('parsePatch', () => {
  it('reads the three operations, a move and chunks with and without context', () => {
    const { hunks } = parsePatch(
      wrap(
        '*** Add File: a.py\n+x\n+\n*** Delete File: b.py\n*** Update File: c.py\n*** Move to: d.py\n@@ def f():\n-    pass\n+    return 1\n@@\n keep\n+more\n*** End of File',
      ),
    );
    expect(hunks).toEqual([
      { kind: 'add', path: 'a.py', contents: 'x\n\n' },
      { kind: 'delete', path: 'b.py' },
      {
        kind: 'update',
        path: 'c.py',
        movePath: 'd.py',
        chunks: [
          {
            context: 'def f():',
            oldLines: ['    pass'],
            newLines: ['    return 1'],
            endOfFile: false,
          },
          { context: undefined, oldLines: ['keep'], newLines: ['keep', 'more'], endOfFile: true },
        ],
      },
    ]);
  });

  it('is as lenient as the reference', () => {
    // the first chunk without @@; a bare empty line is an empty context line; CRLF patch text
    expect(parsePatch(wrap('*** Update File: f\n import x\n\n+y')).hunks).toEqual([
      {
        kind: 'update',
        path: 'f',
        movePath: undefined,
        chunks: [
          {
            context: undefined,
            oldLines: ['import x', ''],
            newLines: ['import x', '', 'y'],
            endOfFile: false,
          },
        ],
      },
    ]);
    expect(
      parsePatch('*** Begin Patch\r\n*** Add File: f\r\n+x\r\n*** End Patch\r\n').hunks,
    ).toEqual([{ kind: 'add', path: 'f', contents: 'x\n' }]);
    expect(
      parsePatch('<<"EOF"\n*** Begin Patch\n*** Delete File: f\n*** End Patch\nEOF').text,
    ).toBe('*** Begin Patch\n*** Delete File: f\n*** End Patch');
    expect(parsePatch('*** Begin Patch\n*** End Patch').hunks).toEqual([]);
  });

  it("says what is wrong in the reference's words", () => {
    expect(message('bad')).toBe(
      "invalid patch: The first line of the patch must be '*** Begin Patch'",
    );
    expect(message('*** Begin Patch\nbad')).toBe(
      "invalid patch: The last line of the patch must be '*** End Patch'",
    );
    expect(message(wrap('*** Update File: t.py'))).toBe(
      "invalid hunk at line 2, Update file hunk for path 't.py' is empty",
    );
    expect(message(wrap('*** Update File: t.py\n@@\n-a\nbad'))).toBe(
      "invalid hunk at line 5, Expected update hunk to start with a @@ context marker, got: 'bad'",
    );
    expect(message(wrap('*** Add File: a\n+x\nbad'))).toBe(
      "invalid hunk at line 4, 'bad' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'",
    );
    expect(message(wrap('*** Update File: t.py\n@@\n-a\n@@ x\nbad'))).toBe(
      "invalid hunk at line 6, Unexpected line found in update hunk: 'bad'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)",
    );
    expect(message(wrap('*** Update File: t.py\n@@\n*** End of File'))).toBe(
      'invalid hunk at line 4, Update hunk does not contain any lines',
    );
  });
});
