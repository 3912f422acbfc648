/**
 * Replays a rollout's records into what a thread is now: its summary (what the index stores and
 * `thread/list` shows), its turns with their items, its settings and its last token usage.
 */
import type { app } from '@tether/protocol';
import type { RolloutRecord, ThreadMetadataRecord, ThreadMetaRecord } from './records.js';

/**
 * The listable facts about a thread: what the index holds, enough to build a wire `Thread`. The
 * creation record's facts (as later records changed them), plus what only the later records say.
 */
export interface ThreadSummary extends Omit<ThreadMetaRecord, 'v' | 'ts' | 'type' | 'settings'> {
  /** Epoch ms of the latest record. */
  updatedAt: number;
  /** Epoch ms of the latest turn start (or the creation). */
  recencyAt: number;
  /** `thread/metadata/update`. */
  projectId: string | null;
  daybreakEnabled: boolean | null;
  /** What the user has read (`thread/readState/update`, and turns that completed since). */
  readState: app.ThreadReadState | null;
}

/** A turn as the records describe it; times in epoch ms. */
export interface StoredTurn {
  id: string;
  rootTurnId: string | null;
  items: app.ThreadItem[];
  status: app.TurnStatus;
  error: app.TurnError | null;
  startedAt: number | null;
  completedAt: number | null;
  durationMs: number | null;
}

/** The last `thread/tokenUsage/updated` payload recorded. */
export interface StoredTokenUsage {
  turnId: string;
  tokenUsage: app.ThreadTokenUsage;
}

export interface FoldedThread {
  summary: ThreadSummary;
  settings: app.JsonObject;
  turns: StoredTurn[];
  tokenUsage: StoredTokenUsage | null;
  /** The model-visible conversation (every `response_item` in file order, from the last `compacted`). */
  conversation: app.ResponseItem[];
  /** The thread's goal, or null. */
  goal: app.JsonObject | null;
  /** Submissions waiting in the thread's queue. */
  queue: app.QueuedSubmission[];
}

export interface FoldOptions {
  /**
   * The turn the caller knows to be running: it stays `inProgress`. Every other turn without a
   * `turn_completed` record was cut short by a crash or shutdown and reads back `interrupted`.
   */
  liveTurnId?: string | null;
}

/** The preview a user message gives a thread: its text inputs joined, or '' if it has none. */
export function previewOfItem(item: app.ThreadItem): string {
  if (item.type !== 'userMessage' || !Array.isArray(item.content)) return '';
  const texts: string[] = [];
  for (const input of item.content) {
    if (isTextInput(input)) texts.push(input.text);
  }
  return texts.join('\n').trim();
}

function isTextInput(input: unknown): input is { type: 'text'; text: string } {
  return (
    typeof input === 'object' &&
    input !== null &&
    'type' in input &&
    input.type === 'text' &&
    'text' in input &&
    typeof input.text === 'string'
  );
}

/**
 * Whether a record counts as activity for `updatedAt`: marking a thread read, or changing its
 * metadata, goal or queue, does not (as on the reference).
 */
export function movesUpdatedAt(record: RolloutRecord): boolean {
  return (
    record.type !== 'read_state' &&
    record.type !== 'thread_metadata' &&
    record.type !== 'thread_goal' &&
    record.type !== 'thread_queue'
  );
}

/** Applies a `thread_metadata` record: absent fields stay as they were. */
export function applyMetadata(summary: ThreadSummary, record: ThreadMetadataRecord): void {
  if (record.gitInfo !== undefined) summary.gitInfo = record.gitInfo;
  if (record.projectId !== undefined) summary.projectId = record.projectId;
  if (record.daybreakEnabled !== undefined) summary.daybreakEnabled = record.daybreakEnabled;
}

/** Items whose text streams in (a reply, reasoning): a partial one is dropped, not kept. */
export function isStreamedText(item: { type: string }): boolean {
  return STREAMED_TEXT_TYPES.includes(item.type);
}

/** The item types {@link isStreamedText} names (the index filters on the same list). */
export const STREAMED_TEXT_TYPES: readonly string[] = ['agentMessage', 'reasoning'];

export function summaryFromMeta(meta: ThreadMetaRecord): ThreadSummary {
  return {
    id: meta.id,
    createdAt: meta.createdAt,
    updatedAt: Math.max(meta.createdAt, meta.ts),
    recencyAt: meta.createdAt,
    cwd: meta.cwd,
    name: meta.name,
    preview: meta.preview,
    model: meta.model,
    modelProvider: meta.modelProvider,
    reasoningEffort: meta.reasoningEffort,
    source: meta.source,
    threadSource: meta.threadSource,
    originator: meta.originator,
    cliVersion: meta.cliVersion,
    forkedFromId: meta.forkedFromId,
    parentThreadId: meta.parentThreadId,
    agentNickname: meta.agentNickname,
    agentRole: meta.agentRole,
    gitInfo: meta.gitInfo,
    projectId: null,
    daybreakEnabled: null,
    readState: null,
  };
}

