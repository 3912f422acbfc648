import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { MockResponsesServer } from '@tether/agent-core/testing';
import { silentLogger } from '@tether/protocol';
import { expectReferenceShape, expectWireShape, tempHome, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthStore } from '../auth-store.js';
import { ConfigService } from '../config/index.js';
import { parseOverride } from '../config/overrides.js';
import { AppService } from '../service.js';
import { inProcessClient } from '../test-support/in-process-client.js';

const services: AppService[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
  for (const mock of mocks.splice(0)) await mock.close();
});

interface StartOptions {
  config?: string;
  overrides?: string[];
  env?: NodeJS.ProcessEnv;
  home?: string;
}

function start(options: StartOptions = {}) {
  const home = options.home ?? tempHome('tether-account-');
  if (options.config !== undefined) writeFileSync(join(home, 'config.toml'), options.config);
  const service = new AppService({
    home,
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
    config: new ConfigService({
      home,
      systemFile: null,
      env: options.env ?? {},
      overrides: (options.overrides ?? []).map(parseOverride),
    }),
    servedModels: { failureTtlMs: 0, timeoutMs: 2000 },
  });
  services.push(service);
  return { service, home };
}

/** An initialized client of the service. */
async function client(service: AppService) {
  const connection = await inProcessClient(service, 'account-test');
  const call = async (method: string, params?: unknown) => {
    const answer = await connection.call(method, params);
    if (answer.kind === 'response') return { result: answer.result, error: undefined };
    if (answer.kind === 'error') return { result: undefined, error: answer.error };
    throw new Error('not an answer');
  };
  const notifications = () =>
    connection.received.flatMap((m) =>
      m.kind === 'notification' ? [{ method: m.method, params: m.params }] : [],
    );
  return { call, notifications };
}

type Listed = { data: Array<{ id: string; isDefault: boolean; hidden: boolean }> };
const ids = (result: unknown) => (result as Listed).data.map((m) => m.id);

describe('after initialize', () => {
  it('tells the client remote control is disabled, after the config warnings, with a lasting installation id', async () => {
    const { service, home } = start({ config: 'sandbox_mode = "bogus"\n' });
    const a = await client(service);
    const status = await waitFor(() =>
      a.notifications().find((n) => n.method === 'remoteControl/status/changed'),
    );
    expectWireShape(status);
    expect(a.notifications().map((n) => n.method)).toEqual([
      'configWarning',
      'remoteControl/status/changed',
    ]);
    const id = readFileSync(join(home, 'installation_id'), 'utf8');
    expect(status.params).toEqual({
      status: 'disabled',
      serverName: hostname(),
      installationId: id,
      environmentId: null,
    });
    const again = await client(start({ home }).service);
    const second = await waitFor(() =>
      again.notifications().find((n) => n.method === 'remoteControl/status/changed'),
    );
    expect(second.params).toMatchObject({ installationId: id });
  });
});

