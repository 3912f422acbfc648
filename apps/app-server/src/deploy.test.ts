import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { launchAppServer, launchExecServer, readDockerfile, tempHome } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';

// Both servers' container recipes (deploy/<name>/Dockerfile), checked as far as it can be done
// without a container runtime. This app dev-depends on the exec-server, so both are built here.
const root = new URL('../../..', import.meta.url).pathname;
const servers = [
  { name: 'app-server', launch: launchAppServer },
  { name: 'exec-server', launch: launchExecServer },
];

/** The package's one bin, as a path inside the package. */
function binTarget(packageDir: string): string {
  const pkg: unknown = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
  const bins = typeof pkg === 'object' && pkg !== null && 'bin' in pkg ? pkg.bin : {};
  const targets = typeof bins === 'object' && bins !== null ? Object.values(bins) : [];
  expect(targets).toHaveLength(1);
  return normalize(String(targets[0]));
}

/** The value after `flag` in an argument list. */
function flagValue(args: readonly string[], flag: string): string {
  const at = args.indexOf(flag);
  expect(at, `${flag} in ${args.join(' ')}`).toBeGreaterThanOrEqual(0);
  return args[at + 1] ?? '';
}

describe.each(servers)('deploy/$name/Dockerfile, checked offline', ({ name, launch }) => {
  const packageDir = join(root, 'apps', name);
  const facts = readDockerfile(join(root, 'deploy', name, 'Dockerfile'));

  it('copies only what the build context has', () => {
    expect(facts.contextCopies.length).toBeGreaterThan(0);
    for (const source of facts.contextCopies) {
      expect(existsSync(join(root, source)), source).toBe(true);
    }
  });

  it("runs the package's bin from the deployed package", () => {
    expect(facts.workdir).toBe('/app');
    expect(facts.cmd[0]).toBe('node');
    expect(normalize(facts.cmd[1] ?? '')).toBe(binTarget(packageDir));
  });

  it('health-checks the path the server answers, on the port it listens on', async () => {
    const probe = facts.healthcheck.join(' ');
    const match = /http:\/\/127\.0\.0\.1:(\d+)(\/[a-z]+)/.exec(probe);
    expect(match, probe).not.toBeNull();
    const [, port, path] = match ?? [];
    expect(new URL(flagValue(facts.cmd, '--listen')).port).toBe(port);
    // the image's own command line, on a free loopback port and a token of our own
    const token = join(tempHome('tether-deploy-'), 'token');
    writeFileSync(token, 'a-capability-token-for-the-deploy-test', { mode: 0o600 });
    const args = facts.cmd.slice(2).map((arg, i, all) => {
      if (all[i - 1] === '--listen') return 'ws://127.0.0.1:0';
      if (all[i - 1] === '--ws-token-file') return token;
      return arg;
    });
    await using server = launch(join(packageDir, facts.cmd[1] ?? ''), args, {
      env: { ...process.env, TETHER_HOME: tempHome('tether-deploy-home-'), OPENAI_API_KEY: 'k' },
    });
    const url = new URL(await server.url);
    expect((await fetch(`http://${url.host}${path}`)).status).toBe(200);
    // the websocket itself wants the token: refused without it, accepted with it
    const connect = (headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url.href, { headers });
        socket.once('open', () => {
          socket.close();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) => {
          resolve(response.statusCode ?? 0);
          socket.terminate();
        });
        socket.once('error', () => resolve(0));
      });
    expect(await connect({})).toBe(401);
    expect(await connect({ authorization: 'Bearer a-capability-token-for-the-deploy-test' })).toBe(
      101,
    );
  }, 30_000);
});
