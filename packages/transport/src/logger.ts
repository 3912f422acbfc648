import { pino } from 'pino';
import type { LogLevel } from './cli.js';

// The type lives in protocol so that packages which need nothing else from transport can take a
// logger; it is re-exported here because the servers' packages have always imported it from here.
export { type Logger, silentLogger } from '@tether/protocol';

/** Field names whose values are credentials, wherever they sit in a logged object. */
const SECRET_KEYS = [
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'bearer',
  'apiKey',
  'api_key',
  'authorization',
  'Authorization',
  'cookie',
  'password',
  'secret',
  'sharedSecret',
  'clientSecret',
  'client_secret',
  'OPENAI_API_KEY',
] as const;

/**
 * What `createLogger` censors. pino's paths are exact, with `*` for one level, so each key is
 * listed at the top level, one level down (`{ auth: { token } }`) and two levels down
 * (`{ req: { headers: { authorization } } }`), plus request headers by name.
 */
export const REDACTED_LOG_PATHS: readonly string[] = [
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]),
  'headers["set-cookie"]',
  '*.headers["set-cookie"]',
  'headers["x-api-key"]',
  '*.headers["x-api-key"]',
];

export const REDACTED = '[Redacted]';

export interface CreateLoggerOptions {
  /** The `service` field of every line, e.g. `tether-app-server`. */
  service: string;
  level: LogLevel;
  /**
   * Where lines go: a file descriptor (default 2, stderr) or a stream (tests). Lines to a file
   * descriptor are written synchronously, so the last lines before an exit are not lost.
   */
  destination?: number | pino.DestinationStream;
}

/**
 * The servers' logger: pino JSON lines with a `service` field, and credentials censored (see
 * `REDACTED_LOG_PATHS`) so a token, API key or authorization header never reaches a log.
 */
export function createLogger(options: CreateLoggerOptions): pino.Logger {
  const destination = options.destination ?? 2;
  return pino(
    {
      level: options.level,
      base: { service: options.service },
      redact: { paths: [...REDACTED_LOG_PATHS], censor: REDACTED },
    },
    typeof destination === 'number'
      ? pino.destination({ fd: destination, sync: true })
      : destination,
  );
}
