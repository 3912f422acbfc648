/**
 * `thread/*` client requests: params and results.
 */
import { z } from 'zod';
import {
  ActivePermissionProfile,
  ApprovalsReviewer,
  AskForApproval,
  CollaborationMode,
  JsonObject,
  MultiAgentMode,
  Personality,
  ReasoningEffort,
  SandboxMode,
  SandboxPolicy,
  SortDirection,
  ThreadSortKey,
  ThreadSource,
  ThreadSourceKind,
  ThreadStartSource,
  threadIdParams,
  UnsignedInt,
} from './common.js';
import { Thread, ThreadReadState, TurnItemsView, TurnsPage } from './thread.js';

/** Per-thread overrides accepted by thread/start, thread/resume and thread/fork. */
const threadOverrides = {
  cwd: z.string().nullish(),
  model: z.string().nullish(),
  modelProvider: z.string().nullish(),
  serviceTier: z.string().nullish(),
  approvalPolicy: AskForApproval.nullish(),
  approvalsReviewer: ApprovalsReviewer.nullish(),
  sandbox: SandboxMode.nullish(),
  /** A named permission profile (`:read-only`, `:workspace`, `:danger-full-access`); experimental. */
  permissions: z.string().nullish(),
  config: JsonObject.nullish(),
  baseInstructions: z.string().nullish(),
  developerInstructions: z.string().nullish(),
};

/** Effective session settings returned by thread/start, thread/resume and thread/fork. */
const threadSession = {
  thread: Thread,
  model: z.string(),
  modelProvider: z.string(),
  serviceTier: z.string().nullable(),
  cwd: z.string(),
  approvalPolicy: AskForApproval,
  approvalsReviewer: ApprovalsReviewer,
  sandbox: SandboxPolicy,
  reasoningEffort: ReasoningEffort.nullable(),
  disabledPluginIds: z.array(z.string()),
  instructionSources: z.array(z.string()),
  // Emitted by the reference but not in the stable bundle.
  runtimeWorkspaceRoots: z.array(z.string()).optional(),
  activePermissionProfile: ActivePermissionProfile.nullish(),
  multiAgentMode: MultiAgentMode.optional(),
};

// thread/start

export const ThreadStartParams = z.looseObject({
  ...threadOverrides,
  ephemeral: z.boolean().nullish(),
  personality: Personality.nullish(),
  threadSource: ThreadSource.nullish(),
  sessionStartSource: ThreadStartSource.nullish(),
  serviceName: z.string().nullish(),
});
export type ThreadStartParams = z.infer<typeof ThreadStartParams>;

export const ThreadStartResponse = z.looseObject(threadSession);
export type ThreadStartResponse = z.infer<typeof ThreadStartResponse>;

// thread/resume

export const ThreadResumeParams = z.looseObject({
  ...threadIdParams,
  ...threadOverrides,
  personality: Personality.nullish(),
  /** Return the thread without its turns (no deprecationNotice then). */
  excludeTurns: z.boolean().optional(),
  /** Include a first `thread/turns/list` page in the result (experimental). */
  initialTurnsPage: z
    .looseObject({
      limit: UnsignedInt.nullish(),
      sortDirection: SortDirection.nullish(),
      itemsView: TurnItemsView.nullish(),
    })
    .nullish(),
});
export type ThreadResumeParams = z.infer<typeof ThreadResumeParams>;

export const ThreadResumeResponse = z.looseObject({
  ...threadSession,
  collaborationMode: CollaborationMode.nullable(),
  itemsBackwardsCursor: z.string().nullable(),
  turnsBackwardsCursor: z.string().nullable(),
  initialTurnsPage: TurnsPage.nullish(),
});
export type ThreadResumeResponse = z.infer<typeof ThreadResumeResponse>;

// thread/fork

export const ThreadForkParams = z.looseObject({
  ...threadIdParams,
  ...threadOverrides,
  /** Fork after this turn instead of after the last one. */
  lastTurnId: z.string().nullish(),
  /** Fork before this turn (not with `lastTurnId`). */
  beforeTurnId: z.string().nullish(),
  ephemeral: z.boolean().optional(),
  excludeTurns: z.boolean().optional(),
  threadSource: ThreadSource.nullish(),
});
export type ThreadForkParams = z.infer<typeof ThreadForkParams>;

