/**
 * The configuration of one server: the layers (system file, the user's `config.toml`, a profile
 * file, `-c` flags), read fresh for each request as the reference does so that an edit made by hand
 * or through `config/value/write` applies to the next thread; the effective values; and the
 * format-preserving writes of `config/value/write` and `config/batchWrite`.
 */
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse as parseForEdit, patch } from '@decimalturn/toml-patch';
import { app, internalError, invalidRequest, RpcError } from '@tether/protocol';
import { parse, TomlError } from 'smol-toml';
import { locateValue, type TextRange } from './locate.js';
import { type ConfigOverride, splitKeyPath } from './overrides.js';
import {
  type ProviderShorthands,
  type ResolvedConfig,
  type ResolvedProvider,
  resolveConfig,
  resolveProvider,
} from './resolve.js';
import { type ConfigToml, checkConfig, PROFILE_KEYS } from './schema.js';
import {
  deepMerge,
  deletePath,
  forbiddenKeyPath,
  getPath,
  isTable,
  leafPaths,
  setPath,
  type Table,
  tableVersion,
  toJson,
} from './table.js';

export const CONFIG_FILE = 'config.toml';
export const DEFAULT_SYSTEM_CONFIG_FILE = '/etc/tether/config.toml';

export interface ConfigServiceOptions {
  /** The state directory; the user's file is `<home>/config.toml`. */
  home: string;
  /** `-c key=value` flags, in order (a later one wins). */
  overrides?: readonly ConfigOverride[];
  /** `--profile NAME`: `<home>/NAME.config.toml`, or `[profiles.NAME]` of the user's file. */
  profile?: string | undefined;
  /** Read below the user's file when it exists (default /etc/tether/config.toml; null: none). */
  systemFile?: string | null;
  env?: NodeJS.ProcessEnv;
  /** `--model-base-url` and `--api-key-env`: they change the selected provider. */
  providerShorthands?: ProviderShorthands;
  /** How long a write waits for another process's lock on the file (default 5 s). */
  lockTimeoutMs?: number;
}

/** A configuration that cannot be used: where, and why. */
export class ConfigLoadError extends Error {
  readonly code = 'config_invalid';
  constructor(
    /** What is wrong, without the location. */
    readonly detail: string,
    readonly kind: 'parse' | 'validation' | 'profile' | 'provider',
    readonly file?: string,
    readonly range?: TextRange,
    readonly keyPath?: string,
  ) {
    super(ConfigLoadError.locate(detail, file, range));
  }

  private static locate(detail: string, file?: string, range?: TextRange): string {
    if (!file) return detail;
    return range
      ? `${file}:${range.start.line}:${range.start.column}: ${detail}`
      : `${file}: ${detail}`;
  }

  /** `configWarning` at startup, as the reference sends it. */
  warning(): app.ConfigWarningNotification {
    return {
      summary: 'Invalid configuration; using defaults.',
      details: this.message,
      ...(this.file ? { path: this.file } : {}),
      ...(this.range ? { range: this.range } : {}),
    };
  }
}

interface Layer {
  name: app.ConfigLayerSource;
  version: string;
  table: Table;
}

/** The configuration at one moment. */
export interface ConfigSnapshot {
  /** Highest precedence first, as `config/read` lists them. */
  layers: Layer[];
  /** The merged table, with the selected legacy profile applied. */
  effective: Table;
  config: ConfigToml;
  resolved: ResolvedConfig;
}

const writeError = (message: string, code: app.ConfigWriteErrorCode) =>
  new RpcError(invalidRequest(message, { config_write_error_code: code }));

/** The features tether reports: the tools it always offers (nothing is switched at run time). */
const FEATURES: readonly app.ExperimentalFeature[] = [
  {
    name: 'shell_tool',
    stage: 'stable',
    displayName: null,
    description: null,
    announcement: null,
    enabled: true,
    defaultEnabled: true,
  },
  {
    name: 'unified_exec',
    stage: 'stable',
    displayName: null,
    description: null,
    announcement: null,
    enabled: true,
    defaultEnabled: true,
  },
];

