import { describe, expect, it } from 'vitest';
import {
  type CommandFacts,
  DECLINED_OUTPUT,
  decideCommand,
  NEVER_ESCALATE_MESSAGE,
  offersRetryWithoutSandbox,
  prefixSavedMessage,
  sessionApprovalKey,
} from './approvals.js';
import { permissionProfileFor, policyForMode, sandboxContextFor } from './sandbox-policy.js';

const readOnly = policyForMode('read-only');
const fullAccess = policyForMode('danger-full-access');

function facts(overrides: Partial<CommandFacts> = {}): CommandFacts {
  return {
    approvalPolicy: 'on-request',
    sandbox: readOnly,
    escalated: false,
    justification: undefined,
    allowedByRules: false,
    knownSafe: false,
    approvedForSession: false,
    sandboxAvailable: true,
    sandboxProblem: undefined,
    ...overrides,
  };
}

describe('decideCommand', () => {
  it('never: runs in the sandbox without asking, refuses escalations with the reference words', () => {
    expect(decideCommand(facts({ approvalPolicy: 'never' }))).toEqual({
      kind: 'run',
      sandboxed: true,
    });
    expect(decideCommand(facts({ approvalPolicy: 'never', escalated: true }))).toEqual({
      kind: 'reject',
      message: NEVER_ESCALATE_MESSAGE,
    });
  });

  it('untrusted: asks for anything not known safe; known-safe lines run in the sandbox', () => {
    expect(decideCommand(facts({ approvalPolicy: 'untrusted' }))).toEqual({
      kind: 'ask',
      sandboxedOnAccept: true,
    });
    expect(decideCommand(facts({ approvalPolicy: 'untrusted', knownSafe: true }))).toEqual({
      kind: 'run',
      sandboxed: true,
    });
  });

  it('on-request: runs in the sandbox, and asks (with the reason) when the model wants out', () => {
    expect(decideCommand(facts())).toEqual({ kind: 'run', sandboxed: true });
    expect(decideCommand(facts({ escalated: true, justification: 'needs the network' }))).toEqual({
      kind: 'ask',
      reason: 'needs the network',
      sandboxedOnAccept: false,
    });
  });

  it('on-failure behaves like on-request before the command runs', () => {
    expect(decideCommand(facts({ approvalPolicy: 'on-failure' }))).toEqual({
      kind: 'run',
      sandboxed: true,
    });
  });

  it('granular: escalations are refused when sandbox approvals are off', () => {
    const granular = {
      granular: {
        sandbox_approval: false,
        rules: true,
        skill_approval: false,
        request_permissions: false,
        mcp_elicitations: false,
      },
    };
    expect(decideCommand(facts({ approvalPolicy: granular, escalated: true })).kind).toBe('reject');
    const asking = { granular: { ...granular.granular, sandbox_approval: true } };
    expect(decideCommand(facts({ approvalPolicy: asking, escalated: true })).kind).toBe('ask');
  });

  it("the user's rules allow a command outright, outside the sandbox", () => {
    for (const approvalPolicy of ['untrusted', 'on-request', 'never'] as const) {
      expect(decideCommand(facts({ approvalPolicy, allowedByRules: true }))).toEqual({
        kind: 'run',
        sandboxed: false,
      });
    }
  });

  it('a command accepted for the session runs as it was accepted', () => {
    expect(decideCommand(facts({ approvalPolicy: 'untrusted', approvedForSession: true }))).toEqual(
      {
        kind: 'run',
        sandboxed: true,
      },
    );
    expect(
      decideCommand(
        facts({ approvalPolicy: 'untrusted', approvedForSession: true, escalated: true }),
      ),
    ).toEqual({ kind: 'run', sandboxed: false });
  });

  it('without a sandbox, asks to run unsandboxed, or fails under never; never runs it silently', () => {
    const missing = { sandboxAvailable: false, sandboxProblem: 'bwrap is missing' };
    expect(decideCommand(facts({ ...missing }))).toEqual({
      kind: 'ask',
      reason: 'the sandbox is unavailable (bwrap is missing); run this command without it?',
      sandboxedOnAccept: false,
    });
    expect(
      decideCommand(facts({ ...missing, approvalPolicy: 'untrusted', knownSafe: true })).kind,
    ).toBe('ask');
    expect(decideCommand(facts({ ...missing, approvalPolicy: 'never' }))).toEqual({
      kind: 'reject',
      message: 'the sandbox is unavailable: bwrap is missing',
    });
    // danger-full-access needs no sandbox
    expect(
      decideCommand(facts({ ...missing, sandbox: fullAccess, approvalPolicy: 'never' })),
    ).toEqual({ kind: 'run', sandboxed: false });
  });
});

