#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ExecPolicy } from '@tether/agent-core';
import { checkSandbox } from '@tether/exec-session';
import {
  type ListenTarget,
  parseListenUrl,
  resolveWebSocketAuth,
  WEB_SOCKET_AUTH_CLI_OPTIONS,
  webSocketAuthFlagsFrom,
} from '@tether/transport';
import { pino } from 'pino';
import { agentFromOptions } from './agent-config.js';
import { parseDuration } from './duration.js';
import { AppServer, DEFAULT_THREAD_UNLOAD_DELAY_MS } from './server.js';

const HELP = `tether-app-server: a Codex-compatible app-server

Usage: tether-app-server [options]

Options:
  --listen URL                      stdio:// (default), ws://IP:PORT, unix://, unix://PATH or off
  --thread-unload-delay DURATION    idle time before a thread with no subscribers unloads (default 30m);
                                    ORIGIN=DURATION sets it for one origin (stdio, websocket, unix),
                                    e.g. --thread-unload-delay stdio=0; may be repeated
  --model NAME                      model for new threads (default gpt-5)
  --model-base-url URL              OpenAI-compatible Responses API base URL
                                    (default $OPENAI_BASE_URL, else https://api.openai.com/v1)
  --api-key-env NAME                environment variable holding the API key (default OPENAI_API_KEY)
  --model-timeout DURATION          time to the first byte of a model reply (default 60s)
  --model-retries N                 retries on 429/5xx and on a stream dropped before its first event (default 4)
  --exec-server-url URL             run commands on a remote tether or Codex exec-server
                                    (default $TETHER_EXEC_SERVER_URL; else locally)
  --exec-server-token-env NAME      environment variable holding the exec-server bearer token
  --ws-auth MODE                    capability-token or signed-bearer-token
  --ws-token-file ABS_PATH          capability token file
  --ws-token-sha256 HEX             SHA-256 of the capability token
  --ws-shared-secret-file ABS_PATH  HS256 secret for signed bearer tokens (>= 32 bytes)
  --ws-issuer ISS                   required JWT issuer
  --ws-audience AUD                 required JWT audience
  --ws-max-clock-skew-seconds N     JWT clock skew (default 30)
  --allowed-origin ORIGIN           let browsers from ORIGIN connect (repeatable)
  --allowed-host HOST               accept this Host header besides loopback names (repeatable)
  --check-sandbox                   check that sandboxed commands can run here (bubblewrap), print
                                    what holds, and exit (0 when it works)
  --list-rules                      list the saved command rules (<TETHER_HOME>/rules/*.rules) and exit
  --remove-rule N                   remove rule N of --list-rules and exit
  -h, --help                        show this help
  -V, --version                     show the version

Durations take ms, s, m or h suffixes; a bare number is seconds (as in tether-exec-server).

Environment:
  TETHER_HOME   state directory (default ~/.tether): rollouts, index, control socket
  TETHER_LOG    log level on stderr (default info)
  OPENAI_API_KEY, OPENAI_BASE_URL, TETHER_EXEC_SERVER_URL: see the options above
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** `--list-rules` and `--remove-rule N`: the command prefixes the user allowed for good. */
async function manageRules(home: string, remove: string | undefined): Promise<number> {
  const policy = new ExecPolicy(join(home, 'rules'));
  const rules = policy.list();
  if (remove === undefined) {
    if (rules.length === 0) process.stdout.write(`no rules in ${join(home, 'rules')}\n`);
    rules.forEach((rule, index) => {
      process.stdout.write(
        `${index + 1}. ${JSON.stringify(rule.pattern)} ${rule.decision} (${rule.file}:${rule.line})\n`,
      );
    });
    return 0;
  }
  const number = Number(remove);
  if (!Number.isInteger(number) || number < 1 || number > rules.length) {
    process.stderr.write(`Error: no rule ${remove}; --list-rules shows ${rules.length}\n`);
    return 1;
  }
  const rule = rules[number - 1];
  await policy.remove(number - 1);
  process.stdout.write(`removed ${JSON.stringify(rule?.pattern)}\n`);
  return 0;
}

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

function unloadDelays(values: string[]): (origin: string | undefined) => number {
  let fallback = DEFAULT_THREAD_UNLOAD_DELAY_MS;
  const perOrigin = new Map<string, number>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) {
      fallback = parseDuration(value);
      continue;
    }
    const origin = value.slice(0, eq);
    if (!['stdio', 'websocket', 'unix', 'in-process'].includes(origin)) {
      throw new Error(
        `unknown origin \`${origin}\` in --thread-unload-delay; expected stdio, websocket, unix or in-process`,
      );
    }
    perOrigin.set(origin, parseDuration(value.slice(eq + 1)));
  }
  return (origin) => (origin !== undefined ? (perOrigin.get(origin) ?? fallback) : fallback);
}

