import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '@tether/protocol';
import { pgrep, pidAlive, tempHomeOutsideTmp, waitFor } from '@tether/test-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BWRAP_MISSING_MESSAGE,
  bwrapCommand,
  checkAccess,
  checkSandbox,
  layoutFromProfile,
  probeSandbox,
} from './sandbox.js';
import { newService, startParams, TestClient } from './test-support/harness.js';

// These tests run real commands under bubblewrap; they need `bwrap` on PATH (`.ci/run` installs it).
// The scratch directory is outside /tmp: /tmp itself is a writable root of workspace-write.
const scratch = tempHomeOutsideTmp('.tether-sandbox-test-');
const workspace = join(scratch, 'workspace');
const outside = join(scratch, 'outside');
const service = newService();
let client: TestClient;
let counter = 0;

beforeAll(async () => {
  mkdirSync(join(workspace, '.git'), { recursive: true });
  writeFileSync(join(workspace, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim.txt'), 'original\n');
  writeFileSync(join(workspace, 'mine.txt'), 'mine\n');
  symlinkSync(outside, join(workspace, 'to-outside'));
  const support = await probeSandbox();
  if (!support.available) throw new Error(`the sandbox tests need bubblewrap: ${support.problem}`);
  client = new TestClient(service);
  await client.initialize();
});

afterAll(() => {
  service.shutdown();
  rmSync(scratch, { recursive: true, force: true });
});

const ROOT_READ = { path: { type: 'special', value: { kind: 'root' } }, access: 'read' } as const;

function readOnly(network = false): exec.PermissionProfile {
  return {
    type: 'managed',
    file_system: { type: 'restricted', entries: [ROOT_READ] },
    network: network ? 'enabled' : 'restricted',
  };
}

function workspaceWrite(
  options: { network?: boolean; tmp?: boolean } = {},
): exec.PermissionProfile {
  const entries: exec.FileSystemSandboxEntry[] = [
    ROOT_READ,
    { path: { type: 'special', value: { kind: 'project_roots', subpath: null } }, access: 'write' },
  ];
  if (options.tmp !== false) {
    entries.push({ path: { type: 'special', value: { kind: 'slash_tmp' } }, access: 'write' });
  }
  return {
    type: 'managed',
    file_system: { type: 'restricted', entries },
    network: options.network ? 'enabled' : 'restricted',
  };
}

function context(permissions: exec.PermissionProfile) {
  return {
    permissions,
    cwd: exec.pathToFileUri(workspace),
    workspaceRoots: [exec.pathToFileUri(workspace)],
    windowsSandboxLevel: 'disabled',
  };
}

/** Runs a shell script in the sandbox; resolves its exit code and output. */
async function run(
  permissions: exec.PermissionProfile,
  script: string,
  extra: Record<string, unknown> = {},
): Promise<{ exitCode: number; output: string; sandboxType: unknown }> {
  counter += 1;
  const id = `sbx-${counter}`;
  const started = await client.call('process/start', {
    ...startParams(id, ['/bin/sh', '-c', script]),
    cwd: exec.pathToFileUri(workspace),
    sandbox: context(permissions),
    ...extra,
  });
  const output = (await client.waitClosed(id)).toString();
  const exited = client.notifications('process/exited', id)[0];
  return { exitCode: Number(exited?.exitCode), output, sandboxType: started.sandboxType };
}

/** Each attempt prints `ok <name>` or `denied <name>`. */
function attempts(lines: Record<string, string>): string {
  return Object.entries(lines)
    .map(
      ([name, command]) =>
        `if ${command} 2>/dev/null; then echo "ok ${name}"; else echo "denied ${name}"; fi`,
    )
    .join('\n');
}

function outcomes(output: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of output.split('\n')) {
    const match = /^(ok|denied) (.+)$/.exec(line.trim());
    if (match) result[match[2] as string] = match[1] as string;
  }
  return result;
}

describe('sandbox: read-only', () => {
  it('cannot create, modify, delete or rename a file anywhere, by any path', async () => {
    const victim = join(outside, 'victim.txt');
    const mine = join(workspace, 'mine.txt');
    const { output, exitCode, sandboxType } = await run(
      readOnly(),
      attempts({
        'create in cwd': 'touch new.txt',
        'create in /tmp': `touch /tmp/tether-ro-${process.pid}`,
        'create in $TMPDIR': `touch "${tmpdir()}/tether-ro2-${process.pid}"`,
        'modify in cwd': `echo x >> ${mine}`,
        'modify outside': `echo x >> ${victim}`,
        'delete in cwd': `rm -f ${mine}`,
        'rename in cwd': `mv ${mine} ${mine}.moved`,
        'via symlink': 'echo x >> to-outside/victim.txt',
        'via ..': `echo x >> ../outside/victim.txt`,
        'via /proc/self/cwd': 'touch /proc/self/cwd/proc-new.txt',
        'hard link': `ln ${victim} hard-link`,
        mkdir: 'mkdir newdir',
        chmod: `chmod 777 ${mine}`,
      }),
    );
    expect(sandboxType).toBe('linuxSeccomp');
    expect(exitCode).toBe(0);
    const result = outcomes(output);
    expect(Object.keys(result)).toHaveLength(13);
    expect(Object.entries(result).filter(([, outcome]) => outcome === 'ok')).toEqual([]);
    expect(readFileSync(victim, 'utf8')).toBe('original\n');
    expect(readFileSync(mine, 'utf8')).toBe('mine\n');
    for (const path of ['new.txt', 'proc-new.txt', 'hard-link', 'newdir', 'mine.txt.moved']) {
      expect(existsSync(join(workspace, path)), path).toBe(false);
    }
    expect(existsSync(`/tmp/tether-ro-${process.pid}`)).toBe(false);
    expect(output).not.toContain('ok ');
  });

  it('can still read files and run programs, and reports a write as a read-only file system', async () => {
    const { output, exitCode } = await run(readOnly(), 'cat mine.txt && touch x');
    expect(output).toContain('mine');
    expect(output).toContain('Read-only file system');
    expect(exitCode).toBe(1);
  });

  it('runs a terminal command in the same sandbox', async () => {
    const { output } = await run(readOnly(), 'touch tty-new.txt; echo "rc=$?"', { tty: true });
    expect(output).toContain('Read-only file system');
    expect(output).toContain('rc=1');
    expect(existsSync(join(workspace, 'tty-new.txt'))).toBe(false);
  });
});

describe('sandbox: workspace-write', () => {
  it('writes in its roots and nowhere else; .git stays read-only', async () => {
    const victim = join(outside, 'victim.txt');
    const { output } = await run(
      workspaceWrite(),
      attempts({
        'create in cwd': 'touch ww-new.txt',
        'create in /tmp': `touch /tmp/tether-ww-${process.pid}`,
        'modify outside': `echo x >> ${victim}`,
        'via symlink': 'echo x >> to-outside/victim.txt',
        'via ..': 'echo x >> ../outside/victim.txt',
        'hard link to outside': `ln ${victim} ww-hard-link`,
        'write .git': 'echo x >> .git/HEAD',
        'create in .git': 'touch .git/hooks-pre-commit',
        'create .agents': 'mkdir -p .agents/x',
        'create .codex': 'touch .codex',
      }),
    );
    expect(outcomes(output)).toEqual({
      'create in cwd': 'ok',
      'create in /tmp': 'ok',
      'modify outside': 'denied',
      'via symlink': 'denied',
      'via ..': 'denied',
      'hard link to outside': 'denied',
      'write .git': 'denied',
      'create in .git': 'denied',
      'create .agents': 'denied',
      'create .codex': 'denied',
    });
    expect(readFileSync(victim, 'utf8')).toBe('original\n');
    expect(readFileSync(join(workspace, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
    rmSync(`/tmp/tether-ww-${process.pid}`, { force: true });
    // the mount points made for missing protected names are gone once the command is
    await waitFor(() => !existsSync(join(workspace, '.agents')));
    for (const name of ['.agents', '.codex', '.aws', '.tether']) {
      expect(existsSync(join(workspace, name)), name).toBe(false);
    }
  });

  it('keeps /tmp read-only when the policy leaves it out', async () => {
    const { output } = await run(
      workspaceWrite({ tmp: false }),
      attempts({ 'create in /tmp': `touch /tmp/tether-ww2-${process.pid}` }),
    );
    expect(outcomes(output)).toEqual({ 'create in /tmp': 'denied' });
  });
});

describe('sandbox: network', () => {
  let server: Server;
  let port = 0;
  let connections = 0;
  beforeAll(async () => {
    server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(() => server.close());

  const connect = () =>
    `if bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}' 2>/dev/null; then echo "ok connect"; else echo "denied connect"; fi`;

  it('cannot reach a listener on the host without network access', async () => {
    const before = connections;
    expect(outcomes((await run(readOnly(), connect())).output)).toEqual({ connect: 'denied' });
    expect(outcomes((await run(workspaceWrite(), connect())).output)).toEqual({
      connect: 'denied',
    });
    expect(connections).toBe(before);
  });

  it('reaches it when the profile enables the network', async () => {
    const before = connections;
    expect(outcomes((await run(readOnly(true), connect())).output)).toEqual({ connect: 'ok' });
    await waitFor(() => connections > before);
    expect(connections).toBe(before + 1);
  });
});

describe('sandbox: lifetime', () => {
  it('a terminated sandboxed command leaves nothing running', async () => {
    const marker = 900_000 + (process.pid % 90_000);
    counter += 1;
    const id = `sbx-${counter}`;
    await client.call('process/start', {
      ...startParams(id, ['/bin/sh', '-c', `sleep ${marker} & sleep ${marker}; echo done`]),
      cwd: exec.pathToFileUri(workspace),
      sandbox: context(readOnly()),
    });
    const find = () => pgrep(`sleep ${marker}`);
    // the two sleeps, and the shell and bubblewrap whose command lines name them
    await waitFor(() => find().length >= 2);
    const pids = find();
    await client.call('process/terminate', { processId: id });
    await waitFor(() => !pids.some(pidAlive));
  });
});

describe('sandbox: fs methods under a sandbox context', () => {
  const write = (path: string, permissions: exec.PermissionProfile) =>
    client.request('fs/writeFile', {
      path: exec.pathToFileUri(path),
      dataBase64: 'eA==',
      sandbox: context(permissions),
    });

  it('refuses writes the command would be refused, with the reference error', async () => {
    const readOnlyError = { code: -32603, message: 'Read-only file system (os error 30)' };
    expect((await write(join(workspace, 'fs-ro.txt'), readOnly())).error).toEqual(readOnlyError);
    expect((await write(join(workspace, 'fs-ww.txt'), workspaceWrite())).result).toEqual({});
    expect((await write(join(outside, 'fs-out.txt'), workspaceWrite())).error).toEqual(
      readOnlyError,
    );
    expect(
      (await write(join(workspace, 'to-outside', 'fs-link.txt'), workspaceWrite())).error,
    ).toEqual(readOnlyError);
    expect((await write(join(workspace, '.git', 'config'), workspaceWrite())).error).toEqual(
      readOnlyError,
    );
    // a dangling link whose target is outside: following it would create the target
    symlinkSync(join(outside, 'created-by-link'), join(workspace, 'dangling'));
    expect((await write(join(workspace, 'dangling'), workspaceWrite())).error).toEqual(
      readOnlyError,
    );
    expect(existsSync(join(outside, 'created-by-link'))).toBe(false);
    // removing the link itself is a write inside the root
    const removed = await client.request('fs/remove', {
      path: exec.pathToFileUri(join(workspace, 'dangling')),
      sandbox: context(workspaceWrite()),
    });
    expect(removed.result).toEqual({});
    // reads are not restricted by a read-only profile
    const read = await client.request('fs/readFile', {
      path: exec.pathToFileUri(join(outside, 'victim.txt')),
      sandbox: context(readOnly()),
    });
    expect(read.result).toEqual({ dataBase64: Buffer.from('original\n').toString('base64') });
    expect(existsSync(join(workspace, 'fs-ro.txt'))).toBe(false);
    expect(readFileSync(join(workspace, 'fs-ww.txt'), 'utf8')).toBe('x');
  });

  it('refuses an entry it cannot enforce instead of ignoring it', async () => {
    const profile: exec.PermissionProfile = {
      type: 'managed',
      file_system: {
        type: 'restricted',
        entries: [
          ROOT_READ,
          { path: { type: 'glob_pattern', pattern: '**/*.env' }, access: 'deny' },
        ],
      },
      network: 'restricted',
    };
    const started = await client.request('process/start', {
      ...startParams('sbx-glob', ['/bin/true']),
      sandbox: context(profile),
    });
    expect(started.error).toEqual({
      code: -32603,
      message: 'sandbox entry with glob pattern `**/*.env` is not supported by tether',
    });
  });
});

describe('sandbox: without bubblewrap', () => {
  it('says what is missing and never runs the command unsandboxed', async () => {
    expect(await probeSandbox({ path: '/nonexistent' })).toEqual({
      available: false,
      problem: BWRAP_MISSING_MESSAGE,
    });
    const broken = newService({ sandbox: { bwrap: '/nonexistent/bwrap' } });
    const other = new TestClient(broken);
    await other.initialize();
    const target = join(scratch, 'must-not-exist');
    const started = await other.request('process/start', {
      ...startParams('p', ['/bin/touch', target]),
      sandbox: context(readOnly()),
    });
    expect(started.error?.code).toBe(-32603);
    expect(started.error?.message).toMatch(/bubblewrap at \/nonexistent\/bwrap cannot run/);
    expect(existsSync(target)).toBe(false);
    expect((await broken.sandboxSupport).available).toBe(false);
    const info = await other.call<{ capabilities: Record<string, boolean> }>('environment/info');
    expect(info.capabilities.linuxSandbox).toBe(false);
    broken.shutdown();
    expect((await service.sandboxSupport).available).toBe(true);
  });
});

describe('sandbox layout', () => {
  it('reads the reference profile of a workspace-write thread', () => {
    const layout = layoutFromProfile(
      {
        type: 'managed',
        file_system: {
          type: 'restricted',
          entries: [
            ROOT_READ,
            { path: { type: 'path', path: exec.pathToFileUri(workspace) }, access: 'write' },
            { path: { type: 'special', value: { kind: 'slash_tmp' } }, access: 'write' },
            { path: { type: 'special', value: { kind: 'tmpdir' } }, access: 'write' },
            {
              path: { type: 'path', path: exec.pathToFileUri(join(workspace, '.git')) },
              access: 'read',
              missing_path_behavior: 'skip',
            },
          ],
        },
        network: 'restricted',
      },
      { tmpdir: '/var/tmp' },
    );
    expect(layout).toEqual({
      root: 'read',
      writable: [workspace, '/tmp', '/var/tmp'],
      readOnly: [join(workspace, '.git')],
      denied: [],
      network: false,
    });
    expect(layoutFromProfile({ type: 'disabled' })).toBeUndefined();
    // project_roots name the context's workspace roots, and nothing without them
    expect(layoutFromProfile(workspaceWrite({ tmp: false }), {})?.writable).toEqual([]);
  });

  it('builds the mounts in order: root, roots with their guards, masks, namespaces', () => {
    const command = bwrapCommand(
      { root: 'read', writable: [workspace], readOnly: [], denied: [], network: false },
      { masked: [outside] },
    );
    const args = command.args.join(' ');
    expect(args.startsWith('--die-with-parent --ro-bind / / --dev /dev --bind')).toBe(true);
    expect(args).toContain(`--ro-bind ${workspace}/.git ${workspace}/.git`);
    expect(args).toContain(`--perms 555 --tmpfs ${workspace}/.aws --remount-ro ${workspace}/.aws`);
    expect(args).toContain(`--perms 000 --tmpfs ${outside} --remount-ro ${outside}`);
    expect(
      args.endsWith(
        '--unshare-user --unshare-pid --unshare-ipc --unshare-net --proc /proc --cap-drop ALL --',
      ),
    ).toBe(true);
    command.release();
    expect(existsSync(join(workspace, '.aws'))).toBe(false);
  });

  it('checks a file operation the way the mounts would', () => {
    const layout = layoutFromProfile(workspaceWrite(), { workspaceRoots: [workspace] });
    if (!layout) throw new Error('expected a layout');
    expect(() => checkAccess(layout, join(workspace, 'a'), 'write')).not.toThrow();
    expect(() => checkAccess(layout, join(workspace, 'to-outside', 'a'), 'write')).toThrow(
      expect.objectContaining({ code: 'EROFS' }),
    );
    expect(() => checkAccess(layout, join(workspace, '.git'), 'write')).toThrow(
      expect.objectContaining({ code: 'EROFS' }),
    );
    // removing the link is allowed; writing through it is not
    expect(() =>
      checkAccess(layout, join(workspace, 'to-outside'), 'write', {}, false),
    ).not.toThrow();
    expect(() =>
      checkAccess(layout, join(outside, 'victim.txt'), 'read', { masked: [outside] }),
    ).toThrow(expect.objectContaining({ code: 'EACCES' }));
    expect(() =>
      checkAccess(layout, join(workspace, 'x'), 'write', { protectedPaths: [`${workspace}/x`] }),
    ).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });
});

describe('checkSandbox', () => {
  it('runs real checks and says each holds', async () => {
    const result = await checkSandbox({ scratch });
    expect(result.ok).toBe(true);
    expect(result.lines[0]).toMatch(/^sandbox: works \(bubblewrap at .*bwrap\)$/);
    expect(result.lines.slice(1)).toEqual([
      '  ok   read-only: a write is refused',
      '  ok   workspace-write: a write in the workspace works',
      '  ok   workspace-write: a write outside the workspace is refused',
      '  ok   no network access: a connection to the host is refused',
    ]);
  });

  it('says what is missing when bubblewrap is', async () => {
    const result = await checkSandbox({ scratch, bwrap: '/nonexistent/bwrap' });
    expect(result.ok).toBe(false);
    expect(result.lines[0]).toBe('sandbox: unavailable');
  });
});
