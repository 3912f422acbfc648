import { agentRuntimeFactory, ResponsesClient } from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { expectWireShape } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { apiKeyHint } from './agent-config.js';
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

async function setup(options: { updatePlanTool?: boolean } = {}) {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  const environment = localEnvironment();
  const runtimeFactory = agentRuntimeFactory({
    model: new ResponsesClient({
      model: 'mock-model',
      baseUrl: mock.baseUrl,
      apiKey: 'sk-refused',
      maxRetries: 2,
      retryBaseDelayMs: 5,
      apiKeyHint: apiKeyHint('OPENAI_API_KEY', true),
    }),
    environment: () => environment,
    ...options,
  });
  const s = await startServer(async () => ({ status: 'completed' }), { runtimeFactory });
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: true });
  clients.push(a);
  const { thread } = await a.request('thread/start', {
    cwd: '/tmp',
    approvalPolicy: 'never',
    sandbox: 'danger-full-access',
  });
  return { a, mock, threadId: thread.id };
}

/** Runs a turn to its end; the notifications it produced, each checked against the reference schema. */
async function runTurn(
  a: AppServerClient,
  threadId: string,
  text: string,
  extra: Partial<app.TurnStartParams> = {},
) {
  const from = a.notifications.cursor;
  const { turn } = await a.request('turn/start', {
    threadId,
    input: [{ type: 'text', text }],
    ...extra,
  });
  const done = await a.waitForNotification(
    'turn/completed',
    (p) => (p.turn as app.Turn).id === turn.id,
    { from, timeoutMs: 20_000 },
  );
  const notifications = a.notifications.since(from);
  for (const n of notifications) expectWireShape({ method: n.method, params: n.params });
  return { turnId: turn.id, completed: (done.params as { turn: app.Turn }).turn, notifications };
}

type ErrorParams = { error: app.TurnError; willRetry: boolean };
const errorsOf = (notifications: Array<{ method: string; params: unknown }>) =>
  notifications.filter((n) => n.method === 'error').map((n) => n.params as ErrorParams);

describe('errors a client can act on', () => {
  it('announces each retry as the reference does, then carries on', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(
      mockReply.httpError(502, '<html>Bad Gateway</html>'),
      mockReply.drop({ afterEvents: 1 }),
      mockReply.text(['recovered']),
    );
    const { completed, notifications } = await runTurn(a, threadId, 'hello');
    expect(completed.status).toBe('completed');
    expect(completed.error).toBeNull();
    const errors = errorsOf(notifications);
    expect(errors.map((e) => [e.willRetry, e.error.message, e.error.codexErrorInfo])).toEqual([
      [true, 'Reconnecting... 1/2', { responseStreamDisconnected: { httpStatusCode: 502 } }],
      [true, 'Reconnecting... 2/2', { responseStreamDisconnected: { httpStatusCode: null } }],
    ]);
    expect(errors[0]?.error.additionalDetails).toBe(
      `unexpected status 502 Bad Gateway: <html>Bad Gateway</html>, url: ${mock.baseUrl}/responses`,
    );
    expect(errors[1]?.error.additionalDetails).toMatch(/^stream disconnected before completion: /);
    expect(mock.requests).toHaveLength(3);
  });

  it('fails a refused key at once, naming the variable the key comes from, in the notification and the turn', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(
      mockReply.httpError(401, {
        error: {
          message: 'Incorrect API key provided: sk-refused.',
          type: 'invalid_request_error',
          code: 'invalid_api_key',
        },
      }),
    );
    const { completed, notifications } = await runTurn(a, threadId, 'hello');
    expect(mock.requests).toHaveLength(1);
    expect(completed.status).toBe('failed');
    const errors = errorsOf(notifications);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.willRetry).toBe(false);
    expect(errors[0]?.error).toEqual({
      message: `unexpected status 401 Unauthorized: Incorrect API key provided: sk-refused., url: ${mock.baseUrl}/responses. The API key comes from the OPENAI_API_KEY environment variable: set it to a key the model server accepts (--api-key-env names another variable)`,
      codexErrorInfo: { httpConnectionFailed: { httpStatusCode: 401 } },
      additionalDetails: null,
      misalignment: null,
    });
    expect(completed.error).toEqual(errors[0]?.error);
  });

  it('gives up on a server error after the retries, with the class the reference gives it', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(mockReply.httpError(500), mockReply.httpError(500), mockReply.httpError(500));
    const { completed, notifications } = await runTurn(a, threadId, 'hello');
    const errors = errorsOf(notifications);
    expect(errors.map((e) => [e.willRetry, e.error.message])).toEqual([
      [true, 'Reconnecting... 1/2'],
      [true, 'Reconnecting... 2/2'],
      [false, 'We\u2019re currently experiencing high demand, which may cause temporary errors.'],
    ]);
    expect(completed.error).toMatchObject({ codexErrorInfo: 'internalServerError' });
    expect(mock.requests).toHaveLength(3);
  });

  it('says when the context window is exceeded, without retrying', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(mockReply.failed('too long', { code: 'context_length_exceeded' }));
    const { completed } = await runTurn(a, threadId, 'hello');
    expect(completed.error).toMatchObject({
      message:
        "Codex ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.",
      codexErrorInfo: 'contextWindowExceeded',
    });
    expect(mock.requests).toHaveLength(1);
  });
});

