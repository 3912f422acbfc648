import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, type Logger, REDACTED } from './logger.js';

describe('createLogger', () => {
  it('is a Logger: packages take the servers pino logger as it is', () => {
    // Compiles only while pino's logger fits protocol's Logger.
    const logger: Logger = createLogger({ service: 'x', level: 'silent' });
    const child: Logger = pino({ level: 'silent' }).child({ connectionId: 1 });
    expect([logger, child]).toHaveLength(2);
  });

  it('censors tokens, keys and authorization headers in the JSON lines it writes to a descriptor', () => {
    // A file descriptor takes the same path as stderr (fd 2): pino's synchronous fd writer.
    const dir = mkdtempSync(join(tmpdir(), 'tether-log-'));
    const path = join(dir, 'stderr.log');
    const fd = openSync(path, 'w');
    try {
      const logger = createLogger({ service: 'tether-test', level: 'debug', destination: fd });
      logger.info(
        {
          token: 'tok-top',
          auth: { apiKey: 'sk-nested', password: 'hunter2', user: 'ann' },
          req: { headers: { authorization: 'Bearer abc', host: 'localhost' } },
          headers: { 'set-cookie': 'session=1' },
          env: { OPENAI_API_KEY: 'sk-env' },
          threadId: 't1',
        },
        'connected',
      );
      logger.child({ connectionId: 7 }).debug({ params: { secret: 's3', cwd: '/tmp' } }, 'call');
      logger.info({ api_key: 'k', access_token: 'a', sharedSecret: 'x' }, 'flat');
    } finally {
      closeSync(fd);
    }
    const text = readFileSync(path, 'utf8');
    rmSync(dir, { recursive: true, force: true });
    for (const secret of [
      'tok-top',
      'sk-nested',
      'hunter2',
      'Bearer abc',
      'session=1',
      'sk-env',
      's3',
    ]) {
      expect(text).not.toContain(secret);
    }
    const [first, second, third] = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(first).toMatchObject({
      service: 'tether-test',
      msg: 'connected',
      threadId: 't1',
      token: REDACTED,
      auth: { apiKey: REDACTED, password: REDACTED, user: 'ann' },
      req: { headers: { authorization: REDACTED, host: 'localhost' } },
      headers: { 'set-cookie': REDACTED },
      env: { OPENAI_API_KEY: REDACTED },
    });
    expect(second).toMatchObject({ connectionId: 7, params: { secret: REDACTED, cwd: '/tmp' } });
    expect(third).toMatchObject({
      api_key: REDACTED,
      access_token: REDACTED,
      sharedSecret: REDACTED,
    });
  });

  it('writes nothing below its level', () => {
    const lines: string[] = [];
    const logger = createLogger({
      service: 'tether-test',
      level: 'warn',
      destination: { write: (line: string) => lines.push(line) },
    });
    logger.info({ token: 'x' }, 'quiet');
    logger.warn({ token: 'x' }, 'loud');
    expect(lines.map((line) => JSON.parse(line))).toMatchObject([{ msg: 'loud', token: REDACTED }]);
  });
});