export class ConfigService {
  readonly userFile: string;
  private readonly systemFile: string | null;
  private readonly env: NodeJS.ProcessEnv;
  private readonly sessionTable: Table;
  private writing: Promise<unknown> = Promise.resolve();
  private pinned: ResolvedProvider | undefined;

  constructor(private readonly options: ConfigServiceOptions) {
    this.userFile = join(resolve(options.home), CONFIG_FILE);
    this.systemFile =
      options.systemFile === undefined ? DEFAULT_SYSTEM_CONFIG_FILE : options.systemFile;
    this.env = options.env ?? process.env;
    this.sessionTable = {};
    for (const override of options.overrides ?? []) {
      setPath(this.sessionTable, override.keyPath, override.value);
    }
  }

  /** The configuration now; throws `ConfigLoadError` when a file does not parse or check. */
  load(): ConfigSnapshot {
    const layers: Layer[] = [];
    if (Object.keys(this.sessionTable).length > 0) {
      const checked = checkConfig(this.sessionTable);
      if (!checked.ok) {
        throw new ConfigLoadError(
          `${checked.message}\nin \`${checked.keyPath}\``,
          'validation',
          undefined,
          undefined,
          checked.keyPath,
        );
      }
      layers.push({
        name: { type: 'sessionFlags' },
        version: tableVersion(this.sessionTable),
        table: this.sessionTable,
      });
    }
    const user = readLayerFile(this.userFile) ?? {};
    const profileName =
      this.options.profile ??
      stringOr(getPath(this.sessionTable, ['profile'])) ??
      stringOr(user.profile);
    if (this.options.profile !== undefined) {
      const profileFile = join(resolve(this.options.home), `${this.options.profile}.config.toml`);
      const table = readLayerFile(profileFile);
      if (table) {
        if (isTable(getPath(user, ['profiles', this.options.profile]))) {
          throw new ConfigLoadError(
            `--profile \`${this.options.profile}\` cannot be used while ${this.userFile} contains a legacy \`[profiles.${this.options.profile}]\` table; move those settings into ${profileFile} and remove the table`,
            'profile',
          );
        }
        layers.push({
          name: { type: 'user', file: profileFile, profile: this.options.profile },
          version: tableVersion(table),
          table,
        });
      }
    }
    layers.push({
      name: { type: 'user', file: this.userFile, profile: null },
      version: tableVersion(user),
      table: user,
    });
    if (this.systemFile !== null) {
      const system = readLayerFile(this.systemFile) ?? {};
      layers.push({
        name: { type: 'system', file: this.systemFile },
        version: tableVersion(system),
        table: system,
      });
    }
    let effective: Table = {};
    for (const layer of [...layers].reverse()) effective = deepMerge(effective, layer.table);
    const profileLayer = layers.some((layer) => 'profile' in layer.name && layer.name.profile);
    if (profileName !== undefined && !profileLayer) {
      const legacy = getPath(effective, ['profiles', profileName]);
      if (!isTable(legacy)) {
        throw new ConfigLoadError(`config profile \`${profileName}\` not found`, 'profile');
      }
      const picked = Object.fromEntries(
        Object.entries(legacy).filter(([key]) => PROFILE_KEYS.includes(key)),
      );
      effective = deepMerge(effective, picked);
    }
    const checked = checkConfig(effective);
    if (!checked.ok) throw new ConfigLoadError(checked.message, 'validation');
    let resolved: ResolvedConfig;
    try {
      resolved = resolveConfig(checked.config, this.env, this.options.providerShorthands);
    } catch (error) {
      throw new ConfigLoadError(error instanceof Error ? error.message : String(error), 'provider');
    }
    if (this.pinned) resolved = { ...resolved, provider: this.pinned };
    return { layers, effective, config: checked.config, resolved };
  }

  /**
   * The provider the model client was built with at startup. Turns keep going to it until the
   * server restarts, so the selected provider that `thread/start`, `model/list` and
   * `modelProvider/*` report is this one, not one `config.toml` selects later (the model, the
   * approval and sandbox settings still apply from the file as it is now).
   */
  pinProvider(provider: ResolvedProvider): void {
    this.pinned = provider;
  }

