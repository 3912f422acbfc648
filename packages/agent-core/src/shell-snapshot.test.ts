import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type exec, silentLogger } from '@tether/protocol';
import { tempHome, waitFor } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { agentRuntimeFactory } from './agent.js';
import type { Environment } from './environment.js';
import { ResponsesClient } from './model/index.js';
import type { ThreadEvent } from './runtime.js';
import { childProcessEnvironment } from './test-support/child-processes.js';
import { testSettings } from './test-support/settings.js';
import { MockResponsesServer, mockReply } from './testing/index.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Ran {
  argv: string[];
  sandbox: exec.SandboxContext | undefined;
}

/**
 * Real child processes that remember every command started and the sandbox it was asked to run
 * in (these tests check what reaches the environment, not the sandbox itself).
 */
function recordingEnvironment(): { environment: Environment; ran: Ran[] } {
  const inner = childProcessEnvironment({ sandboxAvailable: true });
  const ran: Ran[] = [];
  return {
    ran,
    environment: {
      ...inner,
      run: (spec) => {
        ran.push({ argv: spec.argv, sandbox: spec.sandbox });
        return inner.run(spec);
      },
    },
  };
}

/** Two turns of one sandboxed thread, each running `exec_command` with `args`. */
async function twoCommands(root: string, args: Record<string, unknown>) {
  const mock = await MockResponsesServer.start();
  cleanup.push(() => mock.close());
  mock.enqueue(
    mockReply.toolCall({ name: 'exec_command', arguments: args, callId: 'call_1' }),
    mockReply.text('one'),
    mockReply.toolCall({ name: 'exec_command', arguments: args, callId: 'call_2' }),
    mockReply.text('two'),
  );
  const { environment, ran } = recordingEnvironment();
  const settings = testSettings({
    cwd: root,
    sandbox: { type: 'workspaceWrite', networkAccess: false },
  });
  const rt = agentRuntimeFactory({
    model: new ResponsesClient({ model: 'mock-model', baseUrl: mock.baseUrl, maxRetries: 0 }),
    environment: async () => environment,
    commandEnv: { HOME: join(root, 'home'), PATH: process.env.PATH ?? '/usr/bin:/bin' },
  })({ threadId: 't', settings, conversation: [], tokenUsage: null, logger: silentLogger() });
  cleanup.push(() => rt.shutdown());
  const events: ThreadEvent[] = [];
  void (async () => {
    for await (const event of rt.events()) events.push(event);
  })();
  for (const text of ['first', 'second']) {
    const from = events.length;
    await rt.startTurn({ input: [{ type: 'text', text }], clientUserMessageId: null, settings });
    await waitFor(() =>
      events.slice(from).some((e) => e.kind === 'notification' && e.method === 'turn/completed'),
    );
  }
  return ran;
}

describe('login shell capture', () => {
  it('never runs a model-named shell outside the command it was named for', async () => {
    const root = tempHome('tether-shell-snapshot-');
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    // what a model could write into the workspace and then name as its "shell"
    const script = join(root, 'evil-shell');
    const marker = join(root, 'ran');
    writeFileSync(script, `#!/bin/sh\necho x >> '${marker}'\nexec /bin/bash "$@"\n`);
    chmodSync(script, 0o755);
    const ran = await twoCommands(root, { cmd: 'true', shell: script });
    const runsOfScript = ran.filter((r) => r.argv[0] === script);
    // once per command, each in the thread's sandbox as a login shell; no capture besides
    expect(runsOfScript.map((r) => r.argv.slice(1))).toEqual([
      ['-lc', 'true'],
      ['-lc', 'true'],
    ]);
    expect(runsOfScript.every((r) => r.sandbox !== undefined)).toBe(true);
    expect(readFileSync(marker, 'utf8')).toBe('x\nx\n');
  });

  it("captures the default shell's login environment inside the command's sandbox", async () => {
    const root = tempHome('tether-shell-snapshot-');
    cleanup.push(() => rmSync(root, { recursive: true, force: true }));
    const ran = await twoCommands(root, { cmd: 'true' });
    // the first command, the capture before the second, then the second in a plain shell
    expect(ran.map((r) => r.argv.slice(0, 2))).toEqual([
      ['/bin/bash', '-lc'],
      ['/bin/bash', '-lc'],
      ['/bin/bash', '-c'],
    ]);
    expect(ran[1]?.argv[2]).toContain('env -0');
    expect(ran.every((r) => r.sandbox !== undefined)).toBe(true);
  });
});
