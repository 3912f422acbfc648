#!/usr/bin/env node
import { homedir, tmpdir } from 'node:os';
import { checkSandbox } from '@tether/exec-session';
import { parseListenUrl, resolveWebSocketAuth } from '@tether/transport';
import { pino } from 'pino';
import { parseCli, USAGE, UsageError } from './cli-options.js';
import { startExecServer } from './server.js';

async function main(): Promise<void> {
  let options: ReturnType<typeof parseCli>;
  try {
    options = parseCli(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  if (options.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (options.checkSandbox) {
    const check = await checkSandbox({ scratch: tmpdir() });
    process.stdout.write(`${check.lines.join('\n')}\n`);
    process.exit(check.ok ? 0 : 1);
  }
  const logger = pino(
    { level: options.logLevel, base: { service: 'tether-exec-server' } },
    pino.destination(2),
  );
  let target: ReturnType<typeof parseListenUrl>;
  let auth: Awaited<ReturnType<typeof resolveWebSocketAuth>>;
  try {
    target = parseListenUrl(options.listen, { home: homedir(), accept: ['websocket'] });
    auth = await resolveWebSocketAuth(options.auth);
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    process.exit(2);
  }
  if (target.kind !== 'websocket') {
    process.stderr.write(`error: unsupported --listen URL ${options.listen}\n`);
    process.exit(2);
  }
  const server = await startExecServer({
    host: target.host,
    port: target.port,
    logger,
    auth,
    sessionTtlMs: options.sessionTtlMs,
    exitedProcessTtlMs: options.exitedProcessTtlMs,
    maxRetainedOutputBytes: options.maxRetainedOutputBytes,
    overflow: options.overflow,
  });
  process.stdout.write(`${server.url}\n`);
  logger.info({ url: server.url }, 'exec-server listening');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: terminating managed processes');
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
