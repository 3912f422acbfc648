import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@tether/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_WALK_RESPONSE_BYTES } from './fs-walk.js';
import { newService, TestClient } from './test-support/harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'exec-walk-'));
const tree = join(scratch, 'tree');
const service = newService();
let client: TestClient;

beforeAll(async () => {
  // tree/{.hidden/h, B, a/{b/f3, f2}, f1, fifo, link -> a, flink -> f1, dangling -> nowhere}
  mkdirSync(join(tree, 'a/b'), { recursive: true });
  mkdirSync(join(tree, '.hidden'));
  writeFileSync(join(tree, 'f1'), 'x');
  writeFileSync(join(tree, 'a/f2'), 'yy');
  writeFileSync(join(tree, 'a/b/f3'), 'zzz');
  writeFileSync(join(tree, '.hidden/h'), 'h');
  writeFileSync(join(tree, 'B'), 'upper');
  symlinkSync(join(tree, 'a'), join(tree, 'link'));
  symlinkSync(join(tree, 'f1'), join(tree, 'flink'));
  symlinkSync(join(tree, 'nowhere'), join(tree, 'dangling'));
  execFileSync('mkfifo', [join(tree, 'fifo')]);
  client = new TestClient(service);
  await client.initialize();
});
afterAll(() => {
  client.disconnect();
  service.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

const base = { maxDepth: 10, maxDirectories: 100, maxEntries: 100, followDirectorySymlinks: false };

/** The walk as `relative/path:kind` items, and whether it was cut short. */
async function walk(options: Partial<typeof base> & { pruneHiddenDirectories?: boolean }) {
  const result = (await client.call('fs/walk', {
    path: exec.pathToFileUri(tree),
    options: { ...base, ...options },
  })) as unknown as exec.FsWalkResult;
  const prefix = `${exec.pathToFileUri(tree)}/`;
  return {
    items: result.entries.map((e) => `${e.path.slice(prefix.length)}:${e.kind[0]}`).join(' '),
    errors: result.errors,
    truncated: result.truncated,
  };
}

describe('fs/walk', () => {
  it('goes breadth-first, names sorted by byte, files and directories only, links not followed', async () => {
    expect(await walk({})).toEqual({
      items: '.hidden:d B:f a:d f1:f .hidden/h:f a/b:d a/f2:f a/b/f3:f',
      errors: [],
      truncated: false,
    });
  });

  it('follows links to directories when asked, entering each directory once', async () => {
    // link -> a is listed, but a was entered already
    expect((await walk({ followDirectorySymlinks: true })).items).toBe(
      '.hidden:d B:f a:d f1:f link:d .hidden/h:f a/b:d a/f2:f a/b/f3:f',
    );
  });

  it('stops at each limit with truncated set, and prunes hidden directories when asked', async () => {
    expect(await walk({ maxDepth: 0 })).toMatchObject({ items: '.hidden:d B:f a:d f1:f' });
    expect((await walk({ maxDepth: 1 })).items).toBe(
      '.hidden:d B:f a:d f1:f .hidden/h:f a/b:d a/f2:f',
    );
    // every entry looked at counts, the skipped fifo and links too
    expect(await walk({ maxEntries: 4 })).toMatchObject({
      items: '.hidden:d B:f a:d f1:f',
      truncated: true,
    });
    expect(await walk({ maxEntries: 8 })).toMatchObject({
      items: '.hidden:d B:f a:d f1:f .hidden/h:f',
      truncated: true,
    });
    expect(await walk({ maxDirectories: 1 })).toMatchObject({
      items: '.hidden:d B:f a:d f1:f',
      truncated: true,
    });
    expect(await walk({ maxDirectories: 4 })).toMatchObject({ truncated: false });
    expect((await walk({ pruneHiddenDirectories: true })).items).toBe(
      '.hidden:d B:f a:d f1:f a/b:d a/f2:f a/b/f3:f',
    );
  });

  it('answers bad limits and roots like the reference', async () => {
    const err = async (path: string, options: unknown) =>
      (await client.request('fs/walk', { path, options })).error;
    const root = exec.pathToFileUri(tree);
    expect(await err(root, { ...base, maxEntries: 0 })).toEqual({
      code: -32600,
      message: 'filesystem walk limits must be greater than zero',
    });
    expect(await err(root, { ...base, maxDepth: 65 })).toEqual({
      code: -32600,
      message: 'filesystem walk limits exceed maximums: depth=64, directories=10000, entries=50000',
    });
    expect(await err(exec.pathToFileUri(join(scratch, 'nope')), base)).toEqual({
      code: -32004,
      message: 'No such file or directory (os error 2)',
    });
    expect(await err(root, null)).toEqual({
      code: -32602,
      message: 'invalid type: null, expected struct WalkOptions',
    });
    // a file, or a link to a directory that is not followed: nothing to walk
    for (const path of ['f1', 'link']) {
      expect(
        await client.call('fs/walk', { path: exec.pathToFileUri(join(tree, path)), options: base }),
      ).toEqual({ entries: [], errors: [], truncated: false });
    }
  });

  it('keeps its answer under 4 MiB, truncating when the paths would not fit', async () => {
    const wide = join(scratch, 'wide');
    mkdirSync(wide);
    const name = 'n'.repeat(240);
    const count = 16_000; // at about 330 bytes an item, 4 MiB holds about 12,700
    for (let i = 0; i < count; i++) writeFileSync(join(wide, `${name}${i}`), '');
    const result = (await client.call('fs/walk', {
      path: exec.pathToFileUri(wide),
      options: { ...base, maxEntries: 50_000 },
    })) as unknown as exec.FsWalkResult;
    expect(result.truncated).toBe(true);
    expect(result.entries.length).toBeGreaterThan(10_000);
    expect(result.entries.length).toBeLessThan(count);
    const charged = result.entries.reduce((sum, e) => sum + Buffer.byteLength(e.path) + 64, 0);
    expect(charged).toBeLessThanOrEqual(MAX_WALK_RESPONSE_BYTES);
  });
});

describe('fs/readDirectory', () => {
  it('describes a symlink by its target and leaves a dangling one out', async () => {
    const result = (await client.call('fs/readDirectory', {
      path: exec.pathToFileUri(tree),
    })) as unknown as exec.FsReadDirectoryResult;
    const byName = Object.fromEntries(
      result.entries.map((e) => [e.fileName, [e.isDirectory, e.isFile]]),
    );
    expect(byName).toEqual({
      '.hidden': [true, false],
      B: [false, true],
      a: [true, false],
      f1: [false, true],
      fifo: [false, false],
      link: [true, false],
      flink: [false, true],
    });
  });
});
