import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentRuntimeFactory, type Environment, ResponsesClient } from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import { app } from '@tether/protocol';
import { expectWireShape } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { client, startServer } from './test-support/harness.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/**
 * An app-server whose agent edits files on this machine (the local environment, through the
 * exec-session fs methods), a mock model and a workspace; file-change approvals are answered with
 * `decisions` in order (`wait`: never answered).
 */
async function serve(decisions: string[]) {
  const mock = await MockResponsesServer.start();
  cleanup.push(() => mock.close());
  const environment: Promise<Environment> = localEnvironment();
  cleanup.push(async () => (await environment).close());
  const server = await startServer(async () => ({ status: 'completed' }), {
    runtimeFactory: agentRuntimeFactory({
      model: new ResponsesClient({ model: 'gpt-5.5', baseUrl: mock.baseUrl, maxRetries: 0 }),
      environment: () => environment,
    }),
  });
  cleanup.push(() => server.shutdown({ waitForTurns: false }));
  const c: AppServerClient = await client(server, 'file-edits');
  cleanup.push(() => c.close());
  const asked: unknown[] = [];
  c.onServerRequest((request) => {
    asked.push({ id: request.id, method: request.method, params: request.params });
    const decision = decisions.shift() ?? 'decline';
    // 'wait': the question stays open (the test interrupts the turn)
    if (decision === 'wait') return new Promise(() => undefined);
    return { decision };
  });
  const cwd = await mkdtemp(join(tmpdir(), 'tether-file-edits-'));
  cleanup.push(() => rm(cwd, { recursive: true, force: true }));
  const { thread } = await c.request('thread/start', {
    cwd,
    model: 'gpt-5.5',
    approvalPolicy: 'untrusted',
    sandbox: 'danger-full-access',
  });
  const turn = async (text: string) => {
    const from = c.notifications.cursor;
    const { turn: started } = await c.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text }],
    });
    await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === started.id, {
      from,
      timeoutMs: 20_000,
    });
    return c.notifications.since(from);
  };
  return { mock, c, cwd, threadId: thread.id, asked, turn };
}

const fileChangeItems = (notifications: Array<{ method: string; params: unknown }>) =>
  notifications.filter(
    (n) =>
      (n.method === 'item/started' || n.method === 'item/completed') &&
      (n.params as { item: { type: string } }).item.type === 'fileChange',
  );

describe('file edits over the wire', () => {
  it('an accepted patch: fileChange items, the approval request and turn/diff/updated as the reference shapes them', async () => {
    const { mock, c, cwd, threadId, asked, turn } = await serve(['accept']);
    await writeFile(join(cwd, 'a.txt'), 'one\ntwo\n');
    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'call_edit',
        input:
          '*** Begin Patch\n*** Update File: a.txt\n@@\n-one\n+ONE\n*** Add File: b.txt\n+b\n*** End Patch',
      }),
      mockReply.text('edited'),
    );
    const notifications = await turn('edit the files');

    expect(asked).toHaveLength(1);
    for (const request of asked) expectWireShape(request);
    expect(asked[0]).toMatchObject({
      method: 'item/fileChange/requestApproval',
      params: { threadId, itemId: 'call_edit', reason: null, grantRoot: null },
    });
    const items = fileChangeItems(notifications);
    expect(
      items.map((n) => [n.method, (n.params as { item: app.FileChangeItem }).item.status]),
    ).toEqual([
      ['item/started', 'inProgress'],
      ['item/completed', 'completed'],
    ]);
    for (const n of items) expectWireShape(n);
    const diffs = notifications.filter((n) => n.method === 'turn/diff/updated');
    expect(diffs).toHaveLength(3);
    for (const n of diffs) expectWireShape(n);
    expect(String((diffs[0]?.params as { diff?: unknown } | undefined)?.diff)).toContain(
      'diff --git a/a.txt b/a.txt\n',
    );
    // no output deltas for a patch, as on the reference
    expect(notifications.map((n) => n.method)).not.toContain('item/fileChange/outputDelta');
    expect(await readFile(join(cwd, 'a.txt'), 'utf8')).toBe('ONE\ntwo\n');
    expect(await readFile(join(cwd, 'b.txt'), 'utf8')).toBe('b\n');

    // the model was told what changed; the thread keeps the item
    const sent = mock.requests[1]?.body.input;
    expect(Array.isArray(sent) ? sent.at(-1) : undefined).toMatchObject({
      type: 'custom_tool_call_output',
      call_id: 'call_edit',
      output: expect.stringContaining('Success. Updated the following files:\nA b.txt\nM a.txt\n'),
    });
    const read = await c.request('thread/read', { threadId, includeTurns: true });
    const kept = read.thread.turns
      .flatMap((t: app.Turn) => t.items)
      .find((item) => app.isKnownThreadItem(item) && item.type === 'fileChange');
    expect(kept).toMatchObject({ id: 'call_edit', status: 'completed' });
  });

  it('a declined patch changes nothing and the model is told; one that does not verify shows no item', async () => {
    const { mock, cwd, turn } = await serve(['decline']);
    mock.enqueue(
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'call_no',
        input: '*** Begin Patch\n*** Add File: b.txt\n+b\n*** End Patch',
      }),
      mockReply.text('ok'),
      mockReply.customToolCall({
        name: 'apply_patch',
        callId: 'call_bad',
        input: '*** Begin Patch\n*** Update File: missing.txt\n@@\n-a\n+b\n*** End Patch',
      }),
      mockReply.text('ok'),
    );
    const declined = await turn('edit');
    const items = fileChangeItems(declined);
    for (const n of items) expectWireShape(n);
    expect((items.at(-1)?.params as { item?: app.FileChangeItem } | undefined)?.item?.status).toBe(
      'declined',
    );
    expect(existsSync(join(cwd, 'b.txt'))).toBe(false);
    const told = mock.requests[1]?.body.input;
    expect(Array.isArray(told) ? told.at(-1) : undefined).toMatchObject({
      output: 'patch rejected by user',
    });

    const failed = await turn('edit again');
    expect(fileChangeItems(failed)).toEqual([]);
    const reply = mock.requests[3]?.body.input;
    expect(Array.isArray(reply) ? reply.at(-1) : undefined).toMatchObject({
      type: 'custom_tool_call_output',
      call_id: 'call_bad',
      output: `apply_patch verification failed: Failed to read file to update ${join(cwd, 'missing.txt')}: No such file or directory (os error 2)`,
    });
  });
});

