import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { app } from '@tether/protocol';
import { writableRoots } from '../sandbox-policy.js';
import type { VerifiedPatch } from './apply.js';

/** How a verified patch is handled: written at once, written once the user accepts, or refused. */
export type PatchDecision =
  | { kind: 'apply' }
  | { kind: 'ask' }
  | {
      kind: 'reject';
      /** What the model is told (the reference's words, after `patch rejected: `). */
      reason: string;
    };

/** The reference's reasons for refusing a patch without asking. */
export const OUTSIDE_PROJECT_REASON =
  'writing outside of the project; rejected by user approval settings';
export const READ_ONLY_REASON =
  'writing is blocked by read-only sandbox; rejected by user approval settings';

/** Names inside a writable root that stay read-only (as the sandbox keeps them for commands). */
const PROTECTED_NAMES = ['.git', '.agents', '.codex', '.aws'];

/**
 * Where a workspace-write thread may write: its cwd and extra roots, and `/tmp` and `$TMPDIR`
 * unless the policy excludes them, as the reference's sandbox allows.
 */
export function patchWritableRoots(
  policy: app.SandboxPolicy,
  cwd: string,
  tmpdir: string | undefined,
): string[] {
  if (policy.type !== 'workspaceWrite') return [];
  const roots = writableRoots(policy, cwd);
  if (policy.excludeSlashTmp !== true) roots.push('/tmp');
  if (policy.excludeTmpdirEnvVar !== true && tmpdir && isAbsolute(tmpdir)) roots.push(tmpdir);
  return roots;
}

function inside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Where a path really leads (see `PatchFileSystem.resolvePath`). */
export type ResolvePath = (path: string) => Promise<string>;

/**
 * True when every path the patch writes or removes lies in a writable root and not in a protected
 * name, judged by where it really leads, as the exec-server judges a write against a sandbox: the
 * roots and the paths are resolved with `resolvePath` (a symlink inside the cwd that points out of
 * it leads out), a file a patch writes is followed through a final symlink, one it removes is not
 * (removing a link removes the link). A path that cannot be resolved does not stay in the roots.
 * Without `resolvePath` the paths are taken as written.
 */
export async function patchStaysInRoots(
  patch: VerifiedPatch,
  roots: readonly string[],
  resolvePath: ResolvePath = async (path) => path,
): Promise<boolean> {
  const realRoots = await Promise.all(
    roots.map((root) => resolvePath(root).catch(() => resolve(root))),
  );
  const allRoots = [...roots, ...realRoots];
  const isProtected = (path: string) =>
    allRoots.some((root) => PROTECTED_NAMES.some((name) => inside(path, resolve(root, name))));
  const writable = async (path: string, follow: boolean): Promise<boolean> => {
    const full = resolve(patch.cwd, path);
    let real: string;
    try {
      real = follow
        ? await resolvePath(full)
        : join(await resolvePath(dirname(full)), basename(full));
    } catch {
      return false;
    }
    return realRoots.some((root) => inside(real, root)) && !isProtected(full) && !isProtected(real);
  };
  for (const change of patch.changes) {
    const moved =
      change.kind === 'update' && change.movePath !== undefined && change.movePath !== change.path;
    const removes = change.kind === 'delete' || moved;
    if (!(await writable(change.path, !removes))) return false;
    if (moved && change.movePath !== undefined && !(await writable(change.movePath, true))) {
      return false;
    }
  }
  return true;
}

/**
 * The decision for a patch, as the reference decides it:
 * - `untrusted` asks for every patch;
 * - a patch that stays inside the sandbox's writable roots (anything, without a sandbox) is
 *   written without asking under `on-request`, `on-failure`, `never` and granular policies;
 * - one that leaves them asks, except under `never` (and a granular policy that allows no sandbox
 *   approvals), where it is refused: with the read-only sandbox's reason when nothing is writable.
 */
export function decidePatch(
  approvalPolicy: app.AskForApproval,
  sandbox: app.SandboxPolicy,
  staysInRoots: boolean,
): PatchDecision {
  if (approvalPolicy === 'untrusted') return { kind: 'ask' };
  const unsandboxed = sandbox.type === 'dangerFullAccess' || sandbox.type === 'externalSandbox';
  if (unsandboxed || (sandbox.type === 'workspaceWrite' && staysInRoots)) return { kind: 'apply' };
  const refuses =
    approvalPolicy === 'never' ||
    (typeof approvalPolicy === 'object' && approvalPolicy.granular.sandbox_approval === false);
  if (!refuses) return { kind: 'ask' };
  return {
    kind: 'reject',
    reason: sandbox.type === 'readOnly' ? READ_ONLY_REASON : OUTSIDE_PROJECT_REASON,
  };
}
