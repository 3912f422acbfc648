#!/usr/bin/env node
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ExecPolicy } from '@tether/agent-core';
import {
  AuthStore,
  type ConfigOverride,
  ConfigOverrideError,
  ConfigService,
  parseOverride,
  RateLimitBoard,
  resolveConfig,
} from '@tether/app-session';
import { checkSandbox } from '@tether/exec-session';
import {
  type CliSpec,
  type CliValues,
  COMMON_CLI_HELP,
  createLogger,
  exitWithStartupError,
  exitWithUsageError,
  type ListenTarget,
  ListenUrlError,
  type LogLevel,
  parseDuration,
  parseListenUrl,
  parseProcessCli,
  readPackageVersion,
  resolveWebSocketAuth,
  UsageError,
  WEB_SOCKET_AUTH_CLI_OPTIONS,
  webSocketAuthFlagsFrom,
} from '@tether/transport';
import { agentFromOptions, tokenCount } from './agent-config.js';
import { AppServer, DEFAULT_THREAD_UNLOAD_DELAY_MS } from './server.js';

const USAGE = 'Usage: tether-app-server [OPTIONS]';

const HELP = `tether-app-server: a Codex-compatible app-server

${USAGE}

Options:
  --listen <URL>                    stdio:// (default), ws://IP:PORT, unix://, unix://PATH or off
  --thread-unload-delay <DURATION>  idle time before a thread with no subscribers unloads (default 30m);
                                    ORIGIN=DURATION sets it for one origin (stdio, websocket, unix),
                                    e.g. --thread-unload-delay stdio=0; may be repeated
  -c, --config <KEY=VALUE>           override a config.toml value (repeatable): a dotted key, and a
                                    value parsed as TOML, else taken as a string
                                    (-c model="o3", -c model_providers.local.base_url="http://h/v1")
  -p, --profile <NAME>              layer <TETHER_HOME>/NAME.config.toml over config.toml (or apply
                                    its [profiles.NAME] table)
  --model <NAME>                    model for new threads (default gpt-5); as -c model="NAME"
  --model-base-url <URL>            base URL of the selected provider
                                    (default $OPENAI_BASE_URL, else https://api.openai.com/v1)
  --api-key-env <NAME>              environment variable holding the provider's API key
                                    (default: its env_key; OPENAI_API_KEY for openai)
  --wire-api <API>                  responses or chat (the server speaks only /chat/completions);
                                    default: the provider's wire_api, else responses
  --model-timeout <DURATION>        time to the first byte of a model reply (default 60s)
  --model-retries <N>               retries on 429/5xx and on a stream dropped before its first event
                                    (default: the provider's stream_max_retries, 5); an unreachable model
                                    server is retried until it answers
  --model-context-window <TOKENS>   the model's context window, for a model tether's catalogue does not
                                    know (default 272000, capped there for such a model); clients are
                                    told 95% of it and the conversation is compacted at 90%
  --model-auto-compact-token-limit <TOKENS>
                                    tokens in use at which the conversation is compacted
  --update-plan-tool                offer the model the update_plan checklist tool (turn/plan/updated);
                                    off by default, as Codex's tools.update_plan.enabled
  --apply-patch-tool <TYPE>         how apply_patch is offered: freeform (a custom tool) or function;
                                    default freeform for GPT-5 and Codex models, function otherwise
  --exec-server-url <URL>           run commands on a remote tether or Codex exec-server
                                    (default $TETHER_EXEC_SERVER_URL; else locally)
  --exec-server-token-env <NAME>    environment variable holding the exec-server bearer token
  --ws-auth <MODE>                  capability-token or signed-bearer-token
  --ws-token-file <ABS_PATH>        capability token file
  --ws-token-sha256 <HEX>           SHA-256 of the capability token
  --ws-shared-secret-file <PATH>    HS256 secret for signed bearer tokens (>= 32 bytes)
  --ws-issuer <ISS>                 required JWT issuer
  --ws-audience <AUD>               required JWT audience
  --ws-max-clock-skew-seconds <N>   JWT clock skew (default 30)
  --allowed-origin <ORIGIN>         let browsers from ORIGIN connect (repeatable)
  --allowed-host <HOST>             accept this Host header besides loopback names (repeatable)
  --check-sandbox                   check that sandboxed commands can run here (bubblewrap), print
                                    what holds, and exit (0 when it works)
  --list-rules                      list the saved command rules (<TETHER_HOME>/rules/*.rules) and exit
  --remove-rule <N>                 remove rule N of --list-rules and exit
${COMMON_CLI_HELP}

Durations take ms, s, m or h suffixes; a bare number is seconds (as in tether-exec-server).
Logs go to stderr as JSON lines, with tokens, keys and authorization headers redacted.
A wrong command line exits 2; a server that cannot start exits 1.

Environment:
  TETHER_HOME   state directory (default ~/.tether): config.toml, rollouts, index, control socket
  TETHER_LOG    log level on stderr, as --log-level (default info)
  OPENAI_API_KEY, OPENAI_BASE_URL, TETHER_EXEC_SERVER_URL: see the options above
`;

