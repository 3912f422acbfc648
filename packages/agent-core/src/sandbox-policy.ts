import { isAbsolute, join, resolve } from 'node:path';
import { app, exec } from '@tether/protocol';

/**
 * A thread's sandbox policy (the app-server's `SandboxPolicy`) as what the command runs under: the
 * exec-server's permission profile and sandbox context, which both environments (this machine's
 * and a remote exec-server) enforce the same way. Decided here, once.
 */

/** Names the reference keeps read-only inside each writable root. */
const PROTECTED_NAMES = ['.git', '.agents', '.codex', '.aws'] as const;

const ROOT_READ: exec.FileSystemSandboxEntry = {
  path: { type: 'special', value: { kind: 'root' } },
  access: 'read',
};

/** The built-in permission profiles `permissions` may name, and the policy each one means. */
export const BUILT_IN_PERMISSION_PROFILES = [
  ':read-only',
  ':workspace',
  ':danger-full-access',
] as const;
export type BuiltInPermissionProfile = (typeof BUILT_IN_PERMISSION_PROFILES)[number];

export function isBuiltInPermissionProfile(id: string): id is BuiltInPermissionProfile {
  return (BUILT_IN_PERMISSION_PROFILES as readonly string[]).includes(id);
}

/** The settings of `[sandbox_workspace_write]` (config) that shape a workspace-write policy. */
export interface WorkspaceWriteOptions {
  writableRoots?: readonly string[];
  networkAccess?: boolean;
  excludeTmpdirEnvVar?: boolean;
  excludeSlashTmp?: boolean;
}

/** The full policy of a sandbox mode, with every member the reference reports. */
export function policyForMode(
  mode: app.SandboxMode,
  options: WorkspaceWriteOptions = {},
): app.SandboxPolicy {
  switch (mode) {
    case 'danger-full-access':
      return { type: 'dangerFullAccess' };
    case 'read-only':
      return { type: 'readOnly', networkAccess: false };
    case 'workspace-write':
      return {
        type: 'workspaceWrite',
        writableRoots: [...(options.writableRoots ?? [])],
        networkAccess: options.networkAccess ?? false,
        excludeTmpdirEnvVar: options.excludeTmpdirEnvVar ?? false,
        excludeSlashTmp: options.excludeSlashTmp ?? false,
      };
  }
}

export function policyForProfile(
  id: BuiltInPermissionProfile,
  options: WorkspaceWriteOptions = {},
): app.SandboxPolicy {
  switch (id) {
    case ':read-only':
      return policyForMode('read-only');
    case ':workspace':
      return policyForMode('workspace-write', options);
    case ':danger-full-access':
      return policyForMode('danger-full-access');
  }
}

/** A policy as a client sent it, with the members it left out filled in as the reference does. */
export function completePolicy(policy: app.SandboxPolicy): app.SandboxPolicy {
  switch (policy.type) {
    case 'readOnly':
      return { ...policy, networkAccess: policy.networkAccess ?? false };
    case 'workspaceWrite':
      return {
        ...policy,
        writableRoots: policy.writableRoots ?? [],
        networkAccess: policy.networkAccess ?? false,
        excludeTmpdirEnvVar: policy.excludeTmpdirEnvVar ?? false,
        excludeSlashTmp: policy.excludeSlashTmp ?? false,
      };
    case 'externalSandbox':
      return { ...policy, networkAccess: policy.networkAccess ?? 'restricted' };
    default:
      return policy;
  }
}

/** The sandbox mode a policy amounts to (`config/read`, the permissions text for the model). */
export function modeOfPolicy(policy: app.SandboxPolicy): app.SandboxMode {
  switch (policy.type) {
    case 'readOnly':
      return 'read-only';
    case 'workspaceWrite':
      return 'workspace-write';
    default:
      return 'danger-full-access';
  }
}

/** True when commands under this policy run inside a sandbox at all. */
export function isSandboxed(policy: app.SandboxPolicy): boolean {
  return policy.type === 'readOnly' || policy.type === 'workspaceWrite';
}

/** The directories a workspace-write command may write, in the reference's order (no /tmp, TMPDIR). */
export function writableRoots(policy: app.SandboxPolicy, cwd: string): string[] {
  if (policy.type !== 'workspaceWrite') return [];
  const roots = [cwd];
  for (const root of policy.writableRoots ?? []) {
    const path = isAbsolute(root) ? root : resolve(cwd, root);
    if (!roots.includes(path)) roots.push(path);
  }
  return roots;
}

/**
 * The exec-server permission profile of a policy, as the reference sends it (`undefined` for a
 * policy that runs commands unsandboxed): read-only is the whole filesystem readable; workspace-write
 * adds the cwd and the extra roots, `/tmp` and `$TMPDIR` unless excluded, and keeps the protected
 * names inside each root readable only.
 */
export function permissionProfileFor(
  policy: app.SandboxPolicy,
  cwd: string,
): exec.PermissionProfile | undefined {
  if (!isSandboxed(policy)) return undefined;
  const entries: exec.FileSystemSandboxEntry[] = [ROOT_READ];
  let network = false;
  if (policy.type === 'readOnly') network = policy.networkAccess === true;
  if (policy.type === 'workspaceWrite') {
    network = policy.networkAccess === true;
    const roots = writableRoots(policy, cwd);
    for (const root of roots) {
      entries.push({ path: { type: 'path', path: exec.pathToFileUri(root) }, access: 'write' });
    }
    if (policy.excludeSlashTmp !== true) {
      entries.push({ path: { type: 'special', value: { kind: 'slash_tmp' } }, access: 'write' });
    }
    if (policy.excludeTmpdirEnvVar !== true) {
      entries.push({ path: { type: 'special', value: { kind: 'tmpdir' } }, access: 'write' });
    }
    for (const root of roots) {
      for (const name of PROTECTED_NAMES) {
        entries.push({
          path: { type: 'path', path: exec.pathToFileUri(join(root, name)) },
          access: 'read',
          missing_path_behavior: 'skip',
        });
      }
    }
  }
  return {
    type: 'managed',
    file_system: { type: 'restricted', entries },
    network: network ? 'enabled' : 'restricted',
  };
}

/** The `sandbox` context of `process/start` for a command of a thread (`undefined`: unsandboxed). */
export function sandboxContextFor(
  policy: app.SandboxPolicy,
  cwd: string,
): exec.SandboxContext | undefined {
  const permissions = permissionProfileFor(policy, cwd);
  if (!permissions) return undefined;
  return {
    permissions,
    cwd: exec.pathToFileUri(cwd),
    workspaceRoots: [exec.pathToFileUri(cwd)],
    windowsSandboxLevel: 'disabled',
  };
}

/** Whether commands under this policy may use the network. */
export function networkAllowed(policy: app.SandboxPolicy): boolean {
  switch (policy.type) {
    case 'dangerFullAccess':
      return true;
    case 'externalSandbox':
      return policy.networkAccess === 'enabled';
    default:
      return policy.networkAccess === true;
  }
}

/** Parses a stored or configured policy; anything unreadable is `undefined`. */
export function parsePolicy(value: unknown): app.SandboxPolicy | undefined {
  const parsed = app.SandboxPolicy.safeParse(value);
  return parsed.success ? completePolicy(parsed.data) : undefined;
}
