import { UsageError } from '@tether/transport';
import { describe, expect, it } from 'vitest';
import { type CliOptions, parseCli } from './cli-options.js';

function options(argv: string[], env: Record<string, string> = {}): CliOptions {
  const command = parseCli(argv, env);
  if (command.action !== 'run') throw new Error(`${argv.join(' ')}: ${command.action}`);
  return command.options;
}

describe('CLI options', () => {
  it('has the documented defaults', () => {
    expect(options([])).toMatchObject({
      listen: 'ws://127.0.0.1:0',
      host: '127.0.0.1',
      port: 0,
      sessionTtlMs: 60_000,
      exitedProcessTtlMs: 75_000,
      maxRetainedOutputBytes: 8 * 1024 * 1024,
      overflow: 'backpressure',
      logLevel: 'info',
      checkSandbox: false,
    });
  });

  it('reads durations and sizes with the shared parsers, and keeps the 8KiB floor', () => {
    const parsed = options([
      '--output-overflow',
      'drop-oldest',
      '--session-ttl',
      '5s',
      '--exited-process-ttl',
      '2',
      '--max-retained-output',
      '64KiB',
    ]);
    expect(parsed).toMatchObject({
      overflow: 'drop-oldest',
      sessionTtlMs: 5000,
      exitedProcessTtlMs: 2000,
      maxRetainedOutputBytes: 65_536,
    });
    expect(options(['--max-retained-output', '100000']).maxRetainedOutputBytes).toBe(100_000);
    expect(() => options(['--max-retained-output', '1KiB'])).toThrow(
      "'--max-retained-output' must be at least 8KiB",
    );
    expect(() => options(['--session-ttl', 'soon'])).toThrow(
      "invalid value 'soon' for '--session-ttl'",
    );
    expect(() => options(['--output-overflow', 'sometimes'])).toThrow(
      "invalid value 'sometimes' for '--output-overflow'",
    );
  });

  it('refuses unknown flags, bad log levels and listen URLs other than ws://IP:PORT as usage errors', () => {
    for (const argv of [
      ['--nope'],
      ['--log-level', 'nope'],
      ['--listen', 'stdio://'],
      ['--listen', 'unix://'],
      ['--listen', 'ws://localhost:1'],
    ]) {
      expect(() => parseCli(argv), argv.join(' ')).toThrow(UsageError);
    }
    expect(() => parseCli([], { TETHER_LOG: 'nope' })).toThrow(UsageError);
  });

  it('takes the log level from --log-level, else TETHER_LOG', () => {
    expect(options([], { TETHER_LOG: 'debug' }).logLevel).toBe('debug');
    expect(options(['--log-level', 'warn'], { TETHER_LOG: 'debug' }).logLevel).toBe('warn');
  });

  it('answers --help and --version with its own name and package version', () => {
    const help = parseCli(['--help']);
    expect(help.action === 'help' && help.text).toMatch(/^Usage: tether-exec-server \[OPTIONS\]/);
    const version = parseCli(['-V']);
    expect(version.action === 'version' && version.text).toMatch(
      /^tether-exec-server \d+\.\d+\.\d+/,
    );
  });
});
