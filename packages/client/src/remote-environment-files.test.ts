import {
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  realpath,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyVerifiedPatch, parsePatch, sandboxContextFor, verifyPatch } from '@tether/agent-core';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteEnvironment } from './remote-environment.js';
import { startTestExecServer } from './test-support/exec-server.js';

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe("a remote environment's files", () => {
  it('apply a patch on the exec-server through its fs methods', async () => {
    const server = await startTestExecServer();
    cleanup.push(() => server.close());
    const environment = await remoteEnvironment(server.url);
    cleanup.push(() => environment.close());
    const files = environment.files;
    if (!files) throw new Error('a remote environment edits files');
    const dir = await mkdtemp(join(tmpdir(), 'tether-remote-files-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'a.txt'), 'one\ntwo\n');
    const patch = await verifyPatch(
      parsePatch(
        '*** Begin Patch\n*** Update File: a.txt\n@@\n-two\n+TWO\n*** Add File: new/n.txt\n+n\n*** End Patch',
      ),
      dir,
      files,
    );
    await applyVerifiedPatch(patch, files);
    expect(await readFile(join(dir, 'a.txt'), 'utf8')).toBe('one\nTWO\n');
    expect(await readFile(join(dir, 'new/n.txt'), 'utf8')).toBe('n\n');
    const missing = parsePatch('*** Begin Patch\n*** Delete File: nope.txt\n*** End Patch');
    await expect(verifyPatch(missing, dir, files)).rejects.toThrow(
      `Failed to read ${join(dir, 'nope.txt')}: No such file or directory (os error 2)`,
    );
  });

  it('resolve symlinks on the server, and carry the sandbox context so the server refuses a write a link leads out', async () => {
    const server = await startTestExecServer();
    cleanup.push(() => server.close());
    const environment = await remoteEnvironment(server.url);
    cleanup.push(() => environment.close());
    const files = environment.files;
    if (!files) throw new Error('a remote environment edits files');
    const cwd = await mkdtemp(join(tmpdir(), 'tether-remote-links-'));
    cleanup.push(() => rm(cwd, { recursive: true, force: true }));
    const outside = await mkdtemp(join(tmpdir(), 'tether-remote-outside-'));
    cleanup.push(() => rm(outside, { recursive: true, force: true }));
    await symlink(outside, join(cwd, 'out'));
    await mkdir(join(cwd, 'sub'));

    expect(await files.resolvePath(join(cwd, 'out/new/x.txt'))).toBe(
      join(await realpath(outside), 'new/x.txt'),
    );
    expect(await files.resolvePath(join(cwd, 'sub/../sub/y.txt'))).toBe(
      join(await realpath(cwd), 'sub/y.txt'),
    );
    expect(await files.getMetadata(join(cwd, 'out'))).toEqual({ isFile: false, isDirectory: true });
    await expect(files.getMetadata(join(cwd, 'nope'))).rejects.toThrow(
      'No such file or directory (os error 2)',
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
      files.writeFile(join(cwd, 'out/x.txt'), Buffer.from('x'), { sandbox }),
    ).rejects.toThrow('Read-only file system (os error 30)');
    await expect(files.removeFile(join(cwd, 'out'), { sandbox })).resolves.toBeUndefined();
    expect(await readdir(outside)).toEqual([]);
    await files.writeFile(join(cwd, 'sub/in.txt'), Buffer.from('in'), { sandbox });
    expect(await readFile(join(cwd, 'sub/in.txt'), 'utf8')).toBe('in');
  });
});
