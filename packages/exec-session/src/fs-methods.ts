import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import {
  copyFile,
  cp,
  lstat,
  mkdir,
  open,
  opendir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { exec, internalError, invalidRequest, RpcError } from '@tether/protocol';
import { errorCode, fsFailure } from './os-error.js';
import { hostPath } from './sandbox.js';

/** The local path a `file://` URI names; a URI naming another host is an invalid request. */
export function uriToPath(uri: string): string {
  try {
    return exec.fileUriToPath(uri);
  } catch (error) {
    throw new RpcError(invalidRequest((error as Error).message), { cause: error });
  }
}

async function io<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw fsFailure(error);
  }
}

/** The reference's limit for one `fs/readFile` (512 MiB); larger files are read in blocks. */
export const MAX_READ_FILE_BYTES = 512 * 1024 * 1024;

/**
 * The largest file whose base64 fits in one JavaScript string (V8 caps strings at 2^29 - 24
 * characters), so the largest one `fs/readFile` can answer with here: 384 MiB, below the
 * reference's 512 MiB. A file between the two is refused with a message naming the block methods.
 */
export const MAX_ENCODABLE_READ_FILE_BYTES = 384 * 1024 * 1024;

/** The reference's limit for one `fs/readDirectory` answer (50,000 entries). */
export const MAX_READ_DIRECTORY_ENTRIES = 50_000;

const tooLargeToRead = () =>
  new RpcError(invalidRequest(`file is too large to read: limit is ${MAX_READ_FILE_BYTES} bytes`));

/**
 * Reads a whole file, never more than `limit` bytes: the size is checked before reading, and
 * again while reading (a file that grows, or a device or procfs file that reports no size, cannot
 * make the read unbounded). Past the limit, `tooLarge()` is thrown.
 */
export async function readBoundedFile(
  path: string,
  limit: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const file = await open(path, 'r');
  try {
    const info = await file.stat();
    if (info.size > limit) throw tooLarge();
    // one read of the expected size, then small reads to notice what was appended since
    let buffer = Buffer.allocUnsafe(Math.max(info.size, 64 * 1024));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > limit) throw tooLarge();
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(64 * 1024, length * 2)));
        buffer.copy(bigger, 0, 0, length);
        buffer = bigger;
      }
      const { bytesRead } = await file.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > limit) throw tooLarge();
    }
    return buffer.subarray(0, length);
  } finally {
    await file.close();
  }
}

export function readFileMethod(params: exec.FsReadFileParams): Promise<exec.FsReadFileResult> {
  const path = uriToPath(params.path);
  return io(async () => {
    const info = await stat(path);
    if (!info.isFile()) throw new RpcError(invalidRequest(`path \`${path}\` is not a file`));
    if (info.size > MAX_READ_FILE_BYTES) throw tooLargeToRead();
    if (info.size > MAX_ENCODABLE_READ_FILE_BYTES) throw tooLargeToEncode();
    const data = await readBoundedFile(path, MAX_READ_FILE_BYTES, tooLargeToRead);
    if (data.length > MAX_ENCODABLE_READ_FILE_BYTES) throw tooLargeToEncode();
    return { dataBase64: data.toString('base64') };
  });
}

const tooLargeToEncode = () =>
  new RpcError(
    internalError(
      `file is too large to return in one response: limit is ${MAX_ENCODABLE_READ_FILE_BYTES} bytes; read it in blocks with fs/open and fs/readBlock`,
    ),
  );

export function writeFileMethod(params: exec.FsWriteFileParams): Promise<exec.FsWriteFileResult> {
  const path = uriToPath(params.path);
  const problem = exec.base64Error(params.dataBase64);
  if (problem !== undefined) {
    throw new RpcError(invalidRequest(`fs/writeFile requires valid base64 dataBase64: ${problem}`));
  }
  return io(async () => {
    await writeFile(path, Buffer.from(params.dataBase64, 'base64'));
    return {};
  });
}

/**
 * Replaces a file's contents so that no reader, and no crash, ever sees half of them: the data
 * goes to a new file beside the real target (a symlink is followed, and stays a symlink), which
 * takes the target's mode bits (and, for root, its owner), is flushed, then renamed over it. A
 * path that is not a regular file (a device, a FIFO) is written in place, as `fs/writeFile` does.
 * Costs of the rename: hard links to the old file keep the old contents, and the directory must be
 * writable.
 */
