import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppServerClient, type ReceivedNotification } from '@tether/client';
import { afterAll, describe, expect, it } from 'vitest';
import { type ExecServer, startExecServer } from './server.js';
import { type MockModel, startMockModel } from './test-support/mock-model.js';

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

describe.skipIf(!codexBin)('a real Codex app-server using tether-exec-server', () => {
  let server: ExecServer | undefined;
  let model: MockModel | undefined;
  let codex: AppServerClient | undefined;
  const home = mkdtempSync(join(tmpdir(), 'codex-home-'));
  const work = mkdtempSync(join(tmpdir(), 'codex-work-'));
  afterAll(async () => {
    codex?.peer.terminate();
    await server?.close();
    await model?.close();
    rmSync(home, { recursive: true, force: true });
    rmSync(work, { recursive: true, force: true });
  });

  it('runs the model’s shell command through our exec-server and streams its output back', async () => {
    server = await startExecServer();
    model = await startMockModel();
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
    expect(model.requests.some((request) => request.lastType?.endsWith('_output'))).toBe(true);
  }, 120_000);
});
