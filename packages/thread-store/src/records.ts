/**
 * The rollout record format: one JSON object per line, `v` (format version), `ts` (epoch ms when the
 * record was appended) and `type`, then the fields of that type. Items are stored as the wire
 * `ThreadItem` JSON, so what a client saw is what a later `thread/read` returns.
 */
import { app } from '@tether/protocol';
import { z } from 'zod';

/** The format version every record carries in `v`. A reader skips records of a newer version. */
export const ROLLOUT_FORMAT_VERSION = 1;

/** How a finished turn ended (an unfinished one has no `turn_completed` record). */
export type FinishedTurnStatus = Exclude<app.TurnStatus, 'inProgress'>;

/** First record of every rollout: who the thread is. Later records change some of it. */
export interface ThreadMetaRecord {
  v: 1;
  ts: number;
  type: 'thread_meta';
  id: string;
  /** Epoch ms. */
  createdAt: number;
  cwd: string;
  model: string | null;
  modelProvider: string;
  reasoningEffort: app.ReasoningEffort | null;
  source: app.SessionSource;
  threadSource: app.ThreadSource | null;
  originator: string | null;
  cliVersion: string;
  forkedFromId: string | null;
  parentThreadId: string | null;
  agentNickname: string | null;
  agentRole: string | null;
  gitInfo: app.GitInfo | null;
  name: string | null;
  /** Empty until the first user message unless set at creation (a fork copies its source's). */
  preview: string;
  /** Session settings the store does not interpret (approvalPolicy, sandbox, instructions…). */
  settings: app.JsonObject;
}

/** `thread/name/set`. */
export interface ThreadNameRecord {
  v: 1;
  ts: number;
  type: 'thread_name';
  name: string | null;
}

/** A change of the thread's settings; absent fields are unchanged, `settings` is merged key by key. */
export interface ThreadSettingsRecord {
  v: 1;
  ts: number;
  type: 'thread_settings';
  cwd?: string;
  model?: string | null;
  modelProvider?: string;
  reasoningEffort?: app.ReasoningEffort | null;
  settings?: app.JsonObject;
}

export interface TurnStartedRecord {
  v: 1;
  ts: number;
  type: 'turn_started';
  turnId: string;
  rootTurnId: string | null;
  /** Epoch ms. */
  startedAt: number;
}

export interface TurnCompletedRecord {
  v: 1;
  ts: number;
  type: 'turn_completed';
  turnId: string;
  status: FinishedTurnStatus;
  error: app.TurnError | null;
  /** Epoch ms. */
  completedAt: number;
  /** Null: computed from `startedAt` and `completedAt` on read. */
  durationMs: number | null;
}

export interface ItemStartedRecord {
  v: 1;
  ts: number;
  type: 'item_started';
  turnId: string;
  item: app.ThreadItem;
}

/** Replaces the started item with the same id (or adds it when it was never started). */
export interface ItemCompletedRecord {
  v: 1;
  ts: number;
  type: 'item_completed';
  turnId: string;
  item: app.ThreadItem;
}

export interface TokenUsageRecord {
  v: 1;
  ts: number;
  type: 'token_usage';
  turnId: string;
  tokenUsage: app.ThreadTokenUsage;
}

/**
 * One item of the model-visible conversation (what the next model request's `input` holds), in the
 * order the model saw it. `turnId` is null for items added between turns (`thread/inject_items`).
 */
export interface ResponseItemRecord {
  v: 1;
  ts: number;
  type: 'response_item';
  turnId: string | null;
  item: app.ResponseItem;
}

/**
 * The conversation was compacted: from here on the model-visible conversation is
 * `replacementHistory` (the user's recent messages and the summary), not the items before it.
 */
export interface CompactedRecord {
  v: 1;
  ts: number;
  type: 'compacted';
  turnId: string;
  replacementHistory: app.ResponseItem[];
}

/** `thread/metadata/update`: absent fields are unchanged. */
export interface ThreadMetadataRecord {
  v: 1;
  ts: number;
  type: 'thread_metadata';
  gitInfo?: app.GitInfo | null;
  projectId?: string | null;
  daybreakEnabled?: boolean | null;
}

/** The thread's goal (`thread/goal/set`), or null once cleared. */
export interface ThreadGoalRecord {
  v: 1;
  ts: number;
  type: 'thread_goal';
  goal: app.JsonObject | null;
}

