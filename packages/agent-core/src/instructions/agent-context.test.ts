import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { silentLogger } from '@tether/protocol';
import { tempHome, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentOptions, agentRuntimeFactory } from '../agent.js';
import { type ResponseInputItem, ResponsesClient } from '../model/index.js';
import type { ThreadEvent, ThreadRuntime, ThreadSettings } from '../runtime.js';
import { childProcessEnvironment } from '../test-support/child-processes.js';
import { testSettings } from '../test-support/settings.js';
import { MockResponsesServer, mockReply } from '../testing/index.js';
import { DEFAULT_MODE_INSTRUCTIONS, PLAN_MODE_INSTRUCTIONS } from './collaboration-mode.js';

/**
 * What the model is sent, request body by request body, with real files: the system prompt first,
 * the context messages of a thread's first turn, only the changes on later turns, the thread's own
 * base and developer instructions, and exec_command's output and environment.
 */

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const childProcesses = childProcessEnvironment({ sandboxAvailable: true });

function tree(files: Record<string, string>): string {
  const root = tempHome('tether-context-');
  cleanup.push(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

async function mockModel() {
  const mock = await MockResponsesServer.start();
  cleanup.push(() => mock.close());
  return mock;
}

/** A thread runtime over `conversation`; `turn` runs one turn to its end. */
function thread(
  mock: MockResponsesServer,
  options: Partial<AgentOptions>,
  settings: ThreadSettings,
  conversation: ResponseInputItem[] = [],
  previousModel?: string | null,
) {
  const factory = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => childProcesses,
    ...options,
  });
  const rt: ThreadRuntime = factory({
    threadId: 'thread-ctx',
    settings,
    conversation,
    tokenUsage: null,
    ...(previousModel !== undefined ? { previousModel } : {}),
    logger: silentLogger(),
  });
  cleanup.push(() => rt.shutdown());
  const events: ThreadEvent[] = [];
  const recorded: ResponseInputItem[] = [...conversation];
  void (async () => {
    for await (const event of rt.events()) {
      events.push(event);
      if (event.kind === 'conversation') recorded.push(...event.items);
    }
  })();
  const turn = async (text: string, turnSettings: ThreadSettings = settings) => {
    const from = events.length;
    await rt.startTurn({
      input: [{ type: 'text', text }],
      clientUserMessageId: null,
      settings: turnSettings,
    });
    await waitFor(
      () =>
        events.slice(from).find((e) => e.kind === 'notification' && e.method === 'turn/completed'),
      { what: 'the turn to complete' },
    );
  };
  return { rt, events, recorded, turn };
}

type Body = Record<string, unknown>;
const bodyOf = (mock: MockResponsesServer, index: number): Body => {
  const body = mock.requests.at(index)?.body;
  if (!body) throw new Error(`no request ${index}`);
  return body;
};
const inputOf = (mock: MockResponsesServer, index: number): Body[] => {
  const input = bodyOf(mock, index).input;
  if (!Array.isArray(input)) throw new Error(`request ${index} has no input`);
  return input as Body[];
};
const partsOf = (item: Body | undefined): string[] =>
  Array.isArray(item?.content)
    ? item.content.map((part: { text?: unknown }) => String(part.text))
    : [];
/** Role and the first line of each part: the shape of a message. */
const shape = (items: Body[]) =>
  items.map((item) =>
    item.type === 'message'
      ? `${String(item.role)}: ${partsOf(item)
          .map((text) => text.split('\n')[0])
          .join(' | ')}`
      : String(item.type),
  );