const planCall = (args: Record<string, unknown> | string) =>
  mockReply.toolCall({ name: 'update_plan', arguments: args, callId: 'call_plan' });

/** The output the model was sent for call `callId` in request `index`. */
function outputSent(mock: MockResponsesServer, index: number, callId: string): unknown {
  const input = mock.requests[index]?.body.input;
  if (!Array.isArray(input)) return undefined;
  const found = input.find(
    (item: { type?: string; call_id?: string }) =>
      item.type === 'function_call_output' && item.call_id === callId,
  );
  return (found as { output?: unknown } | undefined)?.output;
}

const toolNames = (mock: MockResponsesServer, index: number) =>
  ((mock.requests[index]?.body.tools as Array<{ name: string }> | undefined) ?? []).map(
    (t) => t.name,
  );

describe('plan updates', () => {
  it('offers update_plan when enabled; a call sends turn/plan/updated and tells the model "Plan updated"', async () => {
    const { a, mock, threadId } = await setup({ updatePlanTool: true });
    mock.enqueue(
      planCall({
        explanation: 'Starting work',
        plan: [
          { step: 'Read code', status: 'completed' },
          { step: 'Write fix', status: 'in_progress' },
          { step: 'Test', status: 'pending' },
        ],
      }),
      mockReply.text('done'),
    );
    const { turnId, notifications } = await runTurn(a, threadId, 'fix it');
    expect(toolNames(mock, 0)).toEqual(['exec_command', 'apply_patch', 'update_plan']);
    const updates = notifications.filter((n) => n.method === 'turn/plan/updated');
    expect(updates.map((n) => n.params)).toEqual([
      {
        threadId,
        turnId,
        explanation: 'Starting work',
        plan: [
          { step: 'Read code', status: 'completed' },
          { step: 'Write fix', status: 'inProgress' },
          { step: 'Test', status: 'pending' },
        ],
      },
    ]);
    expect(outputSent(mock, 1, 'call_plan')).toBe('Plan updated');
  });

  it('tells the model what is wrong with its plan, and sends nothing', async () => {
    const { a, mock, threadId } = await setup({ updatePlanTool: true });
    mock.enqueue(planCall({ plan: [{ step: 'a', status: 'done' }] }), mockReply.text('ok'));
    const { notifications } = await runTurn(a, threadId, 'plan');
    expect(notifications.some((n) => n.method === 'turn/plan/updated')).toBe(false);
    expect(outputSent(mock, 1, 'call_plan')).toBe(
      'failed to parse function arguments: unknown variant `done`, expected one of `pending`, `in_progress`, `completed`',
    );
  });

  it('does not offer update_plan unless enabled, as the reference', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(planCall({ plan: [] }), mockReply.text('ok'));
    await runTurn(a, threadId, 'plan');
    expect(toolNames(mock, 0)).toEqual(['exec_command', 'apply_patch']);
    expect(outputSent(mock, 1, 'call_plan')).toBe('unsupported call: update_plan');
  });

  const planMode: app.CollaborationMode = {
    mode: 'plan',
    settings: { model: 'mock-model', reasoning_effort: null, developer_instructions: null },
  };

  it('streams the proposed plan of a plan-mode reply as a plan item, in the reference order', async () => {
    const { a, mock, threadId } = await setup();
    mock.enqueue(
      mockReply.text([
        'Here is my plan.\n<propo',
        'sed_plan>\n# Plan\n- step one\n',
        '- step two\n</proposed_plan>\nAfter.',
      ]),
    );
    const { turnId, notifications } = await runTurn(a, threadId, 'plan it', {
      collaborationMode: planMode,
    });
    const planId = `${turnId}-plan`;
    const items = notifications
      .filter((n) => n.method.startsWith('item/'))
      .map((n) => {
        const p = n.params as { item?: app.ThreadItem; itemId?: string; delta?: string };
        return p.item
          ? [n.method, p.item.type, p.item.id, 'text' in p.item ? p.item.text : undefined]
          : [n.method, p.itemId, p.delta];
      })
      .filter((entry) => entry[1] !== 'userMessage');
    const messageId = items.find((entry) => entry[1] === 'agentMessage')?.[2];
    expect(items).toEqual([
      ['item/started', 'agentMessage', messageId, ''],
      ['item/agentMessage/delta', messageId, 'Here is my plan.\n'],
      ['item/started', 'plan', planId, ''],
      ['item/plan/delta', planId, '# Plan\n- step one\n'],
      ['item/plan/delta', planId, '- step two\n'],
      ['item/agentMessage/delta', messageId, 'After.'],
      ['item/completed', 'plan', planId, '# Plan\n- step one\n- step two\n'],
      ['item/completed', 'agentMessage', messageId, 'Here is my plan.\nAfter.'],
    ]);
    // the model keeps its own words, plan block included, for the next request
    mock.enqueue(mockReply.text('next'));
    await runTurn(a, threadId, 'go on');
    const input = mock.requests[1]?.body.input as Array<{ role?: string; content?: unknown }>;
    expect(JSON.stringify(input.find((i) => i.role === 'assistant')?.content)).toContain(
      '<proposed_plan>',
    );
    // the plan item is part of the thread's history
    const read = await a.request('thread/read', { threadId, includeTurns: true });
    const first = read.thread.turns?.[0]?.items ?? [];
    expect(first.filter((i) => i.type === 'plan')).toMatchObject([
      { type: 'plan', id: planId, text: '# Plan\n- step one\n- step two\n' },
    ]);
  });

  it('in plan mode, a reply that is only a plan has no agent message, and update_plan is refused', async () => {
    const { a, mock, threadId } = await setup({ updatePlanTool: true });
    mock.enqueue(
      planCall({ plan: [{ step: 'a', status: 'pending' }] }),
      mockReply.text(['<proposed_plan>\n- a\n</proposed_plan>\n']),
    );
    const { notifications } = await runTurn(a, threadId, 'plan it', {
      collaborationMode: planMode,
    });
    expect(outputSent(mock, 1, 'call_plan')).toBe(
      'update_plan is a TODO/checklist tool and is not allowed in Plan mode',
    );
    expect(notifications.some((n) => n.method === 'turn/plan/updated')).toBe(false);
    const kinds = notifications
      .filter((n) => n.method === 'item/started' || n.method === 'item/completed')
      .map((n) => `${n.method} ${(n.params as { item: app.ThreadItem }).item.type}`);
    expect(kinds).toEqual([
      'item/started userMessage',
      'item/completed userMessage',
      'item/started plan',
      'item/completed plan',
    ]);
  });
});
