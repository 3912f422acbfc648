/**
 * One log method, in pino's calling convention: the fields first, then the message (or the
 * message alone). Written out here rather than taken from pino so that every package can accept
 * a logger without depending on pino, and a pino logger still fits as it is.
 */
export interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * The logging surface every tether package uses. The apps pass their pino logger (which has
 * these methods and many more); libraries used without an app fall back to `silentLogger()`.
 */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger whose lines all carry `bindings`, e.g. `{ connectionId }` or `{ threadId }`. */
  child(bindings: Record<string, unknown>): Logger;
}

const drop = (): void => {};

const SILENT: Logger = Object.freeze({
  debug: drop,
  info: drop,
  warn: drop,
  error: drop,
  child: () => SILENT,
});

/**
 * A logger that drops everything, for library use without an app logger. A function (returning
 * one shared, stateless instance) so that it reads the same at every default-argument site.
 */
export function silentLogger(): Logger {
  return SILENT;
}