/**
 * Folds records in file order. Returns null when there is no `thread_meta` record (a file torn
 * before its first line was complete). Records before the meta record, and a second meta record,
 * are ignored.
 */
export function foldRecords(
  records: readonly RolloutRecord[],
  options: FoldOptions = {},
): FoldedThread | null {
  const metaIndex = records.findIndex((record) => record.type === 'thread_meta');
  const meta = records[metaIndex];
  if (meta?.type !== 'thread_meta') return null;
  const summary = summaryFromMeta(meta);
  const settings: app.JsonObject = { ...meta.settings };
  const turns: StoredTurn[] = [];
  const turnsById = new Map<
    string,
    { turn: StoredTurn; itemIndex: Map<string, number>; completed: Set<string> }
  >();
  let tokenUsage: StoredTokenUsage | null = null;
  const conversation: app.ResponseItem[] = [];
  let goal: app.JsonObject | null = null;
  let queue: app.QueuedSubmission[] = [];

  const turnFor = (turnId: string) => {
    let entry = turnsById.get(turnId);
    if (!entry) {
      const turn: StoredTurn = {
        id: turnId,
        rootTurnId: turnId,
        items: [],
        status: 'inProgress',
        error: null,
        startedAt: null,
        completedAt: null,
        durationMs: null,
      };
      entry = { turn, itemIndex: new Map(), completed: new Set() };
      turnsById.set(turnId, entry);
      turns.push(turn);
    }
    return entry;
  };

  for (let i = metaIndex + 1; i < records.length; i++) {
    const record = records[i];
    if (!record || record.type === 'thread_meta') continue;
    if (movesUpdatedAt(record)) summary.updatedAt = Math.max(summary.updatedAt, record.ts);
    switch (record.type) {
      case 'thread_name':
        summary.name = record.name;
        break;
      case 'thread_settings':
        if (record.cwd !== undefined) summary.cwd = record.cwd;
        if (record.model !== undefined) summary.model = record.model;
        if (record.modelProvider !== undefined) summary.modelProvider = record.modelProvider;
        if (record.reasoningEffort !== undefined) summary.reasoningEffort = record.reasoningEffort;
        if (record.settings) Object.assign(settings, record.settings);
        break;
      case 'turn_started': {
        const { turn } = turnFor(record.turnId);
        turn.rootTurnId = record.rootTurnId;
        turn.startedAt = record.startedAt;
        summary.recencyAt = Math.max(summary.recencyAt, record.ts);
        break;
      }
      case 'turn_completed': {
        const { turn } = turnFor(record.turnId);
        turn.status = record.status;
        turn.error = record.error;
        turn.completedAt = record.completedAt;
        turn.durationMs =
          record.durationMs ??
          (turn.startedAt === null ? null : Math.max(0, record.completedAt - turn.startedAt));
        break;
      }
      case 'item_started':
      case 'item_completed': {
        const { turn, itemIndex, completed } = turnFor(record.turnId);
        if (record.type === 'item_completed') completed.add(record.item.id);
        const at = itemIndex.get(record.item.id);
        if (at === undefined) {
          itemIndex.set(record.item.id, turn.items.length);
          turn.items.push(record.item);
        } else {
          turn.items[at] = record.item;
        }
        if (summary.preview === '') summary.preview = previewOfItem(record.item);
        break;
      }
      case 'token_usage':
        tokenUsage = { turnId: record.turnId, tokenUsage: record.tokenUsage };
        break;
      case 'response_item':
        conversation.push(record.item);
        break;
      case 'compacted':
        // what the model sees from here on: the compacted conversation replaces all before it
        conversation.splice(0, conversation.length, ...record.replacementHistory);
        break;
      case 'thread_metadata':
        applyMetadata(summary, record);
        break;
      case 'thread_goal':
        goal = record.goal;
        break;
      case 'read_state':
        summary.readState = { firstUnread: record.firstUnread, revision: record.revision };
        break;
      case 'thread_queue':
        queue = record.queue;
        break;
    }
  }

  for (const { turn, completed } of turnsById.values()) {
    if (turn.id === options.liveTurnId) continue;
    if (turn.status === 'inProgress') turn.status = 'interrupted';
    // a reply that never completed in a finished turn (cut short by an interrupt or a steer) is
    // not part of the history, as in the reference; other items keep the state they reached
    turn.items = turn.items.filter((item) => completed.has(item.id) || !isStreamedText(item));
  }
  return { summary, settings, turns, tokenUsage, conversation, goal, queue };
}