describe('retry without the sandbox', () => {
  it('is offered under on-failure for a failure that looks like the sandbox', () => {
    expect(
      offersRetryWithoutSandbox('on-failure', 1, "touch: cannot touch 'x': Read-only file system"),
    ).toBe(true);
    expect(offersRetryWithoutSandbox('on-failure', 1, 'grep: no match')).toBe(false);
    expect(offersRetryWithoutSandbox('on-failure', 0, 'Read-only file system')).toBe(false);
    expect(offersRetryWithoutSandbox('on-request', 1, 'Read-only file system')).toBe(false);
    expect(offersRetryWithoutSandbox('untrusted', 1, 'Read-only file system')).toBe(false);
  });
});

describe('wire texts', () => {
  it('match the reference', () => {
    expect(DECLINED_OUTPUT).toBe(
      'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }',
    );
    expect(prefixSavedMessage(['touch'])).toBe('Approved command prefix saved:\n- ["touch"]');
    expect(prefixSavedMessage(['git', 'status'])).toBe(
      'Approved command prefix saved:\n- ["git", "status"]',
    );
    expect(sessionApprovalKey(['touch', 'a'], '/w', false)).not.toBe(
      sessionApprovalKey(['touch', 'a'], '/w', true),
    );
  });
});

describe('permission profiles', () => {
  it('read-only is the whole filesystem readable, network restricted', () => {
    expect(permissionProfileFor(readOnly, '/w')).toEqual({
      type: 'managed',
      file_system: {
        type: 'restricted',
        entries: [{ path: { type: 'special', value: { kind: 'root' } }, access: 'read' }],
      },
      network: 'restricted',
    });
    expect(permissionProfileFor(fullAccess, '/w')).toBeUndefined();
  });

  it('workspace-write is the reference profile: cwd and roots, /tmp, TMPDIR, protected names', () => {
    const policy = policyForMode('workspace-write', {
      writableRoots: ['/extra'],
      networkAccess: true,
    });
    const profile = permissionProfileFor(policy, '/w');
    expect(profile?.network).toBe('enabled');
    const entries =
      profile?.type === 'managed' && profile.file_system.type === 'restricted'
        ? profile.file_system.entries
        : [];
    expect(entries.slice(0, 5)).toEqual([
      { path: { type: 'special', value: { kind: 'root' } }, access: 'read' },
      { path: { type: 'path', path: 'file:///w' }, access: 'write' },
      { path: { type: 'path', path: 'file:///extra' }, access: 'write' },
      { path: { type: 'special', value: { kind: 'slash_tmp' } }, access: 'write' },
      { path: { type: 'special', value: { kind: 'tmpdir' } }, access: 'write' },
    ]);
    expect(entries.slice(5).map((entry) => entry.path.type === 'path' && entry.path.path)).toEqual([
      'file:///w/.git',
      'file:///w/.agents',
      'file:///w/.codex',
      'file:///w/.aws',
      'file:///extra/.git',
      'file:///extra/.agents',
      'file:///extra/.codex',
      'file:///extra/.aws',
    ]);
    const excluded = policyForMode('workspace-write', {
      excludeSlashTmp: true,
      excludeTmpdirEnvVar: true,
    });
    expect(JSON.stringify(permissionProfileFor(excluded, '/w'))).not.toContain('tmp');
    expect(sandboxContextFor(readOnly, '/w')).toMatchObject({
      cwd: 'file:///w',
      workspaceRoots: ['file:///w'],
      windowsSandboxLevel: 'disabled',
    });
  });
});
