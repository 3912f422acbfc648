import type { ChildProcess } from 'node:child_process';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { expectWireShape, tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const mock of mocks.splice(0)) await mock.close();
});

/** The real executable over stdio, pointed at the mock with these extra flags. */
async function launch(mock: MockResponsesServer, flags: string[]) {
  const client = AppServerClient.spawnStdio(
    process.execPath,
    [cli, '--model', 'mock-model', '--model-base-url', mock.baseUrl, ...flags],
    { env: { ...process.env, TETHER_HOME: tempHome('tether-wire-'), OPENAI_API_KEY: 'k' } },
  );
  if (client.child) children.push(client.child);
  await client.initialize({ name: 'wire-api-test', version: '1' });
  return client;
}

/** Runs one turn that runs a command and answers; returns what the client was sent meanwhile. */
async function commandTurn(client: AppServerClient) {
  const before = client.notifications.cursor;
  const { thread } = await client.request('thread/start', {
    cwd: '/tmp',
    approvalPolicy: 'never',
    sandbox: 'danger-full-access',
  });
  // thread/started may follow the response: what the turn sends starts after it
  await client.waitForNotification(
    'thread/started',
    (p) => (p.thread as app.Thread).id === thread.id,
    { from: before, timeoutMs: 10_000 },
  );
  const from = client.notifications.cursor;
  const { turn } = await client.request('turn/start', {
    threadId: thread.id,
    input: [{ type: 'text', text: 'run the command' }],
  });
  await client.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
    timeoutMs: 20_000,
  });
  return client.notifications.since(from).map(({ method, params }) => ({ method, params }));
}

const VARYING_IDS = new Set([
  'id',
  'threadId',
  'turnId',
  'rootTurnId',
  'itemId',
  'processId',
  'revision',
]);
const isTime = (key: string) => /(At|AtMs|durationMs)$/.test(key);

/**
 * The notifications with what differs from run to run made comparable: ids become `<id N>` in
 * the order they first appear, times become `<time>`.
 */
function normalize(notifications: unknown): unknown {
  const ids = new Map<string, string>();
  const walk = (value: unknown, key?: string): unknown => {
    if (Array.isArray(value)) return value.map((entry) => walk(entry));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
    }
    if (key !== undefined && isTime(key) && typeof value === 'number') return '<time>';
    if (key !== undefined && VARYING_IDS.has(key) && typeof value === 'string') {
      if (!ids.has(value)) ids.set(value, `<id ${ids.size}>`);
      return ids.get(value);
    }
    return value;
  };
  return walk(notifications);
}

describe('wire_api = "chat"', () => {
  it('a turn with a command gives clients the same items and notifications as over responses', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const script = () => [
      mockReply.textAndToolCall(['Let me ', 'look.'], {
        name: 'exec_command',
        // not a login shell: a profile's work (pyenv's rehash lock...) stays out of the timing
        arguments: { cmd: 'echo wire-api-check', login: false },
        callId: 'call_echo',
      }),
      mockReply.text(['It printed ', 'wire-api-check.'], {
        usage: { inputTokens: 40, cachedInputTokens: 8, outputTokens: 6, reasoningOutputTokens: 2 },
      }),
    ];

    mock.enqueue(...script());
    const overResponses = await commandTurn(await launch(mock, []));
    mock.enqueue(...script());
    const overChat = await commandTurn(await launch(mock, ['--wire-api', 'chat']));

    expect(mock.requests.map((r) => r.path)).toEqual([
      '/v1/responses',
      '/v1/responses',
      '/v1/chat/completions',
      '/v1/chat/completions',
    ]);
    // the model saw the call and its output, as a chat server wants them
    const messages = mock.requests[3]?.body.messages;
    expect(Array.isArray(messages) ? messages.slice(-3) : messages).toMatchObject([
      { role: 'user', content: 'run the command' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          {
            id: 'call_echo',
            type: 'function',
            function: {
              name: 'exec_command',
              arguments: '{"cmd":"echo wire-api-check","login":false}',
            },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_echo' },
    ]);

    const methods = overChat.map((n) => n.method);
    expect(methods).toContain('item/commandExecution/outputDelta');
    expect(methods).toContain('thread/tokenUsage/updated');
    expect(methods.filter((m) => m === 'item/agentMessage/delta')).toHaveLength(4);
    for (const notification of overChat) expectWireShape(notification);
    expect(normalize(overChat)).toEqual(normalize(overResponses));

    const usage = overChat.findLast((n) => n.method === 'thread/tokenUsage/updated');
    expect(usage?.params).toMatchObject({
      tokenUsage: {
        last: {
          inputTokens: 40,
          cachedInputTokens: 8,
          outputTokens: 6,
          reasoningOutputTokens: 2,
          totalTokens: 46,
        },
      },
    });
  }, 60_000);

  it('refuses an unknown --wire-api value as a usage error', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, [cli, '--wire-api', 'grpc'], {
      env: { ...process.env, TETHER_HOME: tempHome('tether-wire-') },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'invalid value `grpc` for --wire-api; expected responses or chat',
    );
  });
});
