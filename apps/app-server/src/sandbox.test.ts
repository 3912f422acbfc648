import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRuntimeFactory,
  type Environment,
  ExecPolicy,
  ResponsesClient,
} from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { pgrep, tempHome, tempHomeOutsideTmp, waitFor } from '@tether/test-kit';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, startServer } from './test-support/harness.js';

// Real commands under bubblewrap (`.ci/run` installs it). The workspace is outside /tmp, which is
// itself a writable root of workspace-write.
const scratch = tempHomeOutsideTmp('.tether-app-sandbox-');
let counter = 0;
const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
const environments: Environment[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
  for (const m of mocks.splice(0)) await m.close();
  for (const e of environments.splice(0)) await e.close();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function workspace(): string {
  counter += 1;
  const dir = join(scratch, `w${counter}`);
  mkdirSync(dir);
  return dir;
}

async function setup(
  options: { bwrap?: string; experimental?: boolean; approvalPolicy?: app.AskForApproval } = {},
) {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  const home = tempHome();
  const environment = await localEnvironment(
    options.bwrap ? { sandbox: { bwrap: options.bwrap } } : {},
  );
  environments.push(environment);
  const execPolicy = new ExecPolicy(join(home, 'rules'));
  const s = await startServer(async () => ({ status: 'completed' }), {
    home,
    runtimeFactory: agentRuntimeFactory({
      model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
      environment: async () => environment,
      execPolicy,
    }),
    environment: async () => environment,
    ...(options.approvalPolicy ? { defaults: { approvalPolicy: options.approvalPolicy } } : {}),
    configWarnings: async () => {
      const capability = await environment.sandboxCapability();
      return capability.available
        ? []
        : [{ summary: `tether cannot sandbox commands: ${capability.problem}`, details: null }];
    },
  });
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: options.experimental ?? true });
  clients.push(a);
  return { s, a, mock, home };
}

async function startThread(
  c: AppServerClient,
  params: Record<string, unknown>,
): Promise<{ threadId: string; cwd: string }> {
  const cwd = (params.cwd as string | undefined) ?? workspace();
  const { thread } = await c.request('thread/start', { ...params, cwd });
  return { threadId: thread.id, cwd };
}

async function runTurn(c: AppServerClient, threadId: string, text = 'go') {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  return { turnId: turn.id as string, from };
}

async function finished(c: AppServerClient, turnId: string, from: number): Promise<app.Turn> {
  const done = await c.waitForNotification(
    'turn/completed',
    (p) => (p.turn as app.Turn).id === turnId,
    { from, timeoutMs: 20_000 },
  );
  return (done.params as { turn: app.Turn }).turn;
}

function commandItem(c: AppServerClient, from: number, id: string) {
  const n = c.notifications
    .since(from)
    .find(
      (m) => m.method === 'item/completed' && (m.params as { item: { id: string } }).item.id === id,
    );
  return (n?.params as { item: Record<string, unknown> } | undefined)?.item;
}

const run = (cmd: string, callId: string, extra: Record<string, unknown> = {}) =>
  mockReply.toolCall({ name: 'exec_command', arguments: { cmd, ...extra }, callId });

/** The output the model was given for a call, from the request after it. */
function outputFor(mock: MockResponsesServer, callId: string): string | undefined {
  for (const request of mock.requests) {
    const input = (request.body as { input: Array<Record<string, unknown>> }).input;
    const found = input.find((i) => i.type === 'function_call_output' && i.call_id === callId);
    if (found) return String(found.output);
  }
  return undefined;
}