describe('the request a thread sends', () => {
  it('leads with the system prompt, then the first turn context: permissions, AGENTS.md from the repository root down to the cwd and the user file, the environment', async () => {
    const root = tree({
      'home/AGENTS.md': 'user rules',
      'repo/.git/HEAD': 'ref: refs/heads/main\n',
      'repo/AGENTS.md': 'root rules',
      'repo/pkg/AGENTS.md': 'package rules',
      'repo/pkg/src/.keep': '',
    });
    const cwd = join(root, 'repo/pkg/src');
    const mock = await mockModel();
    mock.enqueue(mockReply.text('hi'));
    const settings = testSettings({
      cwd,
      sandbox: { type: 'workspaceWrite', networkAccess: false },
      approvalPolicy: 'on-request',
    });
    const { turn } = thread(mock, { home: join(root, 'home') }, settings);
    await turn('hello');

    const body = bodyOf(mock, 0);
    // the reference sets no `instructions`: its system prompt is the first developer message
    expect(body).not.toHaveProperty('instructions');
    const input = inputOf(mock, 0);
    expect(shape(input)).toEqual([
      "developer: You are a coding agent working in the user's repository through tether, a server that speaks the Codex app-server protocol. The user talks to you from a terminal or an editor and sees your messages, the commands you run with their output, and the changes you make.",
      'developer: <permissions instructions>',
      `user: # AGENTS.md instructions for ${cwd} | <environment_context>`,
      'user: hello',
    ]);
    const prompt = partsOf(input[0])[0] ?? '';
    expect(prompt).toContain('`exec_command` runs a shell command');
    // the tools offered are described, and those not offered are not promised
    expect(prompt).toContain('`apply_patch` edits files with a patch');
    expect(prompt).not.toContain('`update_plan`');
    const permissions = partsOf(input[1])[0] ?? '';
    expect(permissions).toContain('`sandbox_mode` is `workspace-write`');
    expect(permissions).toContain('`approval_policy` is `on-request`');
    expect(permissions).toContain(`\`${cwd}\``);
    const [agents, environment] = partsOf(input[2]);
    expect(agents).toBe(
      `# AGENTS.md instructions for ${cwd}\n\n<INSTRUCTIONS>\nuser rules\n\n--- project-doc ---\n\nroot rules\n\npackage rules\n</INSTRUCTIONS>`,
    );
    expect(environment).toMatch(
      new RegExp(
        `^<environment_context>\\n  <cwd>${cwd}</cwd>\\n  <shell>bash</shell>\\n  <current_date>\\d{4}-\\d\\d-\\d\\d</current_date>\\n  <timezone>[^<]+</timezone>\\n  <filesystem><workspace_roots><root>${cwd}</root></workspace_roots><permission_profile type="managed">`,
      ),
    );
  });

  it('sends only what changed on later turns: permissions after a policy change, AGENTS.md and the cwd after a move, nothing otherwise', async () => {
    const root = tree({
      'repo/.git/HEAD': '',
      'repo/AGENTS.md': 'root rules',
      'repo/lib/AGENTS.md': 'lib rules',
    });
    const repo = join(root, 'repo');
    const mock = await mockModel();
    mock.enqueue(
      mockReply.text('1'),
      mockReply.text('2'),
      mockReply.text('3'),
      mockReply.text('4'),
    );
    const settings = testSettings({
      cwd: repo,
      sandbox: { type: 'readOnly', networkAccess: false },
    });
    const { turn } = thread(mock, {}, settings);
    await turn('one');
    await turn('two');
    const untrusted = { ...settings, approvalPolicy: 'untrusted' as const };
    await turn('three', untrusted);
    const moved = {
      ...untrusted,
      cwd: join(repo, 'lib'),
      sandbox: { type: 'dangerFullAccess' as const },
    };
    await turn('four', moved);

    const last = inputOf(mock, 3);
    expect(shape(last.slice(1))).toEqual([
      'developer: <permissions instructions>',
      `user: # AGENTS.md instructions for ${repo} | <environment_context>`,
      'user: one',
      'assistant: 1',
      'user: two',
      'assistant: 2',
      'developer: <permissions instructions>',
      'user: three',
      'assistant: 3',
      'developer: <permissions instructions>',
      `user: # AGENTS.md instructions for ${join(repo, 'lib')} | <environment_context>`,
      'user: four',
    ]);
    expect(partsOf(last[7])[0]).toContain('`approval_policy` is `untrusted`');
    expect(partsOf(last[10])[0]).toContain('`sandbox_mode` is `danger-full-access`');
    const [agents, environment] = partsOf(last[11]);
    expect(agents).toContain(
      '<INSTRUCTIONS>\nThese AGENTS.md instructions replace all previously provided AGENTS.md instructions.\n\nroot rules\n\nlib rules\n</INSTRUCTIONS>',
    );
    expect(environment).toContain(`<cwd>${join(repo, 'lib')}</cwd>`);
    expect(environment).toContain('<permission_profile type="disabled">');
    // every request carries the whole conversation, the prompt first
    expect(inputOf(mock, 1).slice(0, 4)).toEqual(inputOf(mock, 0).slice(0, 4));
  });

  it("uses the thread's base instructions instead of the prompt and its developer instructions in the first context, and a resumed thread goes on from its record", async () => {
    const root = tree({ 'repo/.git/HEAD': '', 'repo/AGENTS.md': 'rules v1' });
    const repo = join(root, 'repo');
    const mock = await mockModel();
    mock.enqueue(mockReply.text('a'), mockReply.text('b'));
    const settings = testSettings({
      cwd: repo,
      baseInstructions: 'BASE OVERRIDE',
      developerInstructions: 'DEV OVERRIDE',
    });
    const first = thread(mock, {}, settings);
    await first.turn('hello');
    expect(shape(inputOf(mock, 0))).toEqual([
      'developer: BASE OVERRIDE',
      'developer: DEV OVERRIDE | <permissions instructions>',
      `user: # AGENTS.md instructions for ${repo} | <environment_context>`,
      'user: hello',
    ]);
    await first.rt.shutdown();

    // resumed from what was recorded (as after a restart), with the project's file changed
    writeFileSync(join(repo, 'AGENTS.md'), 'rules v2');
    const resumed = thread(mock, {}, { ...settings, baseInstructions: 'BASE 2' }, first.recorded);
    await resumed.turn('again');
    const input = inputOf(mock, 1);
    expect(shape(input)).toEqual([
      'developer: BASE 2',
      'developer: DEV OVERRIDE | <permissions instructions>',
      `user: # AGENTS.md instructions for ${repo} | <environment_context>`,
      'user: hello',
      'assistant: a',
      `user: # AGENTS.md instructions for ${repo}`,
      'user: again',
    ]);
    expect(partsOf(input[5])[0]).toContain(
      'replace all previously provided AGENTS.md instructions.\n\nrules v2',
    );
  });

  it('warns the thread when the project instructions exceed their budget', async () => {
    const root = tree({ 'repo/.git/HEAD': '', 'repo/AGENTS.md': 'x'.repeat(200) });
    const mock = await mockModel();
    mock.enqueue(mockReply.text('ok'));
    const { rt, turn, events } = thread(
      mock,
      { projectDocMaxBytes: 64 },
      testSettings({ cwd: join(root, 'repo') }),
    );
    // the files were read when the thread loaded (for instructionSources): the turn still warns
    expect(await rt.instructionSources(join(root, 'repo'))).toEqual([join(root, 'repo/AGENTS.md')]);
    await turn('hello');
    const warnings = events.flatMap((e) =>
      e.kind === 'notification' && e.method === 'warning' ? [e.params.message] : [],
    );
    expect(warnings[0]).toContain('Only 64 of the 200 bytes');
    expect(partsOf(inputOf(mock, 0)[2])[0]).toContain(
      `<INSTRUCTIONS>\n${'x'.repeat(64)}\n</INSTRUCTIONS>`,
    );
  });
});