export async function writeFileAtomically(path: string, data: Buffer): Promise<void> {
  const target = hostPath(path);
  let existing: Stats | undefined;
  try {
    existing = await stat(target);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  if (existing && !existing.isFile()) {
    await writeFile(path, data);
    return;
  }
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', existing ? existing.mode & 0o7777 : 0o666);
  try {
    await file.writeFile(data);
    if (existing) {
      // the umask applied when the file was created: the old bits exactly
      await file.chmod(existing.mode & 0o7777);
      if (process.getuid?.() === 0) await file.chown(existing.uid, existing.gid);
    }
    await file.sync();
    await file.close();
    await rename(temp, target);
  } catch (error) {
    await file.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
}

export function createDirectoryMethod(
  params: exec.FsCreateDirectoryParams,
): Promise<exec.FsCreateDirectoryResult> {
  const path = uriToPath(params.path);
  return io(async () => {
    await mkdir(path, { recursive: params.recursive ?? true });
    return {};
  });
}

/** What `fs/getMetadata` says of a path: whether it is a link, and what it points to. */
export async function pathMetadata(path: string): Promise<exec.FsGetMetadataResult> {
  const link = await lstat(path);
  const info = link.isSymbolicLink() ? await stat(path) : link;
  return {
    isDirectory: info.isDirectory(),
    isFile: info.isFile(),
    isSymlink: link.isSymbolicLink(),
    size: info.size,
    // the reference reports 0 (unknown) on Linux
    createdAtMs: 0,
    modifiedAtMs: Math.floor(info.mtimeMs),
  };
}

export function getMetadataMethod(
  params: exec.FsGetMetadataParams,
): Promise<exec.FsGetMetadataResult> {
  const path = uriToPath(params.path);
  return io(() => pathMetadata(path));
}

/**
 * A directory's entries in the directory's own order (opendir; readdir would sort), as the
 * reference lists them: a symlink is described by what it points to, and one that points nowhere
 * is left out.
 */
export async function listDirectory(
  path: string,
  limit = Number.POSITIVE_INFINITY,
): Promise<{ entries: exec.FsReadDirectoryEntry[]; count: number }> {
  const dir = await opendir(path);
  const entries: exec.FsReadDirectoryEntry[] = [];
  let count = 0;
  // past the limit, entries are only counted (the error names how many there were)
  const push = (entry: exec.FsReadDirectoryEntry) => {
    count += 1;
    if (count <= limit) entries.push(entry);
  };
  for await (const entry of dir) {
    if (entry.isSymbolicLink()) {
      if (count >= limit) {
        // counting a link past the limit still needs to know whether it points anywhere
        if (
          await stat(join(path, entry.name)).then(
            () => true,
            () => false,
          )
        )
          count += 1;
        continue;
      }
      try {
        const target = await stat(join(path, entry.name));
        push({
          fileName: entry.name,
          isDirectory: target.isDirectory(),
          isFile: target.isFile(),
        });
      } catch {
        // dangling (or unreadable) link: not listed
      }
      continue;
    }
    push({
      fileName: entry.name,
      isDirectory: entry.isDirectory(),
      isFile: entry.isFile(),
    });
  }
  return { entries, count };
}

export function readDirectoryMethod(
  params: exec.FsReadDirectoryParams,
): Promise<exec.FsReadDirectoryResult> {
  const path = uriToPath(params.path);
  return io(async () => {
    const { entries, count } = await listDirectory(path, MAX_READ_DIRECTORY_ENTRIES);
    if (count > MAX_READ_DIRECTORY_ENTRIES) {
      throw new RpcError(
        internalError(
          `fs/readDirectory returned ${count} entries; limit is ${MAX_READ_DIRECTORY_ENTRIES}`,
        ),
      );
    }
    return { entries };
  });
}

export function removeMethod(params: exec.FsRemoveParams): Promise<exec.FsRemoveResult> {
  const path = uriToPath(params.path);
  const recursive = params.recursive ?? true;
  const force = params.force ?? true;
  return io(async () => {
    if (recursive) {
      await rm(path, { recursive: true, force });
      return {};
    }
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(path);
    } catch (error) {
      if (force && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    if (info.isDirectory()) await rmdir(path);
    else await unlink(path);
    return {};
  });
}

export function copyMethod(params: exec.FsCopyParams): Promise<exec.FsCopyResult> {
  const source = uriToPath(params.sourcePath);
  const destination = uriToPath(params.destinationPath);
  return io(async () => {
    const info = await stat(source);
    if (info.isDirectory()) {
      if (!params.recursive) {
        throw new RpcError(
          invalidRequest('fs/copy requires recursive: true when sourcePath is a directory'),
        );
      }
      await cp(source, destination, { recursive: true, force: true, verbatimSymlinks: true });
      return {};
    }
    await copyFile(source, destination);
    return {};
  });
}

export function canonicalizeMethod(
  params: exec.FsCanonicalizeParams,
): Promise<exec.FsCanonicalizeResult> {
  const path = uriToPath(params.path);
  return io(async () => ({ path: exec.pathToFileUri(await realpath(path)) }));
}
