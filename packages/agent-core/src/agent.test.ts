import { silentLogger } from '@tether/protocol';
import { waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentOptions, agentRuntimeFactory } from './agent.js';
import { MISSING_CALL_OUTPUT, normalizeConversation } from './conversation.js';
import type { Environment } from './environment.js';
import { type ResponseInputItem, ResponsesClient } from './model/index.js';
import type { ThreadEvent, ThreadRuntime, ThreadSettings } from './runtime.js';
import { childProcesses } from './test-support/child-processes.js';
import { testSettings } from './test-support/settings.js';
import { MockResponsesServer, mockReply } from './testing/index.js';

const settings: ThreadSettings = testSettings();

const mocks: MockResponsesServer[] = [];
const runtimes: ThreadRuntime[] = [];
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.shutdown();
  for (const mock of mocks.splice(0)) await mock.close();
});

const user = (text: string): ResponseInputItem => ({
  type: 'message',
  role: 'user',
  content: [{ type: 'input_text', text }],
});

async function agent(conversation: ResponseInputItem[], environment?: AgentOptions['environment']) {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  const factory = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: environment ?? (async () => childProcesses),
  });
  const rt = factory({
    threadId: 'thread-1',
    settings,
    conversation,
    tokenUsage: null,
    logger: silentLogger(),
  });
  runtimes.push(rt);
  const events: ThreadEvent[] = [];
  void (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  /** Runs a turn to its end; its `turn/completed` turn and the conversation it recorded. */
  const turn = async (text: string) => {
    const from = events.length;
    const started = await rt.startTurn({
      input: [{ type: 'text', text }],
      clientUserMessageId: null,
      settings,
    });
    const completedTurn = () => {
      for (const e of events.slice(from)) {
        if (e.kind === 'notification' && e.method === 'turn/completed') return e.params.turn;
      }
      return undefined;
    };
    const completed = await waitFor(completedTurn, { what: 'the turn to complete' });
    expect(completed.id).toBe(started.id);
    const recorded = events.slice(from).flatMap((e) => (e.kind === 'conversation' ? e.items : []));
    return { completed, recorded };
  };
  return { mock, rt, events, turn };
}

/** The `input` of the mock's request number `index`. */
function inputOf(mock: MockResponsesServer, index: number): Array<Record<string, unknown>> {
  const input = mock.requests.at(index)?.body.input;
  if (!Array.isArray(input)) throw new Error(`request ${index} has no input`);
  return input;
}

/** The system prompt and the context messages (permissions, AGENTS.md, environment). */
function isContext(item: unknown): boolean {
  const record = item as Record<string, unknown>;
  if (record.type !== 'message' || !Array.isArray(record.content)) return false;
  const first = (record.content[0] as { text?: unknown } | undefined)?.text;
  return (
    typeof first === 'string' &&
    /^(You are a coding agent|<permissions instructions>|<environment_context>|# AGENTS\.md)/.test(
      first,
    )
  );
}

/** Items without the system prompt and the context messages: what these tests are about. */
const conversational = <T>(items: readonly T[]): T[] => items.filter((item) => !isContext(item));

const types = (items: readonly unknown[]) =>
  conversational(items).map((item) => {
    const record = item as Record<string, unknown>;
    return record.call_id ? `${String(record.type)} ${String(record.call_id)}` : record.type;
  });

