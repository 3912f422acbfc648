import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startParams, WsClient } from './test-support/ws-client.js';

// The tests run the built executable, as a user would.
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

function launch(args: string[]) {
  return launchWith(args, {});
}

async function launchWith(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [cli, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (data: Buffer) => {
      out += data.toString();
      const newline = out.indexOf('\n');
      if (newline !== -1) resolve(out.slice(0, newline));
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

describe('tether-exec-server', () => {
  it('prints the bound URL on stdout, logs JSON on stderr, and serves /readyz', async () => {
    const { url, stderr } = await launch(['--listen', 'ws://127.0.0.1:0', '--log-level', 'info']);
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${url.replace('ws://', 'http://')}/readyz`);
    expect(response.status).toBe(200);
    const firstLog = JSON.parse(stderr().split('\n')[0] as string);
    expect(firstLog).toMatchObject({ msg: 'exec-server listening', url });
  });

  it('on SIGTERM kills the managed process groups and exits 0', async () => {
    const { child, url } = await launch([]);
    const client = await WsClient.connect(url);
    await client.initialize();
    await client.call(
      'process/start',
      startParams('s', ['/bin/sh', '-c', 'sleep 600 & echo $!; wait']),
    );
    const s = client.collector('s');
    await client.waitFor(() => s.output.size > 0);
    const grandchild = Number(s.bytes().toString());
    expect(pidAlive(grandchild)).toBe(true);
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const deadline = Date.now() + 10_000;
    while (pidAlive(grandchild) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(pidAlive(grandchild)).toBe(false);
    client.terminate();
  });

  it('leaves no child behind when it is SIGKILLed: pipe and terminal processes and their children', async () => {
    const { child, url } = await launch([]);
    const client = await WsClient.connect(url);
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
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const deadline = Date.now() + 10_000;
    while (pids.some(pidAlive) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(pids.filter(pidAlive)).toEqual([]);
    client.terminate();
  });

  it('fails to start with one clear line and no stack trace, whatever the reason', async () => {
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const address = busy.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const dir = mkdtempSync(join(tmpdir(), 'exec-cli-'));
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
    const quiet = await launch(['--log-level', 'warn']);
    const verbose = await launchWith([], { TETHER_LOG: 'debug' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(quiet.stderr()).not.toContain('exec-server listening');
    expect(verbose.stderr()).toContain('exec-server listening');
  });
});
