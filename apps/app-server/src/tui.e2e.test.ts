import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import { launchAppServer, sleep, tempHome, waitFor } from '@tether/test-kit';
import { afterAll, describe, expect, it } from 'vitest';

// Opt-in: the official Codex TUI (`npm install @openai/codex@0.169.0` in a scratch folder, never a
// dependency of this repository) driven inside tmux against tether with the project's mock model.
const codexBin = [process.env.TETHER_CODEX_BIN, '/tmp/codex-ref/node_modules/.bin/codex'].find(
  (path): path is string => typeof path === 'string' && existsSync(path),
);
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const missing = !codexBin
  ? 'the Codex binary (set TETHER_CODEX_BIN or install @openai/codex@0.169.0 in /tmp/codex-ref)'
  : !hasTmux
    ? 'tmux'
    : undefined;
if (missing) {
  console.warn(`skipping the Codex TUI end-to-end test: ${missing} is not available`);
}

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const session = `tether-tui-${process.pid}`;
// A private tmux server (its own socket), so the test neither meets nor disturbs the user's tmux.
const tmuxSocket = ['-L', session, '-f', '/dev/null'];
const tmux = (...args: string[]): string =>
  execFileSync('tmux', [...tmuxSocket, ...args], { encoding: 'utf8' });
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function screen(): string {
  return tmux('capture-pane', '-t', session, '-p');
}

function waitForScreen(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    () => {
      const text = screen();
      return pattern.test(text) && text;
    },
    { timeoutMs, intervalMs: 200, what: () => `the screen to show ${pattern}:\n${screen()}` },
  );
}

async function type(text: string): Promise<void> {
  tmux('send-keys', '-t', session, '-l', text);
  // a keystroke right after typed text is taken as part of a paste; let the TUI settle first
  await sleep(700);
  tmux('send-keys', '-t', session, 'C-m');
}

const lastUserText = (body: Record<string, unknown>): string => {
  const input = (body.input as Array<Record<string, unknown>>) ?? [];
  const last = input[input.length - 1];
  if (last?.type === 'function_call_output') return '<tool output>';
  if (last?.type === 'custom_tool_call_output') return '<patch output>';
  const content = (last?.content as Array<{ text?: string }>) ?? [];
  return content.map((c) => c.text ?? '').join('\n');
};

/** The edit the mock model asks for: one line of `notes.txt` changed. */
const NOTES_PATCH =
  '*** Begin Patch\n*** Update File: notes.txt\n@@\n first line\n-second line\n+second line, edited by the model\n third line\n*** End Patch\n';

/** The project's mock model: a command or a patch on request, a fixed reply otherwise. */
async function mockModel(): Promise<MockResponsesServer> {
  const mock = await MockResponsesServer.start({
    responder: (body) => {
      const text = lastUserText(body);
      if (text === '<tool output>') return mockReply.text(['Command', ' finished.']);
      if (text === '<patch output>') return mockReply.text(['Patch', ' applied.']);
      // (the TUI's title request quotes the prompt after "User prompt:"; it gets plain text)
      if (text.startsWith('please EDIT THE NOTES')) {
        // as the tool is offered: freeform to a GPT-5 model, a function otherwise
        const tools = Array.isArray(body.tools) ? body.tools : [];
        const freeform = tools.some(
          (t: { name?: unknown; type?: unknown }) =>
            t.name === 'apply_patch' && t.type === 'custom',
        );
        return freeform
          ? mockReply.customToolCall({ name: 'apply_patch', input: NOTES_PATCH })
          : mockReply.toolCall({ name: 'apply_patch', arguments: { input: NOTES_PATCH } });
      }
      if (text.includes('RUN THE COMMAND')) {
        return mockReply.toolCall({
          name: 'exec_command',
          arguments: {
            cmd: 'echo tui-approved-output',
            sandbox_permissions: 'require_escalated',
            justification: 'May I print a word?',
          },
        });
      }
      if (text.includes('AFTER RESTART')) return mockReply.text(['Back', ' again.']);
      return mockReply.text(['Hello', ' from', ' tether', ' mock.']);
    },
  });
  cleanups.push(() => mock.close());
  return mock;
}

