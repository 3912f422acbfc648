import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { app } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { nodeFiles } from '../test-support/node-files.js';
import type { VerifiedPatch } from './apply.js';
import {
  decidePatch,
  OUTSIDE_PROJECT_REASON,
  patchStaysInRoots,
  patchWritableRoots,
  READ_ONLY_REASON,
} from './safety.js';

const workspace: app.SandboxPolicy = {
  type: 'workspaceWrite',
  writableRoots: [],
  networkAccess: false,
  excludeTmpdirEnvVar: false,
  excludeSlashTmp: true,
};
const add = (path: string): VerifiedPatch => ({
  cwd: '/w',
  changes: [{ kind: 'add', path, patchPath: path, contents: '', overwritten: undefined }],
});

describe('where a patch may write', () => {
  it('inside the cwd, extra roots and TMPDIR, never in a protected name', async () => {
    const roots = patchWritableRoots(
      { ...workspace, writableRoots: ['/extra'] },
      '/w',
      '/var/tmp-x',
    );
    expect(roots).toEqual(['/w', '/extra', '/var/tmp-x']);
    expect(await patchStaysInRoots(add('/w/a/b.txt'), roots)).toBe(true);
    expect(await patchStaysInRoots(add('/extra/c.txt'), roots)).toBe(true);
    expect(await patchStaysInRoots(add('/w2/c.txt'), roots)).toBe(false);
    expect(await patchStaysInRoots(add('/w/.git/config'), roots)).toBe(false);
    expect(await patchStaysInRoots(add('/w/sub/../../etc/passwd'), roots)).toBe(false);
    expect(patchWritableRoots({ type: 'readOnly' }, '/w', '/tmp')).toEqual([]);
  });
});

describe('where a patch really writes', () => {
  it('follows symlinks as the exec-server does: a link inside a root that leads out is outside', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tether-safety-'));
    const outside = await mkdtemp(join(tmpdir(), 'tether-safety-out-'));
    try {
      await mkdir(join(root, 'w'));
      await symlink(outside, join(root, 'w/out'));
      await symlink(join(outside, 'f.txt'), join(root, 'w/dangling'));
      await symlink(join(root, 'w'), join(root, 'alias'));
      const cwd = join(root, 'w');
      const inRoot = (path: string, kind: 'add' | 'delete' = 'add') =>
        patchStaysInRoots(
          kind === 'add'
            ? add(path)
            : { cwd, changes: [{ kind: 'delete', path, patchPath: path, contents: '' }] },
          [cwd],
          nodeFiles.resolvePath,
        );
      expect(await inRoot(join(cwd, 'new/deep/file.txt'))).toBe(true);
      // through a directory link, and through a final link that points nowhere yet
      expect(await inRoot(join(cwd, 'out/x.txt'))).toBe(false);
      expect(await inRoot(join(cwd, 'dangling'))).toBe(false);
      // removing the link itself stays inside
      expect(await inRoot(join(cwd, 'dangling'), 'delete')).toBe(true);
      // a path outside that leads inside is judged by where it leads
      expect(await inRoot(join(root, 'alias/a.txt'))).toBe(true);
      expect(await inRoot(join(root, 'alias/.git/config'))).toBe(false);
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('the decision for a patch', () => {
  it('as the reference decides it', () => {
    expect(decidePatch('untrusted', { type: 'dangerFullAccess' }, true)).toEqual({ kind: 'ask' });
    expect(decidePatch('on-request', workspace, true)).toEqual({ kind: 'apply' });
    expect(decidePatch('never', workspace, true)).toEqual({ kind: 'apply' });
    expect(decidePatch('on-request', workspace, false)).toEqual({ kind: 'ask' });
    expect(decidePatch('never', workspace, false)).toEqual({
      kind: 'reject',
      reason: OUTSIDE_PROJECT_REASON,
    });
    expect(decidePatch('on-request', { type: 'readOnly' }, false)).toEqual({ kind: 'ask' });
    expect(decidePatch('never', { type: 'readOnly' }, false)).toEqual({
      kind: 'reject',
      reason: READ_ONLY_REASON,
    });
    expect(decidePatch('never', { type: 'dangerFullAccess' }, false)).toEqual({ kind: 'apply' });
    const noSandboxApprovals: app.AskForApproval = {
      granular: { sandbox_approval: false, rules: true, mcp_elicitations: true },
    };
    expect(decidePatch(noSandboxApprovals, workspace, false)).toEqual({
      kind: 'reject',
      reason: OUTSIDE_PROJECT_REASON,
    });
  });
});
