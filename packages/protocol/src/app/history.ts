/**
 * A thread's history and how clients page, search and manage it: `thread/turns/list`,
 * `thread/items/list`, `thread/items/read`, read state, delete, revert, metadata and settings
 * updates, injected items, search, goals and the input queue.
 */
import { z } from 'zod';
import {
  ApprovalsReviewer,
  AskForApproval,
  CollaborationMode,
  JsonObject,
  MultiAgentMode,
  Personality,
  ReasoningEffort,
  ReasoningSummary,
  SandboxPolicy,
  SortDirection,
  ThreadSourceKind,
  threadIdParams,
  UnsignedInt,
} from './common.js';
import { ResponseItem, ThreadItem, UserInput } from './items.js';
import { GitInfo, Thread, ThreadReadState, Turn, TurnItemsView } from './thread.js';

// thread/turns/list

export const ThreadTurnsListParams = z.looseObject({
  ...threadIdParams,
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
  sortDirection: SortDirection.nullish(),
  itemsView: TurnItemsView.nullish(),
});
export type ThreadTurnsListParams = z.infer<typeof ThreadTurnsListParams>;

export const ThreadTurnsListResponse = z.looseObject({
  data: z.array(Turn),
  nextCursor: z.string().nullable(),
  backwardsCursor: z.string().nullable(),
});
export type ThreadTurnsListResponse = z.infer<typeof ThreadTurnsListResponse>;

// thread/items/list, thread/items/read

/** An exclusive item position within the requested turn. */
export const ThreadItemsListAnchor = z.looseObject({
  type: z.literal('item'),
  itemId: z.string(),
});
export type ThreadItemsListAnchor = z.infer<typeof ThreadItemsListAnchor>;

export const ThreadItemOutputDeferral = z.looseObject({
  commandExecution: z.boolean().optional(),
  mcpToolCall: z.boolean().optional(),
});
export type ThreadItemOutputDeferral = z.infer<typeof ThreadItemOutputDeferral>;

export const ThreadItemsListParams = z.looseObject({
  ...threadIdParams,
  turnId: z.string().nullish(),
  cursor: z.union([z.string(), ThreadItemsListAnchor]).nullish(),
  limit: UnsignedInt.nullish(),
  sortDirection: SortDirection.nullish(),
  deferOutput: ThreadItemOutputDeferral.nullish(),
});
export type ThreadItemsListParams = z.infer<typeof ThreadItemsListParams>;

/** An item with the turn it belongs to (`thread/items/list`, `thread/items/read`). */
export const ThreadItemEntry = z.looseObject({
  turnId: z.string(),
  item: ThreadItem,
  outputDeferred: z.boolean().optional(),
  startedAtMs: z.number().int().nullable(),
  completedAtMs: z.number().int().nullable(),
});
export type ThreadItemEntry = z.infer<typeof ThreadItemEntry>;

export const ThreadItemsListResponse = z.looseObject({
  data: z.array(ThreadItemEntry),
  nextCursor: z.string().nullable(),
  backwardsCursor: z.string().nullable(),
});
export type ThreadItemsListResponse = z.infer<typeof ThreadItemsListResponse>;

export const ThreadItemsReadParams = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemIds: z.array(z.string()),
});
export type ThreadItemsReadParams = z.infer<typeof ThreadItemsReadParams>;

export const ThreadItemsReadResponse = z.looseObject({ data: z.array(ThreadItemEntry) });
export type ThreadItemsReadResponse = z.infer<typeof ThreadItemsReadResponse>;

// read state

export const ThreadReadStateOperation = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('read') }),
  z.looseObject({ type: z.literal('unread') }),
]);
export type ThreadReadStateOperation = z.infer<typeof ThreadReadStateOperation>;

export const ThreadReadStateUpdateParams = z.looseObject({
  ...threadIdParams,
  operation: ThreadReadStateOperation,
  expectedRevision: z.string(),
});
export type ThreadReadStateUpdateParams = z.infer<typeof ThreadReadStateUpdateParams>;

export const ThreadReadStateUpdateResponse = z.looseObject({ readState: ThreadReadState });
export type ThreadReadStateUpdateResponse = z.infer<typeof ThreadReadStateUpdateResponse>;