describe('an API-key account', () => {
  it('stores a signed-in key in auth.json (0600), announces it, and forgets it on logout', async () => {
    const { service, home } = start();
    const a = await client(service);
    const before = await a.call('account/read', {});
    expectReferenceShape('GetAccountResponse', before.result);
    expect(before.result).toEqual({
      account: null,
      userId: null,
      requiresOpenaiAuth: true,
      workspaceRouting: null,
    });

    const login = await a.call('account/login/start', { type: 'apiKey', apiKey: 'sk-test-123' });
    expectReferenceShape('LoginAccountResponse', login.result);
    expect(login.result).toEqual({ type: 'apiKey' });
    const updated = await waitFor(() =>
      a.notifications().find((n) => n.method === 'account/updated'),
    );
    const completed = a.notifications().find((n) => n.method === 'account/login/completed');
    expectWireShape(completed);
    expectWireShape(updated);
    expect(completed?.params).toEqual({
      loginId: null,
      success: true,
      error: null,
      onboardingEntrypoint: null,
    });
    expect(updated.params).toEqual({ authMode: 'apikey', planType: null });
    const file = join(home, 'auth.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      auth_mode: 'apikey',
      OPENAI_API_KEY: 'sk-test-123',
    });
    expect(new AuthStore(home).apiKey()).toBe('sk-test-123');
    expect((await a.call('account/read', {})).result).toMatchObject({
      account: { type: 'apiKey' },
    });

    const logout = await a.call('account/logout');
    expectReferenceShape('LogoutAccountResponse', logout.result);
    await waitFor(
      () =>
        a.notifications().filter((n) => n.method === 'account/updated').length === 2 || undefined,
    );
    expect(a.notifications().at(-1)).toEqual({
      method: 'account/updated',
      params: { authMode: null, planType: null },
    });
    expect(() => statSync(file)).toThrow();
    expect((await a.call('account/read', {})).result).toMatchObject({ account: null });
  });

  it('refuses ChatGPT sign-in with a message that says how to use an API key', async () => {
    const a = await client(start().service);
    for (const type of ['chatgpt', 'chatgptDeviceCode']) {
      const answer = await a.call('account/login/start', { type });
      expect(answer.error).toMatchObject({
        code: -32600,
        message: expect.stringMatching(/does not support ChatGPT.*API key/),
      });
    }
  });

  it('reports the key of a provider that takes its own env_key, without OpenAI auth', async () => {
    const a = await client(
      start({
        config:
          'model_provider = "gw"\n[model_providers.gw]\nname = "GW"\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "GW_KEY"\n',
        env: { GW_KEY: 'k' },
      }).service,
    );
    expect((await a.call('account/read', {})).result).toMatchObject({
      account: { type: 'apiKey' },
      requiresOpenaiAuth: false,
    });
  });

  it('reads the rate limits the provider reported, and says so when it reported none', async () => {
    const { service } = start();
    const a = await client(service);
    expect((await a.call('account/rateLimits/read')).error).toMatchObject({
      code: -32600,
      message: expect.stringContaining('no rate limits'),
    });
    const snapshot = {
      limitId: 'codex',
      limitName: null,
      normalModelSlug: null,
      primary: { usedPercent: 13, windowDurationMins: 300, resetsAt: 1704069000 },
      secondary: null,
      credits: null,
      individualLimit: null,
      spendControlReached: null,
      planType: null,
      rateLimitReachedType: null,
    };
    service.accounts.recordRateLimits([snapshot]);
    const read = await a.call('account/rateLimits/read');
    expectReferenceShape('GetAccountRateLimitsResponse', read.result);
    expect(read.result).toEqual({ rateLimits: snapshot, rateLimitsByLimitId: { codex: snapshot } });
  });
});

