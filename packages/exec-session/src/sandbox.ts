import { spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  lstatSync,
  mkdirSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmdirSync,
} from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { exec } from '@tether/protocol';

/**
 * The Linux sandbox: each sandboxed command runs under bubblewrap (`bwrap`) with the whole
 * filesystem read-only, its writable roots bound writable, the protected names inside each writable
 * root (`.git`, `.agents`, `.codex`, `.aws`, `.tether`) read-only, a new user, PID and IPC namespace,
 * a new network namespace unless the network is enabled, no capabilities, no new privileges
 * (bubblewrap sets them), and `--die-with-parent`.
 */

/** Names kept read-only inside every writable root (the reference's four, and tether's own). */
export const PROTECTED_NAMES = ['.git', '.agents', '.codex', '.aws', '.tether'] as const;

/** What a sandboxed command may touch, resolved to absolute host paths. */
export interface SandboxLayout {
  /** `read`: the whole filesystem read-only; `write`: writable; `minimal`: only system dirs. */
  root: 'read' | 'write' | 'minimal';
  /** Writable roots, in policy order, real paths, each once. */
  writable: string[];
  /** Paths kept read-only inside writable roots (besides {@link PROTECTED_NAMES}). */
  readOnly: string[];
  /** Paths made unreadable. */
  denied: string[];
  network: boolean;
}

/** A sandbox request that cannot be honoured as asked (never run unsandboxed instead). */
export class SandboxError extends Error {
  constructor(
    readonly code: 'UNAVAILABLE' | 'UNSUPPORTED',
    message: string,
  ) {
    super(message);
    this.name = 'SandboxError';
  }
}

const MINIMAL_PATHS = ['/bin', '/sbin', '/usr', '/lib', '/lib64', '/lib32', '/etc'];

