import { homedir } from 'node:os';
import type { OutputOverflow } from '@tether/exec-session';
import {
  type CliSpec,
  type CliValues,
  COMMON_CLI_HELP,
  ListenUrlError,
  type LogLevel,
  parseCli as parseCommandLine,
  parseDuration,
  parseListenUrl,
  parseSize,
  readPackageVersion,
  UsageError,
  WEB_SOCKET_AUTH_CLI_OPTIONS,
  type WebSocketAuthFlags,
  webSocketAuthFlagsFrom,
} from '@tether/transport';

export const USAGE = 'Usage: tether-exec-server [OPTIONS]';

export const HELP = `${USAGE}

A remote process and filesystem server speaking codex 0.169.0's exec-server protocol.

Options:
  --listen <URL>                    Where to listen: ws://IP:PORT (port 0 picks a free port)
                                    [default: ws://127.0.0.1:0]
  --ws-auth <MODE>                  capability-token or signed-bearer-token
  --ws-token-file <PATH>            File holding the capability token
  --ws-token-sha256 <HEX>           SHA-256 of the capability token
  --ws-shared-secret-file <PATH>    HS256 secret for signed bearer tokens (>= 32 bytes)
  --ws-issuer <ISS>                 Expected JWT issuer
  --ws-audience <AUD>               Expected JWT audience
  --ws-max-clock-skew-seconds <N>   Allowed clock skew for JWT times [default: 30]
  --session-ttl <DURATION>          How long a detached session can be resumed before its
                                    processes are killed [default: 60s]
  --exited-process-ttl <DURATION>   How long an exited process stays readable [default: 75s]
  --max-retained-output <BYTES>     Output kept per process, at least 8KiB [default: 8MiB]
  --output-overflow <POLICY>        backpressure (stop reading the child) or drop-oldest
                                    [default: backpressure]
  --check-sandbox                   Check that sandboxed commands can run here (bubblewrap),
                                    print what holds, and exit (0 when it works)
${COMMON_CLI_HELP}

The bound ws:// URL is printed as one line on stdout once listening; logs go to stderr as JSON,
with tokens, keys and authorization headers redacted. The log level is --log-level, else
$TETHER_LOG, else info.
Durations take ms, s, m or h suffixes (a bare number is seconds); sizes take B, KiB, MiB, GiB.
A wrong command line exits 2; a server that cannot start exits 1.`;

const OPTIONS = {
  'check-sandbox': { type: 'boolean' },
  listen: { type: 'string', default: 'ws://127.0.0.1:0' },
  ...WEB_SOCKET_AUTH_CLI_OPTIONS,
  'session-ttl': { type: 'string', default: '60s' },
  'exited-process-ttl': { type: 'string', default: '75s' },
  'max-retained-output': { type: 'string', default: '8MiB' },
  'output-overflow': { type: 'string', default: 'backpressure' },
} as const;

/** The exec-server's command line, for `parseCli` and `parseProcessCli` of @tether/transport. */
export function execServerCli(): CliSpec<typeof OPTIONS> {
  return {
    name: 'tether-exec-server',
    version: readPackageVersion(new URL('../package.json', import.meta.url)),
    help: HELP,
    usage: USAGE,
    options: OPTIONS,
  };
}

export interface CliOptions {
  checkSandbox: boolean;
  listen: string;
  /** The `--listen` address: only `ws://IP:PORT` is accepted. */
  host: string;
  port: number;
  auth: WebSocketAuthFlags;
  sessionTtlMs: number;
  exitedProcessTtlMs: number;
  maxRetainedOutputBytes: number;
  overflow: OutputOverflow;
  logLevel: LogLevel;
}

/** The smallest `--max-retained-output`: one chunk of a child's output must fit. */
const MIN_RETAINED_OUTPUT_BYTES = 8192;

/** Turns the parsed flags into settings; throws `UsageError` for a value it refuses. */
export function cliOptionsFrom(values: CliValues<typeof OPTIONS>, logLevel: LogLevel): CliOptions {
  const overflow = values['output-overflow'];
  if (overflow !== 'backpressure' && overflow !== 'drop-oldest') {
    throw new UsageError(
      `invalid value '${overflow}' for '--output-overflow': expected backpressure or drop-oldest`,
    );
  }
  const maxRetainedOutputBytes = parseSize(values['max-retained-output'], 'max-retained-output');
  if (maxRetainedOutputBytes < MIN_RETAINED_OUTPUT_BYTES) {
    throw new UsageError(`'--max-retained-output' must be at least 8KiB (one output chunk)`);
  }
  let target: ReturnType<typeof parseListenUrl>;
  try {
    target = parseListenUrl(values.listen, { home: homedir(), accept: ['websocket'] });
  } catch (error) {
    if (error instanceof ListenUrlError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  if (target.kind !== 'websocket') {
    throw new UsageError(`unsupported --listen URL \`${values.listen}\``);
  }
  return {
    checkSandbox: values['check-sandbox'] ?? false,
    listen: values.listen,
    host: target.host,
    port: target.port,
    auth: webSocketAuthFlagsFrom(values),
    sessionTtlMs: parseDuration(values['session-ttl'], 'session-ttl'),
    exitedProcessTtlMs: parseDuration(values['exited-process-ttl'], 'exited-process-ttl'),
    maxRetainedOutputBytes,
    overflow,
    logLevel,
  };
}

export type ExecServerCommand =
  | { action: 'help' | 'version'; text: string }
  | { action: 'run'; options: CliOptions };

/** Parses the exec-server's command line without side effects (the executable's, for tests). */
export function parseCli(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ExecServerCommand {
  const outcome = parseCommandLine(argv, execServerCli(), env);
  if (outcome.action !== 'run') return outcome;
  return { action: 'run', options: cliOptionsFrom(outcome.values, outcome.logLevel) };
}
