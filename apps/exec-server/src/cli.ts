#!/usr/bin/env node
import { tmpdir } from 'node:os';
import { checkSandbox } from '@tether/exec-session';
import {
  createLogger,
  exitWithStartupError,
  parseProcessCli,
  resolveWebSocketAuth,
} from '@tether/transport';
import { cliOptionsFrom, execServerCli } from './cli-options.js';
import { startExecServer } from './server.js';

async function main(): Promise<void> {
  const options = parseProcessCli(execServerCli(), cliOptionsFrom);
  if (options.checkSandbox) {
    const check = await checkSandbox({ scratch: tmpdir() });
    process.stdout.write(`${check.lines.join('\n')}\n`);
    process.exit(check.ok ? 0 : 1);
  }
  const logger = createLogger({ service: 'tether-exec-server', level: options.logLevel });
  // Anything that stops the start from here on (an unreadable secret, a port in use) is one line.
  const auth = await resolveWebSocketAuth(options.auth);
  const server = await startExecServer({
    host: options.host,
    port: options.port,
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

main().catch(exitWithStartupError);
