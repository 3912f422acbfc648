import { dirname, resolve } from 'node:path';
import { type FileWriteOptions, type PatchFileSystem, readText } from './files.js';
import type { ParsedPatch, UpdateChunk } from './parser.js';
import { LineSeeker } from './seek.js';
import { type Replacement, TextFile } from './text-file.js';

/** One file operation of a verified patch, with the contents before and after it. */
export type FileChange =
  | {
      readonly kind: 'add';
      /** Absolute path. */
      readonly path: string;
      /** The path as the patch wrote it (what the model is told back). */
      readonly patchPath: string;
      readonly contents: string;
      /** What the file held when an add overwrites an existing file. */
      readonly overwritten: string | undefined;
    }
  | {
      readonly kind: 'delete';
      readonly path: string;
      readonly patchPath: string;
      readonly contents: string;
    }
  | {
      readonly kind: 'update';
      readonly path: string;
      readonly patchPath: string;
      /** Absolute destination of a `*** Move to:`. */
      readonly movePath: string | undefined;
      readonly movePatchPath: string | undefined;
      readonly oldContents: string;
      readonly newContents: string;
      /** What the destination held when a move overwrites an existing file. */
      readonly overwrittenDestination: string | undefined;
    };

/** A patch whose every hunk matched the files as they are: nothing was written yet. */
export interface VerifiedPatch {
  readonly changes: readonly FileChange[];
  /** The directory relative paths were resolved against. */
  readonly cwd: string;
}

/**
 * A patch that does not apply to the files as they are; the message is the reference's
 * (`Failed to find expected lines in …`, `Failed to read file to update …: …`).
 */
export class PatchVerificationError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PatchVerificationError';
  }
}

/**
 * Writing a verified patch failed; what was written before the failure was restored. The message
 * names the write as the reference does (`Failed to write file …`); the OS error is the `cause`.
 */
export class PatchApplyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PatchApplyError';
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** The reference's words for a file the patch reads after an earlier hunk removed it. */
const MISSING = 'No such file or directory (os error 2)';

/**
 * Reads every file the patch touches and computes every file's new contents, without writing
 * anything. Hunks apply in order, each seeing what the earlier ones left (an update after an add of
 * the same file, two updates of one file). Throws {@link PatchVerificationError} at the first hunk
 * that does not apply.
 */
export async function verifyPatch(
  patch: ParsedPatch,
  cwd: string,
  files: PatchFileSystem,
): Promise<VerifiedPatch> {
  // contents as earlier hunks left them (null: removed)
  const staged = new Map<string, string | null>();
  const read = async (path: string): Promise<string> => {
    const known = staged.get(path);
    if (known === null) throw new Error(MISSING);
    if (known !== undefined) return known;
    return readText(files, path);
  };
  const existing = async (path: string): Promise<string | undefined> => {
    try {
      return await read(path);
    } catch {
      return undefined;
    }
  };
  const changes: FileChange[] = [];
  for (const hunk of patch.hunks) {
    const path = resolve(cwd, hunk.path);
    switch (hunk.kind) {
      case 'add': {
        const overwritten = await existing(path);
        changes.push({
          kind: 'add',
          path,
          patchPath: hunk.path,
          contents: hunk.contents,
          overwritten,
        });
        staged.set(path, hunk.contents);
        break;
      }
      case 'delete': {
        let contents: string;
        try {
          contents = await read(path);
        } catch (error) {
          throw new PatchVerificationError(`Failed to read ${path}: ${errorText(error)}`, {
            cause: error,
          });
        }
        changes.push({ kind: 'delete', path, patchPath: hunk.path, contents });
        staged.set(path, null);
        break;
      }
      case 'update': {
        let oldContents: string;
        try {
          oldContents = await read(path);
        } catch (error) {
          throw new PatchVerificationError(
            `Failed to read file to update ${path}: ${errorText(error)}`,
            { cause: error },
          );
        }
        const newContents = applyChunks(oldContents, hunk.chunks, path);
        const movePath = hunk.movePath === undefined ? undefined : resolve(cwd, hunk.movePath);
        const overwrittenDestination =
          movePath === undefined || movePath === path ? undefined : await existing(movePath);
        changes.push({
          kind: 'update',
          path,
          patchPath: hunk.path,
          movePath,
          movePatchPath: hunk.movePath,
          oldContents,
          newContents,
          overwrittenDestination,
        });
        if (movePath !== undefined && movePath !== path) {
          staged.set(path, null);
          staged.set(movePath, newContents);
        } else {
          staged.set(path, newContents);
        }
        break;
      }
    }
  }
  return { changes, cwd };
}

