import { spawn } from 'node:child_process';
import { AsyncQueue } from '../async-queue.js';
import type { CommandOutput, Environment } from '../environment.js';

/**
 * Commands as plain child processes, unsandboxed: all that tests of the turn loop need of an
 * environment (the real local one, with sessions and the sandbox, is exec-session's).
 * `sandboxAvailable` only changes what the environment reports, for tests of what the model is
 * told about the sandbox.
 */
export function childProcessEnvironment(options: { sandboxAvailable?: boolean } = {}): Environment {
  return {
    id: 'child-processes',
    async run(spec) {
      const [program = 'false', ...args] = spec.argv;
      const child = spawn(program, args, { cwd: spec.cwd, env: spec.env, detached: true });
      const output = new AsyncQueue<CommandOutput>();
      child.stdout.on('data', (data: Buffer) => output.push({ stream: 'stdout', data }));
      child.stderr.on('data', (data: Buffer) => output.push({ stream: 'stderr', data }));
      const exitCode = new Promise<number>((resolve) => {
        child.on('close', (code) => {
          output.end();
          resolve(code ?? -1);
        });
      });
      return {
        processId: String(child.pid),
        output,
        exitCode,
        terminate: async () => {
          if (child.pid !== undefined && child.exitCode === null)
            process.kill(-child.pid, 'SIGKILL');
        },
      };
    },
    sandboxCapability: async () =>
      options.sandboxAvailable
        ? { available: true }
        : { available: false, problem: 'no sandbox in these tests' },
    close: async () => undefined,
  };
}

export const childProcesses = childProcessEnvironment();
