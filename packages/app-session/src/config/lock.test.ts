import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempHome } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { ConfigService } from './service.js';

/** The pid of a process that has exited: the holder of a lock it left behind. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(child.stdout.toString());
}

/** A lock file as a writer that died holding it leaves it: its pid, written long ago. */
function staleLock(file: string, ageMs: number, pid = deadPid()): void {
  const lock = `${file}.lock`;
  writeFileSync(lock, `${pid}\n${hostname()}\nothers\n`);
  const then = (Date.now() - ageMs) / 1000;
  utimesSync(lock, then, then);
}

const writersOf = (home: string, count: number) =>
  Array.from({ length: count }, () => new ConfigService({ home, systemFile: null, env: {} }));

describe('the config.toml lock', () => {
  it('lets exactly one of many writers take over a stale lock: no write is lost', async () => {
    for (let round = 0; round < 20; round++) {
      const home = tempHome('tether-config-lock-');
      const file = join(home, 'config.toml');
      writeFileSync(file, '# shared\n');
      staleLock(file, 60_000);
      // separate services on one home stand for separate server processes
      const writers = writersOf(home, 8);
      await Promise.all(
        writers.map((writer, i) =>
          writer.write([{ keyPath: `writers.key${i}`, value: i, mergeStrategy: 'replace' }], {}),
        ),
      );
      const written = writers[0]?.read({ includeLayers: true }).layers?.[0]?.config;
      expect(written).toEqual({
        writers: Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`key${i}`, i])),
      });
      expect(readFileSync(file, 'utf8').startsWith('# shared\n')).toBe(true);
      expect(readdirSync(home).filter((name) => name.includes('.lock'))).toEqual([]);
    }
    // a race: 20 rounds make a double takeover show reliably where one is possible; a round takes
    // about half a second, several times that on a loaded machine
  }, 120_000);

  it('takes over at once a lock whose holder has exited', async () => {
    const home = tempHome('tether-config-lock-');
    const file = join(home, 'config.toml');
    staleLock(file, 0);
    const [writer] = writersOf(home, 1);
    await writer?.write([{ keyPath: 'model', value: 'm', mergeStrategy: 'replace' }], {});
    expect(readFileSync(file, 'utf8')).toBe('model = "m"\n');
  });

  it('waits for a live holder and gives up after the timeout', async () => {
    const home = tempHome('tether-config-lock-');
    const file = join(home, 'config.toml');
    // this process holds it, and just took it
    staleLock(file, 0, process.pid);
    const writer = new ConfigService({ home, systemFile: null, env: {}, lockTimeoutMs: 200 });
    await expect(
      writer.write([{ keyPath: 'model', value: 'm', mergeStrategy: 'replace' }], {}),
    ).rejects.toThrow(/locked by another writer/);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.lock`)).toBe(true);
  });
});