describe('the conversation the model is sent', () => {
  it('normalizes as the reference does: a call without output is answered "aborted", an output without call is left out', () => {
    const call = { type: 'function_call', call_id: 'c1', name: 'exec_command', arguments: '{}' };
    const stray = { type: 'function_call_output', call_id: 'gone', output: 'x' };
    const whole = [user('a'), call, { type: 'function_call_output', call_id: 'c1', output: 'ok' }];
    expect(normalizeConversation(whole)).toBe(whole);
    expect(normalizeConversation([user('a'), call, stray, user('b')])).toEqual([
      user('a'),
      call,
      { type: 'function_call_output', call_id: 'c1', output: MISSING_CALL_OUTPUT },
      user('b'),
    ]);
    expect(MISSING_CALL_OUTPUT).toBe('aborted');
  });

  it('a stored conversation cut off in the middle of a command is answered "aborted", and the model accepts it', async () => {
    // what a server killed while `sleep 30` ran leaves behind: the call, no output
    const stored: ResponseInputItem[] = [
      user('sleep please'),
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_sleep',
        name: 'exec_command',
        arguments: '{"cmd":"sleep 30"}',
      },
      { type: 'function_call_output', call_id: 'call_never_made', output: 'stray' },
    ];
    const { mock, turn } = await agent(stored);
    mock.enqueue(mockReply.text('back'));
    const { completed } = await turn('next');
    expect(completed.status).toBe('completed');
    const request = mock.requests[0];
    expect(request?.reply.kind).toBe('stream'); // not the mock's 400
    expect(types(inputOf(mock, 0))).toEqual([
      'message',
      'function_call call_sleep',
      'function_call_output call_sleep',
      'message',
    ]);
    expect(conversational(inputOf(mock, 0))[2]?.output).toBe('aborted');
  });

  it('a tool that throws still answers its call: the turn fails, and the next request is accepted', async () => {
    const broken: Environment = {
      id: 'broken',
      run: async () => ({
        processId: 'p1',
        output: (async function* () {})(),
        exitCode: Promise.reject(new Error('exit status lost')),
        terminate: async () => undefined,
      }),
      sandboxCapability: async () => ({ available: true }),
      close: async () => undefined,
    };
    const { mock, turn } = await agent([], async () => broken);
    mock.enqueue(
      mockReply.toolCall({ name: 'exec_command', arguments: { cmd: 'true' }, callId: 'call_x' }),
      mockReply.text('fine'),
    );
    const first = await turn('run it');
    expect(first.completed.status).toBe('failed');
    expect(first.completed.error).toMatchObject({
      message: 'exec_command failed: exit status lost',
    });
    expect(types(first.recorded)).toEqual([
      'message',
      'function_call call_x',
      'function_call_output call_x',
    ]);
    const second = await turn('again');
    expect(second.completed.status).toBe('completed');
    expect(mock.requests.at(-1)?.reply.kind).toBe('stream');
  });

  it('an environment that cannot be reached fails the command, not the conversation', async () => {
    const { mock, turn } = await agent([], async () => {
      throw new Error('exec-server unreachable');
    });
    mock.enqueue(
      mockReply.toolCall({ name: 'exec_command', arguments: { cmd: 'true' }, callId: 'call_y' }),
      mockReply.text('could not run it'),
    );
    const { completed, recorded } = await turn('run it');
    expect(completed.status).toBe('completed');
    const output = recorded.find((item) => item.type === 'function_call_output');
    expect(output?.output).toBe('failed to start command: exec-server unreachable');
    expect(mock.requests).toHaveLength(2);
    expect(mock.requests.every((r) => r.reply.kind === 'stream')).toBe(true);
  });
});

describe('thread/inject_items during a running turn', () => {
  it('lands after the running call and its output, and the turn asks the model again with it', async () => {
    const { mock, rt, events, turn } = await agent([]);
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'sleep 0.5; echo slept' },
        callId: 'call_s',
      }),
      mockReply.text('done'),
    );
    const injected: ResponseInputItem = {
      type: 'message',
      role: 'developer',
      content: [{ type: 'input_text', text: 'INJECTED' }],
    };
    const running = turn('run then answer');
    // inject while the command runs (a fixed pause raced the model's stream on a loaded machine)
    await waitFor(
      () =>
        events.some(
          (e) =>
            e.kind === 'notification' &&
            e.method === 'item/started' &&
            e.params.item.type === 'commandExecution',
        ),
      { what: 'the command to start' },
    );
    await rt.injectItems([injected]);
    const { completed } = await running;
    expect(completed.status).toBe('completed');
    expect(mock.requests.map((r) => r.reply.kind)).toEqual(['stream', 'stream']);
    // the request after the call: call, output, then the injected item
    expect(types(inputOf(mock, 1))).toEqual([
      'message',
      'function_call call_s',
      'function_call_output call_s',
      'message',
    ]);
    expect(inputOf(mock, 1).at(-1)).toEqual(injected);

    // injected while the model answers without tools: one more request, ending with the item
    mock.enqueue(
      // slow enough that the injection lands while the answer still streams, even under load
      mockReply.slow(mockReply.text(['a', 'b', 'c']), { delayMs: 300 }),
      mockReply.text('ok'),
    );
    const second = turn('talk');
    await mock.waitForRequests(3);
    await rt.injectItems([injected]);
    expect((await second).completed.status).toBe('completed');
    expect(mock.requests).toHaveLength(4);
    expect(inputOf(mock, 3).at(-1)).toEqual(injected);
  });
});
