import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { afterEach, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const mock of mocks.splice(0)) await mock.close();
});

/** A stdio server and a line-by-line view of what it answers, without any client library. */
function launch(home: string, mock: MockResponsesServer) {
  const child = spawn(
    process.execPath,
    [cli, '--model', 'mock-model', '--model-base-url', mock.baseUrl, '--listen', 'stdio://'],
    { env: { ...process.env, TETHER_HOME: home, OPENAI_API_KEY: 'k' }, stdio: 'pipe' },
  );
  children.push(child);
  const seen: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    seen.push(JSON.parse(line));
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let nextId = 1;
  const until = async (match: (m: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = seen.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const request = async (method: string, params: unknown) => {
    const id = nextId++;
    child.stdin.write(`${JSON.stringify({ id, method, params })}\n`);
    const answer = await until((m) => m.id === id);
    if (answer.error) throw new Error(JSON.stringify(answer.error));
    return answer.result as Record<string, never>;
  };
  return { child, exited, request, until };
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
    const home = mkdtempSync(join(tmpdir(), 'tether-stdin-'));
    const one = launch(home, mock);
    await one.request('initialize', { clientInfo: { name: 't', version: '1' } });
    const { thread } = await one.request('thread/start', { cwd: '/tmp' });
    const threadId = (thread as { id: string }).id;
    await one.request('turn/start', { threadId, input: [{ type: 'text', text: 'stream slowly' }] });
    await one.until((m) => m.method === 'item/agentMessage/delta');
    const closedAt = Date.now();
    one.child.stdin.end();
    expect(await one.exited).toBe(0);
    // the reference exits in tens of ms; the mock would have streamed for another minute
    expect(Date.now() - closedAt).toBeLessThan(5_000);

    const two = launch(home, mock);
    await two.request('initialize', { clientInfo: { name: 't', version: '1' } });
    const read = await two.request('thread/read', { threadId, includeTurns: true });
    const turns = (
      read.thread as { turns: Array<{ status: string; items: Array<{ type: string }> }> }
    ).turns;
    expect(turns).toHaveLength(1);
    expect(turns[0]?.status).toBe('interrupted');
    expect(turns[0]?.items.map((item) => item.type)).toContain('userMessage');
    two.child.stdin.end();
    expect(await two.exited).toBe(0);
  }, 30_000);
});
