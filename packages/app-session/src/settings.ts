import {
  BUILT_IN_PERMISSION_PROFILES,
  builtInModeInstructions,
  completePolicy,
  isBuiltInPermissionProfile,
  parsePolicy,
  policyForMode,
  policyForProfile,
  type ThreadSettings,
  type WorkspaceWriteOptions,
  writableRoots,
} from '@tether/agent-core';
import { app, invalidRequest, RpcError } from '@tether/protocol';

/** Server-wide defaults for new threads. */
export interface SettingsDefaults {
  model: string;
  modelProvider: string;
  approvalPolicy: app.AskForApproval;
  sandbox: app.SandboxMode;
  /** `[sandbox_workspace_write]` of the configuration, for the `workspace-write` mode. */
  workspaceWrite?: WorkspaceWriteOptions;
  reasoningEffort?: app.ReasoningEffort | null;
  reasoningSummary?: app.ReasoningSummary | null;
  /** The sandbox mode was set in the configuration: no permission profile is reported then. */
  sandboxConfigured?: boolean;
}

export const DEFAULT_SETTINGS: SettingsDefaults = {
  model: 'gpt-5',
  modelProvider: 'openai',
  approvalPolicy: 'on-request',
  // the reference's default for a folder it has not been told to trust
  sandbox: 'read-only',
};

type Overrides = {
  cwd?: string | null | undefined;
  model?: string | null | undefined;
  modelProvider?: string | null | undefined;
  approvalPolicy?: app.AskForApproval | null | undefined;
  sandbox?: app.SandboxMode | null | undefined;
  sandboxPolicy?: app.SandboxPolicy | null | undefined;
  permissions?: string | null | undefined;
  config?: app.JsonObject | null | undefined;
  baseInstructions?: string | null | undefined;
  developerInstructions?: string | null | undefined;
  effort?: app.ReasoningEffort | null | undefined;
  summary?: app.ReasoningSummary | null | undefined;
  serviceTier?: string | null | undefined;
  collaborationMode?: app.CollaborationMode | null | undefined;
};

/** A `config` value by its dotted key (`a.b`), given nested (`{a:{b}}`) or flat (`{"a.b"}`). */
function configValue(config: app.JsonObject | null | undefined, key: string): unknown {
  if (!config) return undefined;
  if (key in config) return config[key];
  const [head, ...rest] = key.split('.');
  if (head === undefined || rest.length === 0) return undefined;
  const inner = app.JsonObject.safeParse(config[head]);
  return inner.success ? configValue(inner.data, rest.join('.')) : undefined;
}

/** `[sandbox_workspace_write]` of a request's `config`. */
function workspaceWriteOptions(config: app.JsonObject | null | undefined): WorkspaceWriteOptions {
  const options: WorkspaceWriteOptions = {};
  const roots = configValue(config, 'sandbox_workspace_write.writable_roots');
  if (Array.isArray(roots)) {
    options.writableRoots = roots.filter((root): root is string => typeof root === 'string');
  }
  const flag = (key: string) => {
    const value = configValue(config, `sandbox_workspace_write.${key}`);
    return typeof value === 'boolean' ? value : undefined;
  };
  const network = flag('network_access');
  if (network !== undefined) options.networkAccess = network;
  const tmpdir = flag('exclude_tmpdir_env_var');
  if (tmpdir !== undefined) options.excludeTmpdirEnvVar = tmpdir;
  const slashTmp = flag('exclude_slash_tmp');
  if (slashTmp !== undefined) options.excludeSlashTmp = slashTmp;
  return options;
}

/** The policy of a named permission profile, or the reference's configuration error. */
export function profilePolicy(
  id: string,
  config?: app.JsonObject | null,
  /** How the error starts (`command/exec` words it as an invalid profile, not configuration). */
  errorPrefix = 'failed to load configuration',
): { sandbox: app.SandboxPolicy; activePermissionProfile: app.ActivePermissionProfile } {
  if (!isBuiltInPermissionProfile(id)) {
    throw new RpcError(
      invalidRequest(
        id.startsWith(':')
          ? `${errorPrefix}: default_permissions refers to unknown built-in profile \`${id}\``
          : `${errorPrefix}: default_permissions requires a \`[permissions]\` table`,
      ),
    );
  }
  return {
    sandbox: policyForProfile(id, workspaceWriteOptions(config)),
    activePermissionProfile: { id, extends: null },
  };
}