describe('collaboration modes, model switches and instruction sources', () => {
  const plan: ThreadSettings['collaborationMode'] = {
    mode: 'plan',
    settings: { model: 'mock-model', developer_instructions: PLAN_MODE_INSTRUCTIONS },
  };

  it("tells the model its collaboration mode after the permissions, and again only when the mode's instructions change", async () => {
    const mock = await mockModel();
    mock.enqueue(
      mockReply.text('1'),
      mockReply.text('2'),
      mockReply.text('3'),
      mockReply.text('4'),
    );
    const settings = testSettings({ developerInstructions: 'DEV', collaborationMode: plan });
    const { turn } = thread(mock, {}, settings);
    await turn('one');
    await turn('two');
    const back: ThreadSettings = {
      ...settings,
      sandbox: { type: 'readOnly', networkAccess: false },
      collaborationMode: {
        mode: 'default',
        settings: { model: 'mock-model', developer_instructions: DEFAULT_MODE_INSTRUCTIONS },
      },
    };
    await turn('three', back);
    const custom: ThreadSettings = {
      ...back,
      collaborationMode: {
        mode: 'plan',
        settings: { model: 'mock-model', developer_instructions: 'CUSTOM PLAN' },
      },
    };
    await turn('four', custom);

    const input = inputOf(mock, 3);
    expect(shape(input.slice(1))).toEqual([
      'developer: DEV | <permissions instructions> | <collaboration_mode># Plan Mode (Conversational)',
      'user: <environment_context>',
      'user: one',
      'assistant: 1',
      'user: two',
      'assistant: 2',
      'developer: <permissions instructions> | <collaboration_mode># Collaboration Mode: Default',
      'user: <environment_context>',
      'user: three',
      'assistant: 3',
      'developer: <collaboration_mode>CUSTOM PLAN</collaboration_mode>',
      'user: four',
    ]);
    // the reference's texts; the part about update_plan only goes with the tool
    const planPart = partsOf(input[1])[2] ?? '';
    expect(planPart.startsWith('<collaboration_mode># Plan Mode (Conversational)\n')).toBe(true);
    expect(planPart.endsWith('unchanged.\n</collaboration_mode>')).toBe(true);
    expect(planPart).not.toContain('## Plan Mode vs update_plan tool');
    expect(planPart).toContain('<proposed_plan>');
    expect(partsOf(input[7])[1]).toBe(
      `<collaboration_mode>${DEFAULT_MODE_INSTRUCTIONS}</collaboration_mode>`,
    );
  });

  it('gives the Plan instructions about update_plan when the tool is offered', async () => {
    const mock = await mockModel();
    mock.enqueue(mockReply.text('ok'));
    const { turn } = thread(
      mock,
      { updatePlanTool: true },
      testSettings({ collaborationMode: plan }),
    );
    await turn('plan it');
    expect(partsOf(inputOf(mock, 0)[1])[1]).toBe(
      `<collaboration_mode>${PLAN_MODE_INSTRUCTIONS}</collaboration_mode>`,
    );
    expect(PLAN_MODE_INSTRUCTIONS).toContain('## Plan Mode vs update_plan tool');
  });

  it('tells the model of a model switch first, in a message of its own, with the instructions it now runs with, and the mode again', async () => {
    const mock = await mockModel();
    mock.enqueue(mockReply.text('1'), mockReply.text('2'), mockReply.text('3'));
    const settings = testSettings({ model: 'model-a', collaborationMode: plan });
    const { turn } = thread(mock, {}, settings);
    await turn('one');
    const switched: ThreadSettings = {
      ...settings,
      model: 'model-b',
      approvalPolicy: 'untrusted',
    };
    await turn('two', switched);
    await turn('three', switched);

    expect(bodyOf(mock, 1).model).toBe('model-b');
    const input = inputOf(mock, 2);
    expect(shape(input.slice(1))).toEqual([
      'developer: <permissions instructions> | <collaboration_mode># Plan Mode (Conversational)',
      'user: <environment_context>',
      'user: one',
      'assistant: 1',
      'developer: <model_switch>',
      'developer: <permissions instructions> | <collaboration_mode># Plan Mode (Conversational)',
      'user: two',
      'assistant: 2',
      'user: three',
    ]);
    const prompt = partsOf(input[0])[0] ?? '';
    expect(partsOf(input[5])).toEqual([
      `<model_switch>\nThe user was previously using a different model. Please continue the conversation according to the following instructions:\n\n${prompt}\n</model_switch>`,
    ]);
  });

  it('a thread loaded onto another model than its last turn ran with is told of the switch on its first turn', async () => {
    const mock = await mockModel();
    mock.enqueue(
      mockReply.text('a'),
      mockReply.text('b'),
      mockReply.text('c'),
      mockReply.text('d'),
    );
    const settings = testSettings({ baseInstructions: 'BASE' });
    const first = thread(mock, {}, settings);
    await first.turn('hello');
    await first.rt.shutdown();
    // loaded again on the same model: nothing to tell
    const same = thread(mock, {}, settings, first.recorded);
    await same.turn('same');
    expect(shape(inputOf(mock, 1)).slice(-1)).toEqual(['user: same']);
    await same.rt.shutdown();
    // resumed onto another one: the switch, with the thread's own base instructions
    const other = thread(mock, {}, { ...settings, model: 'model-b' }, same.recorded, 'mock-model');
    await other.turn('moved');
    const input = inputOf(mock, 2);
    expect(shape(input.slice(-2))).toEqual(['developer: <model_switch>', 'user: moved']);
    expect(partsOf(input.at(-2))[0]).toBe(
      '<model_switch>\nThe user was previously using a different model. Please continue the conversation according to the following instructions:\n\nBASE\n</model_switch>',
    );

    // a thread without a conversation had no turn: nothing switched
    const fresh = thread(mock, {}, settings, [], 'model-b');
    await fresh.turn('new');
    expect(shape(inputOf(mock, 3)).some((line) => line.includes('<model_switch>'))).toBe(false);
  });

  it('lists the instruction files a turn reads: the user file first, then the project files from the root down', async () => {
    const root = tree({
      'home/AGENTS.md': 'user rules',
      'repo/.git/HEAD': '',
      'repo/AGENTS.md': 'root rules',
      'repo/pkg/AGENTS.override.md': 'override',
      'repo/pkg/AGENTS.md': 'shadowed',
      'repo/blank/AGENTS.md': '  \n',
    });
    const mock = await mockModel();
    const { rt } = thread(mock, { home: join(root, 'home') }, testSettings({ cwd: root }));
    expect(await rt.instructionSources(join(root, 'repo/pkg'))).toEqual([
      join(root, 'home/AGENTS.md'),
      join(root, 'repo/AGENTS.md'),
      join(root, 'repo/pkg/AGENTS.override.md'),
    ]);
    expect(await rt.instructionSources(join(root, 'repo/blank'))).toEqual([
      join(root, 'home/AGENTS.md'),
      join(root, 'repo/AGENTS.md'),
    ]);
  });
});

