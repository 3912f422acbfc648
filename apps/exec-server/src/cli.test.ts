import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

async function launch(
  args: string[],
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('prints help, and refuses bad flags with exit code 2', () => {
    const help = spawnSync(process.execPath, [cli, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--session-ttl');
    expect(help.stdout).toContain('--max-retained-output');
    const bad = spawnSync(process.execPath, [cli, '--output-overflow', 'sometimes'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("invalid value 'sometimes' for '--output-overflow'");
    const stdio = spawnSync(process.execPath, [cli, '--listen', 'stdio://'], { encoding: 'utf8' });
    expect(stdio.status).toBe(2);
  });
});