/**
 * The sandbox a request asks for, in the reference's order of precedence: a named profile
 * (`permissions`), an explicit policy (`sandboxPolicy`), a mode (`sandbox`), the config's
 * `default_permissions`; `undefined` when it asks for none (the base stays).
 */
function requestedSandbox(
  overrides: Overrides,
):
  | { sandbox: app.SandboxPolicy; activePermissionProfile: app.ActivePermissionProfile | null }
  | undefined {
  if (overrides.permissions != null && overrides.sandboxPolicy != null) {
    throw new RpcError(invalidRequest('`permissions` cannot be combined with `sandboxPolicy`'));
  }
  if (overrides.permissions != null && overrides.sandbox != null) {
    throw new RpcError(invalidRequest('`permissions` cannot be combined with `sandbox`'));
  }
  if (overrides.permissions != null) return profilePolicy(overrides.permissions, overrides.config);
  if (overrides.sandboxPolicy != null) {
    return { sandbox: completePolicy(overrides.sandboxPolicy), activePermissionProfile: null };
  }
  if (overrides.sandbox != null) {
    return {
      sandbox: policyForMode(overrides.sandbox, workspaceWriteOptions(overrides.config)),
      activePermissionProfile: null,
    };
  }
  const named = configValue(overrides.config, 'default_permissions');
  if (typeof named === 'string') return profilePolicy(named, overrides.config);
  return undefined;
}

/** A granular policy with every flag the reference reports (absent ones are false). */
export function completeApproval(policy: app.AskForApproval): app.AskForApproval {
  if (typeof policy === 'string') return policy;
  const g = policy.granular;
  return {
    granular: {
      sandbox_approval: g.sandbox_approval ?? false,
      rules: g.rules ?? false,
      skill_approval: g.skill_approval ?? false,
      request_permissions: g.request_permissions ?? false,
      mcp_elicitations: g.mcp_elicitations ?? false,
    },
  };
}

/**
 * The reasoning a request asks for, as the reference reads it: a collaboration mode's model and
 * effort win over `model` and `effort` (its null effort clears the thread's), then the request's
 * own fields, then `config`'s `model_reasoning_effort` / `model_reasoning_summary`.
 */
function requestedReasoning(base: ThreadSettings, overrides: Overrides) {
  const effort = app.ReasoningEffort.safeParse(
    configValue(overrides.config, 'model_reasoning_effort'),
  );
  const summary = app.ReasoningSummary.safeParse(
    configValue(overrides.config, 'model_reasoning_summary'),
  );
  const mode = overrides.collaborationMode?.settings;
  return {
    model: mode?.model ?? overrides.model ?? base.model,
    reasoningEffort: mode
      ? (mode.reasoning_effort ?? null)
      : (overrides.effort ?? (effort.success ? effort.data : base.reasoningEffort)),
    reasoningSummary: overrides.summary ?? (summary.success ? summary.data : base.reasoningSummary),
  };
}

/**
 * A collaboration mode as a thread keeps it: one named without `developer_instructions` gets its
 * built-in ones, which clients are then told and the model is given, as in the reference.
 */
export function withModeInstructions(mode: app.CollaborationMode): app.CollaborationMode {
  if (mode.settings.developer_instructions != null) return mode;
  return {
    ...mode,
    settings: { ...mode.settings, developer_instructions: builtInModeInstructions(mode.mode) },
  };
}