/** tether-app-server on a websocket port; resolves with its URL and the process. */
async function startTether(
  home: string,
  mock: MockResponsesServer,
  options: { model?: string; cwd?: string } = {},
) {
  const env: NodeJS.ProcessEnv = { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn' };
  delete env.OPENAI_API_KEY;
  const server = launchAppServer(
    cli,
    [
      '--listen',
      'ws://127.0.0.1:0',
      '--model',
      options.model ?? 'mock-model',
      '--model-base-url',
      mock.baseUrl,
    ],
    // a remote TUI's threads run in the server's directory
    { env, ...(options.cwd ? { cwd: options.cwd } : {}) },
  );
  cleanups.push(async () => {
    await server.stop();
  });
  return { url: await server.url, server };
}

/**
 * Runs the TUI in the tmux session, replacing whatever ran there. The pane is respawned rather than
 * the session killed and made again: killing the last session makes the tmux server exit, and a
 * `new-session` racing that exit fails with "server exited unexpectedly".
 */
function startTui(home: string, args: string): void {
  const codexHome = join(home, 'codex');
  execFileSync('mkdir', ['-p', codexHome, join(home, 'work')]);
  // `clear` first, so nothing the previous TUI drew can satisfy a later wait for the screen
  const command = `clear && cd ${join(home, 'work')} && CODEX_HOME=${codexHome} ${codexBin} ${args}; sleep 30`;
  const running = spawnSync('tmux', [...tmuxSocket, 'has-session', '-t', session]).status === 0;
  if (running) {
    tmux('respawn-pane', '-k', '-t', session, command);
    return;
  }
  tmux('new-session', '-d', '-s', session, '-x', '160', '-y', '45', command);
  cleanups.push(() => {
    spawnSync('tmux', [...tmuxSocket, 'kill-server']);
  });
}

async function conversationWithACommand(): Promise<void> {
  await waitForScreen(/Ask Codex to do anything/);
  await type('say hi');
  await waitForScreen(/Hello from tether mock\./);
  await type('please RUN THE COMMAND');
  await waitForScreen(/Would you like to run the following command\?/);
  expect(screen()).toContain('echo tui-approved-output');
  tmux('send-keys', '-t', session, 'y');
  const final = await waitForScreen(/Command finished\./);
  expect(final).toContain('tui-approved-output');
}

describe.skipIf(missing !== undefined)('the Codex TUI against tether', () => {
  it('shows a streamed reply, then asks for a command approval, runs it and shows its output', async () => {
    const mock = await mockModel();
    const home = tempHome('tether-tui-');
    const { url } = await startTether(join(home, 'tether'), mock);
    startTui(home, `--remote ${url}`);
    await conversationWithACommand();
  }, 120_000);

  it('shows an edit the model makes with its diff, asks for approval, and the file changes on disk', async () => {
    const mock = await mockModel();
    const home = tempHome('tether-tui-patch-');
    const work = join(home, 'work');
    const notes = join(work, 'notes.txt');
    execFileSync('mkdir', ['-p', work]);
    writeFileSync(notes, 'first line\nsecond line\nthird line\n');
    // a GPT-5 model name, so apply_patch is the freeform tool the TUI sees from Codex models
    const { url } = await startTether(join(home, 'tether'), mock, { model: 'gpt-5.5', cwd: work });
    // a read-only sandbox: an edit leaves the writable roots, so on-request asks
    startTui(home, `--remote ${url} -a on-request -s read-only`);
    await waitForScreen(/Ask Codex to do anything/);
    await type('please EDIT THE NOTES');
    const asking = await waitForScreen(/Would you like to make the following edits\?/);
    // the edit with its diff, then the question
    expect(asking).toMatch(/Edited notes\.txt \(\+1 -1\)/);
    expect(asking).toMatch(/2 -second line\n/);
    expect(asking).toMatch(/2 \+second line, edited by the model/);
    expect(asking).toContain(`Destination: ${notes}`);
    expect(readFileSync(notes, 'utf8')).toBe('first line\nsecond line\nthird line\n');
    tmux('send-keys', '-t', session, 'y');
    await waitForScreen(/Patch applied\./);
    expect(readFileSync(notes, 'utf8')).toBe(
      'first line\nsecond line, edited by the model\nthird line\n',
    );
  }, 120_000);

  it('resumes a conversation after the server restarts: earlier text and output on screen, then a new turn', async () => {
    const mock = await mockModel();
    const home = tempHome('tether-tui-resume-');
    const first = await startTether(join(home, 'tether'), mock);
    startTui(home, `--remote ${first.url}`);
    await conversationWithACommand();
    await first.server.stop('SIGTERM');

    const second = await startTether(join(home, 'tether'), mock);
    const c = await AppServerClient.connectWebSocket(second.url);
    await c.initialize({ name: 'e2e', version: '1.0.0' });
    const listed = await c.request('thread/list', {});
    c.close();
    const threadId = listed.data[0]?.id;
    expect(threadId).toEqual(expect.any(String));
    startTui(home, `--remote ${second.url} resume ${threadId}`);
    const resumed = await waitForScreen(/tui-approved-output/);
    expect(resumed).toContain('Hello from tether mock.');
    await type('AFTER RESTART say more');
    await waitForScreen(/Back again\./);
  }, 180_000);
});

describe.skipIf(missing !== undefined)('the Codex TUI model picker against tether', () => {
  it('lists the models the provider serves, and a model and effort picked there reach the model', async () => {
    const mock = await mockModel();
    mock.setModels(['mock-model', 'other-model']);
    const home = tempHome('tether-tui-models-');
    const { url } = await startTether(join(home, 'tether'), mock);
    startTui(home, `--remote ${url}`);
    await waitForScreen(/Ask Codex to do anything/);
    await type('/model');
    const picker = await waitForScreen(/other-model/);
    expect(picker).toContain('mock-model');
    // the second entry, then the effort picker's `high` (the entries are low, medium, high)
    tmux('send-keys', '-t', session, 'Down');
    await sleep(300);
    tmux('send-keys', '-t', session, 'Enter');
    await waitForScreen(/[Hh]igh/);
    tmux('send-keys', '-t', session, 'Down');
    await sleep(300);
    tmux('send-keys', '-t', session, 'Enter');
    await sleep(500);
    const before = mock.requests.length;
    await type('say hi');
    await waitForScreen(/Hello from tether mock\./);
    const sent = mock.requests.slice(before).find((r) => lastUserText(r.body).includes('say hi'));
    expect(sent?.body.model).toBe('other-model');
    expect(sent?.body.reasoning).toMatchObject({ effort: 'high' });
  }, 120_000);
});