function real(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Resolves a permission profile (paths as `file://` URIs, `project_roots` against the context's
 * workspace roots, given as paths). Returns `undefined`
 * when the profile asks for no sandbox (`disabled`, `external`, or unrestricted filesystem and
 * network). Throws {@link SandboxError} `UNSUPPORTED` for an entry tether cannot enforce (a glob,
 * an unknown special path): refusing is the only safe answer.
 */
export function layoutFromProfile(
  profile: exec.PermissionProfile,
  roots: { workspaceRoots?: readonly string[]; tmpdir?: string | undefined } = {},
): SandboxLayout | undefined {
  const tmpdir = 'tmpdir' in roots ? roots.tmpdir : process.env.TMPDIR;
  if (profile.type !== 'managed') return undefined;
  const network = profile.network === 'enabled';
  if (profile.file_system.type === 'unrestricted') {
    return network ? undefined : { root: 'write', writable: [], readOnly: [], denied: [], network };
  }
  const layout: SandboxLayout = {
    root: 'minimal',
    writable: [],
    readOnly: [],
    denied: [],
    network,
  };
  const add = (list: string[], path: string | undefined) => {
    if (path !== undefined && !list.includes(path)) list.push(path);
  };
  for (const entry of profile.file_system.entries) {
    const where = entry.path;
    let paths: Array<string | undefined>;
    if (where.type === 'glob_pattern') {
      throw new SandboxError(
        'UNSUPPORTED',
        `sandbox entry with glob pattern \`${where.pattern}\` is not supported by tether`,
      );
    }
    if (where.type === 'path') {
      paths = [resolve(exec.fileUriToPath(where.path))];
    } else {
      const special = where.value;
      switch (special.kind) {
        case 'root':
          if (entry.access === 'write') layout.root = 'write';
          else if (entry.access === 'read' && layout.root !== 'write') layout.root = 'read';
          else if (entry.access !== 'read') {
            throw new SandboxError(
              'UNSUPPORTED',
              `\`${entry.access}\` access to / is not supported`,
            );
          }
          continue;
        case 'minimal':
          continue;
        case 'slash_tmp':
          paths = ['/tmp'];
          break;
        case 'tmpdir':
          paths = tmpdir && isAbsolute(tmpdir) ? [resolve(tmpdir)] : [];
          break;
        case 'project_roots':
          paths = (roots.workspaceRoots ?? []).map((root) => resolve(root, special.subpath ?? '.'));
          break;
        default:
          throw new SandboxError(
            'UNSUPPORTED',
            `sandbox special path \`${special.kind}\` is not supported by tether`,
          );
      }
    }
    for (const path of paths) {
      if (path === undefined) continue;
      if (entry.access === 'write') add(layout.writable, real(path));
      else if (entry.access === 'read') add(layout.readOnly, path);
      else add(layout.denied, path);
    }
  }
  return layout;
}

/** The layout of a read-only or workspace-write thread (what the app-server's policies mean). */
export function layoutFor(options: {
  writableRoots: readonly string[];
  network: boolean;
  readOnly?: readonly string[];
}): SandboxLayout {
  const writable: string[] = [];
  for (const root of options.writableRoots) {
    const path = real(root);
    if (path !== undefined && !writable.includes(path)) writable.push(path);
  }
  return {
    root: 'read',
    writable,
    readOnly: [...(options.readOnly ?? [])],
    denied: [],
    network: options.network,
  };
}

/** Host directories created as mount points for missing protected paths, and who uses them. */
const placeholders = new Map<string, number>();

function releasePlaceholders(paths: readonly string[]): void {
  for (const path of paths) {
    const users = (placeholders.get(path) ?? 1) - 1;
    if (users > 0) {
      placeholders.set(path, users);
      continue;
    }
    placeholders.delete(path);
    try {
      rmdirSync(path); // only if still empty: never removes what someone put there since
    } catch {
      // not empty, or already gone
    }
  }
}

export interface BwrapCommand {
  /** bubblewrap's arguments, ending with `--`; the command's argv follows. */
  args: string[];
  /** Call once the command is gone: removes the mount points created for it. */
  release(): void;
}

export interface BwrapOptions {
  /** Directories made inaccessible (for example the app-server's control socket directory). */
  masked?: readonly string[];
  /** Paths kept read-only wherever they fall inside a writable root (for example tether's home). */
  protectedPaths?: readonly string[];
}

type PathKind = 'missing' | 'empty-dir' | 'other';

function kindOf(path: string): PathKind {
  try {
    const info = lstatSync(path);
    if (info.isDirectory() && readdirSync(path).length === 0) return 'empty-dir';
    return 'other';
  } catch {
    return 'missing';
  }
}

/**
 * bubblewrap's arguments for a layout. Later mounts cover earlier ones, so the order is: the
 * root, `/dev`, each writable root followed by its read-only paths, then masks. A protected path
 * that does not exist gets an empty read-only directory mounted where it would be, so the command
 * cannot create it (the mount point is created on the host and removed by `release`).
 */
export function bwrapCommand(layout: SandboxLayout, options: BwrapOptions = {}): BwrapCommand {
  const args = ['--die-with-parent'];
  if (layout.root === 'minimal') {
    args.push('--tmpfs', '/');
    for (const path of MINIMAL_PATHS)
      if (kindOf(path) !== 'missing') args.push('--ro-bind', path, path);
  } else {
    args.push(layout.root === 'write' ? '--bind' : '--ro-bind', '/', '/');
  }
  args.push('--dev', '/dev');
  const created: string[] = [];
  const readOnlyMount = (path: string) => {
    const kind = kindOf(path);
    if (kind === 'other') {
      args.push('--ro-bind', path, path);
      return;
    }
    if (kind === 'missing') {
      try {
        mkdirSync(path);
        placeholders.set(path, 1);
        created.push(path);
      } catch {
        if (!placeholders.has(path)) return; // its parent is gone or not a directory: nothing to protect
        placeholders.set(path, (placeholders.get(path) ?? 0) + 1);
        created.push(path);
      }
    }
    args.push('--perms', '555', '--tmpfs', path, '--remount-ro', path);
  };
  const extra = [...layout.readOnly, ...(options.protectedPaths ?? [])];
  for (const root of layout.writable) {
    args.push('--bind', root, root);
    const guarded = PROTECTED_NAMES.map((name) => join(root, name));
    for (const path of extra) {
      const resolved = real(path) ?? resolve(path);
      if (within(resolved, root) && resolved !== root && !guarded.includes(resolved))
        guarded.push(resolved);
    }
    // a path that is itself a later writable root stays writable (it is bound again below)
    for (const path of guarded) readOnlyMount(path);
  }
  for (const path of [...layout.denied, ...(options.masked ?? [])]) {
    const kind = kindOf(path);
    if (kind === 'missing') continue;
    const info = lstatSync(path);
    if (info.isDirectory()) args.push('--perms', '000', '--tmpfs', path, '--remount-ro', path);
    else args.push('--ro-bind', '/dev/null', path);
  }
  args.push('--unshare-user', '--unshare-pid', '--unshare-ipc');
  if (!layout.network) args.push('--unshare-net');
  args.push('--proc', '/proc', '--cap-drop', 'ALL', '--');
  let released = false;
  return {
    args,
    release: () => {
      if (released) return;
      released = true;
      releasePlaceholders(created);
    },
  };
}

/** Whether sandboxed commands can run here, and if not, why and what to do. */
export interface SandboxSupport {
  available: boolean;
  /** The bwrap that works (when available). */
  bwrap?: string;
  /** One line for the user: what is missing and how to fix it (when not available). */
  problem?: string;
}

export const BWRAP_MISSING_MESSAGE =
  'tether could not find bubblewrap (bwrap) on PATH, so it cannot sandbox commands; install it with your OS package manager (Debian/Ubuntu: `apt-get install bubblewrap`, Fedora: `dnf install bubblewrap`)';

function findOnPath(program: string, path: string | undefined): string | undefined {
  for (const dir of (path ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return undefined;
}

const probes = new Map<string, Promise<SandboxSupport>>();

/**
 * Finds bubblewrap and checks, once per process, that it can create the namespaces the sandbox
 * needs (it cannot on WSL1, or where unprivileged user namespaces are disabled).
 */
export function probeSandbox(
  options: { bwrap?: string; path?: string } = {},
): Promise<SandboxSupport> {
  if (process.platform !== 'linux') {
    return Promise.resolve({
      available: false,
      problem: `tether's sandbox needs Linux and bubblewrap; this is ${process.platform}`,
    });
  }
  const bwrap = options.bwrap ?? findOnPath('bwrap', options.path ?? process.env.PATH);
  if (!bwrap) return Promise.resolve({ available: false, problem: BWRAP_MISSING_MESSAGE });
  let probe = probes.get(bwrap);
  if (!probe) {
    probe = runProbe(bwrap);
    probes.set(bwrap, probe);
  }
  return probe;
}

function runProbe(bwrap: string): Promise<SandboxSupport> {
  const { args } = bwrapCommand({
    root: 'read',
    writable: [],
    readOnly: [],
    denied: [],
    network: false,
  });
  return new Promise((resolvePromise) => {
    let stderr = '';
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(bwrap, [...args, '/bin/true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (error) {
      resolvePromise({
        available: false,
        problem: `bubblewrap at ${bwrap} cannot run: ${String(error)}`,
      });
      return;
    }
    child.stderr?.on('data', (data: Buffer) => {
      if (stderr.length < 4096) stderr += data.toString();
    });
    child.once('error', (error) =>
      resolvePromise({
        available: false,
        problem: `bubblewrap at ${bwrap} cannot run: ${error.message}`,
      }),
    );
    child.once('close', (code) => {
      if (code === 0) {
        resolvePromise({ available: true, bwrap });
        return;
      }
      const why = stderr.trim().split('\n')[0] || `exit code ${code}`;
      resolvePromise({
        available: false,
        problem: `bubblewrap at ${bwrap} cannot create the sandbox's namespaces (${why}); tether's sandbox needs unprivileged user namespaces (on Ubuntu 24.04+, an AppArmor profile for bwrap; not possible on WSL1)`,
      });
    });
  });
}

/**
 * The host path an operation on `path` touches: symlinks resolved in every existing component
 * (and in the last one too when `followFinal`), missing components appended as they are.
 */
export function hostPath(path: string, followFinal = true, depth = 0): string {
  const absolute = resolve(path);
  const parent = dirname(absolute);
  if (parent === absolute) return absolute;
  if (!followFinal) return join(hostPath(parent), basename(absolute));
  const full = real(absolute);
  if (full !== undefined) return full;
  // a dangling symlink: an operation that follows it creates its target, so that is what it touches
  let link: string | undefined;
  try {
    link = readlinkSync(absolute);
  } catch {
    link = undefined;
  }
  if (link !== undefined && depth < 40) return hostPath(resolve(parent, link), true, depth + 1);
  return join(hostPath(parent), basename(absolute));
}

function osError(code: 'EROFS' | 'EACCES', path: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: sandbox refuses ${path}`);
  error.code = code;
  error.path = path;
  return error;
}

/**
 * Whether the sandbox lets a file operation touch `path` as the command inside it would see it:
 * a denied or masked path is EACCES; a write outside every writable root, or into a read-only
 * path inside one, is EROFS (the errors bubblewrap's mounts give a command). The path is resolved
 * on the host first, so a symlink or `..` cannot lead a write out of its root.
 */
export function checkAccess(
  layout: SandboxLayout,
  path: string,
  access: 'read' | 'write',
  options: BwrapOptions = {},
  followFinal = true,
): void {
  const target = hostPath(path, followFinal);
  for (const hidden of [...layout.denied, ...(options.masked ?? [])]) {
    if (within(target, real(hidden) ?? resolve(hidden))) throw osError('EACCES', path);
  }
  if (access === 'read') return;
  // the same rule as the mounts: the last writable root (or guard inside it) covering the path wins
  let writable = layout.root === 'write';
  const extra = [...layout.readOnly, ...(options.protectedPaths ?? [])].map(
    (entry) => real(entry) ?? resolve(entry),
  );
  for (const root of layout.writable) {
    if (!within(target, root)) continue;
    writable = true;
    const guards = [...PROTECTED_NAMES.map((name) => join(root, name)), ...extra];
    for (const guard of guards) {
      if (guard !== root && within(guard, root) && within(target, guard)) writable = false;
    }
  }
  if (!writable) throw osError('EROFS', path);
}

/** What `--check-sandbox` prints: whether bubblewrap works here, and what each mode then enforces. */
export interface SandboxCheck {
  ok: boolean;
  lines: string[];
}

function runInSandbox(bwrap: string, layout: SandboxLayout, script: string): Promise<number> {
  const command = bwrapCommand(layout);
  return new Promise((resolvePromise) => {
    const child = spawn(bwrap, [...command.args, '/bin/sh', '-c', script], { stdio: 'ignore' });
    child.once('error', () => {
      command.release();
      resolvePromise(-1);
    });
    child.once('close', (code) => {
      command.release();
      resolvePromise(code ?? -1);
    });
  });
}

/**
 * Checks the sandbox for real: finds bubblewrap, then runs a write in a read-only sandbox (must be
 * refused), a write in a workspace-write sandbox's root (must work) and a TCP connection to a
 * listener on the host (must be refused without network access).
 */
export async function checkSandbox(options: {
  bwrap?: string;
  scratch: string;
}): Promise<SandboxCheck> {
  const support = await probeSandbox(options.bwrap ? { bwrap: options.bwrap } : {});
  if (!support.available || !support.bwrap) {
    return {
      ok: false,
      lines: [`sandbox: unavailable`, `  ${support.problem ?? 'unknown reason'}`],
    };
  }
  const bwrap = support.bwrap;
  const { createServer } = await import('node:net');
  const { mkdtempSync, rmSync } = await import('node:fs');
  const dir = mkdtempSync(join(options.scratch, 'tether-sandbox-check-'));
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    const file = join(dir, 'probe');
    const readOnly = layoutFor({ writableRoots: [], network: false });
    const workspace = layoutFor({ writableRoots: [dir], network: false });
    const checks: Array<[string, boolean]> = [
      [
        'read-only: a write is refused',
        (await runInSandbox(bwrap, readOnly, `: > '${file}'`)) !== 0,
      ],
      [
        'workspace-write: a write in the workspace works',
        (await runInSandbox(bwrap, workspace, `: > '${file}'`)) === 0,
      ],
      [
        'workspace-write: a write outside the workspace is refused',
        (await runInSandbox(bwrap, workspace, ': > /etc/tether-sandbox-check')) !== 0,
      ],
      [
        'no network access: a connection to the host is refused',
        (await runInSandbox(bwrap, readOnly, `bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}'`)) !== 0,
      ],
    ];
    const ok = checks.every(([, passed]) => passed);
    return {
      ok,
      lines: [
        `sandbox: ${ok ? 'works' : 'does NOT hold'} (bubblewrap at ${bwrap})`,
        ...checks.map(([name, passed]) => `  ${passed ? 'ok  ' : 'FAIL'} ${name}`),
      ],
    };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