const OPTIONS = {
  listen: { type: 'string', default: 'stdio://' },
  // an alias of --listen stdio://, kept for scripts that passed it
  stdio: { type: 'boolean' },
  'thread-unload-delay': { type: 'string', multiple: true },
  config: { type: 'string', short: 'c', multiple: true },
  profile: { type: 'string', short: 'p' },
  model: { type: 'string' },
  'model-base-url': { type: 'string' },
  'api-key-env': { type: 'string' },
  'wire-api': { type: 'string' },
  'model-timeout': { type: 'string' },
  'model-retries': { type: 'string' },
  'apply-patch-tool': { type: 'string' },
  'update-plan-tool': { type: 'boolean' },
  'model-context-window': { type: 'string' },
  'model-auto-compact-token-limit': { type: 'string' },
  'exec-server-url': { type: 'string' },
  'exec-server-token-env': { type: 'string' },
  ...WEB_SOCKET_AUTH_CLI_OPTIONS,
  'allowed-origin': { type: 'string', multiple: true },
  'allowed-host': { type: 'string', multiple: true },
  'check-sandbox': { type: 'boolean' },
  'list-rules': { type: 'boolean' },
  'remove-rule': { type: 'string' },
} as const;

function cliSpec(): CliSpec<typeof OPTIONS> {
  return {
    name: 'tether-app-server',
    version: readPackageVersion(new URL('../package.json', import.meta.url)),
    help: HELP,
    usage: USAGE,
    options: OPTIONS,
  };
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
    process.stderr.write(`error: no rule ${remove}; --list-rules shows ${rules.length}\n`);
    return 1;
  }
  const rule = rules[number - 1];
  await policy.remove(number - 1);
  process.stdout.write(`removed ${JSON.stringify(rule?.pattern)}\n`);
  return 0;
}

function unloadDelays(values: string[]): (origin: string | undefined) => number {
  let fallback = DEFAULT_THREAD_UNLOAD_DELAY_MS;
  const perOrigin = new Map<string, number>();
  for (const value of values) {
    const eq = value.indexOf('=');
    if (eq === -1) {
      fallback = parseDuration(value, 'thread-unload-delay');
      continue;
    }
    const origin = value.slice(0, eq);
    if (!['stdio', 'websocket', 'unix'].includes(origin)) {
      throw new UsageError(
        `invalid value '${value}' for '--thread-unload-delay': unknown origin '${origin}'; expected stdio, websocket or unix`,
      );
    }
    perOrigin.set(origin, parseDuration(value.slice(eq + 1), 'thread-unload-delay'));
  }
  return (origin) => (origin !== undefined ? (perOrigin.get(origin) ?? fallback) : fallback);
}

