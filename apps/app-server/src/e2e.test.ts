import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppServerClient } from '@tether/client';
import { app } from '@tether/protocol';
import { launchAppServer, type ServerProcess, sleep, tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';

const cli = new URL('../dist/cli.js', import.meta.url).pathname;
const clients: AppServerClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});

const home = () => tempHome('tether-e2e-');

/** The environment of a launched server: no model and no remote exec-server configured. */
function serverEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TETHER_LOG: 'warn', ...extra };
  for (const name of ['OPENAI_API_KEY', 'OPENAI_BASE_URL', 'TETHER_EXEC_SERVER_URL'])
    delete env[name];
  return env;
}

function launch(args: string[], env: NodeJS.ProcessEnv = {}): ServerProcess {
  return launchAppServer(cli, args, { env: serverEnv(env) });
}

async function exercise(c: AppServerClient): Promise<void> {
  const init = await c.initialize({ name: 'e2e', version: '1.0.0' });
  expect(app.InitializeResponse.parse(init)).toEqual(init);
  const { thread } = await c.request('thread/start', { cwd: '/tmp' });
  await c.waitForNotification('thread/started');
  expect(await c.request('thread/loaded/list', {})).toEqual({
    data: [thread.id],
    nextCursor: null,
  });
  // with no model configured, a turn fails with a clear error naming the problem
  await c.request('turn/start', { threadId: thread.id, input: [{ type: 'text', text: 'hi' }] });
  const error = await c.waitForNotification('error');
  expect((error.params as { error: { message: string } }).error.message).toMatch(
    /no model is configured/,
  );
  const done = await c.waitForNotification('turn/completed');
  expect((done.params as { turn: app.Turn }).turn.status).toBe('failed');
  const read = await c.request('thread/read', { threadId: thread.id, includeTurns: true });
  expect(read.thread.turns?.[0]?.items[0]).toMatchObject({ type: 'userMessage' });
}

describe('tether-app-server executable', () => {
  it('serves stdio: protocol only on stdout, exits 0 on EOF', async () => {
    const c = AppServerClient.spawnStdio(process.execPath, [cli], {
      env: serverEnv({ TETHER_HOME: home(), TETHER_LOG: 'info' }),
    });
    clients.push(c);
    const invalid: string[] = [];
    c.on('invalid', (text: string) => invalid.push(text));
    await exercise(c);
    c.close();
    const closed = await c.closed;
    expect(closed.code).toBe(0);
    expect(invalid).toEqual([]); // every stdout line was a JSON-RPC message
  });

  it('serves websocket with a banner, health endpoints, and exits 0 on SIGTERM', async () => {
    await using proc = launch(['--listen', 'ws://127.0.0.1:0'], { TETHER_HOME: home() });
    const url = await proc.url;
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(proc.stderr()).toMatch(/readyz: http:\/\/127\.0\.0\.1:\d+\/readyz/);
    const health = await fetch(`${url.replace('ws://', 'http://')}/healthz`);
    expect(health.status).toBe(200);
    const c = await AppServerClient.connectWebSocket(url);
    clients.push(c);
    await exercise(c);
    proc.kill('SIGHUP'); // never forces anything
    await sleep(200);
    expect(proc.running).toBe(true);
    const closed = c.closed;
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect((await closed).code).toBe(1001);
  });

  it('serves the unix control socket; a second launch on the same path fails; the socket is removed', async () => {
    const dir = home();
    await using proc = launch(['--listen', 'unix://'], { TETHER_HOME: dir });
    const path = join(dir, 'app-server-control', 'app-server-control.sock');
    expect(await proc.url).toBe(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const c = await AppServerClient.connectUnix(path);
    clients.push(c);
    await exercise(c);

    await using second = launch(['--listen', 'unix://'], { TETHER_HOME: dir });
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(`app-server control socket is already in use at ${path}`);

    proc.kill('SIGINT');
    expect(await proc.exited).toBe(0);
    expect(existsSync(path)).toBe(false);
  });

  it('refuses bad flags with a clear message', async () => {
    await using bad = launch(['--listen', 'ws://localhost:1'], { TETHER_HOME: home() });
    expect(await bad.exited).toBe(2); // a wrong command line, as every usage error
    expect(bad.stderr()).toContain(
      'invalid websocket --listen URL `ws://localhost:1`; expected `ws://IP:PORT`',
    );
    await using open = launch(['--listen', 'ws://0.0.0.0:0'], { TETHER_HOME: home() });
    expect(await open.exited).toBe(1);
    expect(open.stderr()).toContain('refusing to start non-loopback websocket listener');
    await using help = launch(['--help']);
    expect(await help.exited).toBe(0);
  });

  it('a second SIGINT forces the exit', async () => {
    await using proc = launch(['--listen', 'ws://127.0.0.1:0'], { TETHER_HOME: home() });
    const c = await AppServerClient.connectWebSocket(await proc.url);
    clients.push(c);
    await c.initialize({ name: 'e2e', version: '1' });
    proc.kill('SIGINT');
    proc.kill('SIGINT');
    expect(await proc.exited).toBe(0);
  });
});
