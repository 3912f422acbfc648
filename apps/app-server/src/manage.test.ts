import { existsSync } from 'node:fs';
import type { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { sleep, tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, replyBody, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

const UNKNOWN = '01a200ff-0000-7000-8000-000000000000';

async function serve(home = tempHome(), deltaDelayMs = 0) {
  const s = await startServer(replyBody(['one ', 'two ', 'three'], deltaDelayMs), { home });
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: true });
  const b = await client(s, 'b', { experimentalApi: true });
  clients.push(a, b);
  return { s, a, b, home };
}

async function runTurn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  await c.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
  });
  return turn.id;
}

const methods = (c: AppServerClient, from: number) =>
  c.notifications.since(from).map((n) => n.method);

/** The last `count` notifications, a status change with its status type. */
const tail = (c: AppServerClient, count: number) =>
  c.notifications
    .since(c.notifications.cursor - count)
    .map((n) =>
      n.method === 'thread/status/changed'
        ? `${n.method}:${(n.params as app.ThreadStatusChangedNotification).status.type}`
        : n.method,
    );

describe('thread/delete', () => {
  it('unloads, removes the rollout, tells everyone; a subscriber hears thread/closed and then gets errors', async () => {
    const { a, b } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await runTurn(a, thread.id, 'hello');
    const path = thread.path as string;
    expect(existsSync(path)).toBe(true);
    const fromA = a.notifications.cursor;
    const fromB = b.notifications.cursor;
    expect(await b.request('thread/delete', { threadId: thread.id })).toEqual({});
    await a.waitForNotification('thread/closed', undefined, { from: fromA });
    expect(tail(a, 3)).toEqual([
      'thread/status/changed:notLoaded',
      'thread/deleted',
      'thread/closed',
    ]);
    await b.waitForNotification('thread/deleted', undefined, { from: fromB });
    // (the turn's own active/idle broadcasts may still be arriving at b: look at the tail)
    expect(tail(b, 2)).toEqual(['thread/status/changed:notLoaded', 'thread/deleted']);
    expect(existsSync(path)).toBe(false);
    await expect(
      a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'x' }] }),
    ).rejects.toThrow(`thread not found: ${thread.id}`);
    await expect(a.request('thread/read', { threadId: thread.id })).rejects.toThrow(
      `thread not loaded: ${thread.id}`,
    );
    await expect(a.request('thread/resume', { threadId: thread.id })).rejects.toThrow(
      `no rollout found for thread id ${thread.id}`,
    );
    await expect(a.request('thread/delete', { threadId: thread.id })).rejects.toThrow(
      `no rollout found for thread id ${thread.id}`,
    );
  });

  it('a delete racing a turn/start never leaves half a thread', async () => {
    const { s, a, b } = await serve(tempHome(), 5);
    for (let round = 0; round < 5; round++) {
      const { thread } = await a.request('thread/start', { cwd: '/tmp' });
      const [started, deleted] = await Promise.allSettled([
        a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'x' }] }),
        b.request('thread/delete', { threadId: thread.id }),
      ]);
      expect(deleted.status).toBe('fulfilled');
      if (started.status === 'rejected') {
        expect(String(started.reason)).toContain(`thread not found: ${thread.id}`);
      }
      // whichever came first, the thread is gone for good: no file, no row, not loaded (thread/list
      // would hide a row left behind without a preview: ask for the thread itself)
      expect(existsSync(thread.path as string)).toBe(false);
      await expect(a.request('thread/read', { threadId: thread.id })).rejects.toThrow(
        `thread not loaded: ${thread.id}`,
      );
      expect(s.threads.store.describeThread(thread.id)).toBeUndefined();
      expect((await a.request('thread/loaded/list', {})).data).not.toContain(thread.id);
    }
  });

  it('a delete refused because the thread is busy leaves every subscriber subscribed', async () => {
    const { s, a, b } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await b.request('thread/resume', { threadId: thread.id, excludeTurns: true });
    const before = [...s.state.subscribers(thread.id)];
    expect(before).toHaveLength(2);
    // a resume in flight (held open here) keeps the thread from unloading
    expect(s.state.beginResume(thread.id)).toBe(true);
    try {
      for (const method of ['thread/delete', 'thread/archive'] as const) {
        await expect(b.request(method, { threadId: thread.id })).rejects.toThrow(
          `thread ${thread.id} is busy; retry later`,
        );
        expect(s.state.subscribers(thread.id)).toEqual(before);
      }
      await expect(
        b.request('thread/revert', { threadId: thread.id, beforeTurnId: 'none' }),
      ).rejects.toThrow(`thread ${thread.id} is busy; retry later`);
      expect(s.state.subscribers(thread.id)).toEqual(before);
      // and they still hear the thread's turns
      const from = a.notifications.cursor;
      await runTurn(b, thread.id, 'still there?');
      await a.waitForNotification('turn/completed', undefined, { from });
    } finally {
      s.state.endResume(thread.id);
    }
    expect(await b.request('thread/delete', { threadId: thread.id })).toEqual({});
  });
});