describe('model/list', () => {
  it("lists the built-in catalogue for OpenAI's API, the configured model first and default", async () => {
    const a = await client(start().service);
    const listed = await a.call('model/list', {});
    expectReferenceShape('ModelListResponse', listed.result);
    expect(ids(listed.result)).toEqual([
      'gpt-5',
      'gpt-6.1-sol',
      'gpt-6-astra',
      'gpt-6-sol',
      'gpt-6-luna',
      'gpt-5.6-sol',
      'gpt-6.1-terra',
      'gpt-5.6-terra',
      'gpt-5.6-luna',
      'gpt-5.5',
    ]);
    expect((listed.result as Listed).data.filter((m) => m.isDefault).map((m) => m.id)).toEqual([
      'gpt-5',
    ]);
    const withHidden = await a.call('model/list', { includeHidden: true });
    expect(ids(withHidden.result)).toContain('codex-auto-review');
  });

  it("describes a catalogued model field by field as the reference's model/list does", async () => {
    const a = await client(start({ config: 'model = "gpt-5.6-sol"\n' }).service);
    const listed = await a.call('model/list', { limit: 100 });
    const sol = (listed.result as { data: Array<{ id: string }> }).data.find(
      (m) => m.id === 'gpt-5.6-sol',
    );
    // codex 0.169.0's answer for this model, but for isDefault (tether's default is the configured model)
    expect(sol).toEqual({
      id: 'gpt-5.6-sol',
      model: 'gpt-5.6-sol',
      upgrade: 'gpt-6-sol',
      upgradeInfo: {
        model: 'gpt-6-sol',
        upgradeCopy: null,
        modelLink: null,
        migrationMarkdown:
          'Meet GPT-6 Sol\n\nOur latest Sol is more intelligent and more efficient so your usage limits go further. This model is a great daily driver for complex tasks, especially coding.\n',
        retirementAt: null,
      },
      availabilityNux: null,
      displayName: 'GPT-5.6-Sol',
      description: 'Older generation workhorse model.',
      modelSpecialty: null,
      hidden: false,
      supportedReasoningEfforts: [
        { reasoningEffort: 'low', description: 'Fast responses with lighter reasoning' },
        {
          reasoningEffort: 'medium',
          description: 'Balances speed and reasoning depth for everyday tasks',
        },
        { reasoningEffort: 'high', description: 'Greater reasoning depth for complex problems' },
        {
          reasoningEffort: 'xhigh',
          description: 'Extra high reasoning depth for complex problems',
        },
        { reasoningEffort: 'max', description: 'Maximum reasoning depth for the hardest problems' },
        {
          reasoningEffort: 'ultra',
          description: 'Maximum reasoning with automatic task delegation',
        },
      ],
      defaultReasoningEffort: 'low',
      inputModalities: ['text', 'image'],
      supportsPersonality: false,
      multiAgentVersion: 'v2',
      additionalSpeedTiers: ['fast'],
      serviceTiers: [{ id: 'priority', name: 'Fast', description: '1.5x speed, increased usage' }],
      defaultServiceTier: null,
      availableAccessPrograms: null,
      isDefault: true,
    });
    // the configured model is in the catalogue: listed once, in catalogue order
    expect(ids(listed.result).filter((id) => id === 'gpt-5.6-sol')).toHaveLength(1);
    expect(ids(listed.result)[0]).toBe('gpt-6.1-sol');
  });

  it('pages as the reference does, and names a bad cursor or an unknown provider', async () => {
    const a = await client(start({ config: 'model = "gpt-5.5"\n' }).service);
    const first = await a.call('model/list', { limit: 2 });
    expect(first.result).toMatchObject({ nextCursor: '2' });
    expect(ids(first.result)).toEqual(['gpt-6.1-sol', 'gpt-6-astra']);
    const last = await a.call('model/list', { cursor: '8' });
    expect(last.result).toMatchObject({ nextCursor: null });
    expect(ids(last.result)).toEqual(['gpt-5.5']);
    expect((await a.call('model/list', { limit: 0 })).result).toMatchObject({ nextCursor: '1' });
    expect((await a.call('model/list', { cursor: '9' })).result).toMatchObject({ data: [] });
    expect((await a.call('model/list', { cursor: '10' })).error).toEqual({
      code: -32600,
      message: 'cursor 10 exceeds total models 9',
    });
    expect((await a.call('model/list', { cursor: '-1' })).error).toEqual({
      code: -32600,
      message: 'invalid cursor: -1',
    });
    expect((await a.call('model/list', { modelProvider: 'bogus' })).error).toEqual({
      code: -32600,
      message:
        'This chat uses model provider “bogus”, which is no longer configured. Restore this provider’s configuration to continue.',
      data: { type: 'modelProviderNotConfigured', modelProvider: 'bogus' },
    });
  });

  it('lists what a local server serves plus the configured model, asking it once per TTL', async () => {
    const mock = await MockResponsesServer.start({ models: ['qwen3-coder', 'gpt-5.5'] });
    mocks.push(mock);
    const a = await client(
      start({
        config: `model = "my-model"\nmodel_provider = "local"\n[model_providers.local]\nname = "Local"\nbase_url = "${mock.baseUrl}"\nenv_key = "LOCAL_KEY"\n`,
        env: { LOCAL_KEY: 'local-secret' },
      }).service,
    );
    const listed = await a.call('model/list', {});
    expectReferenceShape('ModelListResponse', listed.result);
    expect(ids(listed.result)).toEqual(['my-model', 'qwen3-coder', 'gpt-5.5']);
    const data = (listed.result as { data: Array<Record<string, unknown>> }).data;
    expect(data[0]).toMatchObject({
      isDefault: true,
      description: 'The model this tether server is configured with (Local).',
      defaultReasoningEffort: 'medium',
      inputModalities: ['text'],
    });
    expect(data[1]).toMatchObject({
      displayName: 'qwen3-coder',
      description: 'Served by Local.',
      isDefault: false,
    });
    // a served model the catalogue knows is described from it
    expect(data[2]).toMatchObject({ displayName: 'GPT-5.5', defaultReasoningEffort: 'medium' });
    expect(mock.modelListRequests[0]?.authorization).toBe('Bearer local-secret');
    await a.call('model/list', {});
    expect(mock.modelListRequests).toHaveLength(1);
  });

  it('falls back to the catalogue when the provider does not list its models', async () => {
    const mock = await MockResponsesServer.start({ models: null });
    mocks.push(mock);
    const a = await client(
      start({
        config: `model = "my-model"\nmodel_provider = "local"\n[model_providers.local]\nname = "Local"\nbase_url = "${mock.baseUrl}"\n`,
      }).service,
    );
    const listed = await a.call('model/list', {});
    expect(ids(listed.result).slice(0, 3)).toEqual(['my-model', 'gpt-6.1-sol', 'gpt-6-astra']);
  });

  it('takes its catalogue from model_catalog_json, which replaces the built-in one', async () => {
    const { service, home } = start({
      config: 'model = "qwen3-coder"\nmodel_catalog_json = "models.json"\n',
    });
    writeFileSync(
      join(home, 'models.json'),
      JSON.stringify({
        models: [
          {
            slug: 'qwen3-coder',
            display_name: 'Qwen3 Coder',
            description: 'Local coder',
            default_reasoning_level: 'high',
            supported_reasoning_levels: [{ effort: 'low' }, { effort: 'high' }],
            input_modalities: ['text'],
          },
        ],
      }),
    );
    const a = await client(service);
    const listed = await a.call('model/list', {});
    expectReferenceShape('ModelListResponse', listed.result);
    expect((listed.result as { data: unknown[] }).data).toEqual([
      expect.objectContaining({
        id: 'qwen3-coder',
        displayName: 'Qwen3 Coder',
        description: 'Local coder',
        defaultReasoningEffort: 'high',
        supportedReasoningEfforts: [
          { reasoningEffort: 'low', description: 'Fast responses with lighter reasoning' },
          { reasoningEffort: 'high', description: 'Greater reasoning depth for complex problems' },
        ],
        inputModalities: ['text'],
        isDefault: true,
      }),
    ]);
  });
});

