import { z } from 'zod';
import { FileUri } from './uri.js';

/**
 * The sandbox context `process/start` and the fs methods take (`WireFileSystemSandboxContext` in
 * the reference): a permission profile, the working directory it is relative to, and the Windows
 * sandbox level (ignored on Linux). Member names are the reference's own: the context is
 * camelCase, the profile inside it is snake_case.
 */

/** A special path of a filesystem entry (`FileSystemSpecialPath`). */
export const FileSystemSpecialPath = z.discriminatedUnion('kind', [
  z.looseObject({ kind: z.literal('root') }),
  z.looseObject({ kind: z.literal('minimal') }),
  z.looseObject({ kind: z.literal('project_roots'), subpath: z.string().nullish() }),
  z.looseObject({ kind: z.literal('tmpdir') }),
  z.looseObject({ kind: z.literal('slash_tmp') }),
  z.looseObject({ kind: z.literal('unknown'), path: z.string(), subpath: z.string().nullish() }),
]);
export type FileSystemSpecialPath = z.infer<typeof FileSystemSpecialPath>;

/** Where a filesystem entry applies: a path (a `file://` URI on this wire), a glob, or a special place. */
export const FileSystemPath = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('path'), path: FileUri }),
  z.looseObject({ type: z.literal('glob_pattern'), pattern: z.string() }),
  z.looseObject({ type: z.literal('special'), value: FileSystemSpecialPath }),
]);
export type FileSystemPath = z.infer<typeof FileSystemPath>;

/** `none` is the older name of `deny`. */
export const FileSystemAccessMode = z.enum(['read', 'write', 'deny', 'none']);
export type FileSystemAccessMode = z.infer<typeof FileSystemAccessMode>;

export const FileSystemSandboxEntry = z.looseObject({
  path: FileSystemPath,
  access: FileSystemAccessMode,
  /** `skip`: an entry whose path does not exist is not an error. */
  missing_path_behavior: z.enum(['skip', 'error']).nullish(),
});
export type FileSystemSandboxEntry = z.infer<typeof FileSystemSandboxEntry>;

export const FileSystemSandboxPolicy = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('restricted'),
    entries: z.array(FileSystemSandboxEntry),
    glob_scan_max_depth: z.number().int().nullish(),
  }),
  z.looseObject({ type: z.literal('unrestricted') }),
]);
export type FileSystemSandboxPolicy = z.infer<typeof FileSystemSandboxPolicy>;

export const NetworkSandboxPolicy = z.enum(['restricted', 'enabled']);
export type NetworkSandboxPolicy = z.infer<typeof NetworkSandboxPolicy>;

/**
 * A permission profile: `managed` (the filesystem and network rules above), `disabled` (no
 * sandbox: full access) or `external` (sandboxed by something outside the server).
 */
export const PermissionProfile = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('managed'),
    file_system: FileSystemSandboxPolicy,
    network: NetworkSandboxPolicy,
  }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('external'), network: NetworkSandboxPolicy.optional() }),
]);
export type PermissionProfile = z.infer<typeof PermissionProfile>;

export const WindowsSandboxLevel = z.enum(['disabled', 'restricted-token', 'elevated', 'mxc']);
export type WindowsSandboxLevel = z.infer<typeof WindowsSandboxLevel>;

/**
 * How the exec-server's decoder (serde) names a value it did not expect, in
 * `invalid type: X, expected struct Y`: `null`, `a sequence`, `a map`, `string "x"`, `integer \`1\``.
 */
export function serdeValueName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'a sequence';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
      return Number.isInteger(value) ? `integer \`${value}\`` : `floating point \`${value}\``;
    case 'boolean':
      return `boolean \`${value}\``;
    default:
      return 'a map';
  }
}

/** The sandbox context itself; anything but an object is refused in serde's words. */
export const SandboxContext = z.looseObject(
  {
    permissions: PermissionProfile,
    /** The command's working directory, as a `file://` URI. */
    cwd: FileUri,
    /** What `project_roots` entries name (`file://` URIs); none when absent. */
    workspaceRoots: z.array(FileUri).nullish(),
    windowsSandboxLevel: WindowsSandboxLevel,
    windowsSandboxPrivateDesktop: z.boolean().nullish(),
    useLegacyLandlock: z.boolean().nullish(),
  },
  {
    error: (issue) =>
      issue.code === 'invalid_type' && issue.input !== undefined
        ? `invalid type: ${serdeValueName(issue.input)}, expected struct WireFileSystemSandboxContext`
        : undefined,
  },
);
export type SandboxContext = z.infer<typeof SandboxContext>;
