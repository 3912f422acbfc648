import { appendFileSync } from 'node:fs';
import type { TurnBody } from '@tether/agent-core';
import type { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

/**
 * A scripted agent: "RUN: x" runs a (pretend) command item before the reply; every turn ends with
 * an agent message echoing the input, and reports token usage.
 */
const scripted: TurnBody = async (turn) => {
  const text = turn.inputs[0]?.[0]?.type === 'text' ? turn.inputs[0][0].text : '';
  const ids = { threadId: turn.threadId, turnId: turn.turnId };
  const now = Date.now();
  if (text.startsWith('RUN:')) {
    const command: app.CommandExecutionItem = {
      type: 'commandExecution',
      id: `call_${turn.turnId.slice(-8)}`,
      command: text.slice(4).trim(),
      cwd: '/tmp',
      processId: null,
      source: 'agent',
      status: 'inProgress',
      commandActions: [],
      aggregatedOutput: null,
      exitCode: null,
      durationMs: null,
      pluginId: null,
      scriptPath: null,
      startedAtMs: now,
      completedAtMs: null,
    };
    turn.emit('item/started', { item: command, ...ids, startedAtMs: now });
    const done = {
      ...command,
      status: 'completed',
      aggregatedOutput: 'out\n',
      exitCode: 0,
      durationMs: 1,
      completedAtMs: now,
    };
    turn.emit('item/completed', {
      item: done,
      ...ids,
      contentTokenCount: null,
      completedAtMs: now,
    });
  }
  const reply: app.AgentMessageItem = {
    type: 'agentMessage',
    id: `msg_${turn.turnId.slice(-8)}`,
    text: `re: ${text}`,
    phase: null,
    memoryCitation: null,
    delivery: null,
    questions: null,
    moderation: null,
    startedAtMs: now,
    completedAtMs: now,
  };
  turn.emit('item/completed', { item: reply, ...ids, contentTokenCount: null, completedAtMs: now });
  const last = {
    totalTokens: 15,
    inputTokens: 10,
    cachedInputTokens: 0,
    cacheWriteInputTokens: 0,
    outputTokens: 5,
    reasoningOutputTokens: 0,
  };
  // running totals continue from the thread's last report (also after a restart)
  const before = turn.tokenUsage?.total;
  const total = { ...last, totalTokens: (before?.totalTokens ?? 0) + last.totalTokens };
  turn.emit('thread/tokenUsage/updated', {
    ...ids,
    tokenUsage: { total, last, modelContextWindow: null },
  });
  return { status: 'completed' };
};

async function serve(home = tempHome()) {
  const s = await startServer(scripted, { home });
  servers.push(s);
  const c = await client(s, 'history', { experimentalApi: true });
  clients.push(c);
  return { s, c, home };
}

async function runTurn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
  });
  return turn.id;
}

async function threadWith(c: AppServerClient, texts: string[]) {
  const { thread } = await c.request('thread/start', { cwd: '/tmp' });
  const turnIds: string[] = [];
  for (const text of texts) turnIds.push(await runTurn(c, thread.id, text));
  return { threadId: thread.id, turnIds };
}