  /**
   * Provider `id` as this configuration defines it (the selected one with the command-line
   * shorthands applied), for methods that name a provider other than the selected one.
   */
  provider(snapshot: ConfigSnapshot, id: string): ResolvedProvider {
    if (id === snapshot.resolved.provider.id) return snapshot.resolved.provider;
    return resolveProvider({ ...snapshot.config, model_provider: id }, this.env);
  }

  /** The configuration, or why it cannot be used. */
  tryLoad():
    | { snapshot: ConfigSnapshot; error?: undefined }
    | { snapshot?: undefined; error: ConfigLoadError } {
    try {
      return { snapshot: this.load() };
    } catch (error) {
      if (error instanceof ConfigLoadError) return { error };
      throw error;
    }
  }

  /** What each client is told after `initialize` about the configuration. */
  warnings(): app.ConfigWarningNotification[] {
    const loaded = this.tryLoad();
    return loaded.error ? [loaded.error.warning()] : [];
  }

  /** For `thread/start` and the like: the configuration, or the reference's error. */
  loadForThread(): ConfigSnapshot {
    const loaded = this.tryLoad();
    if (loaded.error) {
      throw new RpcError(invalidRequest(`failed to load configuration: ${loaded.error.message}`));
    }
    return loaded.snapshot;
  }