describe('what exec_command gives the model', () => {
  it("reports in the reference format and runs with the reference variables, without tether's own", async () => {
    const root = tree({ 'home/.keep': '' });
    const mock = await mockModel();
    mock.enqueue(
      mockReply.toolCall({
        name: 'exec_command',
        arguments: { cmd: 'env | grep -E "^(CODEX_|TETHER_)" | sort; exit 3' },
        callId: 'call_env',
      }),
      mockReply.text('done'),
    );
    const { turn } = thread(
      mock,
      {
        home: join(root, 'home'),
        commandEnv: {
          // an empty home: no login profile of the machine's user prints into the output
          HOME: join(root, 'home'),
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          TETHER_HOME: '/secret',
          TETHER_LOG: 'debug',
        },
      },
      testSettings({ cwd: root }),
    );
    await turn('show the environment');
    const output = inputOf(mock, 1).find((item) => item.type === 'function_call_output');
    const lines = [
      'CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS=1',
      'CODEX_CI=1',
      `CODEX_HOME=${join(root, 'home')}`,
      'CODEX_SESSION_ID=thread-ctx',
      'CODEX_THREAD_ID=thread-ctx',
      'CODEX_TOOL_CALL_ID=call_env',
      'CODEX_VERSION=0.169.0',
    ];
    const text = `${lines.join('\n')}\n`;
    expect(String(output?.output)).toMatch(
      new RegExp(
        `^Chunk ID: [0-9a-f]{6}\\nWall time: \\d+\\.\\d{4} seconds\\nProcess exited with code 3\\nOriginal token count: ${Math.ceil(Buffer.byteLength(text) / 4)}\\nOutput:\\n${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
      ),
    );
  });

  it("runs the thread's first command in a login shell and later ones in a plain shell with the login environment", async () => {
    const root = tree({
      // what a login profile does: prints something, and sets the environment
      'home/.profile': 'echo "profile noise"\nexport FROM_PROFILE=yes\n',
    });
    const mock = await mockModel();
    const probe = 'echo "profile=$FROM_PROFILE call=$CODEX_TOOL_CALL_ID"; shopt login_shell';
    mock.enqueue(
      mockReply.toolCall({ name: 'exec_command', arguments: { cmd: probe }, callId: 'call_1' }),
      mockReply.text('one'),
      mockReply.toolCall({ name: 'exec_command', arguments: { cmd: probe }, callId: 'call_2' }),
      mockReply.text('two'),
    );
    const { turn, events } = thread(
      mock,
      {
        commandEnv: { HOME: join(root, 'home'), PATH: process.env.PATH ?? '/usr/bin:/bin' },
      },
      testSettings({ cwd: root }),
    );
    await turn('first');
    await turn('second');
    const outputOf = (index: number) => {
      const text = String(inputOf(mock, index).at(-1)?.output);
      return text.slice(text.indexOf('Output:\n') + 'Output:\n'.length);
    };
    expect(outputOf(1)).toBe('profile noise\nprofile=yes call=call_1\nlogin_shell    \ton\n');
    expect(outputOf(3)).toBe('profile=yes call=call_2\nlogin_shell    \toff\n');
    // the command is shown as the model asked for it either way
    const commands = events.flatMap((e) =>
      e.kind === 'notification' &&
      e.method === 'item/started' &&
      e.params.item.type === 'commandExecution'
        ? [e.params.item.command]
        : [],
    );
    expect(commands).toEqual([`/bin/bash -lc '${probe}'`, `/bin/bash -lc '${probe}'`]);
  });
});
