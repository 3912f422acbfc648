import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { turnLoopRuntimeFactory } from '@tether/agent-core';
import { silentLogger } from '@tether/protocol';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigService } from './config/index.js';
import { AppService } from './service.js';
import { inProcessClient } from './test-support/in-process-client.js';

const services: AppService[] = [];
afterEach(async () => {
  for (const service of services.splice(0)) await service.close();
});

async function start() {
  const home = tempHome('tether-accounts-');
  const service = new AppService({
    home,
    logger: silentLogger(),
    runtimeFactory: turnLoopRuntimeFactory(async () => ({ status: 'completed' })),
    config: new ConfigService({ home, systemFile: null, env: {} }),
  });
  services.push(service);
  const { call } = await inProcessClient(service, 'accounts');
  return { call, home };
}

describe('account/login/start with an API key', () => {
  it.each([
    ['sk-abc\ndef', 'U+000A at position 7'],
    ['sk-€uro', 'U+20AC at position 4'],
    ['sk-\u0000x', 'U+0000 at position 4'],
  ])('refuses %j, which no HTTP header can carry, and stores nothing', async (apiKey, where) => {
    const { call, home } = await start();
    const answer = await call('account/login/start', { type: 'apiKey', apiKey });
    expect(answer.kind).toBe('error');
    if (answer.kind !== 'error') return;
    expect(answer.error.code).toBe(-32600);
    expect(answer.error.message).toContain('cannot be sent in an HTTP header');
    expect(answer.error.message).toContain(where);
    expect(answer.error.message).not.toContain(apiKey);
    expect(existsSync(join(home, 'auth.json'))).toBe(false);
  });

  it('stores a key with surrounding whitespace trimmed', async () => {
    const { call, home } = await start();
    const answer = await call('account/login/start', { type: 'apiKey', apiKey: '  sk-ok\n' });
    expect(answer.kind).toBe('response');
    expect(existsSync(join(home, 'auth.json'))).toBe(true);
  });
});
