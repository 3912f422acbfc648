import { z } from 'zod';
import { Base64 } from './base64.js';
import { SandboxContext } from './sandbox.js';
import { FileUri } from './uri.js';

/**
 * Filesystem methods. Every path is a `file://` URI; every params object also takes an optional
 * `sandbox` context ({@link SandboxContext}). `null` is the same as absent for the optional members.
 */

const sandbox = SandboxContext.nullish();

export const FsReadFileParams = z.looseObject({
  path: FileUri,
  sandbox,
});
export type FsReadFileParams = z.infer<typeof FsReadFileParams>;

export const FsReadFileResult = z.looseObject({
  dataBase64: Base64,
});
export type FsReadFileResult = z.infer<typeof FsReadFileResult>;

/**
 * `fs/writeFile` params (create or truncate). `dataBase64` is a plain string here on purpose: the
 * reference decodes it after params decoding and answers bad base64 with -32600
 * `fs/writeFile requires valid base64 dataBase64: …` (see `base64Error`), not -32602.
 */
export const FsWriteFileParams = z.looseObject({
  path: FileUri,
  dataBase64: z.string(),
  sandbox,
});
export type FsWriteFileParams = z.infer<typeof FsWriteFileParams>;

export const FsWriteFileResult = z.looseObject({});
export type FsWriteFileResult = z.infer<typeof FsWriteFileResult>;

/** `recursive` defaults to true; an existing directory is not an error. */
export const FsCreateDirectoryParams = z.looseObject({
  path: FileUri,
  recursive: z.boolean().nullish(),
  sandbox,
});
export type FsCreateDirectoryParams = z.infer<typeof FsCreateDirectoryParams>;

export const FsCreateDirectoryResult = z.looseObject({});
export type FsCreateDirectoryResult = z.infer<typeof FsCreateDirectoryResult>;

export const FsGetMetadataParams = z.looseObject({
  path: FileUri,
  sandbox,
});
export type FsGetMetadataParams = z.infer<typeof FsGetMetadataParams>;

export const FsGetMetadataResult = z.looseObject({
  isDirectory: z.boolean(),
  isFile: z.boolean(),
  isSymlink: z.boolean(),
  size: z.int().nonnegative(),
  /** Epoch ms; 0 when unknown (always 0 on Linux). */
  createdAtMs: z.int(),
  modifiedAtMs: z.int(),
});
export type FsGetMetadataResult = z.infer<typeof FsGetMetadataResult>;

export const FsReadDirectoryParams = z.looseObject({
  path: FileUri,
  sandbox,
});
export type FsReadDirectoryParams = z.infer<typeof FsReadDirectoryParams>;

export const FsReadDirectoryEntry = z.looseObject({
  fileName: z.string(),
  isDirectory: z.boolean(),
  isFile: z.boolean(),
});
export type FsReadDirectoryEntry = z.infer<typeof FsReadDirectoryEntry>;

export const FsReadDirectoryResult = z.looseObject({
  /** In directory order (unsorted). */
  entries: z.array(FsReadDirectoryEntry),
});
export type FsReadDirectoryResult = z.infer<typeof FsReadDirectoryResult>;

/** `recursive` and `force` both default to true. */
export const FsRemoveParams = z.looseObject({
  path: FileUri,
  recursive: z.boolean().nullish(),
  force: z.boolean().nullish(),
  sandbox,
});
export type FsRemoveParams = z.infer<typeof FsRemoveParams>;

export const FsRemoveResult = z.looseObject({});
export type FsRemoveResult = z.infer<typeof FsRemoveResult>;

/** `recursive` is required (a directory source without it is a -32600). */
export const FsCopyParams = z.looseObject({
  sourcePath: FileUri,
  destinationPath: FileUri,
  recursive: z.boolean(),
  sandbox,
});
export type FsCopyParams = z.infer<typeof FsCopyParams>;

export const FsCopyResult = z.looseObject({});
export type FsCopyResult = z.infer<typeof FsCopyResult>;

export const FsCanonicalizeParams = z.looseObject({
  path: FileUri,
  sandbox,
});
export type FsCanonicalizeParams = z.infer<typeof FsCanonicalizeParams>;

