import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { agentRuntimeFactory, type Environment, ResponsesClient } from '@tether/agent-core';
import { conversationOf, MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { type AppServerClient, remoteEnvironment } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import { app } from '@tether/protocol';
import { launchExecServer, launchServer, tempHome, tempHomeOutsideTmp } from '@tether/test-kit';
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

async function setup(
  options: { home?: string; mock?: MockResponsesServer; environment?: Promise<Environment> } = {},
) {
  const mock = options.mock ?? (await MockResponsesServer.start());
  if (!options.mock) mocks.push(mock);
  const environment = options.environment ?? localEnvironment();
  const runtimeFactory = agentRuntimeFactory({
    model: new ResponsesClient({
      model: 'mock-model',
      baseUrl: mock.baseUrl,
      maxRetries: 2,
      retryBaseDelayMs: 5,
    }),
    environment: () => environment,
  });
  const s = await startServer(async () => ({ status: 'completed' }), {
    runtimeFactory,
    ...(options.home ? { home: options.home } : {}),
  });
  servers.push(s);
  const a = await client(s, 'a', { experimentalApi: true });
  clients.push(a);
  return { s, a, mock };
}

const execServerCli = new URL('../../exec-server/dist/cli.js', import.meta.url).pathname;

/** A real tether-exec-server process on a free port (killed at the end of the test's scope). */
const startExecServer = () =>
  launchExecServer(execServerCli, ['--listen', 'ws://127.0.0.1:0', '--log-level', 'warn']);

/**
 * A thread for tests about turns and streaming, not the sandbox: it runs unsandboxed, so a login
 * shell's profile that writes somewhere cannot add to the output (sandbox.test.ts covers the rest).
 */
async function startThread(c: AppServerClient, approvalPolicy: app.AskForApproval = 'never') {
  const { thread } = await c.request('thread/start', {
    cwd: '/tmp',
    approvalPolicy,
    sandbox: 'danger-full-access',
  });
  return thread.id;
}

async function turn(c: AppServerClient, threadId: string, text: string) {
  const from = c.notifications.cursor;
  const { turn } = await c.request('turn/start', { threadId, input: [{ type: 'text', text }] });
  return { turnId: turn.id, from };
}

async function completion(c: AppServerClient, turnId: string, from: number) {
  const done = await c.waitForNotification(
    'turn/completed',
    (p) => (p.turn as app.Turn).id === turnId,
    {
      from,
      timeoutMs: 20_000,
    },
  );
  return (done.params as { turn: app.Turn }).turn;
}

/** The `item/completed` notification's item with this id, received at or after `from`. */
function completedItem(c: AppServerClient, from: number, id: string) {
  const notification = c.notifications
    .since(from)
    .find(
      (n) => n.method === 'item/completed' && (n.params as { item: { id: string } }).item.id === id,
    );
  return (notification?.params as { item?: Record<string, unknown> } | undefined)?.item;
}

const methodsSince = (c: AppServerClient, from: number) =>
  c.notifications.since(from).map((n) => n.method);

describe('agent turns', () => {
  it('a text turn streams the reply in the reference order', async () => {
    const { a, mock } = await setup();
    mock.enqueue(mockReply.text(['Hello', ' from', ' mock.']));
    const threadId = await startThread(a);
    const { turnId, from } = await turn(a, threadId, 'say hi');
    const finished = await completion(a, turnId, from);
    expect(methodsSince(a, from)).toEqual([
      'thread/status/changed',
      'turn/started',
      'item/started',
      'item/completed',
      'item/started',
      'item/agentMessage/delta',
      'item/agentMessage/delta',
      'item/agentMessage/delta',
      'item/completed',
      'thread/tokenUsage/updated',
      'thread/readState/changed',
      'thread/status/changed',
      'turn/completed',
    ]);
    expect(finished.status).toBe('completed');
    expect(finished.items).toMatchObject([{ type: 'agentMessage', text: 'Hello from mock.' }]);
    for (const n of a.notifications.since(from)) {
      const schema = app.serverNotifications[n.method as app.ServerNotificationMethod];
      expect(schema.parse(n.params)).toEqual(n.params);
    }
    const body = mock.requests[0]?.body as {
      input: unknown[];
      tools: Array<{ name: string }>;
      stream: boolean;
    };
    expect(body.stream).toBe(true);
    expect(body.tools.map((t) => t.name)).toEqual(['exec_command', 'apply_patch']);
    // the system prompt, the thread's context, then what the user said
    expect(body.input).toHaveLength(4);
    expect(body.input[0]).toMatchObject({ type: 'message', role: 'developer' });
    expect(conversationOf(body.input)).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'say hi' }] },
    ]);
  });

  it('runs a command, streams its output and feeds it back to the model', async () => {
    const { a, mock } = await setup();
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'echo line1; echo line2' },
        callId: 'call_1',
      }),
      mockReply.text(['done']),
    );
    const threadId = await startThread(a, 'never');
    const { turnId, from } = await turn(a, threadId, 'run it');
    await completion(a, turnId, from);
    const deltas = a.notifications
      .since(from)
      .filter((n) => n.method === 'item/commandExecution/outputDelta')
      .map((n) => (n.params as { delta: string }).delta)
      .join('');
    expect(deltas).toBe('line1\nline2\n');
    // the tool-call response's token usage is reported once its command ran, as the reference does
    const order = a.notifications
      .since(from)
      .map((n) =>
        n.method === 'item/completed'
          ? `completed:${(n.params as { item: app.ThreadItem }).item.type}`
          : n.method,
      )
      .filter((m) => m === 'thread/tokenUsage/updated' || m.startsWith('completed:'));
    expect(order).toEqual([
      'completed:userMessage',
      'completed:commandExecution',
      'thread/tokenUsage/updated',
      'completed:agentMessage',
      'thread/tokenUsage/updated',
    ]);
    const item = a.notifications
      .since(from)
      .find(
        (n) =>
          n.method === 'item/completed' &&
          (n.params as { item: { type: string } }).item.type === 'commandExecution',
      );
    expect((item?.params as { item?: Record<string, unknown> } | undefined)?.item).toMatchObject({
      id: 'call_1',
      status: 'completed',
      exitCode: 0,
      aggregatedOutput: 'line1\nline2\n',
    });
    const second = mock.requests[1]?.body as { input: Array<Record<string, unknown>> };
    expect(second.input.at(-2)).toMatchObject({
      type: 'function_call',
      call_id: 'call_1',
      name: 'exec_command',
    });
    expect(second.input.at(-1)).toMatchObject({ type: 'function_call_output', call_id: 'call_1' });
    expect(String(second.input.at(-1)?.output)).toContain('line1\nline2');
  });

  it('asks for approval under untrusted: accept, decline, acceptForSession and cancel', async () => {
    const { a, mock } = await setup();
    const threadId = await startThread(a, 'untrusted');
    const answer = async (
      decision: string,
      cmd: string,
      callId: string,
      after: 'text' | 'none' = 'text',
    ) => {
      mock.enqueue(mockReply.toolCall({ name: 'exec_command', arguments: { cmd }, callId }));
      if (after === 'text') mock.enqueue(mockReply.text([`after ${decision}`]));
      const { turnId, from } = await turn(a, threadId, `please ${decision}`);
      const request = await a.waitForServerRequest('item/commandExecution/requestApproval');
      expect(request.params).toMatchObject({
        threadId,
        turnId,
        itemId: callId,
        availableDecisions: [
          'accept',
          { acceptWithExecpolicyAmendment: { execpolicy_amendment: cmd.split(' ') } },
          'cancel',
        ],
      });
      a.respond(request.id, { decision });
      return { finished: await completion(a, turnId, from), from };
    };

    const accepted = await answer('accept', 'touch /tmp/tether-approved', 'call_a');
    expect(accepted.finished.status).toBe('completed');
    expect(methodsSince(a, accepted.from)).toContain('serverRequest/resolved');

    const declined = await answer('decline', 'touch /tmp/tether-declined', 'call_d');
    const declinedItem = completedItem(a, declined.from, 'call_d');
    expect(declinedItem?.status).toBe('declined');
    const told = mock.requests.at(-1)?.body as { input: Array<Record<string, unknown>> };
    expect(String(told.input.at(-1)?.output)).toBe(
      'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }',
    );

    await answer('acceptForSession', 'mkdir -p /tmp/tether-session-a', 'call_s1');
    // exactly the same command is not asked again in this thread
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'mkdir  -p /tmp/tether-session-a' },
        callId: 'call_s2',
      }),
      mockReply.text(['ok']),
    );
    const again = await turn(a, threadId, 'again');
    const againDone = await completion(a, again.turnId, again.from);
    expect(againDone.status).toBe('completed');
    expect(a.serverRequests).toEqual([]);

    const cancelled = await answer('cancel', 'rm -rf /tmp/nothing-here', 'call_c', 'none');
    expect(cancelled.finished.status).toBe('interrupted');
  });

  it('interrupts a streaming reply and a running command', async () => {
    const { a, mock } = await setup();
    const threadId = await startThread(a, 'never');
    mock.enqueue(
      mockReply.slow(mockReply.text(Array.from({ length: 50 }, (_, i) => `w${i} `)), {
        delayMs: 50,
      }),
    );
    const streaming = await turn(a, threadId, 'talk slowly');
    await a.waitForNotification('item/agentMessage/delta', () => true, { from: streaming.from });
    await a.request('turn/interrupt', { threadId, turnId: streaming.turnId });
    expect((await completion(a, streaming.turnId, streaming.from)).status).toBe('interrupted');
    expect(await mock.requests[0]?.finished).toBe('clientClosed');

    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'echo started; sleep 30' },
        callId: 'call_sleep',
      }),
    );
    const running = await turn(a, threadId, 'sleep');
    await a.waitForNotification('item/commandExecution/outputDelta', () => true, {
      from: running.from,
    });
    await a.request('turn/interrupt', { threadId, turnId: running.turnId });
    const finished = await completion(a, running.turnId, running.from);
    expect(finished.status).toBe('interrupted');
  });

  it('steer restarts the model request with the new input in the same turn', async () => {
    const { a, mock } = await setup();
    const threadId = await startThread(a);
    mock.enqueue(
      mockReply.slow(mockReply.text(Array.from({ length: 40 }, () => 'x')), { delayMs: 50 }),
      mockReply.text(['steered answer']),
    );
    const { turnId, from } = await turn(a, threadId, 'first');
    await a.waitForNotification('item/agentMessage/delta', () => true, { from });
    const steer = await a.request('turn/steer', {
      threadId,
      expectedTurnId: turnId,
      input: [{ type: 'text', text: 'actually, this' }],
    });
    expect(steer.turnId).toBe(turnId);
    const finished = await completion(a, turnId, from);
    expect(finished.status).toBe('completed');
    expect(finished.items).toMatchObject([{ text: 'steered answer' }]);
    const second = mock.requests[1]?.body as { input: Array<Record<string, unknown>> };
    expect(second.input.at(-1)).toEqual({
      type: 'message',
      role: 'user',
      content: [{ type: 'input_text', text: 'actually, this' }],
    });
    expect(methodsSince(a, from).filter((m) => m === 'turn/started')).toHaveLength(1);
  });

  it('retries a 500 then succeeds; a stream dropped mid-reply fails the turn with a clear error', async () => {
    const { a, mock } = await setup();
    const threadId = await startThread(a);
    mock.enqueue(mockReply.httpError(500), mockReply.text(['recovered']));
    const first = await turn(a, threadId, 'one');
    expect((await completion(a, first.turnId, first.from)).status).toBe('completed');
    expect(mock.requests).toHaveLength(2);

    mock.enqueue(
      mockReply.drop({
        afterEvents: 4,
        reply: mockReply.text(['partial', ' reply', ' never', ' ends']),
      }),
    );
    const second = await turn(a, threadId, 'two');
    const failed = await completion(a, second.turnId, second.from);
    expect(failed.status).toBe('failed');
    const error = a.notifications.since(second.from).find((n) => n.method === 'error');
    expect((error?.params as { error?: { message: string } } | undefined)?.error?.message).toMatch(
      /stream/i,
    );
    expect(failed.error?.message).toBe(
      (error?.params as { error?: { message: string } } | undefined)?.error?.message,
    );
  });

  it('a second client resumes mid-turn and answers the approval', async () => {
    const { s, a, mock } = await setup();
    const threadId = await startThread(a, 'untrusted');
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'touch /tmp/tether-b-approved' },
        callId: 'call_b',
      }),
      mockReply.text(['thanks b']),
    );
    const { turnId, from } = await turn(a, threadId, 'needs approval');
    const asked = await a.waitForServerRequest('item/commandExecution/requestApproval');
    const b = await client(s, 'b');
    clients.push(b);
    const resumed = await b.request('thread/resume', { threadId });
    expect(resumed.thread.status).toEqual({ type: 'active', activeFlags: ['waitingOnApproval'] });
    const replayed = await b.waitForServerRequest('item/commandExecution/requestApproval');
    expect(replayed.id).toBe(asked.id);
    b.respond(replayed.id, { decision: 'accept' });
    const finished = await completion(a, turnId, from);
    expect(finished.items).toMatchObject([{ text: 'thanks b' }]);
    await b.waitForNotification('turn/completed');
  });

  it('a restarted server resumes the thread from disk and sends the model the whole conversation', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await setup({ home, mock });
    const threadId = await startThread(first.a);
    mock.enqueue(mockReply.text(['I am tether.']));
    const t1 = await turn(first.a, threadId, 'who are you?');
    await completion(first.a, t1.turnId, t1.from);
    first.a.close();
    await first.s.shutdown();

    const second = await setup({ home, mock });
    await second.a.request('thread/resume', { threadId });
    mock.enqueue(mockReply.text(['You asked who I am.']));
    const t2 = await turn(second.a, threadId, 'what did I ask?');
    await completion(second.a, t2.turnId, t2.from);
    const body = mock.requests.at(-1)?.body as { input: unknown[] };
    expect(conversationOf(body.input)).toEqual([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'who are you?' }] },
      // what the model said is carried forward as it arrived, ids included (as the reference does)
      {
        type: 'message',
        id: 'msg_mock_1_0',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text: 'I am tether.', annotations: [] }],
      },
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'what did I ask?' }] },
    ]);
  });

  it('a remote tether-exec-server enforces the thread sandbox the same way', async () => {
    await using execServer = startExecServer();
    const environment = remoteEnvironment(await execServer.url);
    const dir = tempHomeOutsideTmp('.tether-remote-sandbox-');
    try {
      const { a, mock } = await setup({ environment });
      mock.enqueue(
        mockReply.toolCall({
          name: 'exec_command',
          arguments: { cmd: 'touch remote.txt; echo rc=$?' },
          callId: 'call_rs',
        }),
        mockReply.text(['ok']),
      );
      const { thread } = await a.request('thread/start', { cwd: dir, approvalPolicy: 'never' });
      const { turnId, from } = await turn(a, thread.id, 'write remotely');
      await completion(a, turnId, from);
      expect(String(completedItem(a, from, 'call_rs')?.aggregatedOutput)).toContain('rc=1');
      expect(existsSync(join(dir, 'remote.txt'))).toBe(false);
    } finally {
      await (await environment).close();
      await execServer.stop('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs commands on a remote tether-exec-server', async () => {
    await using execServer = startExecServer();
    const url = await execServer.url;
    const environment = remoteEnvironment(url);
    try {
      const { a, mock } = await setup({ environment });
      mock.enqueue(
        mockReply.toolCall({
          name: 'exec_command',
          arguments: { cmd: 'echo remote $((6*7))' },
          callId: 'call_r',
        }),
        mockReply.text(['ok']),
      );
      const threadId = await startThread(a, 'never');
      const { turnId, from } = await turn(a, threadId, 'run remotely');
      await completion(a, turnId, from);
      const item = completedItem(a, from, 'call_r');
      expect(item).toMatchObject({
        status: 'completed',
        exitCode: 0,
        aggregatedOutput: 'remote 42\n',
      });
    } finally {
      await (await environment).close();
      await execServer.stop('SIGTERM');
    }
  });

  it('a remote environment resumes its exec-server session after the connection drops mid-command', async () => {
    await using execServer = startExecServer();
    const target = new URL(await execServer.url);
    // a TCP relay in front of the exec-server, so the test can cut the connection like a network would
    const sockets = new Set<Socket>();
    const relay = createServer((client) => {
      const upstream = tcpConnect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => s.destroy());
        s.on('close', () => sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const port = (relay.address() as { port: number }).port;
    const environment = remoteEnvironment(`ws://127.0.0.1:${port}`);
    try {
      const { a, mock } = await setup({ environment });
      mock.enqueue(
        mockReply.toolCall({
          name: 'exec_command',
          arguments: { cmd: 'echo before; sleep 1; echo after' },
          callId: 'call_drop',
        }),
        mockReply.text(['ok']),
      );
      const threadId = await startThread(a, 'never');
      const { turnId, from } = await turn(a, threadId, 'survive a drop');
      await a.waitForNotification('item/commandExecution/outputDelta', () => true, { from });
      for (const socket of sockets) socket.destroy();
      await completion(a, turnId, from);
      const item = completedItem(a, from, 'call_drop');
      expect(item).toMatchObject({
        status: 'completed',
        exitCode: 0,
        aggregatedOutput: 'before\nafter\n',
      });
    } finally {
      await (await environment).close();
      relay.close();
      await execServer.stop('SIGTERM');
    }
  });

  it('a command whose remote session is lost fails its item instead of hanging the turn', async () => {
    await using execServer = startExecServer();
    const url = await execServer.url;
    const environment = remoteEnvironment(url);
    try {
      const { a, mock } = await setup({ environment });
      mock.enqueue(
        mockReply.toolCall({
          name: 'exec_command',
          arguments: { cmd: 'echo before; sleep 30' },
          callId: 'call_lost',
        }),
        mockReply.text(['the command was lost']),
      );
      const threadId = await startThread(a, 'never');
      const { turnId, from } = await turn(a, threadId, 'lose it');
      await a.waitForNotification('item/commandExecution/outputDelta', () => true, { from });
      execServer.kill('SIGKILL'); // the server and its session are gone for good
      const finished = await completion(a, turnId, from);
      expect(finished.status).toBe('completed');
      const item = completedItem(a, from, 'call_lost');
      expect(item).toMatchObject({
        status: 'failed',
      });
      const told = mock.requests.at(-1)?.body as { input: Array<Record<string, unknown>> };
      expect(String(told.input.at(-1)?.output)).toMatch(
        /output was lost: lost the exec-server session/,
      );
    } finally {
      await (await environment).close().catch(() => undefined);
      await execServer.stop();
    }
  });

  it("reads the project's AGENTS.md on the remote exec-server, where the thread runs", async () => {
    // the exec-server sees its own files at the thread's cwd (a bind mount in a namespace of its
    // own): the project and its AGENTS.md exist there, and not on this host
    const root = tempHome('tether-remote-agents-');
    const cwd = join(root, 'project');
    const remoteView = join(root, 'remote-view');
    mkdirSync(cwd);
    mkdirSync(join(remoteView, '.git'), { recursive: true });
    writeFileSync(join(remoteView, 'AGENTS.md'), 'only on the remote machine\n');
    await using execServer = launchServer({
      command: 'bwrap',
      args: [
        '--dev-bind',
        '/',
        '/',
        '--bind',
        remoteView,
        cwd,
        '--die-with-parent',
        process.execPath,
        execServerCli,
        '--listen',
        'ws://127.0.0.1:0',
        '--log-level',
        'warn',
      ],
      banner: { stream: 'stdout', pattern: /^(\S+)\n/ },
    });
    const environment = remoteEnvironment(await execServer.url);
    try {
      const { a, mock } = await setup({ environment });
      mock.enqueue(mockReply.text(['ok']));
      const { thread } = await a.request('thread/start', { cwd, approvalPolicy: 'never' });
      const { turnId, from } = await turn(a, thread.id, 'hello');
      await completion(a, turnId, from);
      expect(existsSync(join(cwd, 'AGENTS.md'))).toBe(false);
      const sent = JSON.stringify(mock.requests[0]?.body.input);
      expect(sent).toContain(`# AGENTS.md instructions for ${cwd}`);
      expect(sent).toContain('only on the remote machine');
    } finally {
      await (await environment).close();
      await execServer.stop('SIGTERM');
      rmSync(root, { recursive: true, force: true });
    }
  });
});