describe('thread/revert', () => {
  it('keeps the turns before the named one, flaps the status, subscribes the caller, tells everyone', async () => {
    const { a, b } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const t1 = await runTurn(a, thread.id, 'one');
    const t2 = await runTurn(a, thread.id, 'two');
    await runTurn(a, thread.id, 'three');
    const from = b.notifications.cursor;
    const reverted = await b.request('thread/revert', { threadId: thread.id, beforeTurnId: t2 });
    expect(app.ThreadRevertResponse.parse(reverted)).toEqual(reverted);
    expect(reverted.thread.turns).toEqual([]);
    await b.waitForNotification('thread/reverted', undefined, { from });
    expect(tail(b, 3)).toEqual([
      'thread/status/changed:notLoaded',
      'thread/status/changed:idle',
      'thread/reverted',
    ]);
    const turns = await a.request('thread/turns/list', { threadId: thread.id });
    expect(turns.data.map((t) => t.id)).toEqual([t1]);
    // the caller is now a subscriber: it gets the next turn's events
    const fromB = b.notifications.cursor;
    await runTurn(a, thread.id, 'four');
    await b.waitForNotification('turn/completed', undefined, { from: fromB });
    await expect(
      a.request('thread/revert', { threadId: thread.id, beforeTurnId: 'nope' }),
    ).rejects.toThrow('turn not found: nope');
    await expect(
      a.request('thread/revert', { threadId: UNKNOWN, beforeTurnId: t1 }),
    ).rejects.toThrow(`thread not found: ${UNKNOWN}`);
  });
});

describe('names, metadata and settings', () => {
  it('thread/name/set trims, refuses an empty name, and tells everyone', async () => {
    const { a, b } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await expect(
      a.request('thread/name/set', { threadId: thread.id, name: '   ' }),
    ).rejects.toThrow('thread name must not be empty');
    await a.request('thread/name/set', { threadId: thread.id, name: '  padded  ' });
    const updated = await b.waitForNotification('thread/name/updated');
    expect(updated.params).toEqual({ threadId: thread.id, threadName: 'padded' });
    await expect(a.request('thread/name/set', { threadId: UNKNOWN, name: 'x' })).rejects.toThrow(
      `no rollout found for thread id ${UNKNOWN}`,
    );
  });

  it('thread/metadata/update patches gitInfo field by field and validates', async () => {
    const { a, home } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const set = await a.request('thread/metadata/update', {
      threadId: thread.id,
      gitInfo: { sha: 'abc', branch: 'main', originUrl: 'https://example.com/r.git' },
    });
    expect(set.thread.gitInfo).toEqual({
      sha: 'abc',
      branch: 'main',
      originUrl: 'https://example.com/r.git',
    });
    const patched = await a.request('thread/metadata/update', {
      threadId: thread.id,
      gitInfo: { sha: null, branch: 'feature' },
      daybreakEnabled: true,
    });
    expect(patched.thread).toMatchObject({
      gitInfo: { sha: null, branch: 'feature', originUrl: 'https://example.com/r.git' },
      daybreakEnabled: true,
    });
    for (const [params, message] of [
      [{}, 'thread metadata update must include at least one field'],
      [{ gitInfo: {} }, 'gitInfo must include at least one field'],
      [{ gitInfo: { branch: ' ' } }, 'gitInfo.branch must not be empty'],
      [{ projectId: 'p1' }, 'project not found: p1'],
    ] as const) {
      await expect(
        a.request('thread/metadata/update', { threadId: thread.id, ...params }),
      ).rejects.toThrow(message);
    }
    await expect(
      a.request('thread/metadata/update', { threadId: UNKNOWN, daybreakEnabled: true }),
    ).rejects.toThrow(`thread not found: ${UNKNOWN}`);
    // persisted: a new server reads it back without loading the thread
    const again = await serve(home);
    expect((await again.a.request('thread/read', { threadId: thread.id })).thread.gitInfo).toEqual({
      sha: null,
      branch: 'feature',
      originUrl: 'https://example.com/r.git',
    });
  });

  it('thread/settings/update changes later turns, persists, and tells subscribers only on a change', async () => {
    const { a, b, s, home } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const from = a.notifications.cursor;
    expect(
      await b.request('thread/settings/update', {
        threadId: thread.id,
        model: 'other-model',
        effort: 'low',
      }),
    ).toEqual({});
    const updated = await a.waitForNotification('thread/settings/updated', undefined, { from });
    expect(updated.params).toMatchObject({
      threadId: thread.id,
      threadSettings: { model: 'other-model', effort: 'low', cwd: '/tmp' },
    });
    expect(b.notifications.since().map((n) => n.method)).not.toContain('thread/settings/updated');
    await b.request('thread/settings/update', { threadId: thread.id, model: 'other-model' });
    await sleep(50);
    expect(methods(a, from).filter((m) => m === 'thread/settings/updated')).toHaveLength(1);
    await expect(
      a.request('thread/settings/update', {
        threadId: thread.id,
        permissions: ':workspace',
        sandboxPolicy: { type: 'readOnly' },
      }),
    ).rejects.toThrow('`permissions` cannot be combined with `sandboxPolicy`');
    await expect(
      a.request('thread/settings/update', { threadId: UNKNOWN, model: 'x' }),
    ).rejects.toThrow(`thread not found: ${UNKNOWN}`);
    a.close();
    b.close();
    await s.shutdown();
    const again = await serve(home);
    const resumed = await again.a.request('thread/resume', {
      threadId: thread.id,
      excludeTurns: true,
    });
    expect(resumed.model).toBe('other-model');
    expect(resumed.reasoningEffort).toBe('low');
  });
});