export const ThreadForkResponse = z.looseObject(threadSession);
export type ThreadForkResponse = z.infer<typeof ThreadForkResponse>;

// thread/list

/** `cwd` filter of thread/list: one directory or several. */
export const ThreadListCwdFilter = z.union([z.string(), z.array(z.string())]);
export type ThreadListCwdFilter = z.infer<typeof ThreadListCwdFilter>;

export const ThreadListParams = z.looseObject({
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
  sortKey: ThreadSortKey.nullish(),
  sortDirection: SortDirection.nullish(),
  archived: z.boolean().nullish(),
  cwd: ThreadListCwdFilter.nullish(),
  modelProviders: z.array(z.string()).nullish(),
  sourceKinds: z.array(ThreadSourceKind).nullish(),
  originators: z.array(z.string()).nullish(),
  excludedThreadIds: z.array(z.string()).nullish(),
  searchTerm: z.string().nullish(),
  sectionId: z.string().nullish(),
  currentAccountOnly: z.boolean().optional(),
  useStateDbOnly: z.boolean().optional(),
});
export type ThreadListParams = z.infer<typeof ThreadListParams>;

export const ThreadListResponse = z.looseObject({
  data: z.array(Thread),
  /** Read state per thread id on the page; emitted by the reference but not in the stable bundle. */
  readStates: z.record(z.string(), ThreadReadState).nullish(),
  nextCursor: z.string().nullable(),
  backwardsCursor: z.string().nullable(),
});
export type ThreadListResponse = z.infer<typeof ThreadListResponse>;

// thread/loaded/list

export const ThreadLoadedListParams = z.looseObject({
  cursor: z.string().nullish(),
  limit: UnsignedInt.nullish(),
});
export type ThreadLoadedListParams = z.infer<typeof ThreadLoadedListParams>;

export const ThreadLoadedListResponse = z.looseObject({
  /** Thread ids. */
  data: z.array(z.string()),
  nextCursor: z.string().nullable(),
});
export type ThreadLoadedListResponse = z.infer<typeof ThreadLoadedListResponse>;

// thread/read

export const ThreadReadParams = z.looseObject({
  ...threadIdParams,
  includeTurns: z.boolean().optional(),
});
export type ThreadReadParams = z.infer<typeof ThreadReadParams>;

export const ThreadReadResponse = z.looseObject({
  thread: Thread,
  // Emitted by the reference but not in the stable bundle.
  readState: ThreadReadState.nullish(),
});
export type ThreadReadResponse = z.infer<typeof ThreadReadResponse>;

// thread/unsubscribe

export const ThreadUnsubscribeParams = z.looseObject(threadIdParams);
export type ThreadUnsubscribeParams = z.infer<typeof ThreadUnsubscribeParams>;

export const ThreadUnsubscribeStatus = z.enum(['notLoaded', 'notSubscribed', 'unsubscribed']);
export type ThreadUnsubscribeStatus = z.infer<typeof ThreadUnsubscribeStatus>;

export const ThreadUnsubscribeResponse = z.looseObject({ status: ThreadUnsubscribeStatus });
export type ThreadUnsubscribeResponse = z.infer<typeof ThreadUnsubscribeResponse>;

// thread/archive, thread/unarchive

export const ThreadArchiveParams = z.looseObject(threadIdParams);
export type ThreadArchiveParams = z.infer<typeof ThreadArchiveParams>;

export const ThreadArchiveResponse = z.looseObject({});
export type ThreadArchiveResponse = z.infer<typeof ThreadArchiveResponse>;

export const ThreadUnarchiveParams = z.looseObject(threadIdParams);
export type ThreadUnarchiveParams = z.infer<typeof ThreadUnarchiveParams>;

export const ThreadUnarchiveResponse = z.looseObject({ thread: Thread });
export type ThreadUnarchiveResponse = z.infer<typeof ThreadUnarchiveResponse>;

// thread/name/set

export const ThreadSetNameParams = z.looseObject({
  ...threadIdParams,
  name: z.string(),
});
export type ThreadSetNameParams = z.infer<typeof ThreadSetNameParams>;

export const ThreadSetNameResponse = z.looseObject({});
export type ThreadSetNameResponse = z.infer<typeof ThreadSetNameResponse>;