describe('thread sandbox settings', () => {
  it('defaults to read-only with the :read-only profile, and reports each mode as the reference does', async () => {
    const { a } = await setup();
    const plain = await a.request('thread/start', { cwd: workspace() });
    expect(plain.sandbox).toEqual({ type: 'readOnly', networkAccess: false });
    expect(plain.activePermissionProfile).toEqual({ id: ':read-only', extends: null });
    const ro = await a.request('thread/start', { cwd: workspace(), sandbox: 'read-only' });
    expect(ro.sandbox).toEqual({ type: 'readOnly', networkAccess: false });
    expect(ro.activePermissionProfile).toBeNull();
    const ww = await a.request('thread/start', { cwd: workspace(), sandbox: 'workspace-write' });
    expect(ww.sandbox).toEqual({
      type: 'workspaceWrite',
      writableRoots: [],
      networkAccess: false,
      excludeTmpdirEnvVar: false,
      excludeSlashTmp: false,
    });
    const full = await a.request('thread/start', {
      cwd: workspace(),
      sandbox: 'danger-full-access',
    });
    expect(full.sandbox).toEqual({ type: 'dangerFullAccess' });
    const cwd = workspace();
    const configured = await a.request('thread/start', {
      cwd,
      sandbox: 'workspace-write',
      config: {
        sandbox_workspace_write: {
          network_access: true,
          writable_roots: ['/opt'],
          exclude_tmpdir_env_var: true,
          exclude_slash_tmp: true,
        },
      },
    });
    expect(configured.sandbox).toEqual({
      type: 'workspaceWrite',
      writableRoots: ['/opt'],
      networkAccess: true,
      excludeTmpdirEnvVar: true,
      excludeSlashTmp: true,
    });
    expect(configured.runtimeWorkspaceRoots).toEqual([cwd, '/opt']);
    const named = await a.request('thread/start', { cwd: workspace(), permissions: ':workspace' });
    expect(named.sandbox.type).toBe('workspaceWrite');
    expect(named.activePermissionProfile).toEqual({ id: ':workspace', extends: null });
    await expect(
      a.request('thread/start', {
        cwd: workspace(),
        permissions: ':workspace',
        sandbox: 'read-only',
      }),
    ).rejects.toMatchObject({
      code: -32600,
      message: '`permissions` cannot be combined with `sandbox`',
    });
    await expect(
      a.request('thread/start', { cwd: workspace(), permissionProfile: ':workspace' }),
    ).rejects.toMatchObject({
      code: -32602,
      message:
        '`permissionProfile` is no longer supported for `thread/start`; use `permissions` with a named profile id instead',
    });
    const granular = await a.request('thread/start', {
      cwd: workspace(),
      approvalPolicy: { granular: { sandbox_approval: true, rules: true, mcp_elicitations: true } },
    });
    expect(granular.approvalPolicy).toEqual({
      granular: {
        sandbox_approval: true,
        rules: true,
        skill_approval: false,
        request_permissions: false,
        mcp_elicitations: true,
      },
    });
    await expect(
      a.request('thread/start', { cwd: workspace(), permissions: ':bogus' }),
    ).rejects.toMatchObject({
      code: -32600,
      message:
        'failed to load configuration: default_permissions refers to unknown built-in profile `:bogus`',
    });
  });

  it('lists the built-in permission profiles', async () => {
    const { a } = await setup();
    expect(await a.request('permissionProfile/list', {})).toEqual({
      data: [
        { id: ':read-only', description: null, allowed: true },
        { id: ':workspace', description: null, allowed: true },
        { id: ':danger-full-access', description: null, allowed: true },
      ],
      nextCursor: null,
    });
    expect(await a.request('permissionProfile/list', { limit: 2 })).toMatchObject({
      data: [{ id: ':read-only' }, { id: ':workspace' }],
      nextCursor: '2',
    });
  });

  it('a turn/start sandboxPolicy override is reported with every member and sticks', async () => {
    const { a, mock } = await setup();
    const { threadId } = await startThread(a, { sandbox: 'workspace-write' });
    mock.enqueue(mockReply.text(['ok']));
    const from = a.notifications.cursor;
    const { turn } = await a.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'x' }],
      sandboxPolicy: { type: 'readOnly' },
    });
    await finished(a, turn.id, from);
    const updated = a.notifications.since(from).find((n) => n.method === 'thread/settings/updated');
    expect(
      (updated?.params as { threadSettings: { sandboxPolicy: unknown } } | undefined)
        ?.threadSettings?.sandboxPolicy,
    ).toEqual({ type: 'readOnly', networkAccess: false });
  });
});

