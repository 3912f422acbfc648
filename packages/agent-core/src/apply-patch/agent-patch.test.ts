import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type app, silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRuntimeFactory } from '../agent.js';
import type { Environment } from '../environment.js';
import { ResponsesClient } from '../model/index.js';
import type { ThreadEvent, ThreadRuntime, ThreadSettings } from '../runtime.js';
import { nodeFiles } from '../test-support/node-files.js';
import { testSettings } from '../test-support/settings.js';
import { MockResponsesServer, mockReply } from '../testing/index.js';
import { APPLY_PATCH_GRAMMAR } from './tool.js';
import { gitFileDiff } from './unified-diff.js';

/** An environment that only edits files (no command runs in these tests). */
const filesOnly: Environment = {
  id: 'files-only',
  run: async () => {
    throw new Error('no commands here');
  },
  sandboxCapability: async () => ({ available: true }),
  files: nodeFiles,
  close: async () => undefined,
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

type Decision = 'accept' | 'acceptForSession' | 'decline' | 'cancel';
/** An answer, or what to do while the question is open before answering. */
type Answer = Decision | (() => Promise<Decision>);

/** A thread with the agent, a mock model and a workspace; approvals answered with `decisions`. */
async function setup(
  overrides: Partial<ThreadSettings>,
  decisions: Answer[] = [],
  options: { applyPatchTool?: 'freeform' | 'function' } = {},
) {
  const cwd = await mkdtemp(join(tmpdir(), 'tether-patch-turn-'));
  cleanup.push(() => rm(cwd, { recursive: true, force: true }));
  const mock = await MockResponsesServer.start();
  cleanup.push(() => mock.close());
  const settings = testSettings({ cwd, ...overrides });
  const runtime: ThreadRuntime = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => filesOnly,
    ...options,
  })({
    threadId: 'thread-1',
    settings,
    conversation: [],
    tokenUsage: null,
    logger: silentLogger(),
  });
  cleanup.push(() => runtime.shutdown());
  const events: ThreadEvent[] = [];
  const asked: app.FileChangeRequestApprovalParams[] = [];
  void (async () => {
    for await (const event of runtime.events()) {
      events.push(event);
      if (event.kind === 'serverRequest' && event.method === 'item/fileChange/requestApproval') {
        asked.push(event.params);
        const answer = decisions.shift() ?? 'decline';
        const decision = typeof answer === 'function' ? await answer() : answer;
        event.reply({ kind: 'result', result: { decision } });
      }
    }
  })();
  const turn = async (text: string) => {
    const from = events.length;
    await runtime.startTurn({
      input: [{ type: 'text', text }],
      clientUserMessageId: null,
      settings,
    });
    const done = () =>
      events
        .slice(from)
        .find(
          (e): e is Extract<ThreadEvent, { kind: 'notification'; method: 'turn/completed' }> =>
            e.kind === 'notification' && e.method === 'turn/completed',
        );
    const completed = await waitFor(done, { what: 'the turn to complete' });
    const notifications = events
      .slice(from)
      .flatMap((e) => (e.kind === 'notification' ? [{ method: e.method, params: e.params }] : []));
    return { turn: completed.params.turn, notifications };
  };
  return { cwd, mock, turn, asked };
}

/** The methods of what a client was sent, deltas and status changes left out. */
const methods = (notifications: Array<{ method: string; params: unknown }>) =>
  notifications
    .map((n) => n.method)
    .filter((m) => m !== 'item/agentMessage/delta' && m !== 'thread/status/changed');

const fileChanges = (notifications: Array<{ method: string; params: unknown }>) =>
  notifications.flatMap((n) => {
    const item = (n.params as { item?: app.ThreadItem }).item;
    return item?.type === 'fileChange' ? [{ method: n.method, item }] : [];
  });

/** The output the model was sent for its call, in the next request. */
function outputSent(mock: MockResponsesServer, index: number): Record<string, unknown> | undefined {
  const input = mock.requests[index]?.body.input;
  if (!Array.isArray(input)) return undefined;
  return input.at(-1) as Record<string, unknown> | undefined;
}

/** The apply_patch tool as the first request offered it. */
function toolOffered(mock: MockResponsesServer): unknown {
  const tools = mock.requests[0]?.body.tools;
  if (!Array.isArray(tools)) return undefined;
  return tools.find((t: { name?: unknown }) => t.name === 'apply_patch');
}

const ADD_HELLO = '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch';
const HELLO_DIFF = gitFileDiff('hello.txt', undefined, 'hello.txt', 'hello\n');