export const ThreadReadStateChangedNotification = z.looseObject({
  ...threadIdParams,
  readState: ThreadReadState,
});
export type ThreadReadStateChangedNotification = z.infer<typeof ThreadReadStateChangedNotification>;

// thread/delete, thread/revert

export const ThreadDeleteParams = z.looseObject(threadIdParams);
export type ThreadDeleteParams = z.infer<typeof ThreadDeleteParams>;
export const ThreadDeleteResponse = z.looseObject({});
export type ThreadDeleteResponse = z.infer<typeof ThreadDeleteResponse>;
export const ThreadDeletedNotification = z.looseObject(threadIdParams);
export type ThreadDeletedNotification = z.infer<typeof ThreadDeletedNotification>;

export const ThreadRevertParams = z.looseObject({ ...threadIdParams, beforeTurnId: z.string() });
export type ThreadRevertParams = z.infer<typeof ThreadRevertParams>;
export const ThreadRevertResponse = z.looseObject({
  thread: Thread,
  turnsBackwardsCursor: z.string().nullable(),
  itemsBackwardsCursor: z.string().nullable(),
});
export type ThreadRevertResponse = z.infer<typeof ThreadRevertResponse>;
export const ThreadRevertedNotification = z.looseObject(threadIdParams);
export type ThreadRevertedNotification = z.infer<typeof ThreadRevertedNotification>;

// thread/metadata/update

export const ThreadMetadataGitInfoUpdateParams = z.looseObject({
  sha: z.string().nullish(),
  branch: z.string().nullish(),
  originUrl: z.string().nullish(),
});
export type ThreadMetadataGitInfoUpdateParams = z.infer<typeof ThreadMetadataGitInfoUpdateParams>;

export const ThreadMetadataUpdateParams = z.looseObject({
  ...threadIdParams,
  projectId: z.string().nullish(),
  gitInfo: ThreadMetadataGitInfoUpdateParams.nullish(),
  daybreakEnabled: z.boolean().nullish(),
});
export type ThreadMetadataUpdateParams = z.infer<typeof ThreadMetadataUpdateParams>;
export const ThreadMetadataUpdateResponse = z.looseObject({ thread: Thread });
export type ThreadMetadataUpdateResponse = z.infer<typeof ThreadMetadataUpdateResponse>;

// thread/settings/update

export const ThreadSettingsUpdateParams = z.looseObject({
  ...threadIdParams,
  disabledPluginIds: z.array(z.string()).nullish(),
  cwd: z.string().nullish(),
  environments: z.array(JsonObject).nullish(),
  approvalPolicy: AskForApproval.nullish(),
  approvalsReviewer: ApprovalsReviewer.nullish(),
  sandboxPolicy: SandboxPolicy.nullish(),
  permissions: z.string().nullish(),
  model: z.string().nullish(),
  serviceTier: z.string().nullish(),
  effort: ReasoningEffort.nullish(),
  summary: ReasoningSummary.nullish(),
  collaborationMode: CollaborationMode.nullish(),
  multiAgentMode: MultiAgentMode.nullish(),
  personality: Personality.nullish(),
});
export type ThreadSettingsUpdateParams = z.infer<typeof ThreadSettingsUpdateParams>;
export const ThreadSettingsUpdateResponse = z.looseObject({});
export type ThreadSettingsUpdateResponse = z.infer<typeof ThreadSettingsUpdateResponse>;

/** `threadSettings` of `thread/settings/updated`: the settings later turns run with. */
export const ThreadSettings = JsonObject;
export type ThreadSettings = z.infer<typeof ThreadSettings>;

export const ThreadSettingsUpdatedNotification = z.looseObject({
  ...threadIdParams,
  threadSettings: ThreadSettings,
});
export type ThreadSettingsUpdatedNotification = z.infer<typeof ThreadSettingsUpdatedNotification>;

// thread/inject_items

export const ThreadInjectItemsParams = z.looseObject({
  ...threadIdParams,
  items: z.array(z.unknown()),
});
export type ThreadInjectItemsParams = z.infer<typeof ThreadInjectItemsParams>;
export const ThreadInjectItemsResponse = z.looseObject({});
export type ThreadInjectItemsResponse = z.infer<typeof ThreadInjectItemsResponse>;
export { ResponseItem };

