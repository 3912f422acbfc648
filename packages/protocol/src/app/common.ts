/**
 * Shared building blocks of the app-server protocol: ids, enums and small objects used by several
 * requests, responses and notifications.
 *
 * Conventions used across `src/app/`:
 * - Every object is a `z.looseObject`, so fields this package does not model pass through unchanged.
 * - Inbound params: fields the bundle requires are required; other fields are `.nullish()` when the
 *   bundle types them as nullable and `.optional()` when it does not (the reference rejects `null`
 *   there).
 * - Outbound objects (results, notification params): a field is required when the bundle requires it
 *   or when the reference always emits it (as a value or as `null`, in which case it is
 *   `.nullable()`). Fields the reference emits that are not in the stable 0.169.0 bundle
 *   (experimental surface) are optional.
 * - No `.default()` anywhere: parsing never adds fields, so `parse(x)` equals `x` for valid input.
 */
import { z } from 'zod';

/** JSON-RPC request id: a string or an integer. */
export const RequestId = z.union([z.string(), z.number().int()]);
export type RequestId = z.infer<typeof RequestId>;

/** Unsigned integer (`uint`, `uint32`, `uint64` in the bundle). */
export const UnsignedInt = z.number().int().nonnegative();
export type UnsignedInt = z.infer<typeof UnsignedInt>;

/**
 * Named approval policies. The 0.169.0 bundle lists `untrusted`, `on-request` and `never`; the
 * reference still accepts the older `on-failure`, so it is kept here.
 */
export const AskForApprovalMode = z.enum(['untrusted', 'on-failure', 'on-request', 'never']);
export type AskForApprovalMode = z.infer<typeof AskForApprovalMode>;

export const GranularApprovalConfig = z.looseObject({
  sandbox_approval: z.boolean(),
  rules: z.boolean(),
  mcp_elicitations: z.boolean(),
  request_permissions: z.boolean().optional(),
  skill_approval: z.boolean().optional(),
});
export type GranularApprovalConfig = z.infer<typeof GranularApprovalConfig>;

export const GranularApprovalPolicy = z.looseObject({ granular: GranularApprovalConfig });
export type GranularApprovalPolicy = z.infer<typeof GranularApprovalPolicy>;

/** `approvalPolicy`: a named mode or `{granular: {...}}`. */
// declared in the reference's variant order, so an unknown one is answered with the same list
export const AskForApproval = z.union([
  z.enum(['untrusted', 'on-failure', 'on-request']),
  GranularApprovalPolicy,
  z.literal('never'),
]);
export type AskForApproval = z.infer<typeof AskForApproval>;

/** `sandbox` on thread/start, resume and fork (kebab-case mode names). */
export const SandboxMode = z.enum(['read-only', 'workspace-write', 'danger-full-access']);
export type SandboxMode = z.infer<typeof SandboxMode>;

export const NetworkAccess = z.enum(['restricted', 'enabled']);
export type NetworkAccess = z.infer<typeof NetworkAccess>;

export const DangerFullAccessSandboxPolicy = z.looseObject({ type: z.literal('dangerFullAccess') });
export type DangerFullAccessSandboxPolicy = z.infer<typeof DangerFullAccessSandboxPolicy>;

export const ReadOnlySandboxPolicy = z.looseObject({
  type: z.literal('readOnly'),
  networkAccess: z.boolean().optional(),
});
export type ReadOnlySandboxPolicy = z.infer<typeof ReadOnlySandboxPolicy>;

export const ExternalSandboxPolicy = z.looseObject({
  type: z.literal('externalSandbox'),
  networkAccess: NetworkAccess.optional(),
});
export type ExternalSandboxPolicy = z.infer<typeof ExternalSandboxPolicy>;

export const WorkspaceWriteSandboxPolicy = z.looseObject({
  type: z.literal('workspaceWrite'),
  writableRoots: z.array(z.string()).optional(),
  networkAccess: z.boolean().optional(),
  excludeTmpdirEnvVar: z.boolean().optional(),
  excludeSlashTmp: z.boolean().optional(),
});
export type WorkspaceWriteSandboxPolicy = z.infer<typeof WorkspaceWriteSandboxPolicy>;