describe('paging a thread as the Codex clients do', () => {
  it('thread/turns/list: newest first, summary items, cursors both ways', async () => {
    const { c } = await serve();
    const { threadId, turnIds } = await threadWith(c, [
      'SAY: p1',
      'RUN: echo p2',
      'SAY: p3',
      'RUN: echo p4',
    ]);
    const all = await c.request('thread/turns/list', { threadId });
    expect(app.ThreadTurnsListResponse.parse(all)).toEqual(all);
    expect(all.data.map((t) => t.id)).toEqual([...turnIds].reverse());
    // summary: first user message and last agent message; the command is left out
    expect(all.data[0]?.itemsView).toBe('summary');
    expect(all.data[0]?.items.map((i) => i.type)).toEqual(['userMessage', 'agentMessage']);
    expect(all.nextCursor).toBeNull();
    const page1 = await c.request('thread/turns/list', { threadId, limit: 2 });
    expect(page1.data.map((t) => t.id)).toEqual([turnIds[3], turnIds[2]]);
    expect(JSON.parse(page1.nextCursor ?? '')).toMatchObject({
      requestedThreadId: threadId,
      includeAnchor: false,
      scope: { kind: 'turns' },
    });
    const page2 = await c.request('thread/turns/list', {
      threadId,
      limit: 2,
      cursor: page1.nextCursor,
      itemsView: 'full',
    });
    expect(page2.data.map((t) => t.id)).toEqual([turnIds[1], turnIds[0]]);
    expect(page2.data[0]?.items.map((i) => i.type)).toEqual([
      'userMessage',
      'commandExecution',
      'agentMessage',
    ]);
    expect(page2.nextCursor).toBeNull();
    const back = await c.request('thread/turns/list', {
      threadId,
      sortDirection: 'asc',
      cursor: page2.backwardsCursor,
      itemsView: 'notLoaded',
    });
    expect(back.data.map((t) => t.id)).toEqual([turnIds[1], turnIds[2], turnIds[3]]);
    expect(back.data.every((t) => t.items.length === 0 && t.itemsView === 'notLoaded')).toBe(true);
    await expect(c.request('thread/turns/list', { threadId, cursor: 'garbage' })).rejects.toThrow(
      'invalid cursor: garbage',
    );
  });

  it('thread/items/list and thread/items/read: every item in order, per turn, deferred output', async () => {
    const { c } = await serve();
    const { threadId, turnIds } = await threadWith(c, ['SAY: p1', 'RUN: echo p2']);
    const all = await c.request('thread/items/list', { threadId });
    expect(app.ThreadItemsListResponse.parse(all)).toEqual(all);
    expect(all.data.map((e) => `${e.turnId === turnIds[0] ? 1 : 2}:${e.item.type}`)).toEqual([
      '1:userMessage',
      '1:agentMessage',
      '2:userMessage',
      '2:commandExecution',
      '2:agentMessage',
    ]);
    expect(all.data[0]?.startedAtMs).toEqual(expect.any(Number));
    const limited = await c.request('thread/items/list', { threadId, limit: 2 });
    const rest = await c.request('thread/items/list', { threadId, cursor: limited.nextCursor });
    expect([...limited.data, ...rest.data]).toEqual(all.data);
    const desc = await c.request('thread/items/list', {
      threadId,
      sortDirection: 'desc',
      limit: 1,
    });
    expect(desc.data[0]?.item.type).toBe('agentMessage');
    const turn2 = turnIds[1] as string;
    const command = all.data[3]?.item.id as string;
    const afterCommand = await c.request('thread/items/list', {
      threadId,
      turnId: turn2,
      cursor: { type: 'item', itemId: command },
    });
    expect(afterCommand.data.map((e) => e.item.type)).toEqual(['agentMessage']);
    const deferred = await c.request('thread/items/list', {
      threadId,
      turnId: turn2,
      deferOutput: { commandExecution: true },
    });
    expect(deferred.data[1]).toMatchObject({
      item: { type: 'commandExecution', aggregatedOutput: null },
      outputDeferred: true,
    });
    const read = await c.request('thread/items/read', {
      threadId,
      turnId: turn2,
      itemIds: [command],
    });
    expect(read.data[0]?.item).toMatchObject({ id: command, aggregatedOutput: 'out\n' });
    expect(await c.request('thread/items/list', { threadId, turnId: 'nope' })).toEqual({
      data: [],
      nextCursor: null,
      backwardsCursor: null,
    });
    await expect(
      c.request('thread/items/list', { threadId, cursor: { type: 'item', itemId: command } }),
    ).rejects.toMatchObject({
      code: -32602,
      message: 'turnId is required when cursor is an item anchor',
    });
    await expect(
      c.request('thread/items/list', { threadId: '01a200ff-0000-7000-8000-000000000000' }),
    ).rejects.toMatchObject({ code: -32601, message: 'thread/items/list is not supported yet' });
  });
});

