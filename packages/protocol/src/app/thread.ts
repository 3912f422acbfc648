/**
 * Thread, Turn, their status objects and token usage.
 */
import { z } from 'zod';
import { JsonObject, ReasoningEffort, SessionSource, ThreadSource } from './common.js';
import { ThreadItem } from './items.js';

export const ThreadActiveFlag = z.enum(['waitingOnApproval', 'waitingOnUserInput']);
export type ThreadActiveFlag = z.infer<typeof ThreadActiveFlag>;

export const NotLoadedThreadStatus = z.looseObject({ type: z.literal('notLoaded') });
export type NotLoadedThreadStatus = z.infer<typeof NotLoadedThreadStatus>;

export const IdleThreadStatus = z.looseObject({ type: z.literal('idle') });
export type IdleThreadStatus = z.infer<typeof IdleThreadStatus>;

export const SystemErrorThreadStatus = z.looseObject({ type: z.literal('systemError') });
export type SystemErrorThreadStatus = z.infer<typeof SystemErrorThreadStatus>;

export const ActiveThreadStatus = z.looseObject({
  type: z.literal('active'),
  activeFlags: z.array(ThreadActiveFlag),
});
export type ActiveThreadStatus = z.infer<typeof ActiveThreadStatus>;

export const ThreadStatus = z.discriminatedUnion('type', [
  NotLoadedThreadStatus,
  IdleThreadStatus,
  SystemErrorThreadStatus,
  ActiveThreadStatus,
]);
export type ThreadStatus = z.infer<typeof ThreadStatus>;

export const TurnStatus = z.enum(['completed', 'interrupted', 'failed', 'inProgress']);
export type TurnStatus = z.infer<typeof TurnStatus>;

/** How much of `Turn.items` is present: none, the final agent message only, or all items. */
export const TurnItemsView = z.enum(['notLoaded', 'summary', 'full']);
export type TurnItemsView = z.infer<typeof TurnItemsView>;

/**
 * Machine-readable error class: a string such as `"contextWindowExceeded"` or an object such as
 * `{httpConnectionFailed: {httpStatusCode}}`.
 */
export const CodexErrorInfo = z.union([z.string(), JsonObject]);
export type CodexErrorInfo = z.infer<typeof CodexErrorInfo>;

export const TurnError = z.looseObject({
  message: z.string(),
  codexErrorInfo: CodexErrorInfo.nullish(),
  additionalDetails: z.string().nullish(),
  misalignment: JsonObject.nullish(),
});
export type TurnError = z.infer<typeof TurnError>;

export const Turn = z.looseObject({
  id: z.string(),
  rootTurnId: z.string().nullable(),
  items: z.array(ThreadItem),
  itemsView: TurnItemsView,
  status: TurnStatus,
  error: TurnError.nullable(),
  /** Epoch seconds. */
  startedAt: z.number().int().nullable(),
  /** Epoch seconds. */
  completedAt: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
});
export type Turn = z.infer<typeof Turn>;

export const ThreadEnvironment = z.looseObject({
  environmentId: z.string(),
  cwd: z.string(),
  runtimeWorkspaceRoots: z.array(z.string()),
});
export type ThreadEnvironment = z.infer<typeof ThreadEnvironment>;

export const GitInfo = z.looseObject({
  sha: z.string().nullish(),
  branch: z.string().nullish(),
  originUrl: z.string().nullish(),
});
export type GitInfo = z.infer<typeof GitInfo>;

export const ThreadSectionAppearance = z.looseObject({
  color: z.string().nullish(),
  icon: z.string().nullish(),
});
export type ThreadSectionAppearance = z.infer<typeof ThreadSectionAppearance>;

export const ThreadSection = z.looseObject({
  id: z.string(),
  name: z.string(),
  appearance: ThreadSectionAppearance.nullish(),
});
export type ThreadSection = z.infer<typeof ThreadSection>;

export const ThreadHistoryMode = z.enum(['legacy', 'paginated']);
export type ThreadHistoryMode = z.infer<typeof ThreadHistoryMode>;

export const Thread = z.looseObject({
  id: z.string(),
  /** Equals `id` for top-level threads. */
  sessionId: z.string(),
  forkedFromId: z.string().nullable(),
  parentThreadId: z.string().nullable(),
  preview: z.string(),
  ephemeral: z.boolean(),
  section: ThreadSection.nullable(),
  sectionEnteredAt: z.number().int().nullable(),
  projectId: z.string().nullable(),
  historyMode: ThreadHistoryMode,
  modelProvider: z.string(),
  model: z.string().nullable(),
  reasoningEffort: ReasoningEffort.nullable(),
  /** Epoch seconds. */
  createdAt: z.number().int(),
  /** Epoch seconds. */
  updatedAt: z.number().int(),
  /** Epoch seconds. */
  recencyAt: z.number().int().nullable(),
  status: ThreadStatus,
  /** Rollout file. */
  path: z.string().nullable(),
  cwd: z.string(),
  cliVersion: z.string(),
  originator: z.string().nullable(),
  source: SessionSource,
  threadSource: ThreadSource.nullable(),
  agentNickname: z.string().nullable(),
  agentRole: z.string().nullable(),
  gitInfo: GitInfo.nullable(),
  name: z.string().nullable(),
  turns: z.array(Turn),
  // Emitted by the reference but not in the stable bundle.
  environments: z.array(ThreadEnvironment).nullish(),
  extra: JsonObject.nullish(),
  attachedToThreadId: z.string().nullish(),
  canAcceptDirectInput: z.boolean().nullish(),
  daybreakEnabled: z.boolean().nullish(),
});
export type Thread = z.infer<typeof Thread>;

export const ThreadUnreadPosition = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('threadStart') }),
  z.looseObject({ type: z.literal('turn'), turnId: z.string() }),
]);
export type ThreadUnreadPosition = z.infer<typeof ThreadUnreadPosition>;

export const ThreadReadState = z.looseObject({
  firstUnread: ThreadUnreadPosition.nullable(),
  revision: z.string(),
});
export type ThreadReadState = z.infer<typeof ThreadReadState>;

export const TokenUsageBreakdown = z.looseObject({
  totalTokens: z.number().int(),
  inputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  cacheWriteInputTokens: z.number().int(),
  outputTokens: z.number().int(),
  reasoningOutputTokens: z.number().int(),
});
export type TokenUsageBreakdown = z.infer<typeof TokenUsageBreakdown>;

/** `tokenUsage` of `thread/tokenUsage/updated`: running total, last response, context window. */
export const ThreadTokenUsage = z.looseObject({
  total: TokenUsageBreakdown,
  last: TokenUsageBreakdown,
  modelContextWindow: z.number().int().nullable(),
});
export type ThreadTokenUsage = z.infer<typeof ThreadTokenUsage>;

/** A page of turns (`initialTurnsPage` of thread/resume). */
export const TurnsPage = z.looseObject({
  data: z.array(Turn),
  nextCursor: z.string().nullish(),
  backwardsCursor: z.string().nullish(),
});
export type TurnsPage = z.infer<typeof TurnsPage>;
