import { describe, expect, it } from 'vitest';
import { pidAlive } from './processes.js';
import { launchAppServer, launchExecServer, launchServer } from './server-process.js';

const fake = new URL('./test-support/fake-server.mjs', import.meta.url).pathname;

describe('server processes', () => {
  it('reads the URL from an app-server style banner on stderr and kills the server on dispose', async () => {
    let pid = 0;
    {
      await using server = launchAppServer(fake, ['stderr']);
      const url = await server.url;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(await (await fetch(url)).text()).toBe('ok');
      expect(server.stderr()).toContain(`listening on: ${url}`);
      pid = server.child.pid as number;
      expect(server.running).toBe(true);
    }
    expect(pidAlive(pid)).toBe(false);
  });

  it('reads an exec-server style URL, the first line of stdout', async () => {
    await using server = launchExecServer(fake, ['stdout']);
    const url = await server.url;
    expect(server.stdout()).toBe(`${url}\n`);
    expect((await fetch(url)).status).toBe(200);
  });

  it('reports the exit of a server that stops by itself, with its output', async () => {
    await using server = launchServer({
      args: [fake, 'exit', '3'],
      banner: { stream: 'stderr', pattern: /listening on: (\S+)/ },
    });
    expect(await server.exited).toBe(3);
    expect(server.stderr()).toBe('fake-server: refusing to start\n');
    await expect(server.url).rejects.toThrow(
      /exited \(3\) before printing its URL; stdout: \nstderr: fake-server: refusing to start/,
    );
  });

  it('gives up on a server that prints no URL in time', async () => {
    await using server = launchServer({
      args: [fake, 'silent'],
      banner: { stream: 'stdout', pattern: /^(\S+)\n/ },
      timeoutMs: 200,
    });
    await expect(server.url).rejects.toThrow(/printed no URL in 200 ms/);
    expect(server.running).toBe(true);
  });

  it('passes a signal on and reports the exit code it caused', async () => {
    await using server = launchExecServer(fake, ['stdout']);
    await server.url;
    server.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.running).toBe(false);
  });

  it('stops a server and waits for its exit: SIGKILL unless told otherwise', async () => {
    await using killed = launchExecServer(fake, ['stdout']);
    await using terminated = launchExecServer(fake, ['stdout']);
    await Promise.all([killed.url, terminated.url]);
    expect(await killed.stop()).toBeNull();
    expect(await terminated.stop('SIGTERM')).toBe(0);
    expect(await terminated.stop()).toBe(0); // already gone: nothing is sent again
  });

  it('reports a command that cannot be started', async () => {
    await using server = launchServer({
      command: '/nonexistent/tether-test-kit',
      args: [],
      banner: { stream: 'stdout', pattern: /^(\S+)\n/ },
    });
    await expect(server.url).rejects.toThrow(
      'could not be started: spawn /nonexistent/tether-test-kit ENOENT',
    );
    expect(await server.exited).toBeNull();
  });
});
