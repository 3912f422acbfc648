import type { exec } from '@tether/protocol';
import type { ExecContext, ExecHandlers } from './exec-context.js';
import {
  canonicalizeMethod,
  copyMethod,
  createDirectoryMethod,
  getMetadataMethod,
  readDirectoryMethod,
  readFileMethod,
  removeMethod,
  uriToPath,
  writeFileMethod,
} from './fs-methods.js';
import { walkMethod } from './fs-walk.js';
import { fsFailure } from './os-error.js';
import { checkAccess } from './sandbox.js';
import { type SandboxSettings, sandboxLayout } from './session.js';

type Access = 'read' | 'write' | 'remove';

/**
 * Checks paths against a sandbox context as a command in that sandbox would meet them (EROFS for a
 * write outside its writable roots, EACCES for a hidden path; symlinks resolved on the host first),
 * throwing the method's error. No context: nothing to check.
 */
export function checkSandboxAccess(
  settings: SandboxSettings,
  context: exec.SandboxContext | null | undefined,
  paths: Array<[uri: string, access: Access]>,
): void {
  if (!context) return;
  const layout = sandboxLayout(context);
  if (!layout) return;
  for (const [uri, access] of paths) {
    try {
      const path = uriToPath(uri);
      if (access === 'remove') checkAccess(layout, path, 'write', settings, false);
      else checkAccess(layout, path, access, settings);
    } catch (error) {
      throw fsFailure(error);
    }
  }
}

/** Runs a filesystem method under its sandbox context (see `checkSandboxAccess`). */
function guarded<T>(
  connection: ExecContext,
  context: exec.SandboxContext | null | undefined,
  paths: Array<[uri: string, access: Access]>,
  work: () => T,
): T {
  checkSandboxAccess(connection.host.sandboxSettings, context, paths);
  return work();
}

/**
 * The filesystem methods. Whole-file and directory calls run concurrently; calls naming the same
 * `fs/open` handle run in arrival order (the table's `handle:<id>` key), as on the reference.
 */
export const fsHandlers: ExecHandlers<
  | 'fs/readFile'
  | 'fs/writeFile'
  | 'fs/createDirectory'
  | 'fs/getMetadata'
  | 'fs/readDirectory'
  | 'fs/remove'
  | 'fs/copy'
  | 'fs/canonicalize'
  | 'fs/walk'
  | 'fs/open'
  | 'fs/readBlock'
  | 'fs/writeBlock'
  | 'fs/close'
> = {
  'fs/readFile': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'read']], () => readFileMethod(p)),
  'fs/writeFile': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'write']], () => writeFileMethod(p)),
  'fs/createDirectory': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'write']], () => createDirectoryMethod(p)),
  'fs/getMetadata': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'read']], () => getMetadataMethod(p)),
  'fs/readDirectory': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'read']], () => readDirectoryMethod(p)),
  // removing a symlink touches the link, not what it points to
  'fs/remove': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'remove']], () => removeMethod(p)),
  'fs/copy': (p, { connection }) =>
    guarded(
      connection,
      p.sandbox,
      [
        [p.sourcePath, 'read'],
        [p.destinationPath, 'write'],
      ],
      () => copyMethod(p),
    ),
  'fs/canonicalize': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'read']], () => canonicalizeMethod(p)),
  'fs/walk': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, 'read']], () => walkMethod(p)),
  'fs/open': (p, { connection }) =>
    guarded(connection, p.sandbox, [[p.path, p.mode === 'replace' ? 'write' : 'read']], () =>
      connection.files.open(p),
    ),
  'fs/readBlock': (p, { connection }) => connection.files.readBlock(p),
  'fs/writeBlock': (p, { connection }) => connection.files.writeBlock(p),
  'fs/close': (p, { connection }) => connection.files.close(p),
};
