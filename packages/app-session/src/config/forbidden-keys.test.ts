import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { silentLogger } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { AppService } from '../service.js';
import { inProcessClient } from '../test-support/in-process-client.js';
import { ConfigOverrideError, parseOverride } from './overrides.js';
import { ConfigService } from './service.js';

const services: AppService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

const ORIGINAL = '# mine\nmodel = "m"\n';

async function start() {
  const home = tempHome('tether-config-forbidden-');
  const file = join(home, 'config.toml');
  writeFileSync(file, ORIGINAL);
  const service = new AppService({
    home,
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
    config: new ConfigService({ home, systemFile: null, env: {} }),
  });
  services.push(service);
  const { call } = await inProcessClient(service, 'forbidden-keys');
  return { call, file };
}

describe('configuration keys that name a prototype', () => {
  it.each([
    ['__proto__.polluted', 1],
    ['model_providers.__proto__.polluted', 1],
    ['a."__proto__".polluted', 1],
    ['constructor.prototype.polluted', 1],
    ['model_providers', { __proto__: { polluted: 1 } }],
  ])('config/value/write %s is refused and pollutes nothing', async (keyPath, rawValue) => {
    const { call, file } = await start();
    // a JSON value with an own `__proto__` key, as a client's JSON would arrive
    const value = typeof rawValue === 'object' ? JSON.parse('{"__proto__":{"polluted":1}}') : 1;
    for (const mergeStrategy of ['replace', 'upsert']) {
      const answer = await call('config/value/write', { keyPath, value, mergeStrategy });
      expect(answer.kind).toBe('error');
      if (answer.kind !== 'error') return;
      expect(answer.error.code).toBe(-32600);
      expect(answer.error.data).toEqual({ config_write_error_code: 'configValidationError' });
      expect(answer.error.message).toMatch(/is not allowed/);
    }
    const batch = await call('config/batchWrite', {
      edits: [{ keyPath, value, mergeStrategy: 'replace' }],
    });
    expect(batch.kind).toBe('error');
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
    expect(Reflect.get(Object.prototype, 'polluted')).toBeUndefined();
    expect(readFileSync(file, 'utf8')).toBe(ORIGINAL);
  });

  it('refuses them in -c flags', () => {
    expect(() => parseOverride('__proto__.polluted=1')).toThrow(ConfigOverrideError);
    expect(() => parseOverride('a.constructor.prototype.polluted=1')).toThrow(ConfigOverrideError);
    expect(() => parseOverride('a={__proto__={polluted=1}}')).toThrow(ConfigOverrideError);
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
  });

  it('finds no provider named after an Object member', () => {
    const home = tempHome('tether-config-forbidden-');
    for (const id of ['constructor', 'toString', 'hasOwnProperty']) {
      writeFileSync(
        join(home, 'config.toml'),
        `model_provider = "${id}"\n[model_providers.other]\nname = "Other"\n`,
      );
      const loaded = new ConfigService({ home, systemFile: null, env: {} }).tryLoad();
      expect(loaded.error?.message).toBe(`Model provider \`${id}\` not found`);
    }
  });

  it('keeps a hand-written [__proto__] table as a plain key', () => {
    const home = tempHome('tether-config-forbidden-');
    writeFileSync(join(home, 'config.toml'), '[__proto__]\npolluted = 1\n');
    const loaded = new ConfigService({ home, systemFile: null, env: {} }).load();
    expect(Object.hasOwn(loaded.effective, '__proto__')).toBe(true);
    expect(Reflect.get(loaded.effective, 'polluted')).toBeUndefined();
    expect(Reflect.get({}, 'polluted')).toBeUndefined();
  });
});
