import type { ThreadSettings } from '@tether/agent-core';
import { app } from '@tether/protocol';

/** Server-wide defaults for new threads. */
export interface SettingsDefaults {
  model: string;
  modelProvider: string;
  approvalPolicy: app.AskForApproval;
  sandbox: app.SandboxMode;
}

export const DEFAULT_SETTINGS: SettingsDefaults = {
  model: 'gpt-5',
  modelProvider: 'openai',
  approvalPolicy: 'on-request',
  sandbox: 'workspace-write',
};

type Overrides = {
  cwd?: string | null | undefined;
  model?: string | null | undefined;
  modelProvider?: string | null | undefined;
  approvalPolicy?: app.AskForApproval | null | undefined;
  sandbox?: app.SandboxMode | null | undefined;
  baseInstructions?: string | null | undefined;
  developerInstructions?: string | null | undefined;
  effort?: app.ReasoningEffort | null | undefined;
  summary?: app.ReasoningSummary | null | undefined;
  serviceTier?: string | null | undefined;
};

/** Applies the non-null overrides of a request to a base. */
export function applyOverrides(base: ThreadSettings, overrides: Overrides): ThreadSettings {
  return {
    cwd: overrides.cwd ?? base.cwd,
    model: overrides.model ?? base.model,
    modelProvider: overrides.modelProvider ?? base.modelProvider,
    approvalPolicy: overrides.approvalPolicy ?? base.approvalPolicy,
    sandbox: overrides.sandbox ?? base.sandbox,
    reasoningEffort: overrides.effort ?? base.reasoningEffort,
    reasoningSummary: overrides.summary ?? base.reasoningSummary,
    serviceTier: overrides.serviceTier === undefined ? base.serviceTier : overrides.serviceTier,
    baseInstructions: overrides.baseInstructions ?? base.baseInstructions,
    developerInstructions: overrides.developerInstructions ?? base.developerInstructions,
  };
}

export function initialSettings(defaults: SettingsDefaults, cwd: string): ThreadSettings {
  return {
    cwd,
    model: defaults.model,
    modelProvider: defaults.modelProvider,
    approvalPolicy: defaults.approvalPolicy,
    sandbox: defaults.sandbox,
    reasoningEffort: null,
    reasoningSummary: null,
    serviceTier: null,
    baseInstructions: null,
    developerInstructions: null,
  };
}

export function sandboxPolicy(mode: app.SandboxMode, cwd: string): app.SandboxPolicy {
  switch (mode) {
    case 'danger-full-access':
      return { type: 'dangerFullAccess' };
    case 'read-only':
      return { type: 'readOnly', networkAccess: false };
    case 'workspace-write':
      return { type: 'workspaceWrite', writableRoots: [cwd], networkAccess: false };
  }
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

/** The extras stored with a thread, read back when it is resumed. */
export function extrasFromStored(stored: Record<string, unknown> | undefined): SettingsExtras {
  const s = stored ?? {};
  const reviewer = app.ApprovalsReviewer.safeParse(s.approvalsReviewer);
  const mode = app.CollaborationMode.safeParse(s.collaborationMode);
  const personality = app.Personality.safeParse(s.personality);
  const ids: unknown[] = Array.isArray(s.disabledPluginIds) ? s.disabledPluginIds : [];
  return {
    approvalsReviewer: reviewer.success ? reviewer.data : 'user',
    collaborationMode: mode.success ? mode.data : null,
    personality: personality.success ? personality.data : null,
    disabledPluginIds: ids.filter((id): id is string => typeof id === 'string'),
  };
}

/** The effective-settings part of thread/start, thread/resume and thread/fork results. */
export function sessionResult(
  thread: app.Thread,
  settings: ThreadSettings,
  extras: SettingsExtras = DEFAULT_EXTRAS,
) {
  return {
    thread,
    model: settings.model ?? '',
    modelProvider: settings.modelProvider,
    serviceTier: settings.serviceTier,
    disabledPluginIds: extras.disabledPluginIds,
    cwd: settings.cwd,
    runtimeWorkspaceRoots: [settings.cwd],
    instructionSources: [],
    approvalPolicy: settings.approvalPolicy,
    approvalsReviewer: extras.approvalsReviewer,
    sandbox: sandboxPolicy(settings.sandbox, settings.cwd),
    activePermissionProfile: null,
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
  const sandbox = app.SandboxMode.safeParse(s.sandbox);
  const summary = app.ReasoningSummary.safeParse(s.reasoningSummary);
  return {
    cwd: thread.cwd,
    model: thread.model ?? defaults.model,
    modelProvider: thread.modelProvider,
    approvalPolicy: approval.success ? approval.data : defaults.approvalPolicy,
    sandbox: sandbox.success ? sandbox.data : defaults.sandbox,
    reasoningEffort: thread.reasoningEffort ?? null,
    reasoningSummary: summary.success ? summary.data : null,
    serviceTier: str(s.serviceTier),
    baseInstructions: str(s.baseInstructions),
    developerInstructions: str(s.developerInstructions),
  };
}
