import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockResponsesServer } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import { type app, RpcError } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const clients: AppServerClient[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const m of mocks.splice(0)) await m.close();
});

/** tether-app-server over stdio with `config.toml` in its home; no OpenAI settings inherited. */
function launch(configText: string | undefined, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const home = tempHome('tether-config-e2e-');
  if (configText !== undefined) writeFileSync(join(home, 'config.toml'), configText);
  const base: NodeJS.ProcessEnv = { ...process.env, TETHER_HOME: home, TETHER_LOG: 'error' };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TETHER_EXEC_SERVER_URL'])
    delete base[name];
  const c = AppServerClient.spawnStdio(process.execPath, [cli, '--listen', 'stdio://', ...args], {
    env: { ...base, ...env },
  });
  clients.push(c);
  return { c, home, file: join(home, 'config.toml') };
}

async function turn(c: AppServerClient, threadId: string) {
  const cursor = c.notifications.cursor;
  await c.request('turn/start', { threadId, input: [{ type: 'text', text: 'hi' }] });
  const done = await c.waitForNotification('turn/completed', () => true, { from: cursor });
  return (done.params as { turn: app.Turn }).turn;
}

describe('config.toml drives tether-app-server', () => {
  it('sends turns to the configured provider with its key, headers and model', async () => {
    const mock = await MockResponsesServer.start();
    mocks.push(mock);
    const { c } = launch(
      [
        'model = "from-file"',
        'model_provider = "local"',
        'model_reasoning_effort = "low"',
        '[model_providers.local]',
        'name = "Local"',
        `base_url = "${mock.baseUrl}"`,
        'env_key = "LOCAL_KEY"',
        'http_headers = { "X-Static" = "s" }',
        'env_http_headers = { "X-From-Env" = "HEADER_VALUE" }',
        'request_max_retries = 0',
        '',
      ].join('\n'),
      ['-c', 'model="from-flag"'],
      { LOCAL_KEY: 'sk-local', HEADER_VALUE: 'h' },
    );
    await c.initialize({ name: 'config-e2e', version: '1' });
    const started = await c.request('thread/start', {});
    expect(started).toMatchObject({ model: 'from-flag', modelProvider: 'local' });
    expect((await turn(c, started.thread.id)).status).toBe('completed');
    const [request] = mock.requests;
    expect(request?.body).toMatchObject({ model: 'from-flag', reasoning: { effort: 'low' } });
    expect(request?.headers).toMatchObject({
      authorization: 'Bearer sk-local',
      'x-static': 's',
      'x-from-env': 'h',
    });
    const read = await c.request('config/read', { includeLayers: true });
    expect(read.origins.model?.name).toEqual({ type: 'sessionFlags' });
  });

  it('fails turns with the reference message when the provider key variable is unset', async () => {
    const { c } = launch(
      'model_provider = "gw"\n[model_providers.gw]\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "GW_KEY"\n',
    );
    await c.initialize({ name: 'config-e2e', version: '1' });
    const { thread } = await c.request('thread/start', {});
    const cursor = c.notifications.cursor;
    expect((await turn(c, thread.id)).status).toBe('failed');
    const error = await c.waitForNotification('error', () => true, { from: cursor });
    expect(JSON.stringify(error.params)).toContain('Missing environment variable: `GW_KEY`.');
  });

  it('starts with a broken config.toml: configWarning, then errors naming file:line:col', async () => {
    const { c, file } = launch('model = "gpt-5"\n[broken\n');
    const cursor = c.notifications.cursor;
    await c.initialize({ name: 'config-e2e', version: '1' });
    const warning = await c.waitForNotification('configWarning', () => true, { from: cursor });
    expect(warning.params).toMatchObject({
      summary: 'Invalid configuration; using defaults.',
      path: file,
      details: expect.stringMatching(new RegExp(`^${file}:2:\\d+: `)),
    });
    const failure = await c.request('thread/start', {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RpcError);
    expect(failure).toMatchObject({
      code: -32600,
      message: expect.stringMatching(new RegExp(`^failed to load configuration: ${file}:2:\\d+: `)),
    });
  });

  it('refuses a -c value of the wrong type as a usage error (exit 2)', async () => {
    const { c } = launch(undefined, ['-c', 'sandbox_mode="bogus"']);
    const child = c.child;
    if (!child) throw new Error('no child process');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
  });
});
