import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import type { Environment, RunningCommand } from '@tether/agent-core';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteEnvironment } from './remote-environment.js';
import { startTestExecServer, type TestExecServer } from './test-support/exec-server.js';

const servers: TestExecServer[] = [];
const environments: Environment[] = [];
const relays: Server[] = [];
afterEach(async () => {
  for (const environment of environments.splice(0)) await environment.close();
  for (const relay of relays.splice(0)) relay.close();
  for (const server of servers.splice(0)) await server.close();
});

async function started(options: Parameters<typeof startTestExecServer>[0] = {}) {
  const server = await startTestExecServer(options);
  servers.push(server);
  // the server says whether it can sandbox only once its probe ran (the app awaits it too)
  await server.service.sandboxSupport;
  return server;
}

async function connected(url: string, options: Parameters<typeof remoteEnvironment>[1] = {}) {
  const environment = await remoteEnvironment(url, options);
  environments.push(environment);
  return environment;
}

/**
 * A TCP relay in front of `url`, so a test can cut the connection the way a network would (the
 * environment hides its client, so `drop()` is out of reach). `cut()` destroys every socket.
 */
async function relayTo(url: string): Promise<{ url: string; cut(): void }> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const relay = createServer((inbound) => {
    const outbound = tcpConnect(Number(target.port), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  relays.push(relay);
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const address = relay.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `ws://127.0.0.1:${port}`,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
  };
}

async function collect(command: RunningCommand): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const chunk of command.output) {
    if (chunk.stream === 'stderr') stderr += chunk.data.toString('utf8');
    else stdout += chunk.data.toString('utf8');
  }
  return { stdout, stderr };
}

describe('remoteEnvironment over a websocket exec-server', () => {
  it('runs a command in its directory with exactly its environment, output before the exit code', async () => {
    const server = await started();
    const environment = await connected(server.url);
    expect(environment.id).toBe('remote');
    const command = await environment.run({
      argv: ['/bin/sh', '-c', 'pwd; echo "$ONLY_THIS"; echo oops >&2; exit 3'],
      cwd: '/tmp',
      env: { ONLY_THIS: 'here', PATH: '/usr/bin:/bin' },
    });
    expect(command.processId).toMatch(/^cmd-/);
    expect(await collect(command)).toEqual({ stdout: '/tmp\nhere\n', stderr: 'oops\n' });
    expect(await command.exitCode).toBe(3);
  });

  it('terminates a running command', async () => {
    const server = await started();
    const environment = await connected(server.url);
    const command = await environment.run({ argv: ['sleep', '30'], cwd: '/tmp', env: {} });
    const output = collect(command);
    await command.terminate();
    await output;
    expect(await command.exitCode).not.toBe(0);
  });

  it('says the sandbox is unavailable when the exec-server says it cannot sandbox', async () => {
    const able = await started();
    expect(await (await connected(able.url)).sandboxCapability()).toEqual({ available: true });
    const unable = await started({ sandbox: { bwrap: '/nonexistent/bwrap' } });
    const capability = await (await connected(unable.url)).sandboxCapability();
    expect(capability.available).toBe(false);
    expect(capability.problem).toContain(`the exec-server at ${unable.url} cannot sandbox`);
  });

  it('resumes its session after the connection drops mid-command, losing no output', async () => {
    const server = await started();
    const relay = await relayTo(server.url);
    const environment = await connected(relay.url);
    const command = await environment.run({
      argv: ['/bin/sh', '-c', 'echo before; sleep 0.5; echo after'],
      cwd: '/tmp',
      env: {},
    });
    const chunks = command.output[Symbol.asyncIterator]();
    const first = await chunks.next();
    expect(first.done ? '' : first.value.data.toString()).toBe('before\n');
    relay.cut();
    let rest = '';
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      rest += next.value.data.toString();
    }
    expect(rest).toBe('after\n');
    expect(await command.exitCode).toBe(0);
  });

  it('fails running and later commands once the session is lost for good', async () => {
    const server = await started();
    const errors: Error[] = [];
    const environment = await connected(server.url, { onError: (error) => errors.push(error) });
    const command = await environment.run({
      argv: ['/bin/sh', '-c', 'echo before; sleep 30'],
      cwd: '/tmp',
      env: {},
    });
    const chunks = command.output[Symbol.asyncIterator]();
    await chunks.next();
    await server.close(); // the server and its session are gone: nothing to resume
    await expect(chunks.next()).rejects.toThrow(/^lost the exec-server session at ws:/);
    expect(await command.exitCode).toBe(-1);
    expect(errors).toHaveLength(1);
    await expect(environment.run({ argv: ['true'], cwd: '/tmp', env: {} })).rejects.toBe(errors[0]);
  });
});
