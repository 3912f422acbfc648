import { agentRuntimeFactory, ResponsesClient, TURN_ABORTED_TEXT } from '@tether/agent-core';
import { conversationOf, MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer } from './server.js';
import { client, startServer } from './test-support/harness.js';

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
  for (const m of mocks.splice(0)) await m.close();
});

async function serve(home: string, mock: MockResponsesServer) {
  const environment = localEnvironment();
  const s = await startServer(async () => ({ status: 'completed' }), {
    home,
    runtimeFactory: agentRuntimeFactory({
      model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
      environment: () => environment,
    }),
  });
  servers.push(s);
  const c = await client(s, 'conversation', { experimentalApi: true });
  clients.push(c);
  return { s, c };
}

async function runTurn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  const done = await c.waitForNotification(
    'turn/completed',
    (p) => (p.turn as app.Turn).id === turn.id,
    { from, timeoutMs: 20_000 },
  );
  return (done.params as { turn: app.Turn }).turn;
}

/** One line per input item: who said what, or which call and its output. */
function summarize(input: unknown): string[] {
  // without the system prompt and the context messages (the agent's own tests cover those)
  return conversationOf(input).map((item) => {
    const raw = item as Record<string, unknown>;
    if (raw.type === 'message') {
      const content = raw.content as Array<{ text?: string }>;
      return `${String(raw.role)}: ${content.map((part) => part.text ?? '').join('')}`;
    }
    if (raw.type === 'function_call')
      return `call ${String(raw.call_id)}: ${String(raw.arguments)}`;
    if (raw.type === 'function_call_output') {
      // the exit line of a command's output, else its first line
      const lines = String(raw.output).split('\n');
      const exit = lines.find((line) => line.startsWith('Process exited'));
      return `output ${String(raw.call_id)}: ${exit ?? lines[0]}`;
    }
    return String(raw.type);
  });
}

function inputOf(mock: MockResponsesServer, index: number): string[] {
  const request = mock.requests.at(index);
  if (!request) throw new Error(`no request ${index}`);
  return summarize((request.body as { input?: unknown }).input);
}