/** Applies the non-null overrides of a request to a base. */
export function applyOverrides(base: ThreadSettings, overrides: Overrides): ThreadSettings {
  const sandbox = requestedSandbox(overrides);
  const reasoning = requestedReasoning(base, overrides);
  return {
    cwd: overrides.cwd ?? base.cwd,
    model: reasoning.model,
    modelProvider: overrides.modelProvider ?? base.modelProvider,
    approvalPolicy:
      overrides.approvalPolicy != null
        ? completeApproval(overrides.approvalPolicy)
        : base.approvalPolicy,
    sandbox: sandbox?.sandbox ?? base.sandbox,
    activePermissionProfile: sandbox
      ? sandbox.activePermissionProfile
      : base.activePermissionProfile,
    reasoningEffort: reasoning.reasoningEffort,
    reasoningSummary: reasoning.reasoningSummary,
    serviceTier: overrides.serviceTier === undefined ? base.serviceTier : overrides.serviceTier,
    baseInstructions: overrides.baseInstructions ?? base.baseInstructions,
    developerInstructions: overrides.developerInstructions ?? base.developerInstructions,
    collaborationMode: overrides.collaborationMode
      ? withModeInstructions(overrides.collaborationMode)
      : (base.collaborationMode ?? null),
  };
}

export function initialSettings(defaults: SettingsDefaults, cwd: string): ThreadSettings {
  return {
    cwd,
    model: defaults.model,
    modelProvider: defaults.modelProvider,
    approvalPolicy: defaults.approvalPolicy,
    sandbox: policyForMode(defaults.sandbox, defaults.workspaceWrite),
    // a thread that names no sandbox runs with the default profile, and says so
    activePermissionProfile: defaults.sandboxConfigured
      ? null
      : { id: profileIdOfMode(defaults.sandbox), extends: null },
    reasoningEffort: defaults.reasoningEffort ?? null,
    reasoningSummary: defaults.reasoningSummary ?? null,
    serviceTier: null,
    baseInstructions: null,
    developerInstructions: null,
  };
}

function profileIdOfMode(mode: app.SandboxMode): string {
  switch (mode) {
    case 'read-only':
      return ':read-only';
    case 'workspace-write':
      return ':workspace';
    case 'danger-full-access':
      return ':danger-full-access';
  }
}

/** The roots a thread's commands work in (`runtimeWorkspaceRoots`): its cwd and extra writable roots. */
export function runtimeWorkspaceRoots(settings: ThreadSettings): string[] {
  const roots = writableRoots(settings.sandbox, settings.cwd);
  return roots.length > 0 ? roots : [settings.cwd];
}

/**
 * `permissionProfile/list`: the built-in profiles, as the reference lists them (every one allowed;
 * tether has no requirements that forbid one), a page at a time when `limit` is given.
 */
export function permissionProfiles(
  params: app.PermissionProfileListParams,
): app.PermissionProfileListResponse {
  const all = BUILT_IN_PERMISSION_PROFILES.map((id) => ({ id, description: null, allowed: true }));
  let start = 0;
  if (params?.cursor != null) {
    start = /^\d+$/.test(params.cursor) ? Number(params.cursor) : Number.NaN;
    if (!Number.isInteger(start) || start > all.length) {
      throw new RpcError(invalidRequest(`invalid cursor: ${params.cursor}`));
    }
  }
  const end =
    params?.limit != null ? Math.min(all.length, start + Math.max(1, params.limit)) : all.length;
  return { data: all.slice(start, end), nextCursor: end < all.length ? String(end) : null };
}

/** Settings kept as the thread's own that the agent does not read (reported and persisted). */
export interface SettingsExtras {
  approvalsReviewer: app.ApprovalsReviewer;
  collaborationMode: app.CollaborationMode | null;
  personality: app.Personality | null;
  disabledPluginIds: string[];
}

export const DEFAULT_EXTRAS: SettingsExtras = {
  approvalsReviewer: 'user',
  collaborationMode: null,
  personality: null,
  disabledPluginIds: [],
};