/** The thread's read state (`thread/readState/update`, and what turns make unread). */
export interface ReadStateRecord {
  v: 1;
  ts: number;
  type: 'read_state';
  firstUnread: app.ThreadUnreadPosition | null;
  revision: string;
}

/** The thread's queue of user input waiting for a turn (`thread/queue/*`), as a whole. */
export interface ThreadQueueRecord {
  v: 1;
  ts: number;
  type: 'thread_queue';
  queue: app.QueuedSubmission[];
}

/** Every record type of format version 1. */
export type RolloutRecord =
  | ThreadMetaRecord
  | ThreadNameRecord
  | ThreadSettingsRecord
  | TurnStartedRecord
  | TurnCompletedRecord
  | ItemStartedRecord
  | ItemCompletedRecord
  | TokenUsageRecord
  | ResponseItemRecord
  | CompactedRecord
  | ThreadMetadataRecord
  | ThreadGoalRecord
  | ReadStateRecord
  | ThreadQueueRecord;

export type RolloutRecordType = RolloutRecord['type'];

type Optional<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

/**
 * What `ThreadStore.append` takes: a record without `v` and `ts` (the store stamps them). Timing
 * fields default to the store's clock; `thread_meta` is written by `createThread` and `fork` only.
 */
export type AppendRecord =
  | Omit<ThreadNameRecord, 'v' | 'ts'>
  | Omit<ThreadSettingsRecord, 'v' | 'ts'>
  | Optional<Omit<TurnStartedRecord, 'v' | 'ts'>, 'rootTurnId' | 'startedAt'>
  | Optional<Omit<TurnCompletedRecord, 'v' | 'ts'>, 'error' | 'completedAt' | 'durationMs'>
  | Omit<ItemStartedRecord, 'v' | 'ts'>
  | Omit<ItemCompletedRecord, 'v' | 'ts'>
  | Omit<TokenUsageRecord, 'v' | 'ts'>
  | Omit<ResponseItemRecord, 'v' | 'ts'>
  | Omit<CompactedRecord, 'v' | 'ts'>
  | Omit<ThreadMetadataRecord, 'v' | 'ts'>
  | Omit<ThreadGoalRecord, 'v' | 'ts'>
  | Omit<ReadStateRecord, 'v' | 'ts'>
  | Omit<ThreadQueueRecord, 'v' | 'ts'>;

/** Fills the defaults of an {@link AppendRecord} and stamps it. */
export function completeRecord(
  input: AppendRecord,
  ts: number,
): Exclude<RolloutRecord, ThreadMetaRecord> {
  const base = { v: ROLLOUT_FORMAT_VERSION, ts } as const;
  switch (input.type) {
    case 'turn_started':
      return {
        ...base,
        ...input,
        rootTurnId: input.rootTurnId ?? input.turnId,
        startedAt: input.startedAt ?? ts,
      };
    case 'turn_completed':
      return {
        ...base,
        ...input,
        error: input.error ?? null,
        completedAt: input.completedAt ?? ts,
        durationMs: input.durationMs ?? null,
      };
    default:
      return { ...base, ...input };
  }
}

// Parsing: a rollout line crosses a trust boundary (another process, an older or newer tether, a
// crash), so it is parsed, never cast.

const nullableString = z.string().nullable();
const epochMs = z.number().finite();