describe('goals and the queue', () => {
  it('thread/goal/set, get and clear, with the reference errors, told to everyone, persisted', async () => {
    const { a, b, home } = await serve();
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await expect(
      a.request('thread/goal/set', { threadId: thread.id, status: 'paused' }),
    ).rejects.toThrow(`cannot update goal for thread ${thread.id}: no goal exists`);
    await expect(
      a.request('thread/goal/set', { threadId: thread.id, objective: ' ' }),
    ).rejects.toThrow('goal objective must not be empty');
    await expect(
      a.request('thread/goal/set', { threadId: thread.id, objective: 'x', tokenBudget: 0 }),
    ).rejects.toThrow('goal budgets must be positive when provided');
    const set = await a.request('thread/goal/set', {
      threadId: thread.id,
      objective: 'Write the docs',
      status: 'paused',
      tokenBudget: 1000,
    });
    expect(app.ThreadGoal.parse(set.goal)).toMatchObject({
      threadId: thread.id,
      objective: 'Write the docs',
      status: 'paused',
      tokenBudget: 1000,
      tokensUsed: 0,
    });
    const told = await b.waitForNotification('thread/goal/updated');
    expect(told.params).toEqual({ threadId: thread.id, turnId: null, goal: set.goal });
    expect(await a.request('thread/goal/get', { threadId: thread.id })).toEqual({ goal: set.goal });
    const again = await serve(home);
    expect(await again.a.request('thread/goal/get', { threadId: thread.id })).toEqual({
      goal: set.goal,
    });
    expect(await a.request('thread/goal/clear', { threadId: thread.id })).toEqual({
      cleared: true,
    });
    await b.waitForNotification('thread/goal/cleared');
    expect(await a.request('thread/goal/clear', { threadId: thread.id })).toEqual({
      cleared: false,
    });
  });

  it('thread/queue: an idle thread takes a submission at once; a busy one queues it until its turn completes', async () => {
    const { a } = await serve(tempHome(), 20);
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    const from = a.notifications.cursor;
    const added = await a.request('thread/queue/add', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'first' }],
      clientUserMessageId: 'cm-1',
    });
    expect(app.QueuedSubmission.parse(added.queuedSubmission).clientUserMessageId).toBe('cm-1');
    await a.waitForNotification('turn/started', undefined, { from });
    // a turn runs: the next submission waits
    const second = await a.request('thread/queue/add', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'second' }],
      clientUserMessageId: 'cm-2',
    });
    const listed = await a.request('thread/queue/list', { threadId: thread.id });
    expect(listed.data.map((q) => q.id)).toEqual([second.queuedSubmission.id]);
    // when the running turn completes, the queue starts the next one by itself
    await a.waitForNotification(
      'item/completed',
      (p) =>
        (p.item as app.ThreadItem).type === 'userMessage' &&
        (p.item as app.UserMessageItem).clientId === 'cm-2',
      { from, timeoutMs: 10_000 },
    );
    expect((await a.request('thread/queue/list', { threadId: thread.id })).data).toEqual([]);
    await expect(
      a.request('thread/queue/reorder', { threadId: thread.id, queuedSubmissionIds: ['x'] }),
    ).rejects.toThrow('queue reorder must include every queued submission exactly once');
    await expect(
      a.request('thread/queue/add', { threadId: thread.id, input: [], clientUserMessageId: 'x' }),
    ).rejects.toThrow('only user input can be added to the user-message queue');
  });
});

