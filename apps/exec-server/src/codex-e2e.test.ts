import { existsSync, rmSync } from 'node:fs';
import { MockResponsesServer, type MockToolCall, mockReply } from '@tether/agent-core/testing';
import { AppServerClient, type ReceivedNotification } from '@tether/client';
import { tempHome } from '@tether/test-kit';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExecServer, startExecServer } from './server.js';

/**
 * Opt-in end-to-end test with the real Codex CLI: `codex app-server` (stdio) runs a turn against a
 * loopback mock model, with CODEX_EXEC_SERVER_URL pointing at tether-exec-server; the model asks
 * for a shell command, which must run through our exec-server and stream its output back.
 *
 * The Codex binary comes from TETHER_CODEX_BIN, or from a scratch install outside the repository:
 *   mkdir -p /tmp/codex-ref && cd /tmp/codex-ref && npm install @openai/codex@0.169.0
 */
const CODEX_CANDIDATES = [
  process.env.TETHER_CODEX_BIN,
  '/tmp/codex-ref/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex',
  '/tmp/codex-ref/node_modules/.bin/codex',
];
const codexBin = CODEX_CANDIDATES.find((path): path is string => !!path && existsSync(path));

if (!codexBin) {
  console.warn(
    'codex e2e skipped: no Codex binary (set TETHER_CODEX_BIN, or npm install @openai/codex@0.169.0 in /tmp/codex-ref)',
  );
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The input items of a Responses request body. */
const inputOf = (body: Record<string, unknown>) =>
  Array.isArray(body.input) ? body.input.filter(isRecord) : [];

function textOf(item: Record<string, unknown> | undefined): string {
  const content = item?.content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : ''))
    .join('');
}

/** A call of the shell tool Codex offered (whichever of `shell_command`, `exec_command`, `shell`). */
function shellCall(body: Record<string, unknown>, command: string): MockToolCall {
  const tools = (Array.isArray(body.tools) ? body.tools : [])
    .filter(isRecord)
    .map((tool) => String(tool.name ?? tool.type ?? ''));
  if (tools.includes('shell_command')) return { name: 'shell_command', arguments: { command } };
  if (tools.includes('exec_command')) return { name: 'exec_command', arguments: { cmd: command } };
  return { name: 'shell', arguments: { command: ['bash', '-lc', command] } };
}

/**
 * The project's mock model, scripted for a real Codex turn: when the last user message says
 * `RUN: <command>`, it calls the shell tool with that command; once the tool's output is back, it
 * answers `Command finished.`.
 */
function codexModel(): Promise<MockResponsesServer> {
  return MockResponsesServer.start({
    responder: (body) => {
      const input = inputOf(body);
      const user = input.findLast((item) => item.type === 'message' && item.role === 'user');
      const run = /RUN:\s*(.+)$/s.exec(textOf(user));
      const answered = /_output$/.test(String(input.at(-1)?.type ?? ''));
      if (!run?.[1] || answered) return mockReply.text('Command finished.');
      return mockReply.toolCall(shellCall(body, run[1].trim()));
    },
  });
}

describe.skipIf(!codexBin)('a real Codex app-server using tether-exec-server', () => {
  let server: ExecServer | undefined;
  let model: MockResponsesServer | undefined;
  let codex: AppServerClient | undefined;
  const home = tempHome('codex-home-');
  const work = tempHome('codex-work-');
  afterAll(async () => {
    codex?.peer.terminate();
    await server?.close();
    await model?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the model’s shell command through our exec-server and streams its output back', async () => {
    server = await startExecServer();
    model = await codexModel();
    codex = AppServerClient.spawnStdio(
      codexBin as string,
      [
        'app-server',
        '-c',
        'model_provider="mock"',
        '-c',
        `model_providers.mock={name="mock",base_url="${model.baseUrl}",wire_api="responses",env_key="MOCK_KEY",request_max_retries=0,stream_max_retries=0}`,
        '-c',
        'model="mock-model"',
      ],
      {
        env: {
          ...process.env,
          CODEX_HOME: home,
          MOCK_KEY: 'sk-mock',
          CODEX_EXEC_SERVER_URL: server.url,
          RUST_LOG: 'warn',
        },
        stderr: 'ignore',
      },
    );
    // approvals (none expected with approvalPolicy never) are accepted
    codex.onServerRequest(() => ({ decision: 'accept' }));
    const completed: ReceivedNotification[] = [];
    codex.on('notification', (n) => {
      if (n.method === 'item/completed') completed.push(n);
    });
    await codex.initialize({ name: 'tether-e2e', version: '1.0.0' });
    const { thread } = await codex.request('thread/start', {
      cwd: work,
      approvalPolicy: 'never',
      sandbox: 'danger-full-access',
    });
    const from = codex.notifications.cursor;
    await codex.request('turn/start', {
      threadId: thread.id,
      input: [{ type: 'text', text: 'RUN: echo hello-from-tether-$((6*7))' }],
    });
    await codex.waitForNotification('turn/completed', () => true, { from, timeoutMs: 90_000 });

    // the command ran in a process our exec-server started, and its output came back to Codex
    const ours = server.service.registry
      .ids()
      .flatMap((id) => server?.service.registry.get(id)?.processes() ?? []);
    const outputs = ours.map((process) =>
      Buffer.concat(process.log.read(0).chunks.map((chunk) => chunk.data)).toString(),
    );
    expect(outputs.some((text) => text.includes('hello-from-tether-42'))).toBe(true);
    const items = completed.map((n) => JSON.stringify(n.params));
    expect(items.some((item) => item.includes('hello-from-tether-42'))).toBe(true);
    const lastTypes = model.requests.map((request) => String(inputOf(request.body).at(-1)?.type));
    expect(lastTypes.some((type) => type.endsWith('_output'))).toBe(true);
  }, 120_000);
});
