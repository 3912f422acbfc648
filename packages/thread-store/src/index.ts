export { type Logger, silentLogger } from '@tether/protocol';
export { isThreadStoreError, ThreadStoreError, type ThreadStoreErrorCode } from './errors.js';
export {
  previewOfItem,
  type StoredTokenUsage,
  type StoredTurn,
  type ThreadSummary,
} from './fold.js';
export {
  decodeHistoryCursor,
  encodeHistoryCursor,
  type HistoryScope,
} from './history-cursor.js';
export { itemsForView } from './history-reader.js';
export type { Anchor, ItemRow, TurnRow } from './history-types.js';
export { INDEX_SCHEMA_VERSION, type IndexEntry, type ThreadState } from './history-types.js';
export { DEFAULT_INDEX_BUSY_TIMEOUT_MS } from './index-defaults.js';
export {
  type JournalOptions,
  type JournalStore,
  type JournalTrouble,
  ThreadJournal,
  type WhenDurableOptions,
} from './journal.js';
export { ARCHIVED_SESSIONS_DIR, INDEX_FILE, SESSIONS_DIR } from './paths.js';
export {
  type AppendRecord,
  type CompactedRecord,
  type FinishedTurnStatus,
  type ItemCompletedRecord,
  type ItemStartedRecord,
  type ReadStateRecord,
  type ResponseItemRecord,
  ROLLOUT_FORMAT_VERSION,
  type RolloutRecord,
  type RolloutRecordType,
  type ThreadGoalRecord,
  type ThreadMetadataRecord,
  type ThreadMetaRecord,
  type ThreadNameRecord,
  type ThreadQueueRecord,
  type ThreadSettingsRecord,
  type TokenUsageRecord,
  type TurnCompletedRecord,
  type TurnStartedRecord,
} from './records.js';
export { type RolloutContents, readRollout, type UnreadableLine } from './rollout-reader.js';
export {
  type Durability,
  RolloutReplacedError,
  RolloutWriter,
  type RolloutWriterOptions,
} from './rollout-writer.js';
export {
  type CreateThreadInput,
  DEFAULT_CLI_VERSION,
  DEFAULT_LIST_LIMIT,
  DEFAULT_MAX_OPEN_WRITERS,
  type EphemeralFork,
  type ForkOptions,
  INTERACTIVE_SOURCE_KINDS,
  type ItemEntry,
  type ItemsPageQuery,
  type ItemsPageResult,
  type ListThreadsParams,
  MAX_EXCLUDED_THREAD_IDS,
  MAX_LIST_LIMIT,
  type MessageOccurrence,
  type ReadThreadOptions,
  type RebuildResult,
  type StoredThread,
  type ThreadDescription,
  type ThreadPage,
  ThreadStore,
  type ThreadStoreOptions,
  type TurnsPageQuery,
  type TurnsPageResult,
} from './store.js';
export { activeWriterMessage, WRITER_LOCKS_DIR } from './writer-lock.js';