describe('search', () => {
  it('thread/search finds threads by their messages; thread/searchOccurrences lists each match', async () => {
    const { a } = await serve();
    const one = (await a.request('thread/start', { cwd: '/tmp' })).thread.id;
    const two = (await a.request('thread/start', { cwd: '/tmp' })).thread.id;
    await runTurn(a, one, 'plant a pineapple tree');
    await runTurn(a, two, 'bake an apple pie');
    const found = await a.request('thread/search', { searchTerm: 'APPLE' });
    expect(app.ThreadSearchResponse.parse(found)).toEqual(found);
    expect(new Set(found.data.map((r) => r.thread.id))).toEqual(new Set([one, two]));
    expect(found.data.find((r) => r.thread.id === two)?.snippet).toBe('bake an apple pie');
    const occurrences = await a.request('thread/searchOccurrences', {
      threadId: one,
      searchTerm: 'apple',
    });
    expect(occurrences.data).toEqual([
      expect.objectContaining({
        snippet: 'plant a pineapple tree',
        snippetMatchRange: { start: 12, end: 17 },
      }),
    ]);
    const turns = await a.request('thread/turns/list', {
      threadId: one,
      cursor: occurrences.data[0]?.turnCursor,
      sortDirection: 'asc',
    });
    expect(turns.data).toHaveLength(1);
    await expect(a.request('thread/search', { searchTerm: '  ' })).rejects.toThrow(
      'thread/search requires a non-empty searchTerm',
    );
    await expect(
      a.request('thread/searchOccurrences', { threadId: UNKNOWN, searchTerm: 'x' }),
    ).rejects.toMatchObject({
      code: -32601,
      message: 'thread/searchOccurrences is not supported yet',
    });
  });
});

describe('experimental fields', () => {
  it('are refused without the capability, after the params are decoded', async () => {
    const { s } = await serve();
    const plain = await client(s, 'plain');
    clients.push(plain);
    const { thread } = await plain.request('thread/start', { cwd: '/tmp' });
    await expect(
      plain.request('thread/metadata/update', { threadId: thread.id, daybreakEnabled: true }),
    ).rejects.toThrow('thread/metadata/update.daybreakEnabled requires experimentalApi capability');
    await expect(
      plain.request('thread/items/list', {
        threadId: thread.id,
        deferOutput: { commandExecution: true },
      }),
    ).rejects.toThrow('thread/items/list.deferOutput requires experimentalApi capability');
    // a request that does not decode is refused for that first, as the reference's decoder does
    await expect(plain.requestRaw('thread/search', {})).rejects.toThrow(
      'Invalid request: missing field `searchTerm`',
    );
    await expect(plain.request('thread/search', { searchTerm: 'x' })).rejects.toThrow(
      'thread/search requires experimentalApi capability',
    );
    // the stable part of the same method works
    const updated = await plain.request('thread/metadata/update', {
      threadId: thread.id,
      gitInfo: { branch: 'main' },
    });
    expect(updated.thread.gitInfo).toMatchObject({ branch: 'main' });
  });
});

describe('unknown threads get the reference words, per method', () => {
  it('as the reference answers a valid id it does not know, and a malformed one', async () => {
    const { a } = await serve();
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['thread/read', {}, `thread not loaded: ${UNKNOWN}`],
      ['thread/turns/list', {}, `thread not loaded: ${UNKNOWN}`],
      ['thread/resume', {}, `no rollout found for thread id ${UNKNOWN}`],
      ['thread/fork', { excludeTurns: true }, `no rollout found for thread id ${UNKNOWN}`],
      ['thread/archive', {}, `no rollout found for thread id ${UNKNOWN}`],
      ['thread/delete', {}, `no rollout found for thread id ${UNKNOWN}`],
      ['thread/name/set', { name: 'x' }, `no rollout found for thread id ${UNKNOWN}`],
      ['turn/start', { input: [{ type: 'text', text: 'x' }] }, `thread not found: ${UNKNOWN}`],
      ['thread/goal/get', {}, `thread not found: ${UNKNOWN}`],
      ['thread/inject_items', { items: [{ type: 'message' }] }, `thread not found: ${UNKNOWN}`],
    ];
    for (const [method, params, message] of cases) {
      await expect(a.requestRaw(method, { threadId: UNKNOWN, ...params }), method).rejects.toThrow(
        message,
      );
    }
    await expect(a.request('thread/read', { threadId: 'not-a-uuid' })).rejects.toThrow(
      'invalid thread id: invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-fA-F-], found `n` at 1',
    );
    await expect(a.request('thread/resume', { threadId: 'not-a-uuid' })).rejects.toThrow(
      'invalid session id: invalid character',
    );
    expect(await a.request('thread/unsubscribe', { threadId: UNKNOWN })).toEqual({
      status: 'notLoaded',
    });
  });
});