export const FsCanonicalizeResult = z.looseObject({
  /** The canonical path (`..` resolved, symlinks followed), as a `file://` URI. */
  path: FileUri,
});
export type FsCanonicalizeResult = z.infer<typeof FsCanonicalizeResult>;

/** A non-negative integer (`u64`/`usize` on the reference; safe integers here). */
const Uint = z.int().nonnegative();

/** `fs/open` mode: `read` (the default) or `replace` (create or truncate, then write blocks). */
export const FsOpenMode = z.enum(['read', 'replace']);
export type FsOpenMode = z.infer<typeof FsOpenMode>;

/**
 * `fs/open`: opens a regular file under a client-chosen handle id (at most 32 bytes of UTF-8,
 * unique on the connection; the empty string is a valid id), for positional reads, or with
 * `mode: "replace"` created or truncated at once for positional writes. Handles belong to the
 * connection: at most 128 at once, all closed when it closes (they do not survive a resume).
 */
export const FsOpenParams = z.looseObject({
  handleId: z.string(),
  path: FileUri,
  mode: FsOpenMode.optional(),
  sandbox,
});
export type FsOpenParams = z.infer<typeof FsOpenParams>;

export const FsOpenResult = z.looseObject({
  handleId: z.string(),
});
export type FsOpenResult = z.infer<typeof FsOpenResult>;

/**
 * `fs/readBlock`: up to `len` bytes (1 to 1 MiB) at `offset` of an open file. The handle stays open
 * at end of file; `eof` is true when fewer than `len` bytes were left.
 */
export const FsReadBlockParams = z.looseObject({
  handleId: z.string(),
  offset: Uint,
  len: Uint,
});
export type FsReadBlockParams = z.infer<typeof FsReadBlockParams>;

export const FsReadBlockResult = z.looseObject({
  chunk: Base64,
  eof: z.boolean(),
});
export type FsReadBlockResult = z.infer<typeof FsReadBlockResult>;

/** `fs/close`: closing an unknown (or already closed) handle is not an error. */
export const FsCloseParams = z.looseObject({
  handleId: z.string(),
});
export type FsCloseParams = z.infer<typeof FsCloseParams>;

export const FsCloseResult = z.looseObject({});
export type FsCloseResult = z.infer<typeof FsCloseResult>;

/** `fs/writeBlock`: writes `chunk` (1 byte to 1 MiB, base64) at `offset` of a `replace` handle. */
export const FsWriteBlockParams = z.looseObject({
  handleId: z.string(),
  offset: Uint,
  chunk: Base64,
});
export type FsWriteBlockParams = z.infer<typeof FsWriteBlockParams>;

export const FsWriteBlockResult = z.looseObject({});
export type FsWriteBlockResult = z.infer<typeof FsWriteBlockResult>;

/**
 * `fs/walk` limits, all required: `maxDepth` levels below the root (0 lists the root's entries
 * only, at most 64), `maxDirectories` read (the root included, 1 to 10,000), `maxEntries` looked at
 * (1 to 50,000). `pruneHiddenDirectories` lists dot-directories without entering them.
 */
export const WalkOptions = z.looseObject(
  {
    maxDepth: Uint,
    maxDirectories: Uint,
    maxEntries: Uint,
    followDirectorySymlinks: z.boolean(),
    pruneHiddenDirectories: z.boolean().optional(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input === null
        ? 'invalid type: null, expected struct WalkOptions'
        : undefined,
  },
);
export type WalkOptions = z.infer<typeof WalkOptions>;

export const FsWalkParams = z.looseObject({
  path: FileUri,
  options: WalkOptions,
  sandbox,
});
export type FsWalkParams = z.infer<typeof FsWalkParams>;

export const WalkEntry = z.looseObject({
  path: FileUri,
  kind: z.enum(['file', 'directory']),
});
export type WalkEntry = z.infer<typeof WalkEntry>;

export const WalkError = z.looseObject({
  path: FileUri,
  message: z.string(),
});
export type WalkError = z.infer<typeof WalkError>;

/**
 * Breadth-first, names sorted within each directory; symlinks only when followed and only to
 * directories; files and directories only. `truncated` when a limit cut the walk short.
 */
export const FsWalkResult = z.looseObject({
  entries: z.array(WalkEntry),
  errors: z.array(WalkError),
  truncated: z.boolean(),
});
export type FsWalkResult = z.infer<typeof FsWalkResult>;
