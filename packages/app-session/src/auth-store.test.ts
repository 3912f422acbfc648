import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { MockResponsesServer } from '@tether/agent-core/testing';
import { silentLogger } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthStore, apiKeyFor } from './auth-store.js';
import { ConfigService } from './config/index.js';
import { AppService } from './service.js';
import { inProcessClient } from './test-support/in-process-client.js';

const services: AppService[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
  for (const mock of mocks.splice(0)) await mock.close();
});

async function start(config: string, env: NodeJS.ProcessEnv = {}) {
  const home = tempHome('tether-auth-store-');
  writeFileSync(join(home, 'config.toml'), config);
  const service = new AppService({
    home,
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
    config: new ConfigService({ home, systemFile: null, env }),
    servedModels: { failureTtlMs: 0, timeoutMs: 2000 },
  });
  services.push(service);
  const { call } = await inProcessClient(service, 'auth-store');
  return { call, home };
}

describe('the signed-in OpenAI key', () => {
  it('is never sent to a provider that does not require OpenAI auth', async () => {
    const mock = await MockResponsesServer.start({ models: ['served'] });
    mocks.push(mock);
    const { call, home } = await start(
      `model_provider = "gw"\n[model_providers.gw]\nname = "GW"\nbase_url = "${mock.baseUrl}"\nenv_key = "GW_KEY"\n`,
    );
    expect((await call('account/login/start', { type: 'apiKey', apiKey: 'sk-openai' })).kind).toBe(
      'response',
    );
    expect(new AuthStore(home).apiKey()).toBe('sk-openai');
    // model/list asks the provider for its models (GET {base_url}/models)
    expect((await call('model/list', {})).kind).toBe('response');
    expect(mock.modelListRequests).toHaveLength(1);
    expect(mock.modelListRequests[0]?.authorization).toBeUndefined();
    // as the reference answers: no account for a provider that does not use OpenAI's sign-in
    const read = await call('account/read', {});
    expect(read.kind === 'response' && read.result).toMatchObject({ account: null });
  });

  it("goes to OpenAI's provider only; another provider keeps its own key", () => {
    const home = tempHome('tether-auth-store-');
    const store = new AuthStore(home);
    store.save('sk-openai');
    expect(apiKeyFor({ apiKey: null, requiresOpenaiAuth: true }, store)).toBe('sk-openai');
    expect(apiKeyFor({ apiKey: 'env', requiresOpenaiAuth: true }, store)).toBe('sk-openai');
    expect(apiKeyFor({ apiKey: null, requiresOpenaiAuth: false }, store)).toBeNull();
    expect(apiKeyFor({ apiKey: 'gw-key', requiresOpenaiAuth: false }, store)).toBe('gw-key');
  });
});