describe('model providers', () => {
  const CONFIG = `model_provider = "local"
[model_providers.local]
name = "Local"
base_url = "http://127.0.0.1:11434/v1"
[model_providers.gw]
name = "Gateway"
base_url = "https://gw.example.com/v1"
env_key = "GW_KEY"
[model_providers.secret]
name = "Secret"
base_url = "https://user:pw@gw.example.com/v1?key=s"
env_key = "S_KEY"
[model_providers.headers]
name = "Headers"
base_url = "https://gw.example.com/v1"
http_headers = { "X-Key" = "abc" }
`;

  it('lists the configured providers and OpenAI in the reference shape', async () => {
    const a = await client(start({ config: CONFIG }).service);
    const listed = await a.call('modelProvider/list', {});
    expectReferenceShape('ModelProviderListResponse', listed.result);
    // what codex 0.169.0 answers for the same file
    expect(listed.result).toEqual({
      data: [
        {
          id: 'gw',
          name: 'Gateway',
          canEdit: true,
          baseUrl: 'https://gw.example.com/v1',
          settings: {
            type: 'customGateway',
            auth: { mode: 'environmentVariable', envKey: 'GW_KEY' },
          },
        },
        {
          id: 'headers',
          name: 'Headers',
          canEdit: true,
          baseUrl: 'https://gw.example.com/v1',
          settings: { type: 'customGateway', auth: { mode: 'externallyConfigured', envKey: null } },
        },
        {
          id: 'local',
          name: 'Local',
          canEdit: true,
          baseUrl: 'http://127.0.0.1:11434/v1',
          settings: { type: 'customGateway', auth: { mode: 'none' } },
        },
        {
          id: 'openai',
          name: 'OpenAI',
          canEdit: false,
          baseUrl: null,
          settings: { type: 'openai' },
        },
        {
          id: 'secret',
          name: 'Secret',
          canEdit: true,
          baseUrl: null,
          settings: {
            type: 'customGateway',
            auth: { mode: 'externallyConfigured', envKey: 'S_KEY' },
          },
        },
      ],
      defaultProviderId: 'local',
      canChangeDefault: true,
    });
  });

  it('marks what a -c flag set as not editable', async () => {
    const a = await client(
      start({
        overrides: [
          'model_provider="mock"',
          'model_providers.mock={name="mock",base_url="http://127.0.0.1:1/v1",env_key="MOCK_KEY"}',
        ],
      }).service,
    );
    expect((await a.call('modelProvider/list', {})).result).toMatchObject({
      data: [
        { id: 'mock', canEdit: false, baseUrl: 'http://127.0.0.1:1/v1' },
        { id: 'openai', canEdit: false },
      ],
      defaultProviderId: 'mock',
      canChangeDefault: false,
    });
  });

  it("answers the selected provider's capabilities", async () => {
    const openAi = await client(start().service);
    const answer = await openAi.call('modelProvider/capabilities/read', {});
    expectReferenceShape('ModelProviderCapabilitiesReadResponse', answer.result);
    expect(answer.result).toEqual({ imageGeneration: true, webSearch: true });
    const local = await client(start({ config: CONFIG }).service);
    expect((await local.call('modelProvider/capabilities/read', {})).result).toEqual({
      imageGeneration: false,
      webSearch: false,
    });
  });
});
