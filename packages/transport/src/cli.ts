import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';

/** pino's levels, the only values `--log-level` and `TETHER_LOG` take. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_LOG_LEVEL: LogLevel = 'info';

/** The environment variable both executables read their log level from. */
export const LOG_LEVEL_ENV = 'TETHER_LOG';

/** Exit status for a command line that is wrong, as clap (and so the reference) uses. */
export const USAGE_EXIT_CODE = 2;

/** The command line is wrong: the executable prints the message with a hint and exits 2. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** Flags every tether executable takes, handled here so they behave the same in each. */
export const COMMON_CLI_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
  'log-level': { type: 'string' },
} as const satisfies OptionsConfig;

/** Help lines for `COMMON_CLI_OPTIONS`, in the clap layout both executables' help uses. */
export const COMMON_CLI_HELP = `  --log-level <LEVEL>               Log level on stderr: ${LOG_LEVELS.join(', ')}
                                    [default: $${LOG_LEVEL_ENV}, else ${DEFAULT_LOG_LEVEL}]
  -h, --help                        Print this help
  -V, --version                     Print the version`;

export interface CliSpec<O extends OptionsConfig> {
  /** The executable's name, printed by `--version`. */
  name: string;
  version: string;
  /** The whole `--help` text. */
  help: string;
  /** The usage line printed under an error, e.g. `Usage: tether-exec-server [OPTIONS]`. */
  usage: string;
  /** The executable's own flags, in `util.parseArgs` form; `COMMON_CLI_OPTIONS` are added. */
  options: O;
}

type CliConfig<O extends OptionsConfig> = {
  args: string[];
  options: O & typeof COMMON_CLI_OPTIONS;
  strict: true;
  allowPositionals: false;
};

/** The parsed flags, typed from the spec's options as `util.parseArgs` types them. */
export type CliValues<O extends OptionsConfig> = ReturnType<
  typeof parseArgs<CliConfig<O>>
>['values'];

export type CliOutcome<O extends OptionsConfig> =
  | { action: 'help'; text: string }
  | { action: 'version'; text: string }
  | { action: 'run'; values: CliValues<O>; logLevel: LogLevel };

/**
 * Parses a command line. Pure: it reads only its arguments, so the environment comes in as
 * `env`. `--help` and `--version` win over everything else that parses; the log level is
 * `--log-level`, else `TETHER_LOG`, else info, and a value pino does not know is a usage error
 * (pino would otherwise throw at start-up, or a typo would silently log at the wrong level).
 * Throws `UsageError` with clap's wording for anything wrong.
 */
export function parseCli<O extends OptionsConfig>(
  argv: readonly string[],
  spec: CliSpec<O>,
  env: Readonly<Record<string, string | undefined>>,
): CliOutcome<O> {
  const config: CliConfig<O> = {
    args: [...argv],
    options: { ...spec.options, ...COMMON_CLI_OPTIONS },
    strict: true,
    allowPositionals: false,
  };
  const common = readTokens(config);
  let values: CliValues<O>;
  try {
    values = parseArgs(config).values;
  } catch (error) {
    // readTokens words the mistakes it knows; this catches any that node finds besides.
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.split('\n')[0] ?? message, { cause: error });
  }
  if (common.help) return { action: 'help', text: spec.help };
  if (common.version) return { action: 'version', text: `${spec.name} ${spec.version}` };
  // An empty TETHER_LOG (`TETHER_LOG= tether-app-server`) counts as unset.
  const fromEnv = env[LOG_LEVEL_ENV] || undefined;
  // Both are checked: a bad TETHER_LOG left in a profile should not wait for a run without a flag.
  const envLevel = fromEnv === undefined ? undefined : logLevel(fromEnv, LOG_LEVEL_ENV);
  const flag = common.logLevel;
  const level =
    flag === undefined ? (envLevel ?? DEFAULT_LOG_LEVEL) : logLevel(flag, "'--log-level'");
  return { action: 'run', values, logLevel: level };
}

