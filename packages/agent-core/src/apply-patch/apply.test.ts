import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFiles } from '../test-support/node-files.js';
import { applyVerifiedPatch, PatchApplyError, patchSummary, verifyPatch } from './apply.js';
import type { PatchFileSystem } from './files.js';
import { parsePatch } from './parser.js';
import { LineSeeker, seekSequence } from './seek.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-patch-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe('seekSequence', () => {
  it('prefers an exact match anywhere to a fuzzy one earlier', () => {
    expect(seekSequence(['foo ', 'x', 'foo'], ['foo'], 0, false)).toBe(2);
    expect(seekSequence(['foo ', 'x'], ['foo'], 0, false)).toBe(0);
  });
  it('matches an end-of-file chunk at the end only', () => {
    expect(seekSequence(['a', 'b', 'a'], ['a'], 0, true)).toBe(2);
    expect(seekSequence(['a', 'b'], ['a'], 0, true)).toBeUndefined();
  });
  it('cannot match a pattern longer than the file, and an empty one matches where it starts', () => {
    expect(seekSequence(['a'], ['a', 'b'], 0, false)).toBeUndefined();
    expect(seekSequence(['a'], [], 1, false)).toBe(1);
  });

  it('finds what a line-by-line scan of each pass finds', () => {
    // the scan the reference does: pass by pass, every start position, every line compared
    const passes = [
      (line: string) => line,
      (line: string) => line.trimEnd(),
      (line: string) => line.trim(),
      (line: string) => line.trim().replace(/\u2013/g, '-'),
    ];
    const naive = (lines: string[], pattern: string[], start: number, eof: boolean) => {
      if (pattern.length === 0) return start;
      if (pattern.length > lines.length) return undefined;
      const last = lines.length - pattern.length;
      for (const normalize of passes) {
        for (let at = eof ? last : start; at <= last; at++) {
          if (pattern.every((line, i) => normalize(lines[at + i] ?? '') === normalize(line))) {
            return at;
          }
        }
      }
      return undefined;
    };
    const line = fc.constantFrom('a', 'a ', ' a', 'b', 'b\u2013', 'b-', '');
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 30 }),
        fc.array(line, { maxLength: 5 }),
        fc.nat({ max: 32 }),
        fc.boolean(),
        (lines, pattern, start, eof) => {
          const seeker = new LineSeeker(lines);
          expect(seeker.seek(pattern, start, eof)).toBe(naive(lines, pattern, start, eof));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('stays linear on a file of repeated lines (a line-by-line scan took over 30 s here)', () => {
    const lines = Array.from({ length: 50_000 }, () => 'x');
    const pattern = [...Array.from({ length: 5_000 }, () => 'x'), 'y'];
    const started = performance.now();
    expect(seekSequence(lines, pattern, 0, false)).toBeUndefined();
    expect(seekSequence([...lines, 'y '], pattern, 0, false)).toBe(45_000);
    expect(performance.now() - started).toBeLessThan(5_000);
  }, 20_000);
});

describe('applying a verified patch', () => {
  it('puts back what it wrote when a later write fails', async () => {
    const dir = await workspace({ 'a.txt': 'one\n', 'b.txt': 'two\n', 'gone.txt': 'bye\n' });
    const patch = await verifyPatch(
      parsePatch(
        '*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+ONE\n*** Delete File: gone.txt\n*** Add File: new.txt\n+n\n*** Update File: b.txt\n@@\n-two\n+TWO\n*** End Patch',
      ),
      dir,
      nodeFiles,
    );
    const failing: PatchFileSystem = {
      ...nodeFiles,
      writeFile: async (path, data) => {
        if (path.endsWith('b.txt') && data.toString() === 'TWO\n') {
          throw new Error('No space left on device (os error 28)');
        }
        await nodeFiles.writeFile(path, data);
      },
    };
    const error = await applyVerifiedPatch(patch, failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PatchApplyError);
    expect((error as Error).message).toBe(`Failed to write file ${join(dir, 'b.txt')}`);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('one\n');
    expect(await readFile(join(dir, 'gone.txt'), 'utf8')).toBe('bye\n');
    await expect(readFile(join(dir, 'new.txt'))).rejects.toThrow(/ENOENT/);
  });

  it("tells the model what changed, as the reference's apply_patch prints it", async () => {
    const dir = await workspace({ 'a.txt': 'a\n', 'm.txt': 'm\n', 'd.txt': 'd\n' });
    const patch = await verifyPatch(
      parsePatch(
        '*** Begin Patch\n*** Delete File: d.txt\n*** Update File: m.txt\n*** Move to: sub/n.txt\n@@\n-m\n+n\n*** Update File: a.txt\n@@\n-a\n+b\n*** Add File: /tmp/abs-never-written.txt\n+x\n*** End Patch',
      ),
      dir,
      nodeFiles,
    );
    expect(patchSummary(patch)).toBe(
      'Success. Updated the following files:\nA /tmp/abs-never-written.txt\nM sub/n.txt\nM a.txt\nD d.txt\n',
    );
  });
});
