import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRpcError } from '@tether/protocol';
import { expectReferenceShape, expectWireShape, tempHome } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { parseOverride } from './overrides.js';
import { ConfigLoadError, ConfigService, type ConfigServiceOptions } from './service.js';

function service(text: string | undefined, options: Partial<ConfigServiceOptions> = {}) {
  const home = tempHome('tether-config-');
  if (text !== undefined) writeFileSync(join(home, 'config.toml'), text);
  const config = new ConfigService({ home, systemFile: null, env: {}, ...options });
  return { home, config, file: join(home, 'config.toml') };
}

/** The RPC error a call throws (the test fails when it throws none, or something else). */
async function rpcError(call: () => unknown) {
  try {
    await call();
  } catch (error) {
    if (isRpcError(error)) return error.toErrorObject();
    throw error;
  }
  throw new Error('expected an RPC error');
}

// A hand-written file, and what codex 0.169.0 made of it after each write below (recorded).
const HAND_WRITTEN =
  '# top comment\nmodel = "orig"  # trailing\n\n[model_providers.mock]\nname = "Mock"   # keep\nbase_url = "http://127.0.0.1:1/v1"\n\n# about profiles\n[profiles.fast]\nmodel = "f"\n';

describe('ConfigService: reading', () => {
  it('lists layers and origins with the reference versions (sha256 of the sorted table)', () => {
    const { config, file } = service('model = "base"\napproval_policy = "never"\n', {
      overrides: [
        parseOverride('model_context_window=1000'),
        parseOverride('foo=bar baz'),
        parseOverride('model_providers.x.name="X"'),
        parseOverride('approval_policy=on-request'),
      ],
    });
    const read = config.read({ includeLayers: true });
    expectReferenceShape('ConfigReadResponse', read);
    // both versions are what the reference answered for the same file and flags
    const flags = {
      name: { type: 'sessionFlags' },
      version: 'sha256:1501be653dd865db1af205f663c6f73de5f8563788ccb0c65e74755c3ece2b37',
    };
    const user = {
      name: { type: 'user', file, profile: null },
      version: 'sha256:1b20a43aee15eeeabcaf8308d2ed8e4db1783bbb8e6bf34755147db60da66828',
    };
    expect(read.layers).toEqual([
      {
        ...flags,
        config: {
          model_context_window: 1000,
          foo: 'bar baz',
          model_providers: { x: { name: 'X' } },
          approval_policy: 'on-request',
        },
      },
      { ...user, config: { model: 'base', approval_policy: 'never' } },
    ]);
    expect(read.origins).toEqual({
      model: user,
      model_context_window: flags,
      foo: flags,
      'model_providers.x.name': flags,
      approval_policy: flags,
    });
    expect(read.config).toMatchObject({
      model: 'base',
      approval_policy: 'on-request',
      model_context_window: 1000,
      sandbox_mode: null,
    });
    expect(config.read({}).layers).toBeUndefined();
  });

  it('keeps unknown keys and tables of the file, and fills provider tables as the reference', () => {
    const { config } = service(
      'unknown_key = "kept"\n[unknown_table]\nx = 1\n[model_providers.local]\nbase_url = "http://h/v1"\nenv_http_headers = { "X-Org" = "ORG" }\n',
    );
    const read = config.read({ includeLayers: true });
    expect(read.layers?.[0]?.config).toMatchObject({
      unknown_key: 'kept',
      unknown_table: { x: 1 },
    });
    expect(read.origins['unknown_table.x']).toBeDefined();
    expect(read.config.model_providers).toEqual({
      local: {
        name: null,
        base_url: 'http://h/v1',
        env_key: null,
        env_key_instructions: null,
        experimental_bearer_token: null,
        wire_api: 'responses',
        query_params: null,
        http_headers: null,
        env_http_headers: { 'X-Org': 'ORG' },
        request_max_retries: null,
        stream_max_retries: null,
        stream_idle_timeout_ms: null,
        requires_openai_auth: false,
      },
    });
  });

  it('reports a file that does not parse with file, line and column, as the reference', async () => {
    const { config, file } = service('model = "gpt-5"\n# comment\n[foo\n');
    const loaded = config.tryLoad();
    expect(loaded.error).toBeInstanceOf(ConfigLoadError);
    const [warning] = config.warnings();
    expectWireShape({ method: 'configWarning', params: warning });
    expect(warning).toMatchObject({
      summary: 'Invalid configuration; using defaults.',
      path: file,
      range: { start: { line: 3, column: 5 }, end: { line: 3, column: 5 } },
    });
    expect(warning?.details).toMatch(new RegExp(`^${file}:3:5: `));
    const read = await rpcError(() => config.read({}));
    expect(read.code).toBe(-32603);
    expect(read.message).toMatch(new RegExp(`^failed to read configuration layers: ${file}:3:5: `));
    const start = await rpcError(() => config.loadForThread());
    expect(start.code).toBe(-32600);
    expect(start.message).toMatch(new RegExp(`^failed to load configuration: ${file}:3:5: `));
  });

  it('locates a value of the wrong type or variant where it is written', async () => {
    const { config, file } = service('model = "m"\nsandbox_mode = "bogus"\n');
    // the reference's texts for the same file
    expect(config.warnings()).toEqual([
      {
        summary: 'Invalid configuration; using defaults.',
        details: `${file}:2:16: unknown variant \`bogus\`, expected one of \`read-only\`, \`workspace-write\`, \`danger-full-access\``,
        path: file,
        range: { start: { line: 2, column: 16 }, end: { line: 2, column: 22 } },
      },
    ]);
    expect((await rpcError(() => config.read({}))).message).toBe(
      'invalid configuration: unknown variant `bogus`, expected one of `read-only`, `workspace-write`, `danger-full-access`\nin `sandbox_mode`\n',
    );
    const typed = service('model = 5\n');
    expect(typed.config.warnings()[0]?.details).toBe(
      `${typed.file}:1:9: invalid type: integer \`5\`, expected a string`,
    );
  });

  it('resolves the selected provider for the model client', () => {
    const { config } = service(
      [
        'model = "llama"',
        'model_provider = "local"',
        '[model_providers.local]',
        'name = "Local"',
        'base_url = "http://127.0.0.1:9/v1"',
        'env_key = "LOCAL_KEY"',
        'wire_api = "chat"',
        'query_params = { "api-version" = "1" }',
        'http_headers = { "X-A" = "1" }',
        'env_http_headers = { "X-B" = "B_VALUE", "X-C" = "UNSET" }',
        'request_max_retries = 2',
        'stream_idle_timeout_ms = 1000',
        '',
      ].join('\n'),
      { env: { LOCAL_KEY: 'sk-local', B_VALUE: 'b' } },
    );
    const { resolved } = config.load();
    expect(resolved.model).toBe('llama');
    expect(resolved.provider).toEqual({
      id: 'local',
      name: 'Local',
      baseUrl: 'http://127.0.0.1:9/v1',
      wireApi: 'chat',
      envKey: 'LOCAL_KEY',
      envKeyInstructions: null,
      apiKey: 'sk-local',
      queryParams: { 'api-version': '1' },
      headers: { 'X-A': '1', 'X-B': 'b' },
      requestMaxRetries: 2,
      streamMaxRetries: 5,
      streamIdleTimeoutMs: 1000,
      requiresOpenaiAuth: false,
    });
    const missing = service('model_provider = "nowhere"\n');
    expect(missing.config.tryLoad().error?.message).toBe('Model provider `nowhere` not found');
  });

  it('applies a profile file as a layer, or the [profiles.NAME] table', () => {
    const { home, config, file } = service('model = "base"\napproval_policy = "never"\n', {
      profile: 'fast',
    });
    // neither a fast.config.toml nor a [profiles.fast] table
    expect(config.tryLoad().error?.message).toBe('config profile `fast` not found');
    writeFileSync(join(home, 'fast.config.toml'), 'model = "v2-fast"\n');
    const read = config.read({ includeLayers: true });
    expect(read.config.model).toBe('v2-fast');
    expect(read.config.approval_policy).toBe('never');
    expect(read.layers?.map((layer) => layer.name)).toEqual([
      { type: 'user', file: join(home, 'fast.config.toml'), profile: 'fast' },
      { type: 'user', file, profile: null },
    ]);
    const legacy = service('model = "base"\n[profiles.fast]\nmodel = "legacy"\n', {
      profile: 'fast',
    });
    expect(legacy.config.load().resolved.model).toBe('legacy');
    const selected = service(
      'model = "base"\nprofile = "fast"\n[profiles.fast]\nmodel = "picked"\n',
    );
    expect(selected.config.load().resolved.model).toBe('picked');
  });
});

