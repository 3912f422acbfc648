import { constants } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { type exec, invalidRequest, notFound, RpcError } from '@tether/protocol';
import { uriToPath } from './fs-methods.js';
import { fsErrorObject } from './os-error.js';

/** Most handles one connection may hold (opens still in flight count). */
export const MAX_OPEN_FILE_HANDLES = 128;
/** Longest handle id, in bytes of UTF-8. */
export const MAX_FILE_HANDLE_ID_BYTES = 32;
/** Largest `fs/readBlock` length (1 MiB). */
export const MAX_READ_BLOCK_BYTES = 1024 * 1024;

function fsFailure(error: unknown): RpcError {
  return error instanceof RpcError ? error : new RpcError(fsErrorObject(error), { cause: error });
}

/** An open file and the reads using it: it closes once it was closed and no read uses it. */
interface OpenFile {
  readonly file: FileHandle;
  reads: number;
  closing: boolean;
}

function closeWhenIdle(entry: OpenFile): void {
  if (entry.closing && entry.reads === 0) entry.file.close().catch(() => {});
}

/**
 * The files one connection opened with `fs/open`, by client-chosen handle id. Reads are positional
 * (`fs/readBlock` names the offset), so concurrent reads of one handle do not disturb each other. A
 * handle whose read fails is closed; every handle closes with the connection ({@link closeAll}). A
 * read in flight when its handle is closed still completes: the descriptor closes after it, so it
 * is never reused under a read.
 */
export class FileHandles {
  /** Open files, and `undefined` for ids whose open is still in flight (they hold their slot). */
  private readonly handles = new Map<string, OpenFile | undefined>();
  private closed = false;

  /** Handles open or opening. */
  get size(): number {
    return this.handles.size;
  }

  async open(params: exec.FsOpenParams): Promise<exec.FsOpenResult> {
    const id = params.handleId;
    if (Buffer.byteLength(id, 'utf8') > MAX_FILE_HANDLE_ID_BYTES) {
      throw new RpcError(
        invalidRequest(`file handle ID must not exceed ${MAX_FILE_HANDLE_ID_BYTES} bytes`),
      );
    }
    if (this.handles.has(id)) {
      throw new RpcError(invalidRequest(`file handle \`${id}\` already exists`));
    }
    if (this.handles.size >= MAX_OPEN_FILE_HANDLES) {
      throw new RpcError(
        invalidRequest(`at most ${MAX_OPEN_FILE_HANDLES} file handles may be open per connection`),
      );
    }
    const path = uriToPath(params.path);
    this.handles.set(id, undefined);
    let file: FileHandle | undefined;
    try {
      // stat first: opening a FIFO for reading would block until a writer shows up
      if (!(await stat(path)).isFile()) {
        throw new RpcError(invalidRequest(`path \`${path}\` is not a file`));
      }
      file = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
      // the path may have been replaced between the stat and the open
      if (!(await file.stat()).isFile()) {
        throw new RpcError(invalidRequest(`path \`${path}\` is not a file`));
      }
    } catch (error) {
      this.handles.delete(id);
      await file?.close().catch(() => {});
      throw fsFailure(error);
    }
    if (this.closed) {
      // the connection went away while the file was opening
      await file.close().catch(() => {});
      throw new RpcError(invalidRequest('the connection closed while the file was opening'));
    }
    this.handles.set(id, { file, reads: 0, closing: false });
    return { handleId: id };
  }

  async readBlock(params: exec.FsReadBlockParams): Promise<exec.FsReadBlockResult> {
    const { handleId: id, offset, len } = params;
    if (len < 1 || len > MAX_READ_BLOCK_BYTES) {
      throw new RpcError(
        invalidRequest(`file read block length must be between 1 and ${MAX_READ_BLOCK_BYTES}`),
      );
    }
    const entry = this.handles.get(id);
    if (entry === undefined) throw new RpcError(notFound(`unknown file handle \`${id}\``));
    const buffer = Buffer.allocUnsafe(len);
    let filled = 0;
    entry.reads += 1;
    try {
      while (filled < len) {
        const { bytesRead } = await entry.file.read(buffer, filled, len - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
    } catch (error) {
      // a failed read closes its handle
      if (this.handles.get(id) === entry) this.handles.delete(id);
      entry.closing = true;
      throw fsFailure(error);
    } finally {
      entry.reads -= 1;
      closeWhenIdle(entry);
    }
    return { chunk: buffer.toString('base64', 0, filled), eof: filled < len };
  }

  /** Closing an unknown handle is not an error. */
  close(params: exec.FsCloseParams): exec.FsCloseResult {
    const entry = this.handles.get(params.handleId);
    if (entry !== undefined) {
      this.handles.delete(params.handleId);
      entry.closing = true;
      closeWhenIdle(entry);
    }
    return {};
  }

  /** Closes every handle (the connection is gone); opens still in flight close when they land. */
  closeAll(): void {
    this.closed = true;
    for (const entry of this.handles.values()) {
      if (entry === undefined) continue;
      entry.closing = true;
      closeWhenIdle(entry);
    }
    this.handles.clear();
  }
}
