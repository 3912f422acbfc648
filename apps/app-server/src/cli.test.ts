import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { tempHome } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';

// The tests run the built executable, as a user would.
const cli = new URL('../dist/cli.js', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const home = tempHome('tether-cli-');
  return spawnSync(process.execPath, [cli, ...args], {
    encoding: 'utf8',
    // stdin closed at once: a server that did start on stdio exits right away.
    input: '',
    env: { ...process.env, TETHER_HOME: home, TETHER_LOG: undefined, ...env },
    timeout: 20_000,
  });
}

describe('tether-app-server command line', () => {
  it('prints help and its package version, and exits 0', () => {
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^tether-app-server: a Codex-compatible app-server\n\nUsage: /);
    for (const flag of [
      '--listen <URL>',
      '--thread-unload-delay <DURATION>',
      '--log-level <LEVEL>',
    ]) {
      expect(help.stdout).toContain(flag);
    }
    expect(run(['-h']).stdout).toBe(help.stdout);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const version = run([flag]);
      expect(version.status).toBe(0);
      expect(version.stdout).toBe(`tether-app-server ${pkg.version}\n`);
    }
  });

  it('refuses a wrong command line with exit code 2: the error, the usage line and a hint', () => {
    const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
      [['--nope'], {}, "unexpected argument '--nope' found"],
      [['serve'], {}, "unexpected argument 'serve' found"],
      [['--listen'], {}, "a value is required for '--listen' but none was supplied"],
      [['--log-level', 'nope'], {}, "invalid value 'nope' for '--log-level': expected one of"],
      [[], { TETHER_LOG: 'nope' }, "invalid value 'nope' for TETHER_LOG: expected one of"],
      [['--listen', 'ws://localhost:1'], {}, 'invalid websocket --listen URL `ws://localhost:1`'],
      [['--thread-unload-delay', 'soon'], {}, "invalid value 'soon' for '--thread-unload-delay'"],
      [['--thread-unload-delay', 'tty=1s'], {}, "unknown origin 'tty'"],
      [['--model-timeout', '5 minutes'], {}, "invalid value '5 minutes' for '--model-timeout'"],
      [['--model-retries', 'many'], {}, "invalid value 'many' for '--model-retries'"],
      [['--apply-patch-tool', 'json'], {}, "invalid value 'json' for '--apply-patch-tool'"],
    ];
    for (const [args, env, message] of cases) {
      const result = run(args, env);
      const what = `${JSON.stringify(env)} ${args.join(' ')}`;
      expect(result.status, `${what}: ${result.stderr}`).toBe(2);
      expect(result.stdout, what).toBe('');
      const [first, ...rest] = result.stderr.split('\n');
      expect(first, what).toContain(message);
      expect(first?.startsWith('error: '), what).toBe(true);
      expect(rest, what).toEqual([
        '',
        'Usage: tether-app-server [OPTIONS]',
        '',
        "For more information, try '--help'.",
        '',
      ]);
    }
  });

  it('takes the log level from --log-level, else TETHER_LOG, and logs JSON on stderr', () => {
    const lines = (result: { stderr: string }) =>
      result.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line));
    // On stdio with stdin closed the server stops at once and logs `stopped` at info.
    const info = run([], { TETHER_LOG: 'info' });
    expect(info.status).toBe(0);
    expect(lines(info)).toContainEqual(
      expect.objectContaining({ msg: 'stopped', service: 'tether-app-server', level: 30 }),
    );
    const flagWins = run(['--log-level', 'warn'], { TETHER_LOG: 'info' });
    expect(flagWins.status).toBe(0);
    expect(lines(flagWins)).toEqual([]);
    const fromFlag = run(['--log-level=info']);
    expect(lines(fromFlag).map((line) => line.msg)).toContain('stopped');
  });

  it('a server that cannot start exits 1 with one line', () => {
    const open = run(['--listen', 'ws://0.0.0.0:0']);
    expect(open.status).toBe(1);
    expect(open.stderr).toMatch(
      /^error: refusing to start non-loopback websocket listener [^\n]*\n$/,
    );
  });
});
