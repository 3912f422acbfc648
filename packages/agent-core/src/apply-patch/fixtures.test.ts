import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFiles } from '../test-support/node-files.js';
import { applyVerifiedPatch, verifyPatch } from './apply.js';
import { parsePatch } from './parser.js';

/**
 * The fixture corpus: each directory holds `patch.txt`, the files before (`input/`) and either
 * the files after (`expected/`) or the error the model is told (`error.txt`, `{dir}` standing for
 * the directory the patch ran in), in which case the files must be exactly as before. The
 * expected trees were checked against codex 0.169.0's own apply_patch.
 */
const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;

async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out[relative(root, path)] = await readFile(path, 'latin1');
    }
  };
  await walk(root);
  return out;
}

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

const names = (await readdir(FIXTURES, { withFileTypes: true }))
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

describe('the apply_patch fixture corpus', () => {
  it('has the cases it promises', () => {
    expect(names.length).toBeGreaterThanOrEqual(20);
  });

  it.each(names)('%s', async (name) => {
    const fixture = join(FIXTURES, name);
    const dir = await mkdtemp(join(tmpdir(), 'tether-patch-'));
    dirs.push(dir);
    await cp(join(fixture, 'input'), dir, { recursive: true }).catch(() => undefined);
    const before = await tree(dir);
    const patchText = await readFile(join(fixture, 'patch.txt'), 'utf8');
    const expectedError = await readFile(join(fixture, 'error.txt'), 'utf8').catch(() => undefined);
    const run = async () => {
      const verified = await verifyPatch(parsePatch(patchText), dir, nodeFiles);
      await applyVerifiedPatch(verified, nodeFiles);
    };
    if (expectedError !== undefined) {
      const error: unknown = await run().then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(Error);
      expect(error instanceof Error ? error.message : '').toBe(
        expectedError.replaceAll('{dir}', dir),
      );
      // all or nothing: a hunk that fails leaves every file as it was
      expect(await tree(dir)).toEqual(before);
      return;
    }
    await run();
    expect(await tree(dir)).toEqual(await tree(join(fixture, 'expected')));
  });
});
