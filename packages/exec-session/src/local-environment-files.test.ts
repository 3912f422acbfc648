import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyVerifiedPatch, parsePatch, sandboxContextFor, verifyPatch } from '@tether/agent-core';
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

describe("the local environment's writes", () => {
  async function setup() {
    const environment: LocalEnvironment = await localEnvironment();
    cleanup.push(() => environment.close());
    const dir = await mkdtemp(join(tmpdir(), 'tether-local-writes-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return { environment, dir };
  }

  it('replace a file whole: a reader never sees it half-written, and the mode bits stay', async () => {
    const { environment, dir } = await setup();
    const path = join(dir, 'big.txt');
    const size = 48 * 1024 * 1024;
    await writeFile(path, Buffer.alloc(size, 'a'));
    await chmod(path, 0o754);
    const before = await stat(path);
    let done = false;
    const sizes = new Set<number>();
    const watch = (async () => {
      while (!done) {
        sizes.add((await stat(path)).size);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await environment.files.writeFile(path, Buffer.alloc(size, 'b'));
    done = true;
    await watch;
    // a write in place truncates first: the watcher then sees 0 or a part of the file
    expect([...sizes]).toEqual([size]);
    const after = await stat(path);
    expect(after.mode & 0o7777).toBe(0o754);
    expect(after.ino).not.toBe(before.ino);
    expect((await readFile(path)).equals(Buffer.alloc(size, 'b'))).toBe(true);
    // no temporary file is left beside it
    expect(await readdir(dir)).toEqual(['big.txt']);
  });

  it('write through a symlink to its target, and keep the link', async () => {
    const { environment, dir } = await setup();
    await mkdir(join(dir, 'real'));
    await writeFile(join(dir, 'real/t.txt'), 'old\n');
    await symlink(join(dir, 'real/t.txt'), join(dir, 'link.txt'));
    await environment.files.writeFile(join(dir, 'link.txt'), Buffer.from('new\n'));
    expect((await lstat(join(dir, 'link.txt'))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, 'real/t.txt'), 'utf8')).toBe('new\n');
    expect((await readdir(join(dir, 'real'))).sort()).toEqual(['t.txt']);
  });

  it('refuse, under a sandbox context, a write that a symlink leads out of the writable roots', async () => {
    const { environment, dir } = await setup();
    const outside = await mkdtemp(join(tmpdir(), 'tether-local-outside-'));
    cleanup.push(() => rm(outside, { recursive: true, force: true }));
    const cwd = join(dir, 'w');
    await mkdir(cwd);
    await symlink(outside, join(cwd, 'out'));
    expect(await environment.files.resolvePath(join(cwd, 'out/new/x.txt'))).toBe(
      join(await realpath(outside), 'new/x.txt'),
    );
    const sandbox = sandboxContextFor(
      {
        type: 'workspaceWrite',
        writableRoots: [],
        networkAccess: false,
        excludeTmpdirEnvVar: true,
        excludeSlashTmp: true,
      },
      cwd,
    );
    await expect(
      environment.files.writeFile(join(cwd, 'out/x.txt'), Buffer.from('x'), { sandbox }),
    ).rejects.toThrow('Read-only file system (os error 30)');
    await expect(
      environment.files.createDirectory(join(cwd, 'out/sub'), { sandbox }),
    ).rejects.toThrow('Read-only file system (os error 30)');
    expect(await readdir(outside)).toEqual([]);
    // inside the root, the same context lets it through
    await environment.files.writeFile(join(cwd, 'in.txt'), Buffer.from('in'), { sandbox });
    expect(await readFile(join(cwd, 'in.txt'), 'utf8')).toBe('in');
    expect(await environment.files.getMetadata(join(cwd, 'out'))).toEqual({
      isFile: false,
      isDirectory: true,
    });
  });
});