const metaSchema = z.looseObject({
  id: z.string(),
  createdAt: epochMs,
  cwd: z.string(),
  model: nullableString,
  modelProvider: z.string(),
  reasoningEffort: app.ReasoningEffort.nullable(),
  source: app.SessionSource,
  threadSource: app.ThreadSource.nullable(),
  originator: nullableString,
  cliVersion: z.string(),
  forkedFromId: nullableString,
  parentThreadId: nullableString,
  agentNickname: nullableString,
  agentRole: nullableString,
  gitInfo: app.GitInfo.nullable(),
  name: nullableString,
  preview: z.string(),
  settings: app.JsonObject,
});
const nameSchema = z.looseObject({ name: nullableString });
const settingsSchema = z.looseObject({
  cwd: z.string().optional(),
  model: nullableString.optional(),
  modelProvider: z.string().optional(),
  reasoningEffort: app.ReasoningEffort.nullable().optional(),
  settings: app.JsonObject.optional(),
});
const turnStartedSchema = z.looseObject({
  turnId: z.string(),
  rootTurnId: nullableString,
  startedAt: epochMs,
});
const turnCompletedSchema = z.looseObject({
  turnId: z.string(),
  status: z.enum(['completed', 'interrupted', 'failed']),
  error: app.TurnError.nullable(),
  completedAt: epochMs,
  durationMs: z.number().finite().nullable(),
});
const itemSchema = z.looseObject({ turnId: z.string(), item: app.ThreadItem });
const tokenUsageSchema = z.looseObject({ turnId: z.string(), tokenUsage: app.ThreadTokenUsage });
const responseItemSchema = z.looseObject({ turnId: nullableString, item: app.ResponseItem });
const compactedSchema = z.looseObject({
  turnId: z.string(),
  replacementHistory: z.array(app.ResponseItem),
});
const metadataSchema = z.looseObject({
  gitInfo: app.GitInfo.nullable().optional(),
  projectId: nullableString.optional(),
  daybreakEnabled: z.boolean().nullable().optional(),
});
const goalSchema = z.looseObject({ goal: app.JsonObject.nullable() });
const queueSchema = z.looseObject({ queue: z.array(app.QueuedSubmission) });
const readStateSchema = z.looseObject({
  firstUnread: app.ThreadUnreadPosition.nullable(),
  revision: z.string(),
});

const recordTypes: ReadonlySet<string> = new Set<RolloutRecordType>([
  'thread_meta',
  'thread_name',
  'thread_settings',
  'turn_started',
  'turn_completed',
  'item_started',
  'item_completed',
  'token_usage',
  'response_item',
  'compacted',
  'thread_metadata',
  'thread_goal',
  'read_state',
  'thread_queue',
]);

function isRecordType(type: string): type is RolloutRecordType {
  return recordTypes.has(type);
}

const envelope = z.looseObject({
  v: z.number().int().positive(),
  ts: epochMs,
  type: z.string(),
});

/** What one line of a rollout turned out to be. */
export type ParsedLine =
  | { kind: 'record'; record: RolloutRecord }
  /** A record of a newer format version or an unknown type: skipped, not an error. */
  | { kind: 'unsupported'; version: number; type: string }
  /** Not JSON, or a known type whose fields do not match: skipped with a warning. */
  | { kind: 'invalid'; reason: string };

/** Parses one line (without its newline) of a rollout file. */
export function parseRecordLine(line: string): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { kind: 'invalid', reason: error instanceof Error ? error.message : 'not JSON' };
  }
  const head = envelope.safeParse(value);
  if (!head.success) return { kind: 'invalid', reason: 'missing v, ts or type' };
  const { v, ts, type } = head.data;
  if (v !== ROLLOUT_FORMAT_VERSION || !isRecordType(type)) {
    return { kind: 'unsupported', version: v, type };
  }
  const parsed = parseBody(type, value, ts);
  return typeof parsed === 'string'
    ? { kind: 'invalid', reason: parsed }
    : { kind: 'record', record: parsed };
}

type Outcome<T> = T | string;

function describe(type: string, error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue?.path.join('.') || type;
  return `${type}: ${where}: ${issue?.message ?? 'invalid'}`;
}

function parseBody(type: RolloutRecordType, value: unknown, ts: number): Outcome<RolloutRecord> {
  const v = ROLLOUT_FORMAT_VERSION;
  switch (type) {
    case 'thread_meta': {
      const r = metaSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'thread_name': {
      const r = nameSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'thread_settings': {
      const r = settingsSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'turn_started': {
      const r = turnStartedSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'turn_completed': {
      const r = turnCompletedSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'item_started':
    case 'item_completed': {
      const r = itemSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'token_usage': {
      const r = tokenUsageSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'response_item': {
      const r = responseItemSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'compacted': {
      const r = compactedSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'thread_metadata': {
      const r = metadataSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'thread_goal': {
      const r = goalSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'read_state': {
      const r = readStateSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
    case 'thread_queue': {
      const r = queueSchema.safeParse(value);
      return r.success ? { ...r.data, v, ts, type } : describe(type, r.error);
    }
  }
}