describe('what the model sees: one conversation record', () => {
  it('every earlier user message, reply, call and output, live and after a restart, fork and revert', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, mock);
    const { thread } = await first.c.request('thread/start', {
      cwd: '/tmp',
      approvalPolicy: 'never',
    });
    mock.enqueue(
      mockReply.text(['counted']),
      mockReply.text(['counted again']),
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'echo usage-tool' },
        callId: 'call_1',
      }),
      mockReply.text(['ran it']),
    );
    const t1 = await runTurn(first.c, thread.id, 'SAY: counted');
    const t2 = await runTurn(first.c, thread.id, 'SAY: counted again');
    await runTurn(first.c, thread.id, 'RUN: echo usage-tool');
    expect(inputOf(mock, 0)).toEqual(['user: SAY: counted']);
    expect(inputOf(mock, 1)).toEqual([
      'user: SAY: counted',
      'assistant: counted',
      'user: SAY: counted again',
    ]);
    const live = [
      'user: SAY: counted',
      'assistant: counted',
      'user: SAY: counted again',
      'assistant: counted again',
      'user: RUN: echo usage-tool',
      'call call_1: {"cmd":"echo usage-tool"}',
      'output call_1: Process exited with code 0',
    ];
    expect(inputOf(mock, 3)).toEqual(live);

    // a restart: the same conversation, read back from the rollout
    first.c.close();
    await first.s.shutdown();
    const second = await serve(home, mock);
    await second.c.request('thread/resume', { threadId: thread.id, excludeTurns: true });
    mock.enqueue(mockReply.text(['after restart']));
    await runTurn(second.c, thread.id, 'SAY: after restart');
    const afterRestart = [...live, 'assistant: ran it', 'user: SAY: after restart'];
    expect(inputOf(mock, -1)).toEqual(afterRestart);
    // byte for byte what was sent before, ids included
    const inputAt = (index: number) =>
      (mock.requests.at(index)?.body as { input?: unknown[] } | undefined)?.input ?? [];
    const before = inputAt(3);
    expect(inputAt(-1).slice(0, before.length)).toEqual(before);

    // a fork after turn 2 carries turns 1 and 2 only
    const fork = await second.c.request('thread/fork', {
      threadId: thread.id,
      lastTurnId: t2.id,
      excludeTurns: true,
    });
    mock.enqueue(mockReply.text(['in fork']));
    await runTurn(second.c, fork.thread.id, 'SAY: in fork');
    expect(inputOf(mock, -1)).toEqual([...live.slice(0, 4), 'user: SAY: in fork']);

    // revert before turn 2: the next request holds turn 1 only
    await second.c.request('thread/revert', { threadId: thread.id, beforeTurnId: t2.id });
    mock.enqueue(mockReply.text(['after revert']));
    await runTurn(second.c, thread.id, 'SAY: after revert');
    expect(inputOf(mock, -1)).toEqual([...live.slice(0, 2), 'user: SAY: after revert']);
    expect(t1.status).toBe('completed');
  });

  it('an interrupted turn leaves its input and the reference marker, not its partial reply; a steered turn keeps both inputs', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = await serve(home, mock);
    const { thread } = await c.request('thread/start', { cwd: '/tmp', approvalPolicy: 'never' });

    mock.enqueue(mockReply.hang({ afterEvents: 5 }));
    const from = c.notifications.cursor;
    const { turn } = await c.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'SLOW one' }],
    });
    await c.waitForNotification('item/agentMessage/delta', undefined, { from });
    await c.request('turn/interrupt', { threadId: thread.id, turnId: turn.id });
    await c.waitForNotification('turn/completed', undefined, { from });
    mock.enqueue(mockReply.text(['next']));
    await runTurn(c, thread.id, 'SAY: next');
    expect(inputOf(mock, -1)).toEqual([
      'user: SLOW one',
      `user: ${TURN_ABORTED_TEXT}`,
      'user: SAY: next',
    ]);

    // steer: the request in flight is abandoned; its partial reply is not kept
    mock.enqueue(mockReply.hang({ afterEvents: 5 }), mockReply.text(['steered']));
    const steerFrom = c.notifications.cursor;
    const steered = await c.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'SLOW two' }],
    });
    await c.waitForNotification('item/agentMessage/delta', undefined, { from: steerFrom });
    await c.request('turn/steer', {
      threadId: thread.id,
      expectedTurnId: steered.turn.id,
      input: [{ type: 'text', text: 'SAY: steered' }],
    });
    await c.waitForNotification('turn/completed', undefined, { from: steerFrom });
    const history = [
      'user: SLOW one',
      `user: ${TURN_ABORTED_TEXT}`,
      'user: SAY: next',
      'assistant: next',
      'user: SLOW two',
      'user: SAY: steered',
    ];
    expect(inputOf(mock, -1)).toEqual(history);
    mock.enqueue(mockReply.text(['after steer']));
    await runTurn(c, thread.id, 'SAY: after steer');
    expect(inputOf(mock, -1)).toEqual([...history, 'assistant: steered', 'user: SAY: after steer']);

    // and what clients read back matches the reference: no partial replies
    const read = await c.request('thread/read', { threadId: thread.id, includeTurns: true });
    const turns = read.thread.turns ?? [];
    expect(turns.map((t) => [t.status, t.items.map((i) => i.type)])).toEqual([
      ['interrupted', ['userMessage']],
      ['completed', ['userMessage', 'agentMessage']],
      ['completed', ['userMessage', 'userMessage', 'agentMessage']],
      ['completed', ['userMessage', 'agentMessage']],
    ]);
  });

  it('thread/inject_items: the next request carries the items where they were injected, also after a restart', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, mock);
    const { thread } = await first.c.request('thread/start', {
      cwd: '/tmp',
      approvalPolicy: 'never',
    });
    mock.enqueue(mockReply.text(['one']));
    await runTurn(first.c, thread.id, 'SAY: one');
    const injected = {
      type: 'message',
      role: 'developer',
      content: [{ type: 'input_text', text: 'INJECTED' }],
    };
    expect(
      await first.c.request('thread/inject_items', { threadId: thread.id, items: [injected] }),
    ).toEqual({});
    // not a thread item: reads do not show it
    const read = await first.c.request('thread/read', { threadId: thread.id, includeTurns: true });
    expect(read.thread.turns?.flatMap((t) => t.items).map((i) => i.type)).toEqual([
      'userMessage',
      'agentMessage',
    ]);
    first.c.close();
    await first.s.shutdown();
    const second = await serve(home, mock);
    await second.c.request('thread/resume', { threadId: thread.id, excludeTurns: true });
    mock.enqueue(mockReply.text(['two']));
    await runTurn(second.c, thread.id, 'SAY: two');
    expect(inputOf(mock, -1)).toEqual([
      'user: SAY: one',
      'assistant: one',
      'developer: INJECTED',
      'user: SAY: two',
    ]);
    await expect(
      second.c.request('thread/inject_items', { threadId: thread.id, items: [5] }),
    ).rejects.toThrow(
      'items[0] is not a valid response item: invalid type: integer `5`, expected internally tagged enum ResponseItem',
    );
    await expect(
      second.c.request('thread/inject_items', { threadId: thread.id, items: [] }),
    ).rejects.toThrow('items must not be empty');
  });
});
