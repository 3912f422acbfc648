import type { ChildProcess } from 'node:child_process';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const mock of mocks.splice(0)) await mock.close();
});

/** A stdio server as a child process, and its exit. */
async function launch(home: string, mock: MockResponsesServer) {
  const client = AppServerClient.spawnStdio(
    process.execPath,
    [cli, '--model', 'mock-model', '--model-base-url', mock.baseUrl, '--listen', 'stdio://'],
    { env: { ...process.env, TETHER_HOME: home, OPENAI_API_KEY: 'k' } },
  );
  const child = client.child;
  if (!child) throw new Error('no child process');
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await client.initialize({ name: 't', version: '1' });
  return { client, exited };
}

describe('stdin closes while a turn runs', () => {
  it('exits at once, interrupting the turn, and keeps what was written', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    // a reply that would stream for a minute
    mock.enqueue(
      mockReply.slow(mockReply.text(Array.from({ length: 120 }, (_, i) => `t${i} `)), {
        delayMs: 500,
      }),
    );
    const home = tempHome('tether-stdin-');
    const one = await launch(home, mock);
    const { thread } = await one.client.request('thread/start', { cwd: '/tmp' });
    await one.client.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'stream slowly' }],
    });
    await one.client.waitForNotification('item/agentMessage/delta', undefined, {
      timeoutMs: 10_000,
    });
    const closedAt = Date.now();
    one.client.close();
    expect(await one.exited).toBe(0);
    // the reference exits in tens of ms; the mock would have streamed for another minute
    expect(Date.now() - closedAt).toBeLessThan(5_000);

    const two = await launch(home, mock);
    const read = await two.client.request('thread/read', {
      threadId: thread.id,
      includeTurns: true,
    });
    expect(read.thread.turns).toHaveLength(1);
    expect(read.thread.turns[0]?.status).toBe('interrupted');
    expect(read.thread.turns[0]?.items.map((item) => item.type)).toContain('userMessage');
    two.client.close();
    expect(await two.exited).toBe(0);
  }, 30_000);
});
