import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { silentLogger } from '@tether/protocol';
import { expectReferenceShape, expectWireShape, tempHome, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigService } from '../config/index.js';
import { parseOverride } from '../config/overrides.js';
import { AppService } from '../service.js';
import { inProcessClient } from '../test-support/in-process-client.js';

const services: AppService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

function start(configText: string | undefined, overrides: string[] = []) {
  const home = tempHome('tether-config-handlers-');
  if (configText !== undefined) writeFileSync(join(home, 'config.toml'), configText);
  const service = new AppService({
    home,
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
    config: new ConfigService({
      home,
      systemFile: null,
      env: {},
      overrides: overrides.map(parseOverride),
    }),
  });
  services.push(service);
  return { service, home, file: join(home, 'config.toml') };
}

/** An initialized client of the service. */
async function client(service: AppService) {
  const connection = await inProcessClient(service, 'config-test');
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

describe('config methods through AppService', () => {
  it('starts threads with the configured defaults, read again after a write', async () => {
    const { service } = start(
      'model = "configured"\napproval_policy = "never"\nsandbox_mode = "workspace-write"\nmodel_reasoning_effort = "high"\n[sandbox_workspace_write]\nnetwork_access = true\n',
    );
    const a = await client(service);
    const started = await a.call('thread/start', {});
    expect(started.result).toMatchObject({
      model: 'configured',
      approvalPolicy: 'never',
      reasoningEffort: 'high',
      sandbox: { type: 'workspaceWrite', networkAccess: true },
      activePermissionProfile: null,
    });
    const written = await a.call('config/value/write', {
      keyPath: 'model',
      value: 'switched',
      mergeStrategy: 'replace',
    });
    expectReferenceShape('ConfigWriteResponse', written.result);
    expect((await a.call('thread/start', {})).result).toMatchObject({ model: 'switched' });
    const read = await a.call('config/read', { includeLayers: true });
    expectReferenceShape('ConfigReadResponse', read.result);
    expect(read.result).toMatchObject({ config: { model: 'switched' } });
  });

  it('answers a broken file with a configWarning, then errors naming the place', async () => {
    const { service, file } = start('model = "m"\nsandbox_mode = "bogus"\n');
    const a = await client(service);
    const warning = await waitFor(() =>
      a.notifications().find((n) => n.method === 'configWarning'),
    );
    expectWireShape(warning);
    expect(warning.params).toMatchObject({
      path: file,
      details: expect.stringContaining(`${file}:2:16:`),
    });
    expect((await a.call('thread/start', {})).error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(new RegExp(`^failed to load configuration: ${file}:2:16: `)),
    });
    expect((await a.call('config/read', {})).error).toMatchObject({ code: -32603 });
    // fixing the file is enough: the next thread reads it again
    writeFileSync(file, 'model = "m"\nsandbox_mode = "read-only"\n');
    expect((await a.call('thread/start', {})).result).toMatchObject({ model: 'm' });
  });

  it('never loses one of two clients writing different keys at once', async () => {
    const { service, file } = start('# two writers\n');
    const a = await client(service);
    const b = await client(service);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 === 0 ? a : b).call(
          i % 3 === 0 ? 'config/batchWrite' : 'config/value/write',
          i % 3 === 0
            ? { edits: [{ keyPath: `k${i}`, value: i, mergeStrategy: 'replace' }] }
            : { keyPath: `k${i}`, value: i, mergeStrategy: 'replace' },
        ),
      ),
    );
    for (const result of results) expect(result.error).toBeUndefined();
    const text = readFileSync(file, 'utf8');
    for (let i = 0; i < 10; i++) expect(text).toContain(`k${i} = ${i}\n`);
    expect(text.startsWith('# two writers\n')).toBe(true);
  });

  it('lists requirements, features and permission profiles in the reference shapes', async () => {
    const { service } = start(undefined, ['model="flag"']);
    const a = await client(service);
    const requirements = await a.call('configRequirements/read', {});
    expectReferenceShape('ConfigRequirementsReadResponse', requirements.result);
    expect(requirements.result).toEqual({
      requirements: null,
      supportsIndependentSpeedModes: false,
    });
    const features = await a.call('experimentalFeature/list', { limit: 1 });
    expectReferenceShape('ExperimentalFeatureListResponse', features.result);
    expect(features.result).toMatchObject({ data: [{ name: 'shell_tool' }], nextCursor: '1' });
    const set = await a.call('experimentalFeature/enablement/set', {
      enablement: { shell_tool: false },
    });
    expectReferenceShape('ExperimentalFeatureEnablementSetResponse', set.result);
    expect(set.result).toEqual({ enablement: {} });
    const profiles = await a.call('permissionProfile/list', {});
    expectReferenceShape('PermissionProfileListResponse', profiles.result);
    // a -c flag wins over the file: the write says so
    const written = await a.call('config/value/write', {
      keyPath: 'model',
      value: 'file',
      mergeStrategy: 'replace',
    });
    expect(written.result).toMatchObject({
      status: 'okOverridden',
      overriddenMetadata: { effectiveValue: 'flag' },
    });
  });
});
