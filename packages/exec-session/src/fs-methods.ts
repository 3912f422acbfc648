import {
  copyFile,
  cp,
  lstat,
  mkdir,
  opendir,
  readFile,
  realpath,
  rm,
  rmdir,
  stat,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { exec, invalidRequest, RpcError } from '@tether/protocol';
import { fsFailure } from './os-error.js';

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

export function readFileMethod(params: exec.FsReadFileParams): Promise<exec.FsReadFileResult> {
  const path = uriToPath(params.path);
  return io(async () => {
    const info = await stat(path);
    if (!info.isFile()) throw new RpcError(invalidRequest(`path \`${path}\` is not a file`));
    const data = await readFile(path);
    return { dataBase64: data.toString('base64') };
  });
}

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
export async function listDirectory(path: string): Promise<exec.FsReadDirectoryEntry[]> {
  const dir = await opendir(path);
  const entries: exec.FsReadDirectoryEntry[] = [];
  for await (const entry of dir) {
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(join(path, entry.name));
        entries.push({
          fileName: entry.name,
          isDirectory: target.isDirectory(),
          isFile: target.isFile(),
        });
      } catch {
        // dangling (or unreadable) link: not listed
      }
      continue;
    }
    entries.push({
      fileName: entry.name,
      isDirectory: entry.isDirectory(),
      isFile: entry.isFile(),
    });
  }
  return entries;
}

export function readDirectoryMethod(
  params: exec.FsReadDirectoryParams,
): Promise<exec.FsReadDirectoryResult> {
  const path = uriToPath(params.path);
  return io(async () => ({ entries: await listDirectory(path) }));
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
