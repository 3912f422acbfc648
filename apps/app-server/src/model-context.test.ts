import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRuntimeFactory,
  DEFAULT_MODE_INSTRUCTIONS,
  PLAN_MODE_INSTRUCTIONS,
  ResponsesClient,
} from '@tether/agent-core';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import type { AppServerClient } from '@tether/client';
import { localEnvironment } from '@tether/exec-session';
import type { app } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppServer, AppServerOptions } from './server.js';
import { client, runTurn, startServer } from './test-support/harness.js';

/**
 * What the reference sends the model around collaboration modes, model switches and instructions,
 * driven over the protocol: the request bodies the model server receives, and what clients see.
 */

const servers: AppServer[] = [];
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.shutdown({ waitForTurns: false });
  for (const m of mocks.splice(0)) await m.close();
});

async function serve(
  home: string,
  mock: MockResponsesServer,
  defaults: AppServerOptions['defaults'] = {},
) {
  const environment = localEnvironment();
  const s = await startServer(async () => ({ status: 'completed' }), {
    home,
    defaults,
    runtimeFactory: agentRuntimeFactory({
      model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
      // the project's AGENTS.md files are read through the thread's environment
      environment: () => environment,
      // the user's own AGENTS.md lives in the server's home, as in the app
      home,
    }),
  });
  servers.push(s);
  const c = await client(s, 'context', { experimentalApi: true });
  clients.push(c);
  return { s, c };
}

/** The model and the effort of each request. */
const sent = (requests: MockResponsesServer['requests']) =>
  requests.map((r) => [r.body.model, (r.body.reasoning as { effort?: unknown }).effort]);

const text = (threadId: string, value: string): app.TurnStartParams => ({
  threadId,
  input: [{ type: 'text', text: value }],
});

type Item = { type?: unknown; role?: unknown; content?: unknown };
const inputOf = (mock: MockResponsesServer, index: number): Item[] => {
  const input = mock.requests.at(index)?.body.input;
  return Array.isArray(input) ? input : [];
};
const partsOf = (item: Item | undefined): string[] =>
  Array.isArray(item?.content)
    ? item.content.map((part: { text?: unknown }) => String(part.text))
    : [];
/** Role and the first line of each part of every message. */
const shape = (items: Item[]) =>
  items.map(
    (item) =>
      `${String(item.role)}: ${partsOf(item)
        .map((t) => t.split('\n')[0])
        .join(' | ')}`,
  );

const planText = PLAN_MODE_INSTRUCTIONS.replace(
  /## Plan Mode vs update_plan tool\n[\s\S]*?(?=## Execution)/,
  '',
);

/** A project with an AGENTS.md, and a user AGENTS.md in the server's home. */
function project() {
  const home = tempHome();
  writeFileSync(join(home, 'AGENTS.md'), 'user rules\n');
  const repo = join(tempHome(), 'repo');
  mkdirSync(join(repo, '.git'), { recursive: true });
  writeFileSync(join(repo, 'AGENTS.md'), 'project rules\n');
  return { home, repo };
}

