import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
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

/** This machine's files, for tests whose environment is a plain child-process one. */
export const nodeFiles: PatchFileSystem = {
  readFile: (path) => io(() => readFile(path)),
  writeFile: (path, data) => io(() => writeFile(path, data)),
  createDirectory: (path) => io(async () => void (await mkdir(path, { recursive: true }))),
  removeFile: (path) => io(() => unlink(path)),
};