function logLevel(value: string, source: string): LogLevel {
  const level = LOG_LEVELS.find((known) => known === value);
  if (level === undefined) {
    throw new UsageError(
      `invalid value '${value}' for ${source}: expected one of ${LOG_LEVELS.join(', ')}`,
    );
  }
  return level;
}

interface CommonFlags {
  help: boolean;
  version: boolean;
  logLevel: string | undefined;
}

/**
 * Finds unknown flags, missing values and stray arguments and names them as clap does, and reads
 * the common flags (from the tokens, as the values' type is still generic here).
 */
function readTokens(config: CliConfig<OptionsConfig>): CommonFlags {
  const common: CommonFlags = { help: false, version: false, logLevel: undefined };
  const { tokens } = parseArgs({ ...config, strict: false, allowPositionals: true, tokens: true });
  for (const token of tokens) {
    if (token.kind === 'positional') {
      throw new UsageError(`unexpected argument '${token.value}' found`);
    }
    if (token.kind !== 'option') continue;
    const option = config.options[token.name];
    if (option === undefined) throw new UsageError(`unexpected argument '${token.rawName}' found`);
    if (option.type === 'boolean' && token.inlineValue) {
      throw new UsageError(`unexpected value '${token.value}' for '${token.rawName}' found`);
    }
    // `--listen --help` means a forgotten value, not a listen URL of `--help`; a value that
    // starts with a dash can still be given as `--flag=-value`.
    const forgotten = !token.inlineValue && token.value?.startsWith('-') === true;
    if (option.type === 'string' && (token.value === undefined || forgotten)) {
      throw new UsageError(`a value is required for '${token.rawName}' but none was supplied`);
    }
    if (token.name === 'help') common.help = true;
    if (token.name === 'version') common.version = true;
    if (token.name === 'log-level') common.logLevel = token.value;
  }
  return common;
}

/** The stderr text for a usage error: the error, the usage line, and where to read more. */
export function usageErrorText(spec: { usage: string }, error: UsageError): string {
  return `error: ${error.message}\n\n${spec.usage}\n\nFor more information, try '--help'.\n`;
}

/**
 * `parseCli` for a real process: prints help or the version and exits 0; otherwise hands the
 * flags to `build` (which turns them into the executable's settings and throws `UsageError` for
 * a value it refuses) and returns what it builds. A usage error from either is printed with the
 * usage line and a hint, and exits 2.
 */
export function parseProcessCli<O extends OptionsConfig, T>(
  spec: CliSpec<O>,
  build: (values: CliValues<O>, logLevel: LogLevel) => T,
  argv: readonly string[] = process.argv.slice(2),
  env: Readonly<Record<string, string | undefined>> = process.env,
): T {
  try {
    const outcome = parseCli(argv, spec, env);
    if (outcome.action === 'run') return build(outcome.values, outcome.logLevel);
    process.stdout.write(outcome.text.endsWith('\n') ? outcome.text : `${outcome.text}\n`);
    process.exit(0);
  } catch (error) {
    if (error instanceof UsageError) exitWithUsageError(spec, error);
    throw error;
  }
}

/** Prints a usage error found after parsing (a bad duration, a bad listen URL) and exits 2. */
export function exitWithUsageError(spec: { usage: string }, error: UsageError): never {
  process.stderr.write(usageErrorText(spec, error));
  process.exit(USAGE_EXIT_CODE);
}

/**
 * Prints why the server could not start (a port in use, an unreadable secret file) as one line,
 * without a stack trace, and exits 1.
 */
export function exitWithStartupError(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`error: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(1);
}

/** The `version` of the package.json at `url` (an executable's own, next to its dist/). */
export function readPackageVersion(url: URL): string {
  const pkg: unknown = JSON.parse(readFileSync(url, 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg) {
    if (typeof pkg.version === 'string') return pkg.version;
  }
  throw new Error(`${url.pathname} has no version`);
}