describe('resume after a restart', () => {
  it('notifies idle to everyone, replays token usage to the resumer, and pages from cursors', async () => {
    const first = await serve();
    const { threadId, turnIds } = await threadWith(first.c, ['SAY: a', 'SAY: b', 'SAY: c']);
    first.c.close();
    await first.s.shutdown();
    const second = await serve(first.home);
    const other = await client(second.s, 'other');
    clients.push(other);
    const from = second.c.notifications.cursor;
    const resumed = await second.c.request('thread/resume', {
      threadId,
      excludeTurns: true,
      initialTurnsPage: { limit: 2 },
    });
    expect(app.ThreadResumeResponse.parse(resumed)).toEqual(resumed);
    expect(resumed.thread.turns).toEqual([]);
    expect(resumed.initialTurnsPage?.data.map((t) => t.id)).toEqual([turnIds[2], turnIds[1]]);
    const older = await second.c.request('thread/turns/list', {
      threadId,
      cursor: resumed.initialTurnsPage?.nextCursor,
    });
    expect(older.data.map((t) => t.id)).toEqual([turnIds[0]]);
    const newest = await second.c.request('thread/turns/list', {
      threadId,
      cursor: resumed.turnsBackwardsCursor,
      limit: 1,
    });
    expect(newest.data.map((t) => t.id)).toEqual([turnIds[2]]);
    const lastItem = await second.c.request('thread/items/list', {
      threadId,
      cursor: resumed.itemsBackwardsCursor,
      sortDirection: 'desc',
      limit: 1,
    });
    expect(lastItem.data[0]?.item.type).toBe('agentMessage');
    await second.c.waitForNotification('thread/goal/cleared', undefined, { from });
    const seen = second.c.notifications.since(from).map((n) => n.method);
    expect(seen).toEqual([
      'thread/status/changed',
      'thread/tokenUsage/updated',
      'thread/goal/cleared',
    ]);
    const usage = second.c.notifications.since(from)[1]
      ?.params as app.ThreadTokenUsageUpdatedNotification;
    expect(usage.tokenUsage.total.totalTokens).toBe(45);
    // the other client hears the thread is idle, not its token usage
    await other.waitForNotification('thread/goal/cleared');
    expect(other.notifications.since().map((n) => n.method)).toContain('thread/status/changed');
    expect(other.notifications.since().map((n) => n.method)).not.toContain(
      'thread/tokenUsage/updated',
    );
  });

  it('warns a reader once about a rollout line it cannot read, and loads the rest', async () => {
    const first = await serve();
    const { threadId } = await threadWith(first.c, ['SAY: kept']);
    const path = (await first.c.request('thread/read', { threadId })).thread.path as string;
    first.c.close();
    await first.s.shutdown();
    appendFileSync(path, '{"hand-edited": garbage}\n');
    const second = await serve(first.home);
    const read = await second.c.request('thread/read', { threadId, includeTurns: true });
    expect(read.thread.turns).toHaveLength(1);
    const warning = await second.c.waitForNotification('warning');
    expect((warning.params as { message: string }).message).toContain(path);
    expect((warning.params as { message: string }).message).toMatch(/line \d+/);
    await second.c.request('thread/resume', { threadId, excludeTurns: true });
    expect(second.c.notifications.since().filter((n) => n.method === 'warning')).toHaveLength(1);

    // the thread is loaded now: a client that resumes or reads it is told as well, once
    const other = await client(second.s, 'other', { experimentalApi: true });
    clients.push(other);
    await other.request('thread/resume', { threadId, excludeTurns: true });
    await other.request('thread/read', { threadId });
    const late = await client(second.s, 'late', { experimentalApi: true });
    clients.push(late);
    await late.request('thread/read', { threadId });
    for (const c of [other, late]) {
      const warnings = c.notifications.since().filter((n) => n.method === 'warning');
      expect(warnings.map((n) => (n.params as { message: string }).message)).toEqual([
        expect.stringMatching(/unreadable line.*line \d+/),
      ]);
    }
  });
});