describe('commands in a sandboxed thread', () => {
  it('read-only: a write fails in the sandbox; workspace-write writes in the workspace only', async () => {
    const { a, mock } = await setup();
    const ro = await startThread(a, { approvalPolicy: 'never' });
    mock.enqueue(run('touch made.txt', 'call_ro'), mockReply.text(['done']));
    const first = await runTurn(a, ro.threadId);
    await finished(a, first.turnId, first.from);
    expect(commandItem(a, first.from, 'call_ro')).toMatchObject({
      status: 'failed',
      exitCode: 1,
      source: 'unifiedExecStartup',
      command: "/bin/bash -lc 'touch made.txt'",
    });
    expect(String(commandItem(a, first.from, 'call_ro')?.aggregatedOutput)).toContain(
      'Read-only file system',
    );
    expect(existsSync(join(ro.cwd, 'made.txt'))).toBe(false);

    const ww = await startThread(a, { approvalPolicy: 'never', sandbox: 'workspace-write' });
    const outside = workspace();
    mock.enqueue(
      run(`touch made.txt; touch ${outside}/escaped.txt`, 'call_ww'),
      mockReply.text(['done']),
    );
    const second = await runTurn(a, ww.threadId);
    await finished(a, second.turnId, second.from);
    expect(existsSync(join(ww.cwd, 'made.txt'))).toBe(true);
    expect(existsSync(join(outside, 'escaped.txt'))).toBe(false);
  });

  it('an interrupted turn leaves no sandboxed process behind', async () => {
    const { a, mock } = await setup();
    const { threadId } = await startThread(a, { approvalPolicy: 'never' });
    const marker = 970_000 + (process.pid % 20_000);
    mock.enqueue(run(`sleep ${marker} & sleep ${marker}`, 'call_sleep'));
    const { turnId, from } = await runTurn(a, threadId);
    const find = () => pgrep(`sleep ${marker}`);
    await waitFor(() => find().length >= 2, { timeoutMs: 10_000 });
    await a.request('turn/interrupt', { threadId, turnId });
    await finished(a, turnId, from);
    await waitFor(() => find().length === 0, { timeoutMs: 10_000 });
  });
});