describe('collaboration modes and instructions', () => {
  it('collaborationMode/list answers the reference presets', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = await serve(tempHome(), mock);
    expect(await c.request('collaborationMode/list', {})).toEqual({
      data: [
        { name: 'Plan', mode: 'plan', model: null, reasoning_effort: 'medium' },
        { name: 'Default', mode: 'default', model: null, reasoning_effort: null },
      ],
    });
  });

  it('lists the AGENTS.md files read in thread/start, thread/fork and thread/resume', async () => {
    const { home, repo } = project();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, mock);
    const started = await first.c.request('thread/start', { cwd: repo });
    expect(started.instructionSources).toEqual([join(home, 'AGENTS.md'), join(repo, 'AGENTS.md')]);
    const elsewhere = await first.c.request('thread/start', { cwd: tempHome() });
    expect(elsewhere.instructionSources).toEqual([join(home, 'AGENTS.md')]);
    mock.enqueue(mockReply.text('ok'));
    await runTurn(first.c, text(started.thread.id, 'hello'));
    const forked = await first.c.request('thread/fork', {
      threadId: started.thread.id,
      excludeTurns: true,
    });
    expect(forked.instructionSources).toEqual([join(home, 'AGENTS.md'), join(repo, 'AGENTS.md')]);
    await first.s.shutdown({ waitForTurns: true });

    const second = await serve(home, mock);
    const resumed = await second.c.request('thread/resume', {
      threadId: started.thread.id,
      excludeTurns: true,
    });
    expect(resumed.instructionSources).toEqual([join(home, 'AGENTS.md'), join(repo, 'AGENTS.md')]);
  });

  it('a mode named without instructions gets the built-in ones, told to clients and to the model after the permissions; thread/settings/update changes the mode, not the developer instructions; a compaction puts the context back before the last user message', async () => {
    const { home, repo } = project();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = await serve(home, mock);
    const { thread } = await c.request('thread/start', {
      cwd: repo,
      developerInstructions: 'DEVI',
    });
    mock.enqueue(
      mockReply.text('1'),
      mockReply.text('2'),
      mockReply.text('SUMMARY'),
      mockReply.text('3'),
    );
    const from = await runTurn(c, {
      ...text(thread.id, 'first'),
      collaborationMode: { mode: 'plan', settings: { model: 'gpt-5' } },
    });
    const updated = await c.waitForNotification('thread/settings/updated', undefined, { from });
    expect(updated.params).toMatchObject({
      threadSettings: {
        collaborationMode: {
          mode: 'plan',
          settings: { model: 'gpt-5', developer_instructions: PLAN_MODE_INSTRUCTIONS },
        },
      },
    });
    expect(partsOf(inputOf(mock, 0)[1])).toEqual([
      'DEVI',
      expect.stringMatching(/^<permissions instructions>\n/),
      `<collaboration_mode>${planText}</collaboration_mode>`,
    ]);

    await c.request('thread/settings/update', {
      threadId: thread.id,
      collaborationMode: { mode: 'default', settings: { model: 'gpt-5' } },
    });
    await runTurn(c, text(thread.id, 'second'));
    expect(shape(inputOf(mock, 1).slice(-2))).toEqual([
      'developer: <collaboration_mode># Collaboration Mode: Default',
      'user: second',
    ]);
    expect(partsOf(inputOf(mock, 1).at(-2))).toEqual([
      `<collaboration_mode>${DEFAULT_MODE_INSTRUCTIONS}</collaboration_mode>`,
    ]);

    const compactFrom = c.notifications.cursor;
    await c.request('thread/compact/start', { threadId: thread.id });
    // the first turn to complete from here is the compaction's
    await c.waitForNotification('turn/completed', undefined, {
      from: compactFrom,
      timeoutMs: 20_000,
    });
    await runTurn(c, text(thread.id, 'third'));
    const after = inputOf(mock, 3);
    expect(shape(after.slice(1))).toEqual([
      'user: first',
      'developer: DEVI | <permissions instructions> | <collaboration_mode># Collaboration Mode: Default',
      `user: # AGENTS.md instructions for ${repo} | <environment_context>`,
      'user: second',
      expect.stringMatching(/^user: Earlier parts of this conversation were compacted/),
      'user: third',
    ]);
  });

  it('a model switch reaches the model; resume onto a model reasons as configured, without one as before; a fork as configured; a null effort keeps the effort', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const first = await serve(home, mock, { reasoningEffort: 'low' });
    const { thread } = await first.c.request('thread/start', { cwd: '/tmp' });
    mock.enqueue(...['1', '2', '3', '4', '5', '6'].map((t) => mockReply.text(t)));
    await runTurn(first.c, { ...text(thread.id, 'one'), effort: 'high' });
    await runTurn(first.c, { ...text(thread.id, 'two'), model: 'other-model' });
    const switched = inputOf(mock, 1);
    expect(shape(switched.slice(-2))).toEqual(['developer: <model_switch>', 'user: two']);
    expect(partsOf(switched.at(-2))[0]).toBe(
      `<model_switch>\nThe user was previously using a different model. Please continue the conversation according to the following instructions:\n\n${partsOf(switched[0])[0]}\n</model_switch>`,
    );
    expect(sent(mock.requests)).toEqual([
      ['gpt-5', 'high'],
      ['other-model', 'high'],
    ]);
    const forked = await first.c.request('thread/fork', {
      threadId: thread.id,
      excludeTurns: true,
    });
    expect([forked.model, forked.reasoningEffort]).toEqual(['other-model', 'low']);
    await first.s.shutdown({ waitForTurns: true });

    // resumed as it was: its effort, and no switch
    let server = await serve(home, mock, { reasoningEffort: 'low' });
    const same = await server.c.request('thread/resume', {
      threadId: thread.id,
      excludeTurns: true,
    });
    expect([same.model, same.reasoningEffort]).toEqual(['other-model', 'high']);
    await runTurn(server.c, text(thread.id, 'three'));
    expect(shape(inputOf(mock, 2).slice(-2))).toEqual(['assistant: 2', 'user: three']);
    await server.s.shutdown({ waitForTurns: true });

    // resumed onto another model: the configured effort, and the switch
    server = await serve(home, mock, { reasoningEffort: 'low' });
    const moved = await server.c.request('thread/resume', {
      threadId: thread.id,
      model: 'gpt-5',
      excludeTurns: true,
    });
    expect([moved.model, moved.reasoningEffort]).toEqual(['gpt-5', 'low']);
    await runTurn(server.c, text(thread.id, 'four'));
    expect(shape(inputOf(mock, 3).slice(-2))).toEqual(['developer: <model_switch>', 'user: four']);

    // thread/settings/update with a null effort keeps the effort, as the reference does
    await server.c.request('thread/settings/update', { threadId: thread.id, effort: 'minimal' });
    await server.c.request('thread/settings/update', { threadId: thread.id, effort: null });
    await runTurn(server.c, text(thread.id, 'five'));
    expect(sent(mock.requests.slice(2))).toEqual([
      ['other-model', 'high'],
      ['gpt-5', 'low'],
      ['gpt-5', 'minimal'],
    ]);
    await server.s.shutdown({ waitForTurns: true });

    // what the resume and the update changed stays the thread's
    server = await serve(home, mock, { reasoningEffort: 'low' });
    const again = await server.c.request('thread/resume', {
      threadId: thread.id,
      excludeTurns: true,
    });
    expect([again.model, again.reasoningEffort]).toEqual(['gpt-5', 'minimal']);
  });

  it('a model named on resume sticks even before a turn runs on it', async () => {
    const home = tempHome();
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    let server = await serve(home, mock);
    const { thread } = await server.c.request('thread/start', { cwd: '/tmp' });
    mock.enqueue(mockReply.text('1'));
    await runTurn(server.c, text(thread.id, 'one'));
    await server.s.shutdown({ waitForTurns: true });
    server = await serve(home, mock);
    await server.c.request('thread/resume', {
      threadId: thread.id,
      model: 'other-model',
      excludeTurns: true,
    });
    await server.s.shutdown({ waitForTurns: true });
    server = await serve(home, mock);
    const resumed = await server.c.request('thread/resume', {
      threadId: thread.id,
      excludeTurns: true,
    });
    expect(resumed.model).toBe('other-model');
  });

  it('turn/start during thread/compact/start is refused with the reference error; turn/interrupt ends the compaction, and a turn runs after it', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = await serve(tempHome(), mock);
    const { thread } = await c.request('thread/start', { cwd: '/tmp' });
    mock.enqueue(mockReply.text('1'), mockReply.hang(), mockReply.text('2'));
    await runTurn(c, text(thread.id, 'one'));
    const from = c.notifications.cursor;
    await c.request('thread/compact/start', { threadId: thread.id });
    const started = await c.waitForNotification('turn/started', undefined, { from });
    const compactionId = (started.params as { turn: app.Turn }).turn.id;
    await mock.waitForRequests(2);
    const refused = await c.request('turn/start', text(thread.id, 'during')).catch((e) => e);
    expect(refused).toMatchObject({
      code: -32603,
      message: 'failed to submit turn input: ActiveTurnNotSteerable { turn_kind: Compact }',
    });
    await c.request('turn/interrupt', { threadId: thread.id, turnId: compactionId });
    const ended = await c.waitForNotification('turn/completed', undefined, { from });
    expect((ended.params as { turn: app.Turn }).turn).toMatchObject({
      id: compactionId,
      status: 'interrupted',
    });
    // the conversation as it was, with the reference's note of the interruption
    await runTurn(c, text(thread.id, 'after'));
    expect(shape(inputOf(mock, 2)).slice(-4)).toEqual([
      'user: one',
      'assistant: 1',
      'user: <turn_aborted>',
      'user: after',
    ]);
  });
});
