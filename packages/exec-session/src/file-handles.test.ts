import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@tether/protocol';
import { sleep, waitFor } from '@tether/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_OPEN_FILE_HANDLES } from './file-handles.js';
import { newService, TestClient } from './test-support/harness.js';

const scratch = mkdtempSync(join(tmpdir(), 'exec-handles-'));
const uri = (path: string) => exec.pathToFileUri(join(scratch, path));
const service = newService();
afterAll(() => {
  service.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

async function connected(): Promise<TestClient> {
  const client = new TestClient(service);
  await client.initialize();
  return client;
}

/** Descriptors of this process open on `path` (the server runs in this process). */
function descriptorsOn(path: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(path)) count += 1;
    } catch {
      // closed while listing
    }
  }
  return count;
}

const block = (result: unknown) => {
  const { chunk, eof } = result as { chunk: string; eof: boolean };
  return { text: Buffer.from(chunk, 'base64').toString(), eof };
};

describe('fs/open, fs/readBlock, fs/close', () => {
  it('reads blocks at any offset; eof says fewer bytes than asked were left', async () => {
    writeFileSync(join(scratch, 'a.txt'), 'hello world, this is a file\n'); // 28 bytes
    const client = await connected();
    expect((await client.request('fs/open', { handleId: 'h', path: uri('a.txt') })).result).toEqual(
      { handleId: 'h' },
    );
    const read = async (offset: number, len: number) =>
      block((await client.request('fs/readBlock', { handleId: 'h', offset, len })).result);
    expect(await read(0, 5)).toEqual({ text: 'hello', eof: false });
    expect(await read(6, 5)).toEqual({ text: 'world', eof: false });
    // exactly what is left: not eof yet (the reference's rule), one more byte: eof
    expect(await read(0, 28)).toEqual({ text: 'hello world, this is a file\n', eof: false });
    expect(await read(0, 29)).toEqual({ text: 'hello world, this is a file\n', eof: true });
    expect(await read(1000, 10)).toEqual({ text: '', eof: true });
    // the handle stays open at end of file, and reads the open file even once it is unlinked
    unlinkSync(join(scratch, 'a.txt'));
    expect(await read(13, 4)).toEqual({ text: 'this', eof: false });
    expect((await client.request('fs/close', { handleId: 'h' })).result).toEqual({});
    expect(
      (await client.request('fs/readBlock', { handleId: 'h', offset: 0, len: 1 })).error,
    ).toEqual({ code: -32004, message: 'unknown file handle `h`' });
    // closing again, or closing what never was, is fine
    expect((await client.request('fs/close', { handleId: 'h' })).result).toEqual({});
    expect((await client.request('fs/close', { handleId: 'never' })).result).toEqual({});
    client.disconnect();
  });

  it('answers bad input with the reference errors', async () => {
    writeFileSync(join(scratch, 'b.txt'), 'b');
    mkdirSync(join(scratch, 'dir'), { recursive: true });
    const client = await connected();
    const err = async (method: string, params: unknown) =>
      (await client.request(method, params)).error;
    const ok = async (method: string, params: unknown) =>
      (await client.request(method, params)).result;
    expect(await ok('fs/open', { handleId: 'b', path: uri('b.txt') })).toEqual({ handleId: 'b' });
    expect(await err('fs/open', { handleId: 'b', path: uri('b.txt') })).toEqual({
      code: -32600,
      message: 'file handle `b` already exists',
    });
    // 32 bytes of UTF-8 at most: 16 two-byte characters fit, 17 do not
    expect(await ok('fs/open', { handleId: 'é'.repeat(16), path: uri('b.txt') })).toEqual({
      handleId: 'é'.repeat(16),
    });
    expect(await err('fs/open', { handleId: 'é'.repeat(17), path: uri('b.txt') })).toEqual({
      code: -32600,
      message: 'file handle ID must not exceed 32 bytes',
    });
    expect(await ok('fs/open', { handleId: '', path: uri('b.txt') })).toEqual({ handleId: '' });
    expect(await err('fs/open', { handleId: 'd', path: uri('dir') })).toEqual({
      code: -32600,
      message: `path \`${join(scratch, 'dir')}\` is not a file`,
    });
    expect(await err('fs/open', { handleId: 'z', path: 'file:///dev/zero' })).toEqual({
      code: -32600,
      message: 'path `/dev/zero` is not a file',
    });
    expect(await err('fs/open', { handleId: 'm', path: uri('missing') })).toEqual({
      code: -32004,
      message: 'No such file or directory (os error 2)',
    });
    expect(await err('fs/open', { handleId: 'n', path: uri('b.txt/x') })).toEqual({
      code: -32603,
      message: 'Not a directory (os error 20)',
    });
    expect(await err('fs/open', { handleId: 'r', path: 'b.txt' })).toEqual({
      code: -32602,
      message: 'invalid URI: relative URL without a base',
    });
    expect(await err('fs/open', { path: uri('b.txt') })).toEqual({
      code: -32602,
      message: 'missing field `handleId`',
    });
    expect(await err('fs/readBlock', null)).toEqual({
      code: -32602,
      message: 'invalid type: null, expected struct FsReadBlockParams',
    });
    const tooLong = {
      code: -32600,
      message: 'file read block length must be between 1 and 1048576',
    };
    expect(await err('fs/readBlock', { handleId: 'b', offset: 0, len: 0 })).toEqual(tooLong);
    expect(await err('fs/readBlock', { handleId: 'b', offset: 0, len: 1048577 })).toEqual(tooLong);
    // the length is checked before the handle
    expect(await err('fs/readBlock', { handleId: 'none', offset: 0, len: 0 })).toEqual(tooLong);
    expect(block(await ok('fs/readBlock', { handleId: 'b', offset: 0, len: 1048576 }))).toEqual({
      text: 'b',
      eof: true,
    });
    client.disconnect();
  });

  it('needs the handshake, as the other filesystem methods do', async () => {
    const client = new TestClient(service);
    expect((await client.request('fs/open', { handleId: 'x', path: uri('b.txt') })).error).toEqual({
      code: -32600,
      message: 'client must call initialize before using filesystem methods',
    });
    client.disconnect();
  });

  it('does not hang on a FIFO: it is not a regular file', async () => {
    const fifo = join(scratch, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const client = await connected();
    expect((await client.request('fs/open', { handleId: 'f', path: uri('fifo') })).error).toEqual({
      code: -32600,
      message: `path \`${fifo}\` is not a file`,
    });
    client.disconnect();
  });

  it('runs calls naming one handle in the order they came: open, read and close back to back', async () => {
    writeFileSync(join(scratch, 'piped.txt'), 'pipelined');
    const client = await connected();
    const [opened, read, closed, after] = await Promise.all([
      client.request('fs/open', { handleId: 'p', path: uri('piped.txt') }),
      client.request('fs/readBlock', { handleId: 'p', offset: 0, len: 9 }),
      client.request('fs/close', { handleId: 'p' }),
      client.request('fs/readBlock', { handleId: 'p', offset: 0, len: 9 }),
    ]);
    expect(opened.result).toEqual({ handleId: 'p' });
    expect(block(read.result)).toEqual({ text: 'pipelined', eof: false });
    expect(closed.result).toEqual({});
    expect(after.error).toEqual({ code: -32004, message: 'unknown file handle `p`' });
    const path = join(scratch, 'piped.txt');
    await waitFor(() => descriptorsOn(path) === 0);
    client.disconnect();
  });

  it(`holds at most ${MAX_OPEN_FILE_HANDLES} handles per connection, opens in flight included`, async () => {
    writeFileSync(join(scratch, 'many.txt'), 'm');
    const client = await connected();
    // all at once: the slots are taken before the files finish opening
    const replies = await Promise.all(
      Array.from({ length: MAX_OPEN_FILE_HANDLES + 5 }, (_, i) =>
        client.request('fs/open', { handleId: `n${i}`, path: uri('many.txt') }),
      ),
    );
    expect(replies.filter((r) => r.result).length).toBe(MAX_OPEN_FILE_HANDLES);
    expect(replies.filter((r) => r.error).map((r) => r.error)).toEqual(
      Array(5).fill({
        code: -32600,
        message: `at most ${MAX_OPEN_FILE_HANDLES} file handles may be open per connection`,
      }),
    );
    // another connection has its own handles
    const other = await connected();
    expect(
      (await other.request('fs/open', { handleId: 'n0', path: uri('many.txt') })).result,
    ).toEqual({ handleId: 'n0' });
    other.disconnect();
    // closing one frees a slot
    await client.request('fs/close', { handleId: 'n0' });
    expect(
      (await client.request('fs/open', { handleId: 'again', path: uri('many.txt') })).result,
    ).toEqual({ handleId: 'again' });
    client.disconnect();
  });

  it('closes every descriptor with the connection; a resumed session starts with none', async () => {
    // Node closes a forgotten FileHandle when it is garbage collected, with this warning. A leak
    // fails either way: if a collection runs, the warning is recorded; if none does, the
    // descriptors stay open and the count below never reaches 0
    const collected: string[] = [];
    const onWarning = (warning: Error) => {
      if (/garbage collection/.test(warning.message)) collected.push(warning.message);
    };
    process.on('warning', onWarning);
    writeFileSync(join(scratch, 'owned.txt'), 'owned');
    const path = join(scratch, 'owned.txt');
    const client = await connected();
    const sessionId = client.connection.sessionId as string;
    for (let i = 0; i < 10; i++) {
      await client.call('fs/open', { handleId: `o${i}`, path: uri('owned.txt') });
    }
    expect(descriptorsOn(path)).toBe(10);
    client.disconnect();
    const deadline = Date.now() + 10_000;
    while (descriptorsOn(path) > 0 && Date.now() < deadline) {
      await sleep(20);
    }
    expect(descriptorsOn(path)).toBe(0);
    const resumed = new TestClient(service);
    await resumed.initialize(sessionId);
    expect(
      (await resumed.request('fs/readBlock', { handleId: 'o1', offset: 0, len: 5 })).error,
    ).toEqual({ code: -32004, message: 'unknown file handle `o1`' });
    resumed.disconnect();
    process.off('warning', onWarning);
    expect(collected).toEqual([]);
  });

  it('replace mode creates or truncates at open and writes blocks at any offset', async () => {
    const existing = join(scratch, 'existing.txt');
    writeFileSync(existing, 'old content here');
    chmodSync(existing, 0o640);
    const client = await connected();
    const err = async (method: string, params: unknown) =>
      (await client.request(method, params)).error;
    const write = (handleId: string, offset: number, text: string) =>
      client.request('fs/writeBlock', {
        handleId,
        offset,
        chunk: Buffer.from(text).toString('base64'),
      });
    expect(
      (await client.request('fs/open', { handleId: 'n', path: uri('new.txt'), mode: 'replace' }))
        .result,
    ).toEqual({ handleId: 'n' });
    expect(readFileSync(join(scratch, 'new.txt'), 'utf8')).toBe('');
    expect((await write('n', 0, 'hello')).result).toEqual({});
    expect((await write('n', 5, ' world')).result).toEqual({});
    await client.call('fs/close', { handleId: 'n' });
    expect(readFileSync(join(scratch, 'new.txt'), 'utf8')).toBe('hello world');

    // truncated at open, its mode kept; a write past the end leaves zeros before it
    await client.call('fs/open', { handleId: 'e', path: uri('existing.txt'), mode: 'replace' });
    expect(readFileSync(existing, 'utf8')).toBe('');
    await write('e', 3, 'NEW');
    expect(readFileSync(existing)).toEqual(Buffer.from('\0\0\0NEW'));
    expect(statSync(existing).mode & 0o777).toBe(0o640);
    // reading a replace handle fails, and the failure closes it
    expect(await err('fs/readBlock', { handleId: 'e', offset: 0, len: 1 })).toEqual({
      code: -32603,
      message: 'Bad file descriptor (os error 9)',
    });
    expect((await write('e', 0, 'x')).error).toEqual({
      code: -32004,
      message: 'unknown file handle `e`',
    });
    // writing a read handle fails and leaves it open
    await client.call('fs/open', { handleId: 'r', path: uri('existing.txt') });
    expect((await write('r', 0, 'x')).error).toEqual({
      code: -32603,
      message: 'Bad file descriptor (os error 9)',
    });
    expect(
      block((await client.request('fs/readBlock', { handleId: 'r', offset: 3, len: 3 })).result),
    ).toEqual({ text: 'NEW', eof: false });

    const tooLong = {
      code: -32600,
      message: 'file write block length must be between 1 and 1048576',
    };
    expect(await err('fs/writeBlock', { handleId: 'r', offset: 0, chunk: '' })).toEqual(tooLong);
    expect(
      await err('fs/writeBlock', {
        handleId: 'r',
        offset: 0,
        chunk: Buffer.alloc(1048577).toString('base64'),
      }),
    ).toEqual(tooLong);
    expect(await err('fs/writeBlock', { handleId: 'none', offset: 0, chunk: 'eA==' })).toEqual({
      code: -32004,
      message: 'unknown file handle `none`',
    });
    expect(
      await err('fs/open', { handleId: 'm', path: uri('missing/x.txt'), mode: 'replace' }),
    ).toEqual({ code: -32004, message: 'No such file or directory (os error 2)' });
    expect(await err('fs/open', { handleId: 'd', path: uri('dir'), mode: 'replace' })).toEqual({
      code: -32603,
      message: 'Is a directory (os error 21)',
    });
    expect(
      await err('fs/open', { handleId: 'z', path: 'file:///dev/null', mode: 'replace' }),
    ).toEqual({ code: -32600, message: 'path `/dev/null` is not a file' });
    expect(await err('fs/open', { handleId: 'y', path: uri('x'), mode: 'REPLACE' })).toEqual({
      code: -32602,
      message: 'unknown variant `REPLACE`, expected `read` or `replace`',
    });
    client.disconnect();
  });

  it('does not hang replacing a FIFO that nobody reads', async () => {
    const fifo = join(scratch, 'fifo-w');
    execFileSync('mkfifo', [fifo]);
    const client = await connected();
    expect(
      (await client.request('fs/open', { handleId: 'f', path: uri('fifo-w'), mode: 'replace' }))
        .error,
    ).toEqual({ code: -32603, message: 'No such device or address (os error 6)' });
    client.disconnect();
  });
});
