import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { type exec, invalidRequest, notFound, RpcError } from '@tether/protocol';
import { uriToPath } from './fs-methods.js';
import { fsFailure } from './os-error.js';

/** Most handles one connection may hold (opens still in flight count). */
export const MAX_OPEN_FILE_HANDLES = 128;
/** Longest handle id, in bytes of UTF-8. */
export const MAX_FILE_HANDLE_ID_BYTES = 32;
/** Largest `fs/readBlock` length (1 MiB). */
export const MAX_READ_BLOCK_BYTES = 1024 * 1024;
/** Largest `fs/writeBlock` chunk, decoded (1 MiB). */
export const MAX_WRITE_BLOCK_BYTES = 1024 * 1024;

/** An open file and the reads and writes using it: it closes once closed and unused. */
interface OpenFile {
  readonly file: FileHandle;
  /** Reads and writes in flight. */
  inUse: number;
  closing: boolean;
}

function closeWhenIdle(entry: OpenFile): void {
  if (entry.closing && entry.inUse === 0) entry.file.close().catch(() => {});
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
    const replace = params.mode === 'replace';
    this.handles.set(id, undefined);
    let file: FileHandle | undefined;
    try {
      // O_NONBLOCK: a FIFO opens at once (or, for writing with no reader, fails with ENXIO)
      // instead of waiting for its other end; what is not a regular file is refused just after
      const flags = replace
        ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
        : constants.O_RDONLY;
      file = await open(path, flags | constants.O_NONBLOCK, 0o666);
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
    this.handles.set(id, { file, inUse: 0, closing: false });
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
    entry.inUse += 1;
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
      entry.inUse -= 1;
      closeWhenIdle(entry);
    }
    return { chunk: buffer.toString('base64', 0, filled), eof: filled < len };
  }

  /**
   * Writes all of `chunk` at `offset`. A failed write leaves the handle open (a read handle
   * answers EBADF, as on the reference).
   */
  async writeBlock(params: exec.FsWriteBlockParams): Promise<exec.FsWriteBlockResult> {
    const data = Buffer.from(params.chunk, 'base64');
    if (data.length < 1 || data.length > MAX_WRITE_BLOCK_BYTES) {
      throw new RpcError(
        invalidRequest(`file write block length must be between 1 and ${MAX_WRITE_BLOCK_BYTES}`),
      );
    }
    const entry = this.handles.get(params.handleId);
    if (entry === undefined) {
      throw new RpcError(notFound(`unknown file handle \`${params.handleId}\``));
    }
    entry.inUse += 1;
    try {
      for (let written = 0; written < data.length; ) {
        const { bytesWritten } = await entry.file.write(
          data,
          written,
          data.length - written,
          params.offset + written,
        );
        written += bytesWritten;
      }
    } catch (error) {
      throw fsFailure(error);
    } finally {
      entry.inUse -= 1;
      closeWhenIdle(entry);
    }
    return {};
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
