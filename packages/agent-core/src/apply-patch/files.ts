/**
 * What a patch needs of a filesystem: whole-file reads and writes, directory creation and file
 * removal, by absolute path. The local environment serves it from this machine and the remote one
 * through the exec-server's `fs/*` methods, so a patch applies wherever the thread's commands run.
 * A failure throws an `Error` whose message says what the OS said, in the reference's words
 * (`No such file or directory (os error 2)`): the model reads it.
 */
export interface PatchFileSystem {
  readFile(path: string): Promise<Buffer>;
  /** Creates or truncates the file (its directory exists). */
  writeFile(path: string, data: Buffer): Promise<void>;
  /** Creates the directory and any missing parents; an existing one is fine. */
  createDirectory(path: string): Promise<void>;
  /** Removes one file (not a directory); a missing file is an error. */
  removeFile(path: string): Promise<void>;
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