  read(params: app.ConfigReadParams): app.ConfigReadResponse {
    const loaded = this.tryLoad();
    if (loaded.error) {
      const error = loaded.error;
      throw new RpcError(
        internalError(
          error.kind === 'parse'
            ? `failed to read configuration layers: ${error.message}`
            : error.kind === 'validation'
              ? `invalid configuration: ${error.detail}${error.keyPath ? `\nin \`${error.keyPath}\`\n` : ''}`
              : `failed to load configuration: ${error.message}`,
        ),
      );
    }
    const { layers, effective, config } = loaded.snapshot;
    const origins: Record<string, app.ConfigLayerMetadata> = {};
    for (const layer of [...layers].reverse()) {
      for (const path of leafPaths(layer.table)) {
        origins[path.join('.')] = { name: layer.name, version: layer.version };
      }
    }
    return {
      config: effectiveView(effective, config),
      origins,
      ...(params?.includeLayers
        ? {
            layers: layers.map((layer) => ({
              name: layer.name,
              version: layer.version,
              config: toJson(layer.table),
            })),
          }
        : {}),
    };
  }

  /** `configRequirements/read`: tether has no managed requirements. */
  requirements() {
    const loaded = this.tryLoad();
    if (loaded.error?.kind === 'parse') {
      throw new RpcError(
        internalError(`failed to read configuration layers: ${loaded.error.message}`),
      );
    }
    return { requirements: null, supportsIndependentSpeedModes: false };
  }

  features(params: app.ExperimentalFeatureListParams): app.ExperimentalFeatureListResponse {
    let start = 0;
    if (params?.cursor != null) {
      start = /^\d+$/.test(params.cursor) ? Number(params.cursor) : Number.NaN;
      if (!Number.isInteger(start) || start > FEATURES.length) {
        throw new RpcError(invalidRequest(`invalid cursor: ${params.cursor}`));
      }
    }
    const end =
      params?.limit != null
        ? Math.min(FEATURES.length, start + Math.max(1, params.limit))
        : FEATURES.length;
    return {
      data: FEATURES.slice(start, end),
      nextCursor: end < FEATURES.length ? String(end) : null,
    };
  }

  /**
   * `experimentalFeature/enablement/set`: answers the entries it applied, as the reference does;
   * tether has no feature that can be switched while it runs, so none is.
   */
  setFeatureEnablement(
    _params: app.ExperimentalFeatureEnablementSetParams,
  ): app.ExperimentalFeatureEnablementSetResponse {
    return { enablement: {} };
  }

  /**
   * Applies edits to the user's file, one write at a time (in this process, and against other
   * processes through a lock file); the text outside the edited keys stays as it was.
   */
  write(
    edits: readonly app.ConfigEdit[],
    options: { filePath?: string | null | undefined; expectedVersion?: string | null | undefined },
  ): Promise<app.ConfigWriteResponse> {
    const run = this.writing.then(() => this.withFileLock(() => this.writeNow(edits, options)));
    this.writing = run.catch(() => undefined);
    return run;
  }

  private async writeNow(
    edits: readonly app.ConfigEdit[],
    options: { filePath?: string | null | undefined; expectedVersion?: string | null | undefined },
  ): Promise<app.ConfigWriteResponse> {
    if (options.filePath != null && resolve(options.filePath) !== this.userFile) {
      throw writeError('Only writes to the user config are allowed', 'configLayerReadonly');
    }
    const text = existsSync(this.userFile) ? readFileSync(this.userFile, 'utf8') : '';
    let current: Table;
    try {
      current = parseTable(text, this.userFile);
    } catch (error) {
      if (error instanceof ConfigLoadError) {
        throw new RpcError(internalError(`failed to load configuration: ${error.message}`));
      }
      throw error;
    }
    if (options.expectedVersion != null && options.expectedVersion !== tableVersion(current)) {
      throw writeError(
        'Configuration was modified since last read. Fetch latest version and retry.',
        'configVersionConflict',
      );
    }
    // edited as toml-patch reads the file, so that its patch keeps everything else as written
    const edited: unknown = text.trim() === '' ? {} : parseForEdit(text);
    if (!isTable(edited)) throw new Error('config.toml did not parse to a table');
    for (const edit of edits) {
      if (edit.keyPath.trim() === '') {
        throw writeError('keyPath must not be empty', 'configValidationError');
      }
      const path = splitKeyPath(edit.keyPath);
      // `__proto__` and the like would reach Object.prototype before the check below ran
      const forbidden = forbiddenKeyPath(path, edit.value);
      if (forbidden) {
        throw writeError(
          `Invalid configuration: key \`${forbidden.at(-1)}\` is not allowed\nin \`${forbidden.join('.')}\`\n`,
          'configValidationError',
        );
      }
      if (edit.value === null || edit.value === undefined) {
        deletePath(edited, path);
      } else if (
        edit.mergeStrategy === 'upsert' &&
        isTable(getPath(edited, path)) &&
        isTable(edit.value)
      ) {
        const existing = getPath(edited, path);
        setPath(edited, path, deepMerge(isTable(existing) ? existing : {}, edit.value));
      } else {
        setPath(edited, path, edit.value);
      }
    }
    const checked = checkConfig(edited);
    if (!checked.ok) {
      throw writeError(
        `Invalid configuration: ${checked.message}\nin \`${checked.keyPath}\`\n`,
        'configValidationError',
      );
    }
    let next = text.trim() === '' && Object.keys(edited).length === 0 ? text : patch(text, edited);
    // a file that ended its last line (or a new one) keeps doing so
    if ((text === '' || text.endsWith('\n')) && next !== '' && !next.endsWith('\n')) next += '\n';
    const written = parseTable(next, this.userFile);
    if (next !== text) await replaceFile(this.userFile, next);
    const version = tableVersion(written);
    const overridden = this.overriddenBy(edits);
    return {
      status: overridden ? 'okOverridden' : 'ok',
      version,
      filePath: this.userFile,
      overriddenMetadata: overridden ?? null,
    };
  }

  /** The first edit that a higher layer (`-c` flags, a profile file) hides, and by what. */
  private overriddenBy(edits: readonly app.ConfigEdit[]): app.OverriddenMetadata | undefined {
    const loaded = this.tryLoad();
    if (loaded.error) return undefined;
    const { layers, effective } = loaded.snapshot;
    for (const edit of edits) {
      const path = splitKeyPath(edit.keyPath);
      for (const layer of layers) {
        if (layer.name.type === 'user' && !('profile' in layer.name && layer.name.profile)) break;
        const hides = path.some((_, i) => {
          const value = getPath(layer.table, path.slice(0, i + 1));
          return value !== undefined && (i === path.length - 1 || !isTable(value));
        });
        if (hides) {
          return {
            message:
              layer.name.type === 'sessionFlags'
                ? 'Overridden by session flags'
                : `Overridden by profile \`${'profile' in layer.name ? layer.name.profile : ''}\``,
            overridingLayer: { name: layer.name, version: layer.version },
            effectiveValue: toJson(getPath(effective, path)) ?? null,
          };
        }
      }
    }
    return undefined;
  }

  /** Runs `fn` holding `<file>.lock`, so that two servers sharing a home never lose a write. */
  private async withFileLock<T>(fn: () => Promise<T>): Promise<T> {
    const lock = `${this.userFile}.lock`;
    const deadline = Date.now() + (this.options.lockTimeoutMs ?? 5000);
    const token = randomBytes(8).toString('hex');
    for (;;) {
      if (await createLock(lock, token)) break;
      if (await lockIsStale(lock)) {
        await takeOverStaleLock(lock);
        continue;
      }
      if (Date.now() > deadline) {
        throw new RpcError(internalError(`config file is locked by another writer: ${lock}`));
      }
      await sleep(15);
    }
    try {
      return await fn();
    } finally {
      await releaseLock(lock, token);
    }
  }
}