describe('approvals', () => {
  it('untrusted: asks with the reference request, in the reference order; decline goes on', async () => {
    const { a, mock } = await setup();
    const { threadId, cwd } = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('touch declined.txt', 'call_d'), mockReply.text(['after']));
    const { turnId, from } = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect(request.params).toEqual({
      kind: 'command',
      threadId,
      turnId,
      itemId: 'call_d',
      startedAtMs: expect.any(Number),
      environmentId: 'local',
      command: "/bin/bash -lc 'touch declined.txt'",
      cwd,
      commandActions: [{ type: 'unknown', command: 'touch declined.txt' }],
      proposedExecpolicyAmendment: ['touch', 'declined.txt'],
      availableDecisions: [
        'accept',
        { acceptWithExecpolicyAmendment: { execpolicy_amendment: ['touch', 'declined.txt'] } },
        'cancel',
      ],
    });
    a.respond(request.id, { decision: 'decline' });
    const turn = await finished(a, turnId, from);
    expect(turn.status).toBe('completed');
    expect(commandItem(a, from, 'call_d')).toMatchObject({
      status: 'declined',
      processId: null,
      aggregatedOutput: null,
      exitCode: null,
      durationMs: null,
      source: 'agent',
    });
    expect(outputFor(mock, 'call_d')).toBe(
      'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }',
    );
    const order = a.notifications
      .since(from)
      .map((n) =>
        n.method === 'thread/status/changed'
          ? `status:${JSON.stringify((n.params as { status: { activeFlags?: string[] } }).status.activeFlags ?? null)}`
          : n.method,
      )
      .filter(
        (m) =>
          m.startsWith('status:') ||
          m === 'item/started' ||
          m === 'serverRequest/resolved' ||
          m === 'item/completed',
      );
    expect(order.slice(0, 8)).toEqual([
      'status:[]',
      'item/started', // userMessage
      'item/completed',
      'status:["waitingOnApproval"]',
      'item/started', // the command
      'serverRequest/resolved',
      'item/completed', // declined
      'status:[]',
    ]);
  });

  it('untrusted: cancel completes the item declined and interrupts the turn', async () => {
    const { a, mock } = await setup();
    const { threadId } = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('touch cancelled.txt', 'call_c'));
    const { turnId, from } = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    a.respond(request.id, { decision: 'cancel' });
    expect((await finished(a, turnId, from)).status).toBe('interrupted');
    expect(commandItem(a, from, 'call_c')).toMatchObject({
      status: 'declined',
      aggregatedOutput: null,
    });
    // the next request tells the model what happened
    mock.enqueue(mockReply.text(['ok']));
    const next = await runTurn(a, threadId, 'next');
    await finished(a, next.turnId, next.from);
    expect(outputFor(mock, 'call_c')).toMatch(/^Wall time: \d+\.\d seconds\naborted by user$/);
  });

  it('untrusted: known-safe commands run unasked; anything else, however disguised, asks', async () => {
    const { a, mock } = await setup();
    const { threadId } = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('ls -la && pwd | wc -l', 'call_safe'), mockReply.text(['ok']));
    const safe = await runTurn(a, threadId);
    expect((await finished(a, safe.turnId, safe.from)).status).toBe('completed');
    expect(commandItem(a, safe.from, 'call_safe')?.status).toBe('completed');
    for (const cmd of [
      'ls …\ntouch /tmp/pwned',
      'sort -o /tmp/pwned /etc/hostname',
      'echo $(id)',
    ]) {
      counter += 1;
      const callId = `call_unsafe_${counter}`;
      mock.enqueue(run(cmd, callId), mockReply.text(['ok']));
      const turn = await runTurn(a, threadId);
      const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
      expect((request.params as { itemId: string }).itemId).toBe(callId);
      a.respond(request.id, { decision: 'decline' });
      await finished(a, turn.turnId, turn.from);
    }
    expect(existsSync('/tmp/pwned')).toBe(false);
  });

  it('acceptWithExecpolicyAmendment saves the rule; matching commands then run unasked, in any thread', async () => {
    const { a, mock, home } = await setup();
    const { threadId, cwd } = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('touch a.txt', 'call_amend'), mockReply.text(['ok']));
    const first = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    a.respond(request.id, {
      decision: { acceptWithExecpolicyAmendment: { execpolicy_amendment: ['touch'] } },
    });
    await finished(a, first.turnId, first.from);
    expect(readFileSync(join(home, 'rules', 'default.rules'), 'utf8')).toBe(
      'prefix_rule(pattern=["touch"], decision="allow")\n',
    );
    const after =
      (mock.requests[1]?.body as { input: Array<Record<string, unknown>> } | undefined)?.input ??
      [];
    expect(after.at(-2)).toMatchObject({ type: 'function_call_output', call_id: 'call_amend' });
    expect(after.at(-1)).toEqual({
      type: 'message',
      role: 'developer',
      content: [{ type: 'input_text', text: 'Approved command prefix saved:\n- ["touch"]' }],
    });
    // the rule allows it outright, outside the sandbox, as in the reference
    expect(existsSync(join(cwd, 'a.txt'))).toBe(false);
    const other = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('touch b.txt && touch c.txt', 'call_ruled'), mockReply.text(['ok']));
    const second = await runTurn(a, other.threadId);
    await finished(a, second.turnId, second.from);
    expect(a.serverRequests).toEqual([]);
    expect(existsSync(join(other.cwd, 'b.txt'))).toBe(true);
    expect(existsSync(join(other.cwd, 'c.txt'))).toBe(true);
  });

  it('acceptForSession covers exactly that command in that thread', async () => {
    const { a, mock } = await setup();
    const { threadId } = await startThread(a, { approvalPolicy: 'untrusted' });
    mock.enqueue(run('mkdir -p x', 'call_s1'), mockReply.text(['ok']));
    const first = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    a.respond(request.id, { decision: 'acceptForSession' });
    await finished(a, first.turnId, first.from);
    mock.enqueue(run('mkdir  -p x', 'call_s2'), mockReply.text(['ok']));
    const same = await runTurn(a, threadId);
    await finished(a, same.turnId, same.from);
    expect(a.serverRequests).toEqual([]);
    mock.enqueue(run('mkdir -p y', 'call_s3'), mockReply.text(['ok']));
    const different = await runTurn(a, threadId);
    const asked = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect((asked.params as { itemId: string }).itemId).toBe('call_s3');
    a.respond(asked.id, { decision: 'decline' });
    await finished(a, different.turnId, different.from);
  });

  it('on-request asks when the model asks to leave the sandbox, then runs it outside', async () => {
    const { a, mock } = await setup();
    const { threadId, cwd } = await startThread(a, { approvalPolicy: 'on-request' });
    mock.enqueue(
      run('touch escalated.txt', 'call_esc', {
        sandbox_permissions: 'require_escalated',
        justification: 'Write a file in the workspace?',
      }),
      mockReply.text(['ok']),
    );
    const { turnId, from } = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect(request.params).toMatchObject({ reason: 'Write a file in the workspace?' });
    a.respond(request.id, { decision: 'accept' });
    await finished(a, turnId, from);
    expect(existsSync(join(cwd, 'escalated.txt'))).toBe(true);
  });

  it('never refuses an escalation without asking or showing an item', async () => {
    const { a, mock } = await setup();
    const { threadId, cwd } = await startThread(a, { approvalPolicy: 'never' });
    mock.enqueue(
      run('touch nope.txt', 'call_never', { sandbox_permissions: 'require_escalated' }),
      mockReply.text(['ok']),
    );
    const { turnId, from } = await runTurn(a, threadId);
    await finished(a, turnId, from);
    expect(commandItem(a, from, 'call_never')).toBeUndefined();
    expect(outputFor(mock, 'call_never')).toBe(
      'approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never',
    );
    expect(existsSync(join(cwd, 'nope.txt'))).toBe(false);
  });

  it('on-failure is refused on the wire, as the reference refuses it', async () => {
    const { a } = await setup();
    const refusal = {
      code: -32600,
      message:
        'Invalid request: unknown variant `on-failure`, expected one of `untrusted`, `on-request`, `granular`, `never`',
    };
    await expect(
      a.request('thread/start', { cwd: workspace(), approvalPolicy: 'on-failure' }),
    ).rejects.toMatchObject(refusal);
    const { threadId } = await startThread(a, {});
    await expect(
      a.request('turn/start', {
        threadId,
        input: [{ type: 'text', text: 'x' }],
        approvalPolicy: 'on-failure',
      }),
    ).rejects.toMatchObject(refusal);
  });

  it('an embedder that makes on-failure the default gets a rerun without the sandbox offered', async () => {
    const { a, mock } = await setup({ approvalPolicy: 'on-failure' });
    const { threadId, cwd } = await startThread(a, {});
    mock.enqueue(run('touch retried.txt', 'call_retry'), mockReply.text(['ok']));
    const { turnId, from } = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect(request.params).toMatchObject({
      itemId: 'call_retry',
      reason: 'command failed; retry without sandbox?',
    });
    a.respond(request.id, { decision: 'accept' });
    await finished(a, turnId, from);
    expect(existsSync(join(cwd, 'retried.txt'))).toBe(true);
    expect(commandItem(a, from, 'call_retry')).toMatchObject({ status: 'completed', exitCode: 0 });
  });
});