/** What the command line asks for, checked as far as that needs no I/O (else it exits 2). */
function command(values: CliValues<typeof OPTIONS>, logLevel: LogLevel) {
  const home = resolve(process.env.TETHER_HOME || join(homedir(), '.tether'));
  let listen: ListenTarget;
  try {
    listen = values.stdio ? { kind: 'stdio' } : parseListenUrl(values.listen, { home });
  } catch (error) {
    if (error instanceof ListenUrlError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const delays = unloadDelays(values['thread-unload-delay'] ?? []);
  // agentFromOptions reads these two as well; checking them here makes a typo exit 2 like any other.
  const timeout = values['model-timeout'];
  if (timeout !== undefined) parseDuration(timeout, 'model-timeout');
  const retries = values['model-retries'];
  if (retries !== undefined && !/^\d+$/.test(retries)) {
    throw new UsageError(
      `invalid value '${retries}' for '--model-retries': expected a whole number`,
    );
  }
  const patchTool = values['apply-patch-tool'];
  if (patchTool !== undefined && patchTool !== 'freeform' && patchTool !== 'function') {
    throw new UsageError(
      `invalid value '${patchTool}' for '--apply-patch-tool': expected freeform or function`,
    );
  }
  tokenCount(values['model-context-window'], 'model-context-window');
  tokenCount(values['model-auto-compact-token-limit'], 'model-auto-compact-token-limit');
  let overrides: ConfigOverride[];
  try {
    overrides = (values.config ?? []).map(parseOverride);
  } catch (error) {
    if (error instanceof ConfigOverrideError) {
      throw new UsageError(`invalid value for '--config': ${error.message}`, { cause: error });
    }
    throw error;
  }
  // --model is `-c model=...`, and wins over one
  if (values.model !== undefined) overrides.push({ keyPath: ['model'], value: values.model });
  const config = new ConfigService({
    home,
    overrides,
    profile: values.profile,
    providerShorthands: { baseUrl: values['model-base-url'], envKey: values['api-key-env'] },
  });
  const loaded = config.tryLoad();
  // a wrong -c value is a wrong command line; a wrong file is reported to clients instead
  if (loaded.error && loaded.error.file === undefined && loaded.error.kind === 'validation') {
    throw new UsageError(`invalid value for '--config': ${loaded.error.detail}`);
  }
  return { values, logLevel, home, listen, delays, config, loaded };
}

async function main(): Promise<void> {
  const spec = cliSpec();
  const {
    values: v,
    logLevel,
    home,
    listen,
    delays,
    config,
    loaded,
  } = parseProcessCli(spec, command);
  if (v['check-sandbox']) {
    const check = await checkSandbox({ scratch: tmpdir() });
    process.stdout.write(`${check.lines.join('\n')}\n`);
    process.exit(check.ok ? 0 : 1);
  }
  if (v['list-rules'] || v['remove-rule'] !== undefined) {
    process.exit(await manageRules(home, v['remove-rule']));
  }
  const logger = createLogger({ service: 'tether-app-server', level: logLevel });

  let auth: Awaited<ReturnType<typeof resolveWebSocketAuth>>;
  try {
    auth = await resolveWebSocketAuth(webSocketAuthFlagsFrom(v));
  } catch (error) {
    exitWithStartupError(error);
  }

  if (loaded.error) {
    // as the reference: the server starts on defaults; clients get a configWarning, and
    // config/read and thread/start name the file, line and column
    logger.error(
      { path: loaded.error.file ?? null },
      `Invalid configuration; using defaults. ${loaded.error.message}`,
    );
  }
  // a key a client signs in with, shared by the account methods and the model client
  const authStore = new AuthStore(home);
  const rateLimits = new RateLimitBoard();
  // the model client's provider is fixed here; the config service reports it until a restart
  const startup =
    loaded.snapshot?.resolved ??
    resolveConfig(v.model ? { model: v.model } : {}, process.env, {
      baseUrl: v['model-base-url'],
      envKey: v['api-key-env'],
    });
  config.pinProvider(startup.provider);
  let agent: Awaited<ReturnType<typeof agentFromOptions>>;
  try {
    agent = await agentFromOptions(
      {
        model: v.model,
        modelBaseUrl: v['model-base-url'],
        apiKeyEnv: v['api-key-env'],
        wireApi: v['wire-api'],
        config: startup,
        modelTimeout: v['model-timeout'],
        modelRetries: v['model-retries'],
        applyPatchTool: v['apply-patch-tool'],
        updatePlanTool: v['update-plan-tool'],
        execServerUrl: v['exec-server-url'],
        execServerTokenEnv: v['exec-server-token-env'],
        modelContextWindow: v['model-context-window'],
        modelAutoCompactTokenLimit: v['model-auto-compact-token-limit'],
      },
      process.env,
      logger,
      { home, masked: listen.kind === 'unix' ? [listen.path] : [] },
      { store: authStore, onRateLimits: (snapshots) => rateLimits.record(snapshots) },
    );
  } catch (error) {
    if (error instanceof UsageError) exitWithUsageError(spec, error);
    exitWithStartupError(error);
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
      config,
      apiKeyConfigured: agent.apiKeyConfigured,
      authStore,
      rateLimits,
      version: spec.version,
      environment: agent.environment,
      configWarnings: agent.configWarnings,
    });
  } catch (error) {
    exitWithStartupError(error);
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
