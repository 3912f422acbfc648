import { parseArgs } from 'node:util';
import type { OutputOverflow } from '@tether/exec-session';
import {
  parseDurationMs,
  WEB_SOCKET_AUTH_CLI_OPTIONS,
  type WebSocketAuthFlags,
  webSocketAuthFlagsFrom,
} from '@tether/transport';

export const USAGE = `Usage: tether-exec-server [OPTIONS]

A remote process and filesystem server speaking codex 0.169.0's exec-server protocol.

Options:
  --listen <URL>                  Where to listen: ws://IP:PORT (port 0 picks a free port)
                                  [default: ws://127.0.0.1:0]
  --ws-auth <MODE>                capability-token or signed-bearer-token
  --ws-token-file <PATH>          File holding the capability token
  --ws-token-sha256 <HEX>         SHA-256 of the capability token
  --ws-shared-secret-file <PATH>  HS256 secret for signed bearer tokens (>= 32 bytes)
  --ws-issuer <ISS>               Expected JWT issuer
  --ws-audience <AUD>             Expected JWT audience
  --ws-max-clock-skew-seconds <N> Allowed clock skew for JWT times [default: 30]
  --session-ttl <DURATION>        How long a detached session can be resumed before its
                                  processes are killed [default: 60s]
  --exited-process-ttl <DURATION> How long an exited process stays readable [default: 75s]
  --max-retained-output <BYTES>   Output kept per process [default: 8MiB]
  --output-overflow <POLICY>      backpressure (stop reading the child) or drop-oldest
                                  [default: backpressure]
  --log-level <LEVEL>             trace, debug, info, warn, error, silent [default: info]
  --check-sandbox                 Check that sandboxed commands can run here (bubblewrap),
                                  print what holds, and exit (0 when it works)
  -h, --help                      Print this help

The bound ws:// URL is printed as one line on stdout once listening; logs go to stderr as JSON.
Durations take ms, s, m or h suffixes (a bare number is seconds); sizes take B, KiB, MiB, GiB.`;

export class UsageError extends Error {}

export interface CliOptions {
  help: boolean;
  checkSandbox: boolean;
  listen: string;
  auth: WebSocketAuthFlags;
  sessionTtlMs: number;
  exitedProcessTtlMs: number;
  maxRetainedOutputBytes: number;
  overflow: OutputOverflow;
  logLevel: string;
}

/** Parses `60s`, `500ms`, `2m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined)
    throw new UsageError(
      `invalid value '${value}' for '--${flag}': expected a duration like 60s or 500ms`,
    );
  return ms;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** Parses `8MiB`, `512KiB`, `1048576` into bytes. */
export function parseSize(flag: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(value.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (!match || unit === undefined) {
    throw new UsageError(`invalid value '${value}' for '--${flag}': expected a size like 8MiB`);
  }
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 8192) throw new UsageError(`'--${flag}' must be at least 8KiB (one output chunk)`);
  return bytes;
}

export function parseCli(argv: readonly string[]): CliOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  const overflow = v['output-overflow'] ?? 'backpressure';
  if (overflow !== 'backpressure' && overflow !== 'drop-oldest') {
    throw new UsageError(
      `invalid value '${overflow}' for '--output-overflow': expected backpressure or drop-oldest`,
    );
  }
  return {
    help: v.help ?? false,
    checkSandbox: v['check-sandbox'] ?? false,
    listen: v.listen ?? 'ws://127.0.0.1:0',
    auth: webSocketAuthFlagsFrom(v),
    sessionTtlMs: parseDuration('session-ttl', v['session-ttl'] ?? '60s'),
    exitedProcessTtlMs: parseDuration('exited-process-ttl', v['exited-process-ttl'] ?? '75s'),
    maxRetainedOutputBytes: parseSize('max-retained-output', v['max-retained-output'] ?? '8MiB'),
    overflow,
    logLevel: v['log-level'] ?? 'info',
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      help: { type: 'boolean', short: 'h' },
      'check-sandbox': { type: 'boolean' },
      listen: { type: 'string' },
      ...WEB_SOCKET_AUTH_CLI_OPTIONS,
      'session-ttl': { type: 'string' },
      'exited-process-ttl': { type: 'string' },
      'max-retained-output': { type: 'string' },
      'output-overflow': { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
}