describe('without bubblewrap', () => {
  it('warns each client, asks before running unsandboxed, and never runs silently', async () => {
    const { a, mock } = await setup({ bwrap: '/nonexistent/bwrap' });
    const warning = a.notifications.since().find((n) => n.method === 'configWarning');
    expect((warning?.params as { summary: string } | undefined)?.summary).toMatch(
      /^tether cannot sandbox commands: bubblewrap at \/nonexistent\/bwrap cannot run/,
    );
    const { threadId, cwd } = await startThread(a, { approvalPolicy: 'on-request' });
    mock.enqueue(run('touch unsandboxed.txt', 'call_nb'), mockReply.text(['ok']));
    const first = await runTurn(a, threadId);
    const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
    expect((request.params as { reason: string }).reason).toMatch(
      /^the sandbox is unavailable \(.*\); run this command without it\?$/,
    );
    a.respond(request.id, { decision: 'decline' });
    await finished(a, first.turnId, first.from);
    expect(existsSync(join(cwd, 'unsandboxed.txt'))).toBe(false);

    const never = await startThread(a, { approvalPolicy: 'never' });
    mock.enqueue(run('touch never.txt', 'call_nv'), mockReply.text(['ok']));
    const second = await runTurn(a, never.threadId);
    await finished(a, second.turnId, second.from);
    expect(outputFor(mock, 'call_nv')).toMatch(/^the sandbox is unavailable: /);
    expect(existsSync(join(never.cwd, 'never.txt'))).toBe(false);
  });
});

