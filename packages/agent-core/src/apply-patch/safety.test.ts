import type { app } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
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
  it('inside the cwd, extra roots and TMPDIR, never in a protected name', () => {
    const roots = patchWritableRoots(
      { ...workspace, writableRoots: ['/extra'] },
      '/w',
      '/var/tmp-x',
    );
    expect(roots).toEqual(['/w', '/extra', '/var/tmp-x']);
    expect(patchStaysInRoots(add('/w/a/b.txt'), roots)).toBe(true);
    expect(patchStaysInRoots(add('/extra/c.txt'), roots)).toBe(true);
    expect(patchStaysInRoots(add('/w2/c.txt'), roots)).toBe(false);
    expect(patchStaysInRoots(add('/w/.git/config'), roots)).toBe(false);
    expect(patchStaysInRoots(add('/w/sub/../../etc/passwd'), roots)).toBe(false);
    expect(patchWritableRoots({ type: 'readOnly' }, '/w', '/tmp')).toEqual([]);
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
