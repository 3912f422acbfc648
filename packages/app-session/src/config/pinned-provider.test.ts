import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { MockResponsesServer } from '@tether/agent-core/testing';
import { silentLogger } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AppService } from '../service.js';
import { inProcessClient } from '../test-support/in-process-client.js';
import { ConfigService } from './service.js';

const services: AppService[] = [];
const mocks: MockResponsesServer[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
  for (const mock of mocks.splice(0)) await mock.close();
});

describe('the provider the model client was started with', () => {
  it('stays the selected one in thread/start, model/list and modelProvider/list after config.toml changes', async () => {
    const a = await MockResponsesServer.start({ models: ['a-model'] });
    const b = await MockResponsesServer.start({ models: ['b-model'] });
    mocks.push(a, b);
    const home = tempHome('tether-pinned-provider-');
    const file = join(home, 'config.toml');
    writeFileSync(
      file,
      `model = "m"\nmodel_provider = "a"\n[model_providers.a]\nname = "A"\nbase_url = "${a.baseUrl}"\n[model_providers.b]\nname = "B"\nbase_url = "${b.baseUrl}"\n`,
    );
    const config = new ConfigService({ home, systemFile: null, env: {} });
    // what the server's start-up does: the model client is built for this provider
    config.pinProvider(config.load().resolved.provider);
    const service = new AppService({
      home,
      logger: silentLogger(),
      runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
      config,
      servedModels: { failureTtlMs: 0, timeoutMs: 2000 },
    });
    services.push(service);
    const connection = await inProcessClient(service, 'pinned');
    const call = async (method: string, params?: unknown) => {
      const answer = await connection.call(method, params);
      if (answer.kind !== 'response') throw new Error(`${method} failed`);
      return answer.result as Record<string, unknown>;
    };

    // a hand edit (or config/value/write) selects provider b while the server runs
    writeFileSync(
      file,
      `model = "m"\nmodel_provider = "b"\n[model_providers.a]\nname = "A"\nbase_url = "${a.baseUrl}"\n[model_providers.b]\nname = "B"\nbase_url = "${b.baseUrl}"\n`,
    );
    const listed = await call('model/list', {});
    const ids = (listed.data as Array<{ id: string }>).map((model) => model.id);
    expect(ids).toContain('a-model');
    expect(ids).not.toContain('b-model');
    expect(b.modelListRequests).toHaveLength(0);
    expect((await call('modelProvider/list', {})).defaultProviderId).toBe('a');
    expect(await call('thread/start', {})).toMatchObject({ modelProvider: 'a' });
    // another provider can still be listed by name
    const other = await call('model/list', { modelProvider: 'b' });
    expect((other.data as Array<{ id: string }>).map((model) => model.id)).toContain('b-model');
  });
});