describe('command/exec', () => {
  it('runs in the default read-only sandbox unless the request names another', async () => {
    const { a } = await setup();
    const cwd = workspace();
    const ro = await a.request('command/exec', {
      command: ['bash', '-c', 'touch x.txt; echo rc=$?'],
      cwd,
    });
    expect(ro.stdout).toBe('rc=1\n');
    expect(ro.stderr).toContain('Read-only file system');
    const ww = await a.request('command/exec', {
      command: ['bash', '-c', 'touch y.txt; echo rc=$?'],
      cwd,
      sandboxPolicy: { type: 'workspaceWrite' },
    });
    expect(ww).toEqual({ exitCode: 0, stdout: 'rc=0\n', stderr: '' });
    const named = await a.request('command/exec', {
      command: ['bash', '-c', 'touch z.txt; echo rc=$?'],
      cwd,
      permissionProfile: ':workspace',
    });
    expect(named.stdout).toBe('rc=0\n');
  });

  it('refuses what the reference refuses, with its words', async () => {
    const { a } = await setup();
    const cases: Array<[app.CommandExecParams, number, string]> = [
      [{ command: [] }, -32600, 'command must not be empty'],
      [
        { command: ['true'], permissionProfile: ':workspace', sandboxPolicy: { type: 'readOnly' } },
        -32600,
        '`permissionProfile` cannot be combined with `sandboxPolicy`',
      ],
      [
        { command: ['true'], outputBytesCap: 10, disableOutputCap: true },
        -32602,
        'command/exec cannot set both outputBytesCap and disableOutputCap',
      ],
      [
        { command: ['true'], timeoutMs: 10, disableTimeout: true },
        -32602,
        'command/exec cannot set both timeoutMs and disableTimeout',
      ],
      [
        { command: ['true'], tty: true },
        -32600,
        'command/exec tty or streaming requires a client-supplied processId',
      ],
      [
        { command: ['true'], size: { rows: 10, cols: 10 } },
        -32602,
        'command/exec size requires tty: true',
      ],
      [
        { command: ['true'], permissionProfile: ':bogus' },
        -32600,
        'invalid permission profile: default_permissions refers to unknown built-in profile `:bogus`',
      ],
      [
        { command: ['true'], cwd: '/nonexistent-dir' },
        -32603,
        'failed to spawn command: No such file or directory (os error 2)',
      ],
    ];
    for (const [params, code, message] of cases) {
      await expect(a.request('command/exec', params)).rejects.toMatchObject({ code, message });
    }
  });

  it('bounds output per stream and stops at the timeout', async () => {
    const { a } = await setup();
    const capped = await a.request('command/exec', {
      command: ['bash', '-c', 'head -c 100000 /dev/zero | tr "\\0" x'],
      outputBytesCap: 10,
    });
    expect(capped.stdout).toBe('xxxxxxxxxx');
    const timed = await a.request('command/exec', { command: ['sleep', '10'], timeoutMs: 100 });
    expect(timed.exitCode).toBe(124);
  });
});

describe('the CLI', () => {
  const cli = new URL('../dist/cli.js', import.meta.url).pathname;
  const runCli = (home: string, ...args: string[]) => {
    try {
      return {
        status: 0,
        stdout: execFileSync(process.execPath, [cli, ...args], {
          encoding: 'utf8',
          env: { ...process.env, TETHER_HOME: home },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
      };
    } catch (error) {
      const failed = error as { status: number; stdout: string };
      return { status: failed.status, stdout: failed.stdout };
    }
  };

  it('lists the saved rules and removes one', async () => {
    const home = tempHome();
    const policy = new ExecPolicy(join(home, 'rules'));
    await policy.appendAllowPrefix(['git', 'status']);
    await policy.appendAllowPrefix(['touch']);
    const listed = runCli(home, '--list-rules');
    expect(listed.stdout).toBe(
      `1. ["git","status"] allow (${join(home, 'rules', 'default.rules')}:1)\n2. ["touch"] allow (${join(home, 'rules', 'default.rules')}:2)\n`,
    );
    expect(runCli(home, '--remove-rule', '1').stdout).toBe('removed ["git","status"]\n');
    expect(readFileSync(join(home, 'rules', 'default.rules'), 'utf8')).toBe(
      'prefix_rule(pattern=["touch"], decision="allow")\n',
    );
    expect(runCli(home, '--remove-rule', '5').status).toBe(1);
  });

  it('--check-sandbox says the sandbox works here', () => {
    const checked = runCli(tempHome(), '--check-sandbox');
    expect(checked.status).toBe(0);
    expect(checked.stdout).toContain('ok   no network access: a connection to the host is refused');
  });
});
