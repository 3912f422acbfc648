import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Inbound } from './connection.js';
import { silentLogger } from './logger.js';
import { closed } from './test-support/ws-client.js';
import { ControlSocketError, startUnixSocket, type UnixSocketListener } from './unix-socket.js';

const logger = silentLogger();
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const scratch = () => tempHome('tether-unix-');

async function serve(
  path: string,
  initializeState?: () => Promise<void>,
): Promise<UnixSocketListener> {
  const inbound = new Inbound({ logger });
  const listener = await startUnixSocket(inbound, {
    path,
    logger,
    ...(initializeState ? { initializeState } : {}),
  });
  cleanups.push(() => listener.close());
  return listener;
}

function connectUnix(path: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${path}:/`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('unix control socket', () => {
  it('speaks websocket over the socket, with a private directory and a 0600 socket', async () => {
    const dir = scratch();
    const path = join(dir, 'app-server-control', 'app-server-control.sock');
    const inbound = new Inbound({ logger });
    const listener = await startUnixSocket(inbound, { path, logger });
    cleanups.push(() => listener.close());
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'app-server-control')).mode & 0o777).toBe(0o700);

    const ws = await connectUnix(path);
    const opened = await inbound.events.next();
    expect(opened.value).toMatchObject({ type: 'opened', connection: { origin: 'unix' } });
    ws.send('{"id":"a","method":"initialize","params":{}}');
    expect((await inbound.events.next()).value).toMatchObject({
      type: 'message',
      message: { kind: 'request', id: 'a' },
    });
    const done = closed(ws);
    await listener.close();
    expect((await done).code).toBe(1001);
    expect(existsSync(path)).toBe(false);
  });

  it('removes a stale socket file before binding', async () => {
    const dir = scratch();
    const path = join(dir, 'stale.sock');
    // a server that crashed: a process listening on the path, killed with SIGKILL, leaves the file
    const crashed = spawn(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise((resolve) => crashed.stdout.once('data', resolve));
    crashed.kill('SIGKILL');
    await new Promise((resolve) => crashed.once('exit', resolve));
    expect(existsSync(path)).toBe(true);
    await serve(path);
    const ws = await connectUnix(path);
    ws.terminate();
  });

  it('refuses a path held by a live listener, and a path that is not a socket', async () => {
    const dir = scratch();
    const path = join(dir, 'live.sock');
    await serve(path);
    let initialized = false;
    const second = startUnixSocket(new Inbound({ logger }), {
      path,
      logger,
      initializeState: async () => {
        initialized = true;
      },
    });
    await expect(second).rejects.toThrow(`app-server control socket is already in use at ${path}`);
    await expect(second).rejects.toBeInstanceOf(ControlSocketError);
    expect(initialized).toBe(false);

    const plain = join(dir, 'plain-file');
    writeFileSync(plain, 'not a socket');
    await expect(startUnixSocket(new Inbound({ logger }), { path: plain, logger })).rejects.toThrow(
      `app-server control socket path exists and is not a socket: ${plain}`,
    );
    expect(readFileSync(plain, 'utf8')).toBe('not a socket');
  });

  it('ten launches at once: exactly one serves, nine fail in use, state initialized once', async () => {
    const dir = scratch();
    mkdirSync(join(dir, 'app-server-control'));
    const path = join(dir, 'app-server-control', 'app-server-control.sock');
    const initLog = join(dir, 'init.log');
    writeFileSync(initLog, '');
    const child = new URL('./test-support/unix-race-child.mjs', import.meta.url).pathname;
    const launches = Array.from({ length: 10 }, () => {
      const proc = spawn(process.execPath, [child, path, initLog], { stdio: 'pipe' });
      cleanups.push(() => {
        proc.kill('SIGKILL');
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
      });
      proc.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      return new Promise<{ outcome: string; stderr: string; proc: typeof proc }>((resolve) => {
        proc.stdout.on('data', () => {
          if (stdout.includes('serving')) resolve({ outcome: 'serving', stderr, proc });
        });
        proc.once('exit', (code) => resolve({ outcome: `exit ${code}`, stderr, proc }));
      });
    });
    const results = await Promise.all(launches);
    const serving = results.filter((r) => r.outcome === 'serving');
    const failed = results.filter((r) => r.outcome === 'exit 1');
    expect(serving).toHaveLength(1);
    expect(failed).toHaveLength(9);
    for (const f of failed) {
      expect(f.stderr).toContain(`app-server control socket is already in use at ${path}`);
    }
    expect(readFileSync(initLog, 'utf8').trim().split('\n')).toHaveLength(1);
    const winner = serving[0]?.proc;
    const exited = new Promise((resolve) => winner?.once('exit', resolve));
    winner?.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(existsSync(path)).toBe(false);
  });
});