// thread/search, thread/searchOccurrences

export const ThreadSearchSortKey = z.enum(['created_at', 'updated_at', 'recency_at']);
export type ThreadSearchSortKey = z.infer<typeof ThreadSearchSortKey>;

export const ThreadSearchParams = z.looseObject({
  includeAttachedThreads: z.boolean().optional(),
  currentAccountOnly: z.boolean().optional(),
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
  sortKey: ThreadSearchSortKey.nullish(),
  sortDirection: SortDirection.nullish(),
  sourceKinds: z.array(ThreadSourceKind).nullish(),
  archived: z.boolean().nullish(),
  searchTerm: z.string(),
});
export type ThreadSearchParams = z.infer<typeof ThreadSearchParams>;

export const ThreadSearchResult = z.looseObject({ thread: Thread, snippet: z.string() });
export type ThreadSearchResult = z.infer<typeof ThreadSearchResult>;

export const ThreadSearchResponse = z.looseObject({
  data: z.array(ThreadSearchResult),
  nextCursor: z.string().nullable(),
  backwardsCursor: z.string().nullable(),
});
export type ThreadSearchResponse = z.infer<typeof ThreadSearchResponse>;

export const ThreadSearchOccurrencesParams = z.looseObject({
  ...threadIdParams,
  searchTerm: z.string(),
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
});
export type ThreadSearchOccurrencesParams = z.infer<typeof ThreadSearchOccurrencesParams>;

/** A range within a snippet, in UTF-16 code units (`start` inclusive, `end` exclusive). */
export const ThreadSearchTextRange = z.looseObject({ start: UnsignedInt, end: UnsignedInt });
export type ThreadSearchTextRange = z.infer<typeof ThreadSearchTextRange>;

export const ThreadSearchOccurrence = z.looseObject({
  turnId: z.string(),
  itemId: z.string(),
  snippet: z.string(),
  snippetMatchRange: ThreadSearchTextRange,
  turnCursor: z.string(),
});
export type ThreadSearchOccurrence = z.infer<typeof ThreadSearchOccurrence>;

export const ThreadSearchOccurrencesResponse = z.looseObject({
  data: z.array(ThreadSearchOccurrence),
  nextCursor: z.string().nullable(),
});
export type ThreadSearchOccurrencesResponse = z.infer<typeof ThreadSearchOccurrencesResponse>;

// thread/goal/*

export const ThreadGoalStatus = z.enum([
  'active',
  'paused',
  'blocked',
  'usageLimited',
  'budgetLimited',
  'complete',
]);
export type ThreadGoalStatus = z.infer<typeof ThreadGoalStatus>;

export const ThreadGoalMutationOrigin = z.enum(['user', 'automatic']);
export type ThreadGoalMutationOrigin = z.infer<typeof ThreadGoalMutationOrigin>;

export const ThreadGoal = z.looseObject({
  threadId: z.string(),
  objective: z.string(),
  status: ThreadGoalStatus,
  tokenBudget: z.number().int().nullable(),
  tokensUsed: z.number().int(),
  timeUsedSeconds: z.number().int(),
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type ThreadGoal = z.infer<typeof ThreadGoal>;

export const ThreadGoalSetParams = z.looseObject({
  ...threadIdParams,
  origin: ThreadGoalMutationOrigin.nullish(),
  objective: z.string().nullish(),
  status: ThreadGoalStatus.nullish(),
  tokenBudget: z.number().int().nullish(),
});
export type ThreadGoalSetParams = z.infer<typeof ThreadGoalSetParams>;
export const ThreadGoalSetResponse = z.looseObject({ goal: ThreadGoal });
export type ThreadGoalSetResponse = z.infer<typeof ThreadGoalSetResponse>;

export const ThreadGoalGetParams = z.looseObject(threadIdParams);
export type ThreadGoalGetParams = z.infer<typeof ThreadGoalGetParams>;
export const ThreadGoalGetResponse = z.looseObject({ goal: ThreadGoal.nullable() });
export type ThreadGoalGetResponse = z.infer<typeof ThreadGoalGetResponse>;

export const ThreadGoalClearParams = z.looseObject({
  ...threadIdParams,
  origin: ThreadGoalMutationOrigin.nullish(),
});
export type ThreadGoalClearParams = z.infer<typeof ThreadGoalClearParams>;
export const ThreadGoalClearResponse = z.looseObject({ cleared: z.boolean() });
export type ThreadGoalClearResponse = z.infer<typeof ThreadGoalClearResponse>;

export const ThreadGoalUpdatedNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string().nullable(),
  goal: ThreadGoal,
});
export type ThreadGoalUpdatedNotification = z.infer<typeof ThreadGoalUpdatedNotification>;
export const ThreadGoalClearedNotification = z.looseObject(threadIdParams);
export type ThreadGoalClearedNotification = z.infer<typeof ThreadGoalClearedNotification>;