/** The thread's status changes and the file-change events, in the order a client saw them. */
const statusOrder = (notifications: Array<{ method: string; params: unknown }>) =>
  notifications
    .filter(
      (n) =>
        n.method === 'thread/status/changed' ||
        n.method === 'serverRequest/resolved' ||
        n.method === 'turn/completed' ||
        ((n.method === 'item/started' || n.method === 'item/completed') &&
          (n.params as { item: { type: string } }).item.type === 'fileChange'),
    )
    .map((n) => {
      if (n.method === 'thread/status/changed') {
        const status = (n.params as { status: { type: string; activeFlags?: string[] } }).status;
        return `status:${status.type}${JSON.stringify(status.activeFlags ?? [])}`;
      }
      if (n.method.startsWith('item/')) {
        return `${n.method}:${(n.params as { item: app.FileChangeItem }).item.status}`;
      }
      return n.method;
    });

describe('the waitingOnApproval flag of a patch approval', () => {
  it('is cleared when the patch is declined or cancelled, and when the turn is interrupted while it waits', async () => {
    const { mock, c, threadId, turn } = await serve(['decline', 'cancel', 'wait']);
    const patch = (callId: string) =>
      mockReply.customToolCall({
        name: 'apply_patch',
        callId,
        input: '*** Begin Patch\n*** Add File: b.txt\n+b\n*** End Patch',
      });
    mock.enqueue(
      patch('call_decline'),
      mockReply.text('ok'),
      patch('call_cancel'),
      patch('call_wait'),
    );
    // the reference's order: the flag is cleared, then the item completes
    expect(statusOrder(await turn('edit'))).toEqual([
      'status:active[]',
      'item/started:inProgress',
      'status:active["waitingOnApproval"]',
      'serverRequest/resolved',
      'status:active[]',
      'item/completed:declined',
      'status:idle[]',
      'turn/completed',
    ]);
    expect(statusOrder(await turn('edit again'))).toEqual([
      'status:active[]',
      'item/started:inProgress',
      'status:active["waitingOnApproval"]',
      'serverRequest/resolved',
      'status:active[]',
      'status:idle[]',
      'turn/completed',
    ]);

    const from = c.notifications.cursor;
    const { turn: started } = await c.request('turn/start', {
      threadId,
      input: [{ type: 'text', text: 'edit, then be interrupted' }],
    });
    await c.waitForNotification(
      'thread/status/changed',
      (p) =>
        ((p.status as { activeFlags?: string[] }).activeFlags ?? []).includes('waitingOnApproval'),
      { from },
    );
    await c.request('turn/interrupt', { threadId, turnId: started.id });
    await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === started.id, {
      from,
    });
    await c.waitForNotification('serverRequest/resolved', () => true, { from });
    // the reference's order: straight from waiting to idle, the item left open, the question
    // withdrawn after the turn completed
    expect(statusOrder(c.notifications.since(from))).toEqual([
      'status:active[]',
      'item/started:inProgress',
      'status:active["waitingOnApproval"]',
      'status:idle[]',
      'turn/completed',
      'serverRequest/resolved',
    ]);
    const read = await c.request('thread/read', { threadId });
    expect(read.thread.status).toEqual({ type: 'idle' });
  });
});
