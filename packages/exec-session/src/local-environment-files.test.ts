import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyVerifiedPatch, parsePatch, verifyPatch } from '@tether/agent-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalEnvironment, localEnvironment } from './local-environment.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
});

describe("the local environment's files", () => {
  it('apply a patch through the fs methods, with the reference wording for what is missing', async () => {
    const environment: LocalEnvironment = await localEnvironment();
    cleanup.push(() => environment.close());
    const dir = await mkdtemp(join(tmpdir(), 'tether-local-files-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'a.txt'), 'one\r\ntwo\r\n');
    await writeFile(join(dir, 'gone.txt'), 'bye\n');
    const patch = await verifyPatch(
      parsePatch(
        '*** Begin Patch\n*** Update File: a.txt\n*** Move to: sub/b.txt\n@@\n one\n-two\n+TWO\n*** Delete File: gone.txt\n*** End Patch',
      ),
      dir,
      environment.files,
    );
    await applyVerifiedPatch(patch, environment.files);
    expect(await readFile(join(dir, 'sub/b.txt'), 'utf8')).toBe('one\r\nTWO\r\n');
    await expect(readFile(join(dir, 'a.txt'))).rejects.toThrow(/ENOENT/);
    await expect(readFile(join(dir, 'gone.txt'))).rejects.toThrow(/ENOENT/);

    const missing = parsePatch(
      '*** Begin Patch\n*** Update File: nope.txt\n@@\n-a\n+b\n*** End Patch',
    );
    await expect(verifyPatch(missing, dir, environment.files)).rejects.toThrow(
      `Failed to read file to update ${join(dir, 'nope.txt')}: No such file or directory (os error 2)`,
    );
  });
});
