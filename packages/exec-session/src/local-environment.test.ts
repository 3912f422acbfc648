import type { RunningCommand } from '@tether/agent-core';
import { afterEach, describe, expect, it } from 'vitest';
import { type LocalEnvironment, localEnvironment } from './local-environment.js';
import { probeSandbox } from './sandbox.js';

const environments: LocalEnvironment[] = [];
afterEach(async () => {
  for (const environment of environments.splice(0)) await environment.close();
});

async function started(): Promise<LocalEnvironment> {
  const environment = await localEnvironment();
  environments.push(environment);
  return environment;
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

describe('localEnvironment', () => {
  it('runs a command in its directory with exactly its environment, output before the exit code', async () => {
    const environment = await started();
    const command = await environment.run({
      argv: ['/bin/sh', '-c', 'pwd; echo "$ONLY_THIS"; echo oops >&2; exit 3'],
      cwd: '/tmp',
      env: { ONLY_THIS: 'here', PATH: '/usr/bin:/bin' },
    });
    expect(command.processId).toMatch(/^cmd-/);
    const { stdout, stderr } = await collect(command);
    expect(stdout).toBe('/tmp\nhere\n');
    expect(stderr).toBe('oops\n');
    expect(await command.exitCode).toBe(3);
  });

  it('terminate kills a running command, which then ends its output', async () => {
    const environment = await started();
    const command = await environment.run({
      argv: ['/bin/sh', '-c', 'echo ready; sleep 30'],
      cwd: '/tmp',
      env: { PATH: '/usr/bin:/bin' },
    });
    const iterator = command.output[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done ? '' : first.value.data.toString('utf8')).toBe('ready\n');
    await command.terminate();
    expect(await command.exitCode).not.toBe(0);
    expect((await iterator.next()).done).toBe(true);
  });

  it('a command that cannot start is refused with the core error', async () => {
    const environment = await started();
    await expect(
      environment.run({ argv: ['/nonexistent/program'], cwd: '/tmp', env: {} }),
    ).rejects.toMatchObject({ name: 'RpcError' });
  });

  it('says whether it can sandbox, and why not', async () => {
    const environment = await started();
    const support = await probeSandbox();
    expect(await environment.sandboxCapability()).toEqual(
      support.available ? { available: true } : { available: false, problem: support.problem },
    );
  });
});
