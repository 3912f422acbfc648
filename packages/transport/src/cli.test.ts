import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, parseCli, UsageError, usageErrorText } from './cli.js';

const spec = {
  name: 'tether-test',
  version: '1.2.3',
  help: 'Usage: tether-test [OPTIONS]\n\nall the flags\n',
  usage: 'Usage: tether-test [OPTIONS]',
  options: {
    listen: { type: 'string', default: 'stdio://' },
    delay: { type: 'string', multiple: true },
    quiet: { type: 'boolean' },
  },
} as const;

function usageError(argv: string[], env: Record<string, string> = {}): string {
  try {
    parseCli(argv, spec, env);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as UsageError).message;
  }
  throw new Error(`${argv.join(' ')} parsed`);
}

describe('parseCli', () => {
  it('returns typed values with defaults, and the log level', () => {
    const outcome = parseCli(['--delay', '1s', '--delay=2s', '--quiet'], spec, {});
    expect(outcome).toEqual({
      action: 'run',
      values: { listen: 'stdio://', delay: ['1s', '2s'], quiet: true },
      logLevel: 'info',
    });
    if (outcome.action !== 'run') return;
    // The values are typed from the spec: these lines compile only if they are.
    const listen: string = outcome.values.listen;
    const delays: string[] | undefined = outcome.values.delay;
    expect([listen, delays]).toEqual(['stdio://', ['1s', '2s']]);
  });

  it('answers --help and --version (long and short) before anything else', () => {
    for (const argv of [['--help'], ['-h'], ['--listen', 'x', '--help'], ['--help', '--version']]) {
      expect(parseCli(argv, spec, {})).toEqual({ action: 'help', text: spec.help });
    }
    for (const argv of [['--version'], ['-V']]) {
      expect(parseCli(argv, spec, {})).toEqual({ action: 'version', text: 'tether-test 1.2.3' });
    }
    // Even with a log level that would be refused when running.
    expect(parseCli(['--help'], spec, { TETHER_LOG: 'nope' }).action).toBe('help');
  });

  it('takes the log level from --log-level, else TETHER_LOG, else info', () => {
    const level = (argv: string[], env: Record<string, string>) => {
      const outcome = parseCli(argv, spec, env);
      return outcome.action === 'run' ? outcome.logLevel : outcome.action;
    };
    expect(level([], {})).toBe('info');
    expect(level([], { TETHER_LOG: '' })).toBe('info');
    expect(level([], { TETHER_LOG: 'debug' })).toBe('debug');
    expect(level(['--log-level', 'warn'], { TETHER_LOG: 'debug' })).toBe('warn');
    expect(level(['--log-level=silent'], {})).toBe('silent');
    for (const known of LOG_LEVELS) expect(level(['--log-level', known], {})).toBe(known);
  });

  it('refuses a log level pino does not know, from either source', () => {
    expect(usageError(['--log-level', 'nope'])).toBe(
      "invalid value 'nope' for '--log-level': expected one of fatal, error, warn, info, debug, trace, silent",
    );
    expect(usageError([], { TETHER_LOG: 'verbose' })).toMatch(
      /^invalid value 'verbose' for TETHER_LOG: expected one of fatal,/,
    );
    expect(usageError(['--log-level', 'info'], { TETHER_LOG: 'INFO' })).toMatch(/TETHER_LOG/);
  });

  it('names unknown flags, missing values, stray arguments and values for switches as clap does', () => {
    expect(usageError(['--nope'])).toBe("unexpected argument '--nope' found");
    expect(usageError(['-x'])).toBe("unexpected argument '-x' found");
    expect(usageError(['serve'])).toBe("unexpected argument 'serve' found");
    expect(usageError(['--', '--listen'])).toBe("unexpected argument '--listen' found");
    expect(usageError(['--listen'])).toBe(
      "a value is required for '--listen' but none was supplied",
    );
    expect(usageError(['--listen', '--quiet'])).toBe(
      "a value is required for '--listen' but none was supplied",
    );
    expect(usageError(['--quiet=yes'])).toBe("unexpected value 'yes' for '--quiet' found");
    // A value that starts with a dash can still be given inline.
    const inline = parseCli(['--listen=-'], spec, {});
    expect(inline.action === 'run' && inline.values.listen).toBe('-');
  });

  it('formats a usage error as clap does: the error, the usage line, a hint to --help', () => {
    expect(usageErrorText(spec, new UsageError("unexpected argument '--nope' found"))).toBe(
      "error: unexpected argument '--nope' found\n\nUsage: tether-test [OPTIONS]\n\nFor more information, try '--help'.\n",
    );
  });
});
