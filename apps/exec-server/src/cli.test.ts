import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchExecServer, pidAlive, sleep, tempHome, waitFor } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { startParams, WsClient } from './test-support/ws-client.js';

// The tests run the built executable, as a user would.
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const launch = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  launchExecServer(cli, args, { env: { ...process.env, ...env } });

describe('tether-exec-server', () => {
  it('prints the bound URL on stdout, logs JSON on stderr, and serves /readyz', async () => {
    await using server = launch(['--listen', 'ws://127.0.0.1:0', '--log-level', 'info']);
    const url = await server.url;
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url.replace('ws://', 'http://')}/readyz`);
    expect(response.status).toBe(200);
    const firstLog = JSON.parse(server.stderr().split('\n')[0] as string);
    expect(firstLog).toMatchObject({ msg: 'exec-server listening', url });
  });

  it('on SIGTERM kills the managed process groups and exits 0', async () => {
    await using server = launch([]);
    const client = await WsClient.connect(await server.url);
    await client.initialize();
    await client.call(
      'process/start',
      startParams('s', ['/bin/sh', '-c', 'sleep 600 & echo $!; wait']),
    );
    const s = client.collector('s');
    await client.waitFor(() => s.output.size > 0);
    const grandchild = Number(s.bytes().toString());
    expect(pidAlive(grandchild)).toBe(true);
    expect(await server.stop('SIGTERM')).toBe(0);
    await waitFor(() => !pidAlive(grandchild));
    client.terminate();
  });

  it('leaves no child behind when it is SIGKILLed: pipe and terminal processes and their children', async () => {
    await using server = launch([]);
    const client = await WsClient.connect(await server.url);
    await client.initialize();
    const script = 'sleep 600 & echo "$$ $!"; wait';
    await client.call('process/start', startParams('pipe', ['/bin/sh', '-c', script]));
    await client.call(
      'process/start',
      startParams('tty', ['/bin/sh', '-c', script], { tty: true }),
    );
    const pids: number[] = [];
    for (const id of ['pipe', 'tty']) {
      const output = client.collector(id);
      await client.waitFor(() => /\d+ \d+/.test(output.bytes().toString()));
      pids.push(...(output.bytes().toString().match(/\d+/g) ?? []).map(Number));
    }
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(pidAlive(pid)).toBe(true);
    await server.stop('SIGKILL');
    await waitFor(() => !pids.some(pidAlive));
    client.terminate();
  });

  it('fails to start with one clear line and no stack trace, whatever the reason', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = busy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const dir = tempHome('exec-cli-');
    writeFileSync(join(dir, 'short.key'), 'x'.repeat(10));
    const cases: Array<[string[], RegExp]> = [
      [['--listen', 'ws://0.0.0.0:0'], /refusing to start non-loopback websocket listener/],
      [['--listen', `ws://127.0.0.1:${port}`], /address already in use/],
      [
        ['--ws-auth', 'signed-bearer-token', '--ws-shared-secret-file', join(dir, 'nope')],
        /failed to read websocket auth secret/,
      ],
      [
        ['--ws-auth', 'signed-bearer-token', '--ws-shared-secret-file', join(dir, 'short.key')],
        /must be at least 32 bytes/,
      ],
    ];
    try {
      for (const [args, message] of cases) {
        const run = spawnSync(process.execPath, [cli, ...args], {
          encoding: 'utf8',
          timeout: 20_000,
        });
        // Exit 1: the command line was fine, the start was not (exit 2 is kept for usage errors).
        expect(run.status, args.join(' ')).toBe(1);
        expect(run.stderr, args.join(' ')).toMatch(message);
        const lines = run.stderr.trim().split('\n');
        expect(lines, args.join(' ')).toHaveLength(1);
        expect(run.stderr).not.toMatch(/^\s+at /m);
      }
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--check-sandbox checks bubblewrap for real and exits 0 when every check holds', () => {
    const run = spawnSync(process.execPath, [cli, '--check-sandbox'], { encoding: 'utf8' });
    expect(run.stdout).toMatch(/^sandbox: works \(bubblewrap at /);
    expect(run.stdout).toContain('ok   read-only: a write is refused');
    expect(run.status).toBe(0);
    const missing = spawnSync(process.execPath, [cli, '--check-sandbox'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent' },
    });
    expect(missing.stdout).toContain('sandbox: unavailable');
    expect(missing.stdout).toContain('apt-get install bubblewrap');
    expect(missing.status).toBe(1);
  });

  it('prints help and its version, and exits 0', () => {
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--session-ttl');
    expect(help.stdout).toContain('--max-retained-output');
    expect(help.stdout).toContain('--log-level <LEVEL>');
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const version = spawnSync(process.execPath, [cli, flag], { encoding: 'utf8' });
      expect(version.status).toBe(0);
      expect(version.stdout).toBe(`tether-exec-server ${pkg.version}\n`);
    }
  });

  it('refuses a wrong command line with exit code 2: the error, the usage line and a hint', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [['--output-overflow', 'sometimes'], {}, "invalid value 'sometimes' for '--output-overflow'"],
      [['--nope'], {}, "unexpected argument '--nope' found"],
      [['--session-ttl'], {}, "a value is required for '--session-ttl' but none was supplied"],
      [['--log-level', 'nope'], {}, "invalid value 'nope' for '--log-level'"],
      [[], { TETHER_LOG: 'nope' }, "invalid value 'nope' for TETHER_LOG"],
      [['--listen', 'stdio://'], {}, 'unsupported --listen URL `stdio://`'],
      [['--listen', 'unix://'], {}, 'unsupported --listen URL `unix://`'],
    ];
    for (const [args, env, message] of cases) {
      const run = spawnSync(process.execPath, [cli, ...args], {
        encoding: 'utf8',
        env: { ...process.env, ...env },
        timeout: 20_000,
      });
      const what = `${JSON.stringify(env)} ${args.join(' ')}`;
      expect(run.status, what).toBe(2);
      expect(run.stdout, what).toBe('');
      const [first, ...rest] = run.stderr.split('\n');
      expect(first?.startsWith(`error: ${message}`), `${what}: ${first}`).toBe(true);
      expect(rest, what).toEqual([
        '',
        'Usage: tether-exec-server [OPTIONS]',
        '',
        "For more information, try '--help'.",
        '',
      ]);
      expect(run.stderr, what).not.toMatch(/^\s+at /m);
    }
  });

  it('logs at the level of --log-level or TETHER_LOG', async () => {
    await using quiet = launch(['--log-level', 'warn']);
    await using verbose = launch([], { TETHER_LOG: 'debug' });
    await Promise.all([quiet.url, verbose.url]);
    await sleep(200);
    expect(quiet.stderr()).not.toContain('exec-server listening');
    expect(verbose.stderr()).toContain('exec-server listening');
  });
});
