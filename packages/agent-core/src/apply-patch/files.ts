import type { exec } from '@tether/protocol';

/**
 * How a write is checked where it happens: with a `sandbox` context the environment refuses it as
 * a command in that sandbox would be refused (a path outside its writable roots, judged by where
 * it really leads, symlinks resolved), as the exec-server's `fs/*` methods do; without one it is
 * not checked.
 */
export interface FileWriteOptions {
  sandbox?: exec.SandboxContext | undefined;
}

/** What a path is, as far as reading instructions from it needs. */
export interface FileMetadata {
  isFile: boolean;
  isDirectory: boolean;
}

/**
 * What a patch (and the thread's instructions) need of a filesystem: whole-file reads and writes,
 * directory creation and file removal, metadata and real paths, by absolute path. The local
 * environment serves it from this machine and the remote one through the exec-server's `fs/*`
 * methods, so a patch applies (and AGENTS.md is read) wherever the thread's commands run.
 * A failure throws an `Error` whose message says what the OS said, in the reference's words
 * (`No such file or directory (os error 2)`): the model reads it.
 */
export interface PatchFileSystem {
  readFile(path: string): Promise<Buffer>;
  /** Creates or replaces the file's contents (its directory exists). */
  writeFile(path: string, data: Buffer, options?: FileWriteOptions): Promise<void>;
  /** Creates the directory and any missing parents; an existing one is fine. */
  createDirectory(path: string, options?: FileWriteOptions): Promise<void>;
  /** Removes one file (not a directory); a missing file is an error. */
  removeFile(path: string, options?: FileWriteOptions): Promise<void>;
  /** What the path is (a symlink described by its target); a missing path is an error. */
  getMetadata(path: string): Promise<FileMetadata>;
  /**
   * Where an operation on `path` really lands: symlinks resolved in every component that exists
   * (a missing tail kept as written), as the exec-server resolves a path before checking it
   * against a sandbox.
   */
  resolvePath(path: string): Promise<string>;
}

// the BOM is kept as U+FEFF (TextDecoder drops it by default): a file keeps it when written back
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Reads a file as UTF-8 text; a file that is not UTF-8 fails as it does on the reference. */
export async function readText(files: PatchFileSystem, path: string): Promise<string> {
  const data = await files.readFile(path);
  try {
    return utf8.decode(data);
  } catch {
    throw new Error('stream did not contain valid UTF-8');
  }
}