/** Effective sandbox (results) and `sandboxPolicy` overrides (turn/start, command/exec). */
export const SandboxPolicy = z.discriminatedUnion('type', [
  DangerFullAccessSandboxPolicy,
  ReadOnlySandboxPolicy,
  ExternalSandboxPolicy,
  WorkspaceWriteSandboxPolicy,
]);
export type SandboxPolicy = z.infer<typeof SandboxPolicy>;

export const ApprovalsReviewer = z.enum(['user', 'auto_review', 'guardian_subagent']);
export type ApprovalsReviewer = z.infer<typeof ApprovalsReviewer>;

export const Personality = z.enum(['none', 'friendly', 'pragmatic']);
export type Personality = z.infer<typeof Personality>;

/** Model reasoning effort; any non-empty string (providers define their own levels). */
export const ReasoningEffort = z.string().min(1);
export type ReasoningEffort = z.infer<typeof ReasoningEffort>;

export const ReasoningSummary = z.enum(['auto', 'concise', 'detailed', 'none']);
export type ReasoningSummary = z.infer<typeof ReasoningSummary>;

export const ThreadStartSource = z.enum(['startup', 'clear']);
export type ThreadStartSource = z.infer<typeof ThreadStartSource>;

/** Free-form label of what created a thread. */
export const ThreadSource = z.string();
export type ThreadSource = z.infer<typeof ThreadSource>;

export const ThreadSourceKind = z.enum([
  'cli',
  'vscode',
  'exec',
  'appServer',
  'subAgent',
  'subAgentReview',
  'subAgentCompact',
  'subAgentThreadSpawn',
  'subAgentOther',
  'unknown',
]);
export type ThreadSourceKind = z.infer<typeof ThreadSourceKind>;

export const SubAgentThreadSpawn = z.looseObject({
  parent_thread_id: z.string(),
  depth: z.number().int(),
  agent_nickname: z.string().nullish(),
  agent_path: z.string().nullish(),
  agent_role: z.string().nullish(),
});
export type SubAgentThreadSpawn = z.infer<typeof SubAgentThreadSpawn>;

export const SubAgentSource = z.union([
  z.enum(['review', 'compact', 'memory_consolidation']),
  z.looseObject({ thread_spawn: SubAgentThreadSpawn }),
  z.looseObject({ other: z.string() }),
]);
export type SubAgentSource = z.infer<typeof SubAgentSource>;

/** `Thread.source`: which kind of client created the session (`"vscode"` for app-server clients). */
export const SessionSource = z.union([
  z.enum(['cli', 'vscode', 'exec', 'appServer', 'unknown']),
  z.looseObject({ custom: z.string() }),
  z.looseObject({ subAgent: SubAgentSource }),
]);
export type SessionSource = z.infer<typeof SessionSource>;

export const SortDirection = z.enum(['asc', 'desc']);
export type SortDirection = z.infer<typeof SortDirection>;

export const ThreadSortKey = z.enum(['created_at', 'updated_at', 'recency_at', 'section_position']);
export type ThreadSortKey = z.infer<typeof ThreadSortKey>;

export const MultiAgentMode = z.union([
  z.enum(['explicitRequestOnly', 'proactive']),
  z.looseObject({ custom: z.string() }),
]);
export type MultiAgentMode = z.infer<typeof MultiAgentMode>;

export const ActivePermissionProfile = z.looseObject({
  id: z.string(),
  extends: z.string().nullish(),
});
export type ActivePermissionProfile = z.infer<typeof ActivePermissionProfile>;

export const ModeKind = z.enum(['plan', 'default']);
export type ModeKind = z.infer<typeof ModeKind>;

/** `CollaborationMode.settings` (snake_case keys on the wire). */
export const CollaborationModeSettings = z.looseObject({
  model: z.string(),
  reasoning_effort: ReasoningEffort.nullish(),
  developer_instructions: z.string().nullish(),
});
export type CollaborationModeSettings = z.infer<typeof CollaborationModeSettings>;

export const CollaborationMode = z.looseObject({
  mode: ModeKind,
  settings: CollaborationModeSettings,
});
export type CollaborationMode = z.infer<typeof CollaborationMode>;

/** Arbitrary JSON object (`config` overrides, `extensions`, `Thread.extra`). */
export const JsonObject = z.record(z.string(), z.unknown());
export type JsonObject = z.infer<typeof JsonObject>;

/** The `threadId` member most thread requests and notifications start with. */
export const threadIdParams = { threadId: z.string() };
