import type { RuntimeFactory, TurnBody } from '@tether/agent-core';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import type { AppServerClient } from '@tether/client';
import { sleep, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, replyBody, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
});

async function setup(body: TurnBody, options: Parameters<typeof startServer>[1] = {}) {
  const s = await startServer(body, { unloadDelayMs: 150, ...options });
  servers.push(s);
  const a = await client(s, 'a');
  const b = await client(s, 'b');
  clients.push(a, b);
  return { s, a, b };
}

const slowBody =
  (ms: number): TurnBody =>
  async (turn) => {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      turn.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    return { status: 'completed' };
  };

describe('idle unloading', () => {
  it('unloads a thread only after it has had no subscribers for the delay, then broadcasts thread/closed', async () => {
    const { s, a, b } = await setup(replyBody(['ok']));
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    // b saw thread/started but is not a subscriber: it does not keep the thread loaded
    await b.waitForNotification('thread/started');
    await sleep(300);
    expect(s.threads.isLoaded(thread.id)).toBe(true); // a is still subscribed
    const left = Date.now();
    await a.request('thread/unsubscribe', { threadId: thread.id });
    const closed = await b.waitForNotification('thread/closed');
    expect(Date.now() - left).toBeGreaterThanOrEqual(140);
    expect(closed.params).toEqual({ threadId: thread.id });
    await a.waitForNotification('thread/closed');
    expect(await a.request('thread/loaded/list', {})).toEqual({ data: [], nextCursor: null });
    const read = await a.request('thread/read', { threadId: thread.id });
    expect(read.thread.status).toEqual({ type: 'notLoaded' });
    // it can be resumed again from the rollout
    const resumed = await b.request('thread/resume', { threadId: thread.id });
    expect(resumed.thread.id).toBe(thread.id);
  });

  it('never unloads a thread that is running a turn, even with nobody subscribed', async () => {
    const { s, a, b } = await setup(slowBody(600));
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await a.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'slow' }] });
    await a.waitForNotification('turn/started');
    a.close();
    await sleep(400); // well past the delay, turn still running
    expect(s.threads.isLoaded(thread.id)).toBe(true);
    expect(b.notifications.since().map((n) => n.method)).not.toContain('thread/closed');
    // once idle, the clock starts
    await b.waitForNotification(
      'thread/status/changed',
      (p) => (p.status as { type: string }).type === 'idle',
    );
    await b.waitForNotification('thread/closed');
    expect(s.threads.isLoaded(thread.id)).toBe(false);
  });

  it('refuses a resume while the thread is closing, and accepts it once closed', async () => {
    let shutdowns = 0;
    const base = turnLoopRuntimeFactory(replyBody(['x']));
    // a runtime that takes a while to shut down widens the closing window
    const slowShutdown: RuntimeFactory = (context) => {
      const runtime = base(context);
      const shutdown = runtime.shutdown.bind(runtime);
      runtime.shutdown = async () => {
        shutdowns += 1;
        await sleep(300);
        await shutdown();
      };
      return runtime;
    };
    const { s, a, b } = await setup(replyBody(['x']), { runtimeFactory: slowShutdown });
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await a.request('thread/unsubscribe', { threadId: thread.id });
    await waitFor(() => s.state.isUnloading(thread.id));
    await expect(b.request('thread/resume', { threadId: thread.id })).rejects.toThrow(
      `thread ${thread.id} is closing; retry thread/resume after the thread is closed`,
    );
    await b.waitForNotification('thread/closed');
    const resumed = await b.request('thread/resume', { threadId: thread.id });
    expect(resumed.thread.id).toBe(thread.id);
    expect(shutdowns).toBe(1);
    expect(s.state.subscribers(thread.id)).toHaveLength(1);
  });

  it('a resume in flight holds off the unload', async () => {
    const { s, a } = await setup(replyBody(['x']), { unloadDelayMs: 0 });
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    // with a zero delay the unsubscribe and an immediate resume race; the thread must end up
    // either resumed (subscribed) or closed and then reloaded, never half-unloaded
    for (let i = 0; i < 20; i++) {
      await a.request('thread/unsubscribe', { threadId: thread.id });
      try {
        await a.request('thread/resume', { threadId: thread.id, excludeTurns: true });
      } catch (error) {
        expect((error as Error).message).toMatch(/is closing; retry thread\/resume/);
        await waitFor(() => !s.threads.isLoaded(thread.id));
        await a.request('thread/resume', { threadId: thread.id, excludeTurns: true });
      }
      expect(s.threads.isLoaded(thread.id)).toBe(true);
      expect(s.state.isSubscribed(thread.id, s.connections()[0]?.id ?? -1)).toBe(true);
    }
  });

  it('rebuilds an idle cached thread nobody watches when a resume asks for other settings', async () => {
    const { s, a } = await setup(replyBody(['x']), { unloadDelayMs: 60_000 });
    const { thread } = await a.request('thread/start', { cwd: '/tmp' });
    await a.request('thread/unsubscribe', { threadId: thread.id });
    const resumed = await a.request('thread/resume', { threadId: thread.id, cwd: '/var' });
    expect(resumed.cwd).toBe('/var');
    expect(s.threads.isLoaded(thread.id)).toBe(true);
  });
});
