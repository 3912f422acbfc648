import { mkdir, readFile, readlink, realpath, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { PatchFileSystem } from '../apply-patch/files.js';

/** glibc's words for the errors these tests meet, as the exec-server reports them. */
const STRERROR: Record<string, [string, number]> = {
  ENOENT: ['No such file or directory', 2],
  EACCES: ['Permission denied', 13],
  EISDIR: ['Is a directory', 21],
  ENOTDIR: ['Not a directory', 20],
  EPERM: ['Operation not permitted', 1],
};

async function io<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    const known = typeof code === 'string' ? STRERROR[code] : undefined;
    if (known) throw new Error(`${known[0]} (os error ${known[1]})`, { cause: error });
    throw error;
  }
}

/** Where a path leads: symlinks resolved where they exist, a dangling one followed, the rest kept. */
async function leadsTo(path: string, depth = 0): Promise<string> {
  const parent = dirname(path);
  if (parent === path) return path;
  try {
    return await realpath(path);
  } catch {
    const link = await readlink(path).catch(() => undefined);
    if (link !== undefined && depth < 40) return leadsTo(resolve(parent, link), depth + 1);
    return join(await leadsTo(parent), basename(path));
  }
}

/** This machine's files, for tests whose environment is a plain child-process one. */
export const nodeFiles: PatchFileSystem = {
  readFile: (path) => io(() => readFile(path)),
  writeFile: (path, data) => io(() => writeFile(path, data)),
  createDirectory: (path) => io(async () => void (await mkdir(path, { recursive: true }))),
  removeFile: (path) => io(() => unlink(path)),
  getMetadata: (path) =>
    io(async () => {
      const info = await stat(path);
      return { isFile: info.isFile(), isDirectory: info.isDirectory() };
    }),
  resolvePath: (path) => leadsTo(resolve(path)),
};