describe('ephemeral threads', () => {
  it('leave no rollout, stay out of the list, refuse history and are gone after a restart', async () => {
    const first = await serve();
    const started = await first.c.request('thread/start', { cwd: '/tmp', ephemeral: true });
    expect(started.thread).toMatchObject({ ephemeral: true, path: null });
    const id = started.thread.id;
    await runTurn(first.c, id, 'SAY: title please');
    expect((await first.c.request('thread/list', {})).data).toEqual([]);
    expect((await first.c.request('thread/loaded/list', {})).data).toContain(id);
    const read = await first.c.request('thread/read', { threadId: id });
    expect(read).toMatchObject({ thread: { id, preview: '' }, readState: null });
    await expect(
      first.c.request('thread/read', { threadId: id, includeTurns: true }),
    ).rejects.toThrow('ephemeral threads do not support includeTurns');
    await expect(first.c.request('thread/turns/list', { threadId: id })).rejects.toThrow(
      'ephemeral threads do not support thread/turns/list',
    );
    await expect(first.c.request('thread/resume', { threadId: id })).rejects.toThrow(
      `no rollout found for thread id ${id}`,
    );
    await expect(first.c.request('thread/name/set', { threadId: id, name: 'x' })).rejects.toThrow(
      `ephemeral thread does not support metadata updates: ${id}`,
    );
    await expect(first.c.request('thread/delete', { threadId: id })).rejects.toThrow(
      `thread is not persisted and cannot be deleted: ${id}`,
    );
    first.c.close();
    await first.s.shutdown();
    const second = await serve(first.home);
    await expect(second.c.request('thread/read', { threadId: id })).rejects.toThrow(
      `thread not loaded: ${id}`,
    );
  });
});

describe('read state', () => {
  it('a completed turn makes the thread unread; updates need the current revision and persist', async () => {
    const first = await serve();
    const { threadId, turnIds } = await threadWith(first.c, ['SAY: one']);
    const changed = await first.c.waitForNotification('thread/readState/changed');
    const readState = (changed.params as app.ThreadReadStateChangedNotification).readState;
    expect(readState.firstUnread).toEqual({ type: 'turn', turnId: turnIds[0] });
    await runTurn(first.c, threadId, 'SAY: two');
    const read1 = await first.c.request('thread/read', { threadId });
    // the first unread turn stays the earliest one; the revision moves on
    expect(read1.readState?.firstUnread).toEqual({ type: 'turn', turnId: turnIds[0] });
    expect(read1.readState?.revision).not.toBe(readState.revision);
    await expect(
      first.c.request('thread/readState/update', {
        threadId,
        operation: { type: 'read' },
        expectedRevision: readState.revision,
      }),
    ).rejects.toMatchObject({
      code: -32600,
      message: 'read state changed',
      data: { reason: 'readStateConflict', readState: read1.readState },
    });
    const marked = await first.c.request('thread/readState/update', {
      threadId,
      operation: { type: 'read' },
      expectedRevision: read1.readState?.revision ?? '',
    });
    expect(marked.readState.firstUnread).toBeNull();
    const list = await first.c.request('thread/list', {});
    expect(list.readStates?.[threadId]).toEqual(marked.readState);
    first.c.close();
    await first.s.shutdown();
    const second = await serve(first.home);
    expect((await second.c.request('thread/read', { threadId })).readState).toEqual(
      marked.readState,
    );
    const unread = await second.c.request('thread/readState/update', {
      threadId,
      operation: { type: 'unread' },
      expectedRevision: marked.readState.revision,
    });
    expect(unread.readState.firstUnread).toEqual({ type: 'threadStart' });
  });

  it('is an experimental method', async () => {
    const { s } = await serve();
    const plain = await client(s, 'plain');
    clients.push(plain);
    await expect(
      plain.request('thread/readState/update', {
        threadId: '01a200ff-0000-7000-8000-000000000000',
        operation: { type: 'read' },
        expectedRevision: 'x',
      }),
    ).rejects.toThrow('thread/readState/update requires experimentalApi capability');
  });
});
