import type { ChildProcess } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MockResponsesServer, mockReply } from '@tether/agent-core/testing';
import { AppServerClient } from '@tether/client';
import type { app } from '@tether/protocol';
import { expectReferenceShape, expectWireShape, tempHome } from '@tether/test-kit';
import { afterEach, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const children: ChildProcess[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const mock of mocks.splice(0)) await mock.close();
});

/** The real executable over stdio with this config.toml, no key in its environment. */
async function launch(configToml: string) {
  const home = tempHome('tether-models-');
  writeFileSync(join(home, 'config.toml'), configToml);
  const env: NodeJS.ProcessEnv = { ...process.env, TETHER_HOME: home, TETHER_LOG: 'warn' };
  delete env.OPENAI_API_KEY;
  const client = AppServerClient.spawnStdio(process.execPath, [cli], { env });
  if (client.child) children.push(client.child);
  await client.initialize({ name: 'models-test', version: '1' });
  return { client, home };
}

async function turn(client: AppServerClient, threadId: string, text: string) {
  const from = client.notifications.cursor;
  const { turn } = await client.request('turn/start', {
    threadId,
    input: [{ type: 'text', text }],
  });
  await client.waitForNotification('turn/completed', (p) => (p.turn as app.Turn).id === turn.id, {
    from,
    timeoutMs: 20_000,
  });
  return client.notifications.since(from);
}

it('sends the key a client signs in with from the next turn on, and none after logout', async () => {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  const { client, home } = await launch(`model = "gpt-5.5"\nopenai_base_url = "${mock.baseUrl}"\n`);
  // OpenAI's provider pointed at another server needs no sign-in
  expect(await client.request('account/read', {})).toMatchObject({
    account: null,
    requiresOpenaiAuth: false,
  });
  const { thread } = await client.request('thread/start', { cwd: '/tmp' });
  await turn(client, thread.id, 'before');
  expect(mock.requests[0]?.headers.authorization).toBeUndefined();
  // a catalogued model gets its default effort, as the reference sends it
  expect(mock.requests[0]?.body.reasoning).toEqual({ effort: 'medium' });

  await client.request('account/login/start', { type: 'apiKey', apiKey: 'sk-signed-in' });
  expect(await client.request('account/read', {})).toMatchObject({ account: { type: 'apiKey' } });
  expect(statSync(join(home, 'auth.json')).mode & 0o777).toBe(0o600);
  await turn(client, thread.id, 'after login');
  expect(mock.requests[1]?.headers.authorization).toBe('Bearer sk-signed-in');

  await client.request('account/logout', undefined);
  await turn(client, thread.id, 'after logout');
  expect(mock.requests[2]?.headers.authorization).toBeUndefined();
});

it("reports the provider's rate-limit headers after the turn's token usage, and on account/rateLimits/read", async () => {
  const mock = await MockResponsesServer.start();
  mocks.push(mock);
  mock.enqueue(
    mockReply.text('hi', {
      headers: {
        'x-ratelimit-limit-requests': '100',
        'x-ratelimit-remaining-requests': '75',
        'x-ratelimit-reset-requests': '6m0s',
      },
    }),
  );
  const { client } = await launch(
    `model = "local-model"\nmodel_provider = "local"\n[model_providers.local]\nname = "Local"\nbase_url = "${mock.baseUrl}"\n`,
  );
  const { thread } = await client.request('thread/start', { cwd: '/tmp' });
  const sent = await turn(client, thread.id, 'hello');
  const methods = sent.map((n) => n.method);
  const at = methods.indexOf('account/rateLimits/updated');
  expect(methods[at - 1]).toBe('thread/tokenUsage/updated');
  const update = sent[at];
  expectWireShape(update);
  expect(update?.params).toMatchObject({
    rateLimits: { limitId: 'codex', primary: { usedPercent: 25, windowDurationMins: null } },
  });
  const read = await client.request('account/rateLimits/read', undefined);
  expectReferenceShape('GetAccountRateLimitsResponse', read);
  expect(read.rateLimits.primary?.usedPercent).toBe(25);
});

it('lists the models the provider serves and the configured one', async () => {
  const mock = await MockResponsesServer.start({ models: ['served-a', 'served-b'] });
  mocks.push(mock);
  const { client } = await launch(
    `model = "configured"\nmodel_provider = "local"\n[model_providers.local]\nname = "Local"\nbase_url = "${mock.baseUrl}"\n`,
  );
  const listed = await client.request('model/list', {});
  expectReferenceShape('ModelListResponse', listed);
  expect(listed.data.map((m) => [m.id, m.isDefault])).toEqual([
    ['configured', true],
    ['served-a', false],
    ['served-b', false],
  ]);
  const providers = await client.request('modelProvider/list', {});
  expectReferenceShape('ModelProviderListResponse', providers);
  expect(providers.defaultProviderId).toBe('local');
});