/** The file's contents after the chunks, or a {@link PatchVerificationError} naming what did not match. */
export function applyChunks(
  contents: string,
  chunks: readonly UpdateChunk[],
  path: string,
): string {
  const file = TextFile.parse(contents);
  const lines = file.texts();
  const seeker = new LineSeeker(lines);
  const replacements: Replacement[] = [];
  let from = 0;
  for (const chunk of chunks) {
    if (chunk.context !== undefined) {
      const at = seeker.seek([chunk.context], from, false);
      if (at === undefined) {
        throw new PatchVerificationError(`Failed to find context '${chunk.context}' in ${path}`);
      }
      from = at + 1;
    }
    if (chunk.oldLines.length === 0) {
      // a chunk that only adds lines appends them to the file
      replacements.push({ start: lines.length, oldLength: 0, lines: chunk.newLines });
      continue;
    }
    let pattern = chunk.oldLines;
    let replacement = chunk.newLines;
    let at = seeker.seek(pattern, from, chunk.endOfFile);
    if (at === undefined && pattern.at(-1) === '') {
      // a trailing empty line often stands for the file's final newline: retry without it
      pattern = pattern.slice(0, -1);
      if (replacement.at(-1) === '') replacement = replacement.slice(0, -1);
      at = seeker.seek(pattern, from, chunk.endOfFile);
    }
    if (at === undefined) {
      throw new PatchVerificationError(
        `Failed to find expected lines in ${path}:\n${chunk.oldLines.join('\n')}`,
      );
    }
    replacements.push({ start: at, oldLength: pattern.length, lines: replacement });
    from = at + pattern.length;
  }
  replacements.sort((a, b) => a.start - b.start);
  file.replace(replacements);
  return file.toString();
}

/**
 * Writes a verified patch. If a write fails, what the earlier writes changed is put back (files
 * the patch created are removed, files it changed or removed get their old contents), so a patch
 * applies whole or not at all; the error says which write failed. With a `sandbox` context, every
 * write (and every undo) is checked by the environment against that sandbox where it happens.
 */
export async function applyVerifiedPatch(
  patch: VerifiedPatch,
  files: PatchFileSystem,
  options: FileWriteOptions = {},
): Promise<void> {
  // how to undo each write, newest last
  const undo: Array<() => Promise<void>> = [];
  const write = async (path: string, contents: string, before: string | undefined) => {
    try {
      await files.createDirectory(dirname(path), options);
      await files.writeFile(path, Buffer.from(contents, 'utf8'), options);
    } catch (error) {
      throw new PatchApplyError(`Failed to write file ${path}`, {
        cause: error,
      });
    }
    undo.push(() =>
      before === undefined
        ? files.removeFile(path, options)
        : files.writeFile(path, Buffer.from(before, 'utf8'), options),
    );
  };
  const remove = async (path: string, before: string) => {
    try {
      await files.removeFile(path, options);
    } catch (error) {
      throw new PatchApplyError(`Failed to delete file ${path}`, {
        cause: error,
      });
    }
    undo.push(() => files.writeFile(path, Buffer.from(before, 'utf8'), options));
  };
  // what each path holds as the writes go (a later hunk may touch a file an earlier one wrote)
  const current = new Map<string, string | undefined>();
  const before = (path: string, fallback: string | undefined) =>
    current.has(path) ? current.get(path) : fallback;
  try {
    for (const change of patch.changes) {
      switch (change.kind) {
        case 'add':
          await write(change.path, change.contents, before(change.path, change.overwritten));
          current.set(change.path, change.contents);
          break;
        case 'delete':
          await remove(change.path, change.contents);
          current.set(change.path, undefined);
          break;
        case 'update': {
          const target = change.movePath ?? change.path;
          await write(
            target,
            change.newContents,
            target === change.path
              ? change.oldContents
              : before(target, change.overwrittenDestination),
          );
          current.set(target, change.newContents);
          if (target !== change.path) {
            await remove(change.path, change.oldContents);
            current.set(change.path, undefined);
          }
          break;
        }
      }
    }
  } catch (error) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw error;
  }
}

/**
 * What the model is told after a patch applied, as the reference's `apply_patch` prints it: added,
 * then modified (a moved file under its new path), then deleted files, each as the patch named it.
 */
export function patchSummary(patch: VerifiedPatch): string {
  const added: string[] = [];
  const modified: string[] = [];
  const deleted: string[] = [];
  for (const change of patch.changes) {
    if (change.kind === 'add') added.push(change.patchPath);
    else if (change.kind === 'delete') deleted.push(change.patchPath);
    else modified.push(change.movePatchPath ?? change.patchPath);
  }
  let out = 'Success. Updated the following files:\n';
  for (const path of added) out += `A ${path}\n`;
  for (const path of modified) out += `M ${path}\n`;
  for (const path of deleted) out += `D ${path}\n`;
  return out;
}