/** The extras a turn/start changes for its turn and later ones. */
export function applyExtraOverrides(
  extras: SettingsExtras,
  overrides: {
    approvalsReviewer?: app.ApprovalsReviewer | null | undefined;
    collaborationMode?: app.CollaborationMode | null | undefined;
    personality?: app.Personality | null | undefined;
    disabledPluginIds?: string[] | null | undefined;
  },
): SettingsExtras {
  return {
    approvalsReviewer: overrides.approvalsReviewer ?? extras.approvalsReviewer,
    collaborationMode: overrides.collaborationMode
      ? withModeInstructions(overrides.collaborationMode)
      : extras.collaborationMode,
    personality: overrides.personality ?? extras.personality,
    disabledPluginIds: overrides.disabledPluginIds ?? extras.disabledPluginIds,
  };
}

/** The extras stored with a thread, read back when it is resumed. */
export function extrasFromStored(stored: Record<string, unknown> | undefined): SettingsExtras {
  const s = stored ?? {};
  const reviewer = app.ApprovalsReviewer.safeParse(s.approvalsReviewer);
  const mode = app.CollaborationMode.safeParse(s.collaborationMode);
  const personality = app.Personality.safeParse(s.personality);
  const ids: unknown[] = Array.isArray(s.disabledPluginIds) ? s.disabledPluginIds : [];
  return {
    approvalsReviewer: reviewer.success ? reviewer.data : 'user',
    // a thread stored before modes had their built-in instructions gets them now
    collaborationMode: mode.success ? withModeInstructions(mode.data) : null,
    personality: personality.success ? personality.data : null,
    disabledPluginIds: ids.filter((id): id is string => typeof id === 'string'),
  };
}

/** The effective-settings part of thread/start, thread/resume and thread/fork results. */
export function sessionResult(
  thread: app.Thread,
  settings: ThreadSettings,
  extras: SettingsExtras = DEFAULT_EXTRAS,
  /** The AGENTS.md files the thread's turns read, as the reference lists them. */
  instructionSources: string[] = [],
) {
  return {
    thread,
    model: settings.model ?? '',
    modelProvider: settings.modelProvider,
    serviceTier: settings.serviceTier,
    disabledPluginIds: extras.disabledPluginIds,
    cwd: settings.cwd,
    runtimeWorkspaceRoots: runtimeWorkspaceRoots(settings),
    instructionSources,
    approvalPolicy: settings.approvalPolicy,
    approvalsReviewer: extras.approvalsReviewer,
    sandbox: settings.sandbox,
    activePermissionProfile: settings.activePermissionProfile,
    reasoningEffort: settings.reasoningEffort,
    multiAgentMode: 'explicitRequestOnly' as const,
  };
}

/** Settings stored with a thread, read back when it is resumed. */
export function settingsFromStored(
  stored: Record<string, unknown> | undefined,
  thread: app.Thread,
  defaults: SettingsDefaults,
): ThreadSettings {
  const s = stored ?? {};
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const approval = app.AskForApproval.safeParse(s.approvalPolicy);
  // a full policy since the sandbox is enforced; a mode before that
  const mode = app.SandboxMode.safeParse(s.sandbox);
  const sandbox =
    parsePolicy(s.sandboxPolicy) ?? policyForMode(mode.success ? mode.data : defaults.sandbox);
  const profile = app.ActivePermissionProfile.safeParse(s.activePermissionProfile);
  const summary = app.ReasoningSummary.safeParse(s.reasoningSummary);
  return {
    cwd: thread.cwd,
    model: thread.model ?? defaults.model,
    modelProvider: thread.modelProvider,
    approvalPolicy: approval.success ? approval.data : defaults.approvalPolicy,
    sandbox,
    activePermissionProfile: profile.success
      ? { id: profile.data.id, extends: profile.data.extends ?? null }
      : null,
    reasoningEffort: thread.reasoningEffort ?? null,
    reasoningSummary: summary.success ? summary.data : null,
    serviceTier: str(s.serviceTier),
    baseInstructions: str(s.baseInstructions),
    developerInstructions: str(s.developerInstructions),
    // stored with the extras: a resumed thread keeps its collaboration mode
    collaborationMode: extrasFromStored(s).collaborationMode,
  };
}
