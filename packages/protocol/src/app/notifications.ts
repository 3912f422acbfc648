/**
 * Server notifications: params schemas.
 */
import { z } from 'zod';
import { RequestId } from './common.js';
import { ThreadItem } from './items.js';
import { Thread, ThreadStatus, ThreadTokenUsage, Turn, TurnError } from './thread.js';

const threadIdParams = { threadId: z.string() };

export const ThreadStartedNotification = z.looseObject({ thread: Thread });
export type ThreadStartedNotification = z.infer<typeof ThreadStartedNotification>;

export const ThreadStatusChangedNotification = z.looseObject({
  ...threadIdParams,
  status: ThreadStatus,
});
export type ThreadStatusChangedNotification = z.infer<typeof ThreadStatusChangedNotification>;

export const ThreadClosedNotification = z.looseObject(threadIdParams);
export type ThreadClosedNotification = z.infer<typeof ThreadClosedNotification>;

export const ThreadArchivedNotification = z.looseObject(threadIdParams);
export type ThreadArchivedNotification = z.infer<typeof ThreadArchivedNotification>;

export const ThreadUnarchivedNotification = z.looseObject(threadIdParams);
export type ThreadUnarchivedNotification = z.infer<typeof ThreadUnarchivedNotification>;

export const ThreadNameUpdatedNotification = z.looseObject({
  ...threadIdParams,
  threadName: z.string().nullish(),
});
export type ThreadNameUpdatedNotification = z.infer<typeof ThreadNameUpdatedNotification>;

export const ThreadTokenUsageUpdatedNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  tokenUsage: ThreadTokenUsage,
});
export type ThreadTokenUsageUpdatedNotification = z.infer<
  typeof ThreadTokenUsageUpdatedNotification
>;

export const TurnStartedNotification = z.looseObject({ ...threadIdParams, turn: Turn });
export type TurnStartedNotification = z.infer<typeof TurnStartedNotification>;

export const TurnCompletedNotification = z.looseObject({ ...threadIdParams, turn: Turn });
export type TurnCompletedNotification = z.infer<typeof TurnCompletedNotification>;

export const ItemStartedNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  item: ThreadItem,
  startedAtMs: z.number().int(),
});
export type ItemStartedNotification = z.infer<typeof ItemStartedNotification>;

export const ItemCompletedNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  item: ThreadItem,
  completedAtMs: z.number().int(),
  contentTokenCount: z.number().int().nonnegative().nullable(),
});
export type ItemCompletedNotification = z.infer<typeof ItemCompletedNotification>;

export const AgentMessageDeltaNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
});
export type AgentMessageDeltaNotification = z.infer<typeof AgentMessageDeltaNotification>;

/** A piece of a reasoning item's summary part `summaryIndex`, as the model streams it. */
export const ReasoningSummaryTextDeltaNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
  summaryIndex: z.number().int(),
});
export type ReasoningSummaryTextDeltaNotification = z.infer<
  typeof ReasoningSummaryTextDeltaNotification
>;

/** A reasoning item's summary gained part `summaryIndex` (a new section of the summary). */
export const ReasoningSummaryPartAddedNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemId: z.string(),
  summaryIndex: z.number().int(),
});
export type ReasoningSummaryPartAddedNotification = z.infer<
  typeof ReasoningSummaryPartAddedNotification
>;

/** A piece of a reasoning item's raw reasoning text, content part `contentIndex`. */
export const ReasoningTextDeltaNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
  contentIndex: z.number().int(),
});
export type ReasoningTextDeltaNotification = z.infer<typeof ReasoningTextDeltaNotification>;

export const CommandExecutionOutputDeltaNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  itemId: z.string(),
  delta: z.string(),
});
export type CommandExecutionOutputDeltaNotification = z.infer<
  typeof CommandExecutionOutputDeltaNotification
>;

/** A server request was answered or became moot (e.g. its turn was interrupted). */
export const ServerRequestResolvedNotification = z.looseObject({
  ...threadIdParams,
  requestId: RequestId,
});
export type ServerRequestResolvedNotification = z.infer<typeof ServerRequestResolvedNotification>;

export const ErrorNotification = z.looseObject({
  ...threadIdParams,
  turnId: z.string(),
  error: TurnError,
  willRetry: z.boolean(),
});
export type ErrorNotification = z.infer<typeof ErrorNotification>;

export const WarningNotification = z.looseObject({
  threadId: z.string().nullish(),
  message: z.string(),
});
export type WarningNotification = z.infer<typeof WarningNotification>;

export const TextPosition = z.looseObject({
  line: z.number().int().nonnegative(),
  column: z.number().int().nonnegative(),
});
export type TextPosition = z.infer<typeof TextPosition>;

export const TextRange = z.looseObject({ start: TextPosition, end: TextPosition });
export type TextRange = z.infer<typeof TextRange>;

/** `path` and `range` are left out when the warning is not about a config file location. */
export const ConfigWarningNotification = z.looseObject({
  summary: z.string(),
  details: z.string().nullable(),
  path: z.string().nullish(),
  range: TextRange.nullish(),
});
export type ConfigWarningNotification = z.infer<typeof ConfigWarningNotification>;

/** Sent before the result of thread/read and thread/resume when full history is requested. */
export const DeprecationNoticeNotification = z.looseObject({
  summary: z.string(),
  details: z.string().nullable(),
});
export type DeprecationNoticeNotification = z.infer<typeof DeprecationNoticeNotification>;