async function main(): Promise<void> {
  let args: ReturnType<typeof parse>;
  const parse = () =>
    parseArgs({
      options: {
        listen: { type: 'string', default: 'stdio://' },
        stdio: { type: 'boolean' },
        'thread-unload-delay': { type: 'string', multiple: true },
        model: { type: 'string' },
        'model-base-url': { type: 'string' },
        'api-key-env': { type: 'string' },
        'model-timeout': { type: 'string' },
        'model-retries': { type: 'string' },
        'exec-server-url': { type: 'string' },
        'exec-server-token-env': { type: 'string' },
        ...WEB_SOCKET_AUTH_CLI_OPTIONS,
        'allowed-origin': { type: 'string', multiple: true },
        'allowed-host': { type: 'string', multiple: true },
        'check-sandbox': { type: 'boolean' },
        'list-rules': { type: 'boolean' },
        'remove-rule': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'V' },
      },
      strict: true,
      allowPositionals: false,
    });
  try {
    args = parse();
  } catch (error) {
    fail(`${(error as Error).message}\n\n${HELP}`);
  }
  const v = args.values;
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  if (v.version) {
    process.stdout.write(`tether-app-server ${version()}\n`);
    return;
  }

  const home = resolve(process.env.TETHER_HOME || join(homedir(), '.tether'));
  if (v['check-sandbox']) {
    const check = await checkSandbox({ scratch: tmpdir() });
    process.stdout.write(`${check.lines.join('\n')}\n`);
    process.exit(check.ok ? 0 : 1);
  }
  if (v['list-rules'] || v['remove-rule'] !== undefined) {
    process.exit(await manageRules(home, v['remove-rule']));
  }
  const logger = pino(
    { level: process.env.TETHER_LOG ?? 'info', base: { service: 'tether-app-server' } },
    pino.destination({ fd: 2, sync: true }),
  );

  let listen: ListenTarget;
  let delays: (origin: string | undefined) => number;
  let auth: Awaited<ReturnType<typeof resolveWebSocketAuth>>;
  try {
    listen = v.stdio ? { kind: 'stdio' } : parseListenUrl(v.listen ?? 'stdio://', { home });
    delays = unloadDelays(v['thread-unload-delay'] ?? []);
    auth = await resolveWebSocketAuth(webSocketAuthFlagsFrom(v));
  } catch (error) {
    fail((error as Error).message);
  }

  let agent: Awaited<ReturnType<typeof agentFromOptions>>;
  try {
    agent = await agentFromOptions(
      {
        model: v.model,
        modelBaseUrl: v['model-base-url'],
        apiKeyEnv: v['api-key-env'],
        modelTimeout: v['model-timeout'],
        modelRetries: v['model-retries'],
        execServerUrl: v['exec-server-url'],
        execServerTokenEnv: v['exec-server-token-env'],
      },
      process.env,
      logger,
      { home, masked: listen.kind === 'unix' ? [listen.path] : [] },
    );
  } catch (error) {
    fail((error as Error).message);
  }

  let server: AppServer;
  try {
    server = await AppServer.start({
      home,
      listen,
      logger,
      runtimeFactory: agent.runtimeFactory,
      unloadDelayMs: delays,
      auth,
      websocket: {
        ...(v['allowed-origin'] ? { allowedOrigins: v['allowed-origin'] } : {}),
        ...(v['allowed-host'] ? { allowedHosts: v['allowed-host'] } : {}),
      },
      defaults: { model: agent.model, modelProvider: agent.modelProvider },
      apiKeyConfigured: agent.apiKeyConfigured,
      version: version(),
      environment: agent.environment,
      configWarnings: agent.configWarnings,
    });
  } catch (error) {
    fail((error as Error).message);
  }

  if (listen.kind === 'websocket' && server.url) {
    const http = server.url.replace('ws://', 'http://');
    process.stderr.write(
      `tether-app-server (WebSockets)\n  listening on: ${server.url}\n  readyz: ${http}/readyz\n  healthz: ${http}/healthz\n  note: binds localhost only (use SSH port-forwarding for remote access)\n`,
    );
  } else if (listen.kind === 'unix') {
    process.stderr.write(`tether-app-server (control socket)\n  listening on: ${listen.path}\n`);
  }

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(0);
    }
    logger.info({ signal }, 'shutting down after running turns finish (send again to force)');
    void server.shutdown({ waitForTurns: true });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', () => logger.info('SIGHUP ignored: it never forces a shutdown'));

  await server.stopped;
  await agent.close();
  logger.info('stopped');
  process.exit(0);
}

void main();