describe('ConfigService: writing', () => {
  it('edits the file in place: comments and formatting survive byte for byte', async () => {
    const { config, file } = service(HAND_WRITTEN, {
      overrides: [parseOverride('approval_policy="never"')],
    });
    const before = config.read({}).origins.model?.version;
    const first = await config.write(
      [{ keyPath: 'model', value: 'x', mergeStrategy: 'replace' }],
      {},
    );
    expectReferenceShape('ConfigWriteResponse', first);
    // the reference's answer and file for the same write
    expect(first).toEqual({
      status: 'ok',
      version: 'sha256:b61dc693117ad68e9751d0262766403fae4b3643d09fe5a980d0bac99a1d9998',
      filePath: file,
      overriddenMetadata: null,
    });
    expect(readFileSync(file, 'utf8')).toBe(HAND_WRITTEN.replace('"orig"', '"x"'));

    const stale = await rpcError(() =>
      config.write([{ keyPath: 'model', value: 'y', mergeStrategy: 'replace' }], {
        expectedVersion: before,
      }),
    );
    expect(stale).toEqual({
      code: -32600,
      message: 'Configuration was modified since last read. Fetch latest version and retry.',
      data: { config_write_error_code: 'configVersionConflict' },
    });

    await config.write([{ keyPath: 'foo.bar', value: 1, mergeStrategy: 'replace' }], {
      expectedVersion: first.version,
    });
    const overridden = await config.write(
      [{ keyPath: 'approval_policy', value: 'on-request', mergeStrategy: 'replace' }],
      {},
    );
    expect(overridden).toMatchObject({
      status: 'okOverridden',
      overriddenMetadata: {
        message: 'Overridden by session flags',
        overridingLayer: {
          name: { type: 'sessionFlags' },
          version: 'sha256:fb622b23fd11fdda0d0fa9b79e23134a92edc8755b5130aa08eeb43223386fb8',
        },
        effectiveValue: 'never',
      },
    });
    await config.write(
      [
        {
          keyPath: 'model_providers.mock.base_url',
          value: 'http://h/v1',
          mergeStrategy: 'replace',
        },
      ],
      {},
    );
    await config.write(
      [
        {
          keyPath: 'sandbox_workspace_write',
          value: { network_access: false },
          mergeStrategy: 'upsert',
        },
      ],
      {},
    );
    // exactly what codex 0.169.0 wrote after the same edits
    expect(readFileSync(file, 'utf8')).toBe(
      '# top comment\nmodel = "x"  # trailing\napproval_policy = "on-request"\n\n[model_providers.mock]\nname = "Mock"   # keep\nbase_url = "http://h/v1"\n\n# about profiles\n[profiles.fast]\nmodel = "f"\n\n[foo]\nbar = 1\n\n[sandbox_workspace_write]\nnetwork_access = false\n',
    );
  });

  it('refuses a wrong type or variant with configValidationError and leaves the file alone', async () => {
    const { config, file } = service(HAND_WRITTEN);
    const cases: Array<[string, unknown, string]> = [
      [
        'sandbox_mode',
        'bogus',
        'Invalid configuration: unknown variant `bogus`, expected one of `read-only`, `workspace-write`, `danger-full-access`\nin `sandbox_mode`\n',
      ],
      [
        'model',
        5,
        'Invalid configuration: invalid type: integer `5`, expected a string\nin `model`\n',
      ],
      [
        'model_providers.mock.request_max_retries',
        'lots',
        'Invalid configuration: invalid type: string "lots", expected u64\nin `model_providers.mock.request_max_retries`\n',
      ],
    ];
    for (const [keyPath, value, message] of cases) {
      expect(
        await rpcError(() => config.write([{ keyPath, value, mergeStrategy: 'replace' }], {})),
      ).toEqual({
        code: -32600,
        message,
        data: { config_write_error_code: 'configValidationError' },
      });
      expect(readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
    }
    // one bad edit in a batch: none of it is written
    await rpcError(() =>
      config.write(
        [
          { keyPath: 'model', value: 'b1', mergeStrategy: 'replace' },
          { keyPath: 'sandbox_mode', value: 'bogus', mergeStrategy: 'replace' },
        ],
        {},
      ),
    );
    expect(readFileSync(file, 'utf8')).toBe(HAND_WRITTEN);
    expect(
      await rpcError(() => config.write([{ keyPath: '', value: 1, mergeStrategy: 'replace' }], {})),
    ).toMatchObject({ message: 'keyPath must not be empty' });
    expect(
      await rpcError(() =>
        config.write([{ keyPath: 'model', value: 'x', mergeStrategy: 'replace' }], {
          filePath: '/tmp/other-config.toml',
        }),
      ),
    ).toEqual({
      code: -32600,
      message: 'Only writes to the user config are allowed',
      data: { config_write_error_code: 'configLayerReadonly' },
    });
  });

  it('removes a key written as null, and creates the file when there is none', async () => {
    const { config, file } = service(undefined);
    await config.write([{ keyPath: 'model', value: 'm', mergeStrategy: 'replace' }], {});
    await config.write(
      [{ keyPath: 'model_reasoning_effort', value: 'high', mergeStrategy: 'replace' }],
      {},
    );
    await config.write([{ keyPath: 'model', value: null, mergeStrategy: 'replace' }], {});
    expect(readFileSync(file, 'utf8')).toBe('model_reasoning_effort = "high"\n');
  });

  it('never loses a write when two writers edit different keys at once', async () => {
    const { home, config, file } = service('# shared\n');
    // a second service on the same home stands for another server process
    const other = new ConfigService({ home, systemFile: null, env: {} });
    const writes = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? config : other).write(
        [{ keyPath: `writers.key${i}`, value: i, mergeStrategy: 'replace' }],
        {},
      ),
    );
    await Promise.all(writes);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# shared\n')).toBe(true);
    const written = config.read({ includeLayers: true }).layers?.[0]?.config;
    expect(written).toEqual({
      writers: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`key${i}`, i])),
    });
  });
});

describe('parseOverride', () => {
  it('parses the value as TOML, else keeps the raw string', () => {
    expect(parseOverride('model="o3"')).toEqual({ keyPath: ['model'], value: 'o3' });
    expect(parseOverride('approval_policy=never')).toEqual({
      keyPath: ['approval_policy'],
      value: 'never',
    });
    expect(parseOverride('a.b=[1, 2]')).toEqual({ keyPath: ['a', 'b'], value: [1, 2] });
    expect(parseOverride('p={name="x", retries=2}')).toEqual({
      keyPath: ['p'],
      value: { name: 'x', retries: 2 },
    });
    expect(parseOverride('model_providers."my.gw".base_url="u"').keyPath).toEqual([
      'model_providers',
      'my.gw',
      'base_url',
    ]);
    expect(() => parseOverride('novalue')).toThrow(/missing '='/);
  });
});