/** A lock older than this is stale even when its holder cannot be checked (another host). */
const LOCK_STALE_MS = 30_000;
/** A takeover guard older than this was left by a process that died in the middle of one. */
const TAKEOVER_STALE_MS = 5_000;

/** The lock file: who holds it (pid and host, to tell a dead holder) and this holding's token. */
async function createLock(lock: string, token: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(lock, 'wx');
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    throw error;
  }
  try {
    await handle.writeFile(`${process.pid}\n${hostname()}\n${token}\n`);
  } finally {
    await handle.close();
  }
  return true;
}

/** Removes the lock if it is still this holding's (a writer that took it over keeps its own). */
async function releaseLock(lock: string, token: string): Promise<void> {
  const text = await readFile(lock, 'utf8').catch(() => '');
  if (text.split('\n')[2] === token) await rm(lock, { force: true });
}

/**
 * Whether the lock's holder is gone: a process of this host that no longer runs, or (for one that
 * cannot be checked) a lock older than any write takes. A lock just made and not yet written
 * (empty) is young, so it is never stale.
 */
async function lockIsStale(lock: string): Promise<boolean> {
  let age: number;
  let text: string;
  try {
    age = Date.now() - (await stat(lock)).mtimeMs;
    text = await readFile(lock, 'utf8');
  } catch (error) {
    // gone already: not stale, the next exclusive create decides who holds it
    if (isCode(error, 'ENOENT')) return false;
    throw error;
  }
  if (age > LOCK_STALE_MS) return true;
  const [pid, host] = text.split('\n');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return isCode(error, 'ESRCH');
  }
}

/**
 * Removes a stale lock so that the writers can race for it again with an exclusive create. Two
 * writers that both saw it stale must not both remove it (the second would remove the lock the
 * first has just taken): removal happens under `<lock>.takeover`, itself taken exclusively, and
 * only after checking again that the lock there is still stale.
 */
async function takeOverStaleLock(lock: string): Promise<void> {
  const guard = `${lock}.takeover`;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(guard, 'wx');
  } catch (error) {
    if (!isCode(error, 'EEXIST')) throw error;
    const age = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > TAKEOVER_STALE_MS) await rm(guard, { force: true });
    else await sleep(5);
    return;
  }
  try {
    if (await lockIsStale(lock)) await rm(lock, { force: true });
  } finally {
    await handle.close();
    await rm(guard, { force: true });
  }
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof Error && 'code' in error && error.code === code;
}

const stringOr = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** Parses a TOML text, with the reference's `<file>:<line>:<col>` on a syntax error. */
function parseTable(text: string, file: string): Table {
  try {
    return parse(text);
  } catch (error) {
    if (error instanceof TomlError) {
      const detail = (error.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      const at = { line: error.line, column: error.column };
      throw new ConfigLoadError(detail, 'parse', file, { start: at, end: at });
    }
    throw error;
  }
}

/** A config file's table, checked alone so that a wrong value is reported where it is written. */
function readLayerFile(file: string): Table | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (isCode(error, 'ENOENT') || isCode(error, 'ENOTDIR')) return undefined;
    throw error;
  }
  const table = parseTable(text, file);
  const checked = checkConfig(table);
  if (!checked.ok) {
    const range = locateValue(text, splitKeyPath(checked.keyPath));
    throw new ConfigLoadError(checked.message, 'validation', file, range, checked.keyPath);
  }
  return table;
}