// thread/queue/*

const ClientMetadata = z.record(z.string(), z.string());

export const QueuedSubmission = z.looseObject({
  id: z.string(),
  input: z.array(UserInput),
  clientUserMessageId: z.string(),
  responsesapiClientMetadata: ClientMetadata.nullable(),
});
export type QueuedSubmission = z.infer<typeof QueuedSubmission>;

export const ThreadQueueAddParams = z.looseObject({
  ...threadIdParams,
  input: z.array(UserInput),
  clientUserMessageId: z.string(),
  responsesapiClientMetadata: ClientMetadata.nullish(),
});
export type ThreadQueueAddParams = z.infer<typeof ThreadQueueAddParams>;
export const ThreadQueueAddResponse = z.looseObject({ queuedSubmission: QueuedSubmission });
export type ThreadQueueAddResponse = z.infer<typeof ThreadQueueAddResponse>;

export const ThreadQueueListParams = z.looseObject({
  ...threadIdParams,
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
});
export type ThreadQueueListParams = z.infer<typeof ThreadQueueListParams>;
export const ThreadQueueListResponse = z.looseObject({
  data: z.array(QueuedSubmission),
  nextCursor: z.string().nullable(),
});
export type ThreadQueueListResponse = z.infer<typeof ThreadQueueListResponse>;

export const ThreadQueueUpdateParams = z.looseObject({
  ...threadIdParams,
  queuedSubmissionId: z.string(),
  input: z.array(UserInput),
  responsesapiClientMetadata: ClientMetadata.nullish(),
});
export type ThreadQueueUpdateParams = z.infer<typeof ThreadQueueUpdateParams>;
export const ThreadQueueUpdateResponse = z.looseObject({ queuedSubmission: QueuedSubmission });
export type ThreadQueueUpdateResponse = z.infer<typeof ThreadQueueUpdateResponse>;

export const ThreadQueueDeleteParams = z.looseObject({
  ...threadIdParams,
  queuedSubmissionId: z.string(),
});
export type ThreadQueueDeleteParams = z.infer<typeof ThreadQueueDeleteParams>;
export const ThreadQueueDeleteResponse = z.looseObject({ deleted: z.boolean() });
export type ThreadQueueDeleteResponse = z.infer<typeof ThreadQueueDeleteResponse>;

export const ThreadQueueReorderParams = z.looseObject({
  ...threadIdParams,
  queuedSubmissionIds: z.array(z.string()),
});
export type ThreadQueueReorderParams = z.infer<typeof ThreadQueueReorderParams>;
export const ThreadQueueReorderResponse = z.looseObject({});
export type ThreadQueueReorderResponse = z.infer<typeof ThreadQueueReorderResponse>;

export const ThreadQueueStartParams = z.looseObject({
  ...threadIdParams,
  queuedSubmissionId: z.string().nullish(),
});
export type ThreadQueueStartParams = z.infer<typeof ThreadQueueStartParams>;
export const ThreadQueueStartResponse = z.looseObject({ turn: Turn });
export type ThreadQueueStartResponse = z.infer<typeof ThreadQueueStartResponse>;

export const ThreadQueueChangedNotification = z.looseObject(threadIdParams);
export type ThreadQueueChangedNotification = z.infer<typeof ThreadQueueChangedNotification>;

export { GitInfo };
