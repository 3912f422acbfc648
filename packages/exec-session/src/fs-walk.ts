import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { exec, invalidRequest, RpcError } from '@tether/protocol';
import { listDirectory, pathMetadata, uriToPath } from './fs-methods.js';
import { fsFailure, osErrorMessage } from './os-error.js';

/** Deepest `maxDepth` a walk accepts. */
export const MAX_WALK_DEPTH = 64;
/** Most directories a walk may read, the root included. */
export const MAX_WALK_DIRECTORIES = 10_000;
/** Most directory entries a walk may look at. */
export const MAX_WALK_ENTRIES = 50_000;
/** Estimated size of a walk's answer (paths and messages, plus 64 bytes an item) at most. */
export const MAX_WALK_RESPONSE_BYTES = 4 * 1024 * 1024;
const ITEM_OVERHEAD_BYTES = 64;

/** UTF-8 byte order, as the reference sorts names (JavaScript's own order is UTF-16's). */
function byUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, 'utf8'), Buffer.from(right, 'utf8'));
}

/**
 * `fs/walk`: breadth-first from a directory, names sorted within each directory. Symlinks are
 * listed (and entered) only when `followDirectorySymlinks` is set and they point to a directory;
 * only files and directories are listed. A directory reached twice (through a followed link) is
 * entered once. Every limit stops the walk with `truncated: true` and what was found so far; a
 * directory or entry that cannot be read becomes an item of `errors`.
 */
export async function walkMethod(params: exec.FsWalkParams): Promise<exec.FsWalkResult> {
  const root = uriToPath(params.path);
  const options = params.options;
  if (options.maxDirectories === 0 || options.maxEntries === 0) {
    throw new RpcError(invalidRequest('filesystem walk limits must be greater than zero'));
  }
  if (
    options.maxDepth > MAX_WALK_DEPTH ||
    options.maxDirectories > MAX_WALK_DIRECTORIES ||
    options.maxEntries > MAX_WALK_ENTRIES
  ) {
    throw new RpcError(
      invalidRequest(
        `filesystem walk limits exceed maximums: depth=${MAX_WALK_DEPTH}, directories=${MAX_WALK_DIRECTORIES}, entries=${MAX_WALK_ENTRIES}`,
      ),
    );
  }
  const follow = options.followDirectorySymlinks;
  const outcome: exec.FsWalkResult = { entries: [], errors: [], truncated: false };
  let rootIdentity: string;
  try {
    const described = await pathMetadata(root);
    if (!described.isDirectory || (described.isSymlink && !follow)) return outcome;
    rootIdentity = follow ? await realpath(root) : root;
  } catch (error) {
    throw fsFailure(error);
  }

  let responseBytes = 0;
  /** Charges an item to the answer's size; false (and truncated) when it does not fit. */
  const reserve = (bytes: number): boolean => {
    if (responseBytes + bytes + ITEM_OVERHEAD_BYTES > MAX_WALK_RESPONSE_BYTES) {
      outcome.truncated = true;
      return false;
    }
    responseBytes += bytes + ITEM_OVERHEAD_BYTES;
    return true;
  };
  const failed = (path: string, error: unknown): boolean => {
    const item = { path: exec.pathToFileUri(path), message: osErrorMessage(error) };
    if (!reserve(Buffer.byteLength(item.path) + Buffer.byteLength(item.message))) return false;
    outcome.errors.push(item);
    return true;
  };

  const queue: Array<{ path: string; depth: number }> = [{ path: root, depth: 0 }];
  const visited = new Set([rootIdentity]);
  let directories = 1;
  let looked = 0;
  for (let head = 0; head < queue.length; head += 1) {
    const { path: directory, depth } = queue[head] as { path: string; depth: number };
    let names: string[];
    try {
      names = (await listDirectory(directory)).entries.map((entry) => entry.fileName).sort(byUtf8);
    } catch (error) {
      if (!failed(directory, error)) return outcome;
      continue;
    }
    for (const name of names) {
      if (looked === options.maxEntries) {
        outcome.truncated = true;
        return outcome;
      }
      looked += 1;
      const path = join(directory, name);
      let described: exec.FsGetMetadataResult;
      try {
        described = await pathMetadata(path);
      } catch (error) {
        if (!failed(path, error)) return outcome;
        continue;
      }
      if (described.isSymlink && (!follow || !described.isDirectory)) continue;
      if (!described.isDirectory && !described.isFile) continue;
      const uri = exec.pathToFileUri(path);
      if (!reserve(Buffer.byteLength(uri))) return outcome;
      outcome.entries.push({ path: uri, kind: described.isDirectory ? 'directory' : 'file' });
      if (!described.isDirectory || depth >= options.maxDepth) continue;
      if (options.pruneHiddenDirectories && name.startsWith('.')) continue;
      let identity = path;
      if (follow) {
        try {
          identity = await realpath(path);
        } catch (error) {
          if (!failed(path, error)) return outcome;
          continue;
        }
      }
      if (visited.has(identity)) continue;
      visited.add(identity);
      if (directories === options.maxDirectories) {
        outcome.truncated = true;
      } else {
        directories += 1;
        queue.push({ path, depth: depth + 1 });
      }
    }
  }
  return outcome;
}