/**
 * The file a path ends at: a `config.toml` that is a symlink (into a dotfiles repository, say) is
 * written where it points, so that the link stays a link. A link to a file not made yet is followed
 * too.
 */
function writeTarget(file: string): string {
  try {
    return realpathSync(file);
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
  try {
    if (lstatSync(file).isSymbolicLink()) {
      return writeTarget(resolve(dirname(file), readlinkSync(file)));
    }
  } catch (error) {
    if (!isCode(error, 'ENOENT')) throw error;
  }
  return file;
}

/** Writes through a temporary file and a rename, so that a reader never sees half a file. */
async function replaceFile(path: string, text: string): Promise<void> {
  // the temporary file sits beside the real file: a rename over a symlink would replace the link
  const file = writeTarget(path);
  const temp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await writeFile(temp, text, { mode: 0o600 });
  try {
    if (existsSync(file)) chmodSync(temp, statSync(file).mode & 0o7777);
    renameSync(temp, file);
  } catch (error) {
    try {
      unlinkSync(temp);
    } catch {}
    throw error;
  }
}

/** Keys of the reference's `Config` with no value of their own: reported as null when unset. */
const REFERENCE_KEYS = [
  'model',
  'review_model',
  'model_context_window',
  'model_auto_compact_token_limit',
  'model_auto_compact_token_limit_scope',
  'model_provider',
  'approval_policy',
  'approvals_reviewer',
  'sandbox_mode',
  'sandbox_workspace_write',
  'forced_chatgpt_workspace_id',
  'forced_login_method',
  'web_search',
  'client_search_provider',
  'tools',
  'instructions',
  'developer_instructions',
  'compact_prompt',
  'model_reasoning_effort',
  'model_reasoning_summary',
  'model_verbosity',
  'service_tier',
  'analytics',
  'apps',
  'browser_use',
  'computer_use',
  'desktop',
  'profile',
  'project_doc_max_bytes',
  'openai_base_url',
  'default_permissions',
];

const PROVIDER_KEYS = [
  'name',
  'base_url',
  'env_key',
  'env_key_instructions',
  'experimental_bearer_token',
  'wire_api',
  'query_params',
  'http_headers',
  'env_http_headers',
  'request_max_retries',
  'stream_max_retries',
  'stream_idle_timeout_ms',
];

/** `config/read`'s `config`: the reference's keys (null when unset), with tables filled in. */
function effectiveView(effective: Table, config: ConfigToml): app.JsonObject {
  const view: Record<string, unknown> = {};
  for (const key of REFERENCE_KEYS) view[key] = toJson(effective[key]) ?? null;
  if (config.sandbox_workspace_write) {
    const ws = config.sandbox_workspace_write;
    view.sandbox_workspace_write = {
      writable_roots: ws.writable_roots ?? [],
      network_access: ws.network_access ?? false,
      exclude_tmpdir_env_var: ws.exclude_tmpdir_env_var ?? false,
      exclude_slash_tmp: ws.exclude_slash_tmp ?? false,
    };
  }
  const providers: Record<string, unknown> = {};
  for (const [id, provider] of Object.entries(config.model_providers ?? {})) {
    const filled: Record<string, unknown> = {};
    for (const key of PROVIDER_KEYS) filled[key] = toJson(provider[key]) ?? null;
    filled.wire_api = provider.wire_api ?? 'responses';
    filled.requires_openai_auth = provider.requires_openai_auth ?? false;
    providers[id] = filled;
  }
  view.model_providers = providers;
  const profiles: Record<string, unknown> = {};
  for (const [name, profile] of Object.entries(config.profiles ?? {})) {
    profiles[name] = Object.fromEntries(
      PROFILE_KEYS.map((key) => [key, toJson(profile[key]) ?? null]),
    );
  }
  view.profiles = profiles;
  view.features = Object.fromEntries(FEATURES.map((feature) => [feature.name, feature.enabled]));
  view.mcp_servers = toJson(effective.mcp_servers) ?? {};
  const json = app.JsonObject.safeParse(toJson(view));
  return json.success ? json.data : {};
}
