import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  truncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@tether/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_ENCODABLE_READ_FILE_BYTES,
  MAX_READ_FILE_BYTES,
  readBoundedFile,
} from './fs-methods.js';
import { newService, TestClient } from './test-support/harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'exec-fs-'));
const uri = (path: string) => exec.pathToFileUri(join(scratch, path));
const service = newService();
afterAll(() => {
  service.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

describe('fs methods', () => {
  it('behaves like the reference, error mapping included', async () => {
    const client = new TestClient(service);
    await client.initialize();
    const ok = async (method: string, params: unknown) =>
      (await client.request(method, params)).result;
    const err = async (method: string, params: unknown) =>
      (await client.request(method, params)).error;
    const enoent = { code: -32004, message: 'No such file or directory (os error 2)' };

    expect(await ok('fs/createDirectory', { path: uri('sub/deep') })).toEqual({});
    expect(await ok('fs/createDirectory', { path: uri('sub') })).toEqual({});
    expect(await err('fs/createDirectory', { path: uri('nope/deep'), recursive: false })).toEqual(
      enoent,
    );
    expect(await ok('fs/writeFile', { path: uri('sub/a.txt'), dataBase64: 'aGVsbG8K' })).toEqual(
      {},
    );
    expect(
      await ok('fs/writeFile', { path: uri('sub/a.txt'), dataBase64: 'b3ZlcndyaXR0ZW4K' }),
    ).toEqual({});
    expect(
      await err('fs/writeFile', { path: uri('sub/bad.txt'), dataBase64: '!!not base64' }),
    ).toEqual({
      code: -32600,
      message: 'fs/writeFile requires valid base64 dataBase64: Invalid symbol 33, offset 0.',
    });
    expect(
      await err('fs/writeFile', { path: uri('missing-dir/x.txt'), dataBase64: 'eA==' }),
    ).toEqual(enoent);
    expect(await ok('fs/readFile', { path: uri('sub/a.txt') })).toEqual({
      dataBase64: 'b3ZlcndyaXR0ZW4K',
    });
    expect(await err('fs/readFile', { path: uri('missing.txt') })).toEqual(enoent);
    expect(await err('fs/readFile', { path: uri('sub') })).toEqual({
      code: -32600,
      message: `path \`${join(scratch, 'sub')}\` is not a file`,
    });
    expect(await err('fs/readFile', { path: 'relative/path.txt' })).toEqual({
      code: -32602,
      message: 'invalid URI: relative URL without a base',
    });
    expect(await ok('fs/getMetadata', { path: uri('sub/a.txt') })).toMatchObject({
      isDirectory: false,
      isFile: true,
      isSymlink: false,
      size: 12,
      createdAtMs: 0,
    });
    symlinkSync(join(scratch, 'sub/a.txt'), join(scratch, 'link'));
    expect(await ok('fs/getMetadata', { path: uri('link') })).toMatchObject({
      isFile: true,
      isSymlink: true,
    });
    expect(await err('fs/getMetadata', { path: uri('missing') })).toEqual(enoent);
    const listing = (await ok('fs/readDirectory', { path: uri('sub') })) as {
      entries: { fileName: string }[];
    };
    expect(listing.entries.map((e) => e.fileName).sort()).toEqual(['a.txt', 'deep']);
    expect(await err('fs/readDirectory', { path: uri('sub/a.txt') })).toEqual({
      code: -32603,
      message: 'Not a directory (os error 20)',
    });
    expect(await err('fs/readDirectory', { path: uri('missing') })).toEqual(enoent);
    expect(
      await ok('fs/copy', {
        sourcePath: uri('sub/a.txt'),
        destinationPath: uri('b.txt'),
        recursive: false,
      }),
    ).toEqual({});
    expect(
      await err('fs/copy', {
        sourcePath: uri('sub'),
        destinationPath: uri('subcopy'),
        recursive: false,
      }),
    ).toEqual({
      code: -32600,
      message: 'fs/copy requires recursive: true when sourcePath is a directory',
    });
    expect(
      await ok('fs/copy', {
        sourcePath: uri('sub'),
        destinationPath: uri('subcopy'),
        recursive: true,
      }),
    ).toEqual({});
    expect(
      await err('fs/copy', {
        sourcePath: uri('missing'),
        destinationPath: uri('c.txt'),
        recursive: false,
      }),
    ).toEqual(enoent);
    expect(await err('fs/remove', { path: uri('sub'), recursive: false })).toEqual({
      code: -32603,
      message: 'Directory not empty (os error 39)',
    });
    expect(await err('fs/remove', { path: uri('missing'), force: false })).toEqual(enoent);
    expect(await ok('fs/remove', { path: uri('missing') })).toEqual({});
    expect(await ok('fs/remove', { path: uri('subcopy') })).toEqual({});
    expect(await ok('fs/canonicalize', { path: `${uri('sub')}/../b.txt` })).toEqual({
      path: uri('b.txt'),
    });
    expect(await err('fs/canonicalize', { path: uri('missing') })).toEqual(enoent);
  });
});

describe('fs bounds', () => {
  it('refuses a file over 512 MiB before reading it, with the reference error', async () => {
    const client = new TestClient(service);
    await client.initialize();
    const path = join(scratch, 'sparse-over-limit');
    closeSync(openSync(path, 'w'));
    truncateSync(path, MAX_READ_FILE_BYTES + 1); // sparse: no disk, and nothing to read
    const before = process.memoryUsage().rss;
    const started = performance.now();
    expect((await client.request('fs/readFile', { path: uri('sparse-over-limit') })).error).toEqual(
      { code: -32600, message: 'file is too large to read: limit is 536870912 bytes' },
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('refuses a file too large for one response, naming the block methods', async () => {
    const client = new TestClient(service);
    await client.initialize();
    closeSync(openSync(join(scratch, 'sparse-unencodable'), 'w'));
    truncateSync(join(scratch, 'sparse-unencodable'), MAX_ENCODABLE_READ_FILE_BYTES + 1);
    const error = (await client.request('fs/readFile', { path: uri('sparse-unencodable') })).error;
    expect(error?.code).toBe(-32603);
    expect(error?.message).toBe(
      'file is too large to return in one response: limit is 402653184 bytes; read it in blocks with fs/open and fs/readBlock',
    );
  });

  it('bounds a read by what it reads, not what stat says (procfs files report size 0)', async () => {
    const status = await readBoundedFile('/proc/self/status', 1 << 20, () => new Error('big'));
    expect(status.toString()).toContain('Name:');
    await expect(readBoundedFile('/proc/self/status', 16, () => new Error('big'))).rejects.toThrow(
      'big',
    );
    const client = new TestClient(service);
    await client.initialize();
    const result = (await client.request('fs/readFile', { path: 'file:///proc/self/status' }))
      .result as { dataBase64: string };
    expect(Buffer.from(result.dataBase64, 'base64').toString()).toContain('Name:');
  });

  it('answers a directory of 50,000 entries and refuses one of 50,001 as the reference does', async () => {
    const client = new TestClient(service);
    await client.initialize();
    const dir = join(scratch, 'many');
    mkdirSync(dir);
    for (let i = 0; i < 50_000; i += 1) closeSync(openSync(join(dir, `f${i}`), 'w'));
    const full = (await client.request('fs/readDirectory', { path: uri('many') })).result as {
      entries: unknown[];
    };
    expect(full.entries).toHaveLength(50_000);
    closeSync(openSync(join(dir, 'one-more'), 'w'));
    expect((await client.request('fs/readDirectory', { path: uri('many') })).error).toEqual({
      code: -32603,
      message: 'fs/readDirectory returned 50001 entries; limit is 50000',
    });
  }, 60_000);
});