describe('apply_patch in a turn', () => {
  it('is offered freeform to a GPT-5 model; the edit is a fileChange item and the turn diff follows each response', async () => {
    const { cwd, mock, turn } = await setup({ model: 'gpt-5.5' });
    await writeFile(join(cwd, 'a.txt'), 'one\ntwo\nthree\n');
    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'call_p',
        input: `*** Begin Patch\n*** Update File: a.txt\n@@\n one\n-two\n+TWO\n*** Add File: hello.txt\n+hello\n*** End Patch`,
      }),
      mockReply.text('done'),
    );
    const { turn: completed, notifications } = await turn('edit');
    expect(completed.status).toBe('completed');
    const tool = toolOffered(mock);
    expect(tool).toMatchObject({
      type: 'custom',
      format: { type: 'grammar', syntax: 'lark', definition: APPLY_PATCH_GRAMMAR },
    });
    // the reference's order: the item, the diff, then the diff again after each response's usage
    expect(methods(notifications)).toEqual([
      'turn/started',
      'item/started',
      'item/completed',
      'item/started',
      'item/completed',
      'turn/diff/updated',
      'thread/tokenUsage/updated',
      'turn/diff/updated',
      'item/started',
      'item/completed',
      'thread/tokenUsage/updated',
      'turn/diff/updated',
      'turn/completed',
    ]);
    const changes = [
      {
        path: join(cwd, 'a.txt'),
        kind: { type: 'update', move_path: null },
        diff: '@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n',
      },
      { path: join(cwd, 'hello.txt'), kind: { type: 'add' }, diff: 'hello\n' },
    ];
    expect(fileChanges(notifications)).toEqual([
      {
        method: 'item/started',
        item: expect.objectContaining({ id: 'call_p', status: 'inProgress', changes }),
      },
      {
        method: 'item/completed',
        item: expect.objectContaining({ id: 'call_p', status: 'completed', changes }),
      },
    ]);
    const diff =
      gitFileDiff('a.txt', 'one\ntwo\nthree\n', 'a.txt', 'one\nTWO\nthree\n') + HELLO_DIFF;
    for (const n of notifications.filter((x) => x.method === 'turn/diff/updated')) {
      expect(n.params).toEqual({ threadId: 'thread-1', turnId: completed.id, diff });
    }
    expect(outputSent(mock, 1)).toEqual({
      type: 'custom_tool_call_output',
      call_id: 'call_p',
      output: expect.stringMatching(
        // the wall time as the reference prints it: "0", "0.1", "2"
        /^Exit code: 0\nWall time: \d+(\.\d)? seconds\nOutput:\nSuccess\. Updated the following files:\nA hello\.txt\nM a\.txt\n$/,
      ),
    });
    expect(await readFile(join(cwd, 'a.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
    expect(await readFile(join(cwd, 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  it('is a function tool for other models, and its output a function_call_output', async () => {
    const { cwd, mock, turn } = await setup({ model: 'mock-model' });
    mock.enqueue(
      mockReply.toolCall({
        name: 'apply_patch',
        callId: 'call_f',
        arguments: { input: ADD_HELLO },
      }),
      mockReply.text('done'),
    );
    await turn('edit');
    const tool = toolOffered(mock);
    expect(tool).toMatchObject({ type: 'function', parameters: { required: ['input'] } });
    expect(outputSent(mock, 1)).toMatchObject({ type: 'function_call_output', call_id: 'call_f' });
    expect(await readFile(join(cwd, 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  it('the applyPatchTool option overrides the choice by model', async () => {
    const { mock, turn } = await setup({ model: 'gpt-5.5' }, [], { applyPatchTool: 'function' });
    mock.enqueue(mockReply.text('nothing to do'));
    await turn('hi');
    expect(toolOffered(mock)).toMatchObject({ type: 'function', name: 'apply_patch' });
  });

  it('a patch that does not verify shows no item, changes nothing, and tells the model why', async () => {
    const { cwd, mock, turn } = await setup({ model: 'gpt-5.5' });
    await writeFile(join(cwd, 'a.txt'), 'one\n');
    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'call_v',
        input:
          '*** Begin Patch\n*** Add File: new.txt\n+n\n*** Update File: a.txt\n@@\n-nope\n+x\n*** End Patch',
      }),
      mockReply.text('oops'),
    );
    const { notifications } = await turn('edit');
    expect(fileChanges(notifications)).toEqual([]);
    expect(methods(notifications)).not.toContain('turn/diff/updated');
    expect(outputSent(mock, 1)?.output).toBe(
      `apply_patch verification failed: Failed to find expected lines in ${join(cwd, 'a.txt')}:\nnope`,
    );
    expect(existsSync(join(cwd, 'new.txt'))).toBe(false);
  });

  it('asks under untrusted (reason and grantRoot null); a decline is told to the model', async () => {
    const { cwd, mock, turn, asked } = await setup(
      { model: 'gpt-5.5', approvalPolicy: 'untrusted' },
      ['decline', 'accept'],
    );
    mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'call_d', input: ADD_HELLO }),
      mockReply.text('ok'),
    );
    const first = await turn('edit');
    expect(asked).toEqual([
      {
        threadId: 'thread-1',
        turnId: first.turn.id,
        itemId: 'call_d',
        startedAtMs: expect.any(Number),
        reason: null,
        grantRoot: null,
      },
    ]);
    expect(fileChanges(first.notifications).map((c) => [c.method, c.item.status])).toEqual([
      ['item/started', 'inProgress'],
      ['item/completed', 'declined'],
    ]);
    expect(outputSent(mock, 1)?.output).toBe('patch rejected by user');
    expect(existsSync(join(cwd, 'hello.txt'))).toBe(false);

    mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'call_a', input: ADD_HELLO }),
      mockReply.text('ok'),
    );
    const second = await turn('again');
    expect(asked).toHaveLength(2);
    expect(methods(second.notifications)).toContain('turn/diff/updated');
    expect(await readFile(join(cwd, 'hello.txt'), 'utf8')).toBe('hello\n');
  });

  it('acceptForSession lets later patches of the same files through; cancel interrupts the turn', async () => {
    const { cwd, mock, turn, asked } = await setup(
      { model: 'gpt-5.5', approvalPolicy: 'untrusted' },
      ['acceptForSession', 'cancel'],
    );
    const edit = (callId: string, text: string) =>
      mockReply.customToolCall({
        name: 'apply_patch',
        callId,
        input: `*** Begin Patch\n*** Add File: hello.txt\n+${text}\n*** End Patch`,
      });
    mock.enqueue(edit('c1', 'one'), mockReply.text('ok'), edit('c2', 'two'), mockReply.text('ok'));
    await turn('first');
    await turn('second');
    expect(asked).toHaveLength(1);
    expect(await readFile(join(cwd, 'hello.txt'), 'utf8')).toBe('two\n');

    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'c3',
        input: '*** Begin Patch\n*** Add File: other.txt\n+x\n*** End Patch',
      }),
    );
    const third = await turn('third');
    expect(asked).toHaveLength(2);
    expect(third.turn.status).toBe('interrupted');
    expect(existsSync(join(cwd, 'other.txt'))).toBe(false);
  });

  it('a path outside the writable roots asks under on-request and is refused under never', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'tether-outside-'));
    cleanup.push(() => rm(outside, { recursive: true, force: true }));
    const sandbox: app.SandboxPolicy = {
      type: 'workspaceWrite',
      writableRoots: [],
      networkAccess: false,
      excludeTmpdirEnvVar: true,
      excludeSlashTmp: true,
    };
    const patch = `*** Begin Patch\n*** Add File: ${join(outside, 'x.txt')}\n+x\n*** End Patch`;

    const never = await setup({ model: 'gpt-5.5', approvalPolicy: 'never', sandbox });
    never.mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'o1', input: patch }),
      mockReply.text('ok'),
    );
    const refused = await never.turn('edit');
    expect(fileChanges(refused.notifications)).toEqual([]);
    expect(outputSent(never.mock, 1)?.output).toBe(
      'patch rejected: writing outside of the project; rejected by user approval settings',
    );
    // inside the cwd the same policy writes without asking
    never.mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'o2', input: ADD_HELLO }),
      mockReply.text('ok'),
    );
    await never.turn('edit inside');
    expect(await readFile(join(never.cwd, 'hello.txt'), 'utf8')).toBe('hello\n');

    const onRequest = await setup({ model: 'gpt-5.5', approvalPolicy: 'on-request', sandbox }, [
      'accept',
    ]);
    onRequest.mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'o3', input: patch }),
      mockReply.text('ok'),
    );
    await onRequest.turn('edit');
    expect(onRequest.asked).toHaveLength(1);
    expect(await readFile(join(outside, 'x.txt'), 'utf8')).toBe('x\n');
  });

  it('a path inside the cwd that leads out through a symlink is judged by where it really writes', async () => {
    const outside = await mkdtemp(join(tmpdir(), 'tether-outside-'));
    cleanup.push(() => rm(outside, { recursive: true, force: true }));
    await writeFile(join(outside, 'target.txt'), 'old\n');
    const sandbox: app.SandboxPolicy = {
      type: 'workspaceWrite',
      writableRoots: [],
      networkAccess: false,
      excludeTmpdirEnvVar: true,
      excludeSlashTmp: true,
    };
    // a directory link, and a file link, both inside the cwd and pointing out of it
    const links = async (cwd: string) => {
      await symlink(outside, join(cwd, 'out'));
      await symlink(join(outside, 'target.txt'), join(cwd, 'file-link.txt'));
    };
    const through = '*** Begin Patch\n*** Add File: out/new.txt\n+x\n*** End Patch';
    const fileLink =
      '*** Begin Patch\n*** Update File: file-link.txt\n@@\n-old\n+new\n*** End Patch';

    const never = await setup({ model: 'gpt-5.5', approvalPolicy: 'never', sandbox });
    await links(never.cwd);
    never.mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 's1', input: through }),
      mockReply.text('ok'),
      mockReply.customToolCall({ name: 'apply_patch', callId: 's2', input: fileLink }),
      mockReply.text('ok'),
    );
    const first = await never.turn('edit through the link');
    expect(fileChanges(first.notifications)).toEqual([]);
    expect(outputSent(never.mock, 1)?.output).toBe(
      'patch rejected: writing outside of the project; rejected by user approval settings',
    );
    await never.turn('edit the linked file');
    expect(outputSent(never.mock, 3)?.output).toBe(
      'patch rejected: writing outside of the project; rejected by user approval settings',
    );
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
    expect(await readFile(join(outside, 'target.txt'), 'utf8')).toBe('old\n');

    const onRequest = await setup({ model: 'gpt-5.5', approvalPolicy: 'on-request', sandbox }, [
      'decline',
    ]);
    await links(onRequest.cwd);
    onRequest.mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 's3', input: through }),
      mockReply.text('ok'),
    );
    await onRequest.turn('edit through the link');
    expect(onRequest.asked).toHaveLength(1);
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });

  it('a patch is verified again once accepted: if the file changed so it no longer applies, nothing is written', async () => {
    const { cwd, mock, turn, asked } = await setup(
      { model: 'gpt-5.5', approvalPolicy: 'untrusted' },
      [
        async () => {
          // the file changes while the question is open
          await writeFile(join(cwd, 'a.txt'), 'one\nchanged\n');
          return 'accept';
        },
        async () => {
          // a change the patch still applies to: applied to the file as it is now
          await writeFile(join(cwd, 'a.txt'), 'zero\none\ntwo\n');
          return 'accept';
        },
      ],
    );
    await writeFile(join(cwd, 'a.txt'), 'one\ntwo\n');
    const patch =
      '*** Begin Patch\n*** Add File: new.txt\n+n\n*** Update File: a.txt\n@@\n one\n-two\n+TWO\n*** End Patch';
    mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'r1', input: patch }),
      mockReply.text('ok'),
    );
    const first = await turn('edit');
    expect(asked).toHaveLength(1);
    expect(outputSent(mock, 1)?.output).toBe(
      `apply_patch verification failed: Failed to find expected lines in ${join(cwd, 'a.txt')}:\none\ntwo`,
    );
    expect(fileChanges(first.notifications).map((c) => [c.method, c.item.status])).toEqual([
      ['item/started', 'inProgress'],
      ['item/completed', 'failed'],
    ]);
    expect(methods(first.notifications)).not.toContain('turn/diff/updated');
    // all or nothing: the add before the failing hunk was not written either
    expect(existsSync(join(cwd, 'new.txt'))).toBe(false);
    expect(await readFile(join(cwd, 'a.txt'), 'utf8')).toBe('one\nchanged\n');

    await writeFile(join(cwd, 'a.txt'), 'one\ntwo\n');
    mock.enqueue(
      mockReply.customToolCall({ name: 'apply_patch', callId: 'r2', input: patch }),
      mockReply.text('ok'),
    );
    const second = await turn('again');
    expect(await readFile(join(cwd, 'a.txt'), 'utf8')).toBe('zero\none\nTWO\n');
    // the completed item shows what was written
    expect(fileChanges(second.notifications).at(-1)?.item).toMatchObject({
      status: 'completed',
      changes: [expect.anything(), { diff: '@@ -2,2 +2,2 @@\n one\n-two\n+TWO\n' }],
    });
  });

  it('an empty patch is rejected as the reference rejects it', async () => {
    const { mock, turn } = await setup({ model: 'gpt-5.5' });
    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'e',
        input: '*** Begin Patch\n*** End Patch',
      }),
      mockReply.text('ok'),
    );
    await turn('edit');
    expect(outputSent(mock, 1)?.output).toBe('patch rejected: empty patch');
  });
});
