/**
 * User input and thread items (the entries of `Turn.items`, `item/started`, `item/completed`).
 */
import { z } from 'zod';
import { UnsignedInt } from './common.js';

export const ByteRange = z.looseObject({ start: UnsignedInt, end: UnsignedInt });
export type ByteRange = z.infer<typeof ByteRange>;

export const TextElement = z.looseObject({
  byteRange: ByteRange,
  placeholder: z.string().nullish(),
});
export type TextElement = z.infer<typeof TextElement>;

export const ImageDetail = z.enum(['auto', 'low', 'high', 'original']);
export type ImageDetail = z.infer<typeof ImageDetail>;

export const TextUserInput = z.looseObject({
  type: z.literal('text'),
  text: z.string(),
  // Clients usually leave it out; the server echoes `[]` in userMessage items.
  text_elements: z.array(TextElement).optional(),
});
export type TextUserInput = z.infer<typeof TextUserInput>;

const hasUrlOrFileId = (value: { url?: string | undefined; fileId?: string | undefined }) =>
  value.url !== undefined || value.fileId !== undefined;
const urlOrFileIdMessage = { message: 'expected `url` or `fileId`' };

export const ImageUserInput = z
  .looseObject({
    type: z.literal('image'),
    url: z.string().optional(),
    fileId: z.string().optional(),
    detail: ImageDetail.nullish(),
  })
  .refine(hasUrlOrFileId, urlOrFileIdMessage);
export type ImageUserInput = z.infer<typeof ImageUserInput>;

export const LocalImageUserInput = z.looseObject({
  type: z.literal('localImage'),
  path: z.string(),
  detail: ImageDetail.nullish(),
});
export type LocalImageUserInput = z.infer<typeof LocalImageUserInput>;

export const AudioUserInput = z
  .looseObject({
    type: z.literal('audio'),
    url: z.string().optional(),
    fileId: z.string().optional(),
  })
  .refine(hasUrlOrFileId, urlOrFileIdMessage);
export type AudioUserInput = z.infer<typeof AudioUserInput>;

export const LocalAudioUserInput = z.looseObject({
  type: z.literal('localAudio'),
  path: z.string(),
});
export type LocalAudioUserInput = z.infer<typeof LocalAudioUserInput>;

export const SkillUserInput = z.looseObject({
  type: z.literal('skill'),
  name: z.string(),
  path: z.string(),
});
export type SkillUserInput = z.infer<typeof SkillUserInput>;

export const MentionUserInput = z.looseObject({
  type: z.literal('mention'),
  name: z.string(),
  path: z.string(),
});
export type MentionUserInput = z.infer<typeof MentionUserInput>;

/** One element of `turn/start` / `turn/steer` `input` and of a userMessage item's `content`. */
export const UserInput = z.discriminatedUnion('type', [
  TextUserInput,
  ImageUserInput,
  LocalImageUserInput,
  AudioUserInput,
  LocalAudioUserInput,
  SkillUserInput,
  MentionUserInput,
]);
export type UserInput = z.infer<typeof UserInput>;

export const ReadCommandAction = z.looseObject({
  type: z.literal('read'),
  command: z.string(),
  name: z.string(),
  path: z.string(),
});
export type ReadCommandAction = z.infer<typeof ReadCommandAction>;

export const ListFilesCommandAction = z.looseObject({
  type: z.literal('listFiles'),
  command: z.string(),
  path: z.string().nullish(),
});
export type ListFilesCommandAction = z.infer<typeof ListFilesCommandAction>;

export const SearchCommandAction = z.looseObject({
  type: z.literal('search'),
  command: z.string(),
  path: z.string().nullish(),
  query: z.string().nullish(),
});
export type SearchCommandAction = z.infer<typeof SearchCommandAction>;

export const UnknownCommandAction = z.looseObject({
  type: z.literal('unknown'),
  command: z.string(),
});
export type UnknownCommandAction = z.infer<typeof UnknownCommandAction>;

/** What a shell command was parsed as (`commandActions`). */
export const CommandAction = z.discriminatedUnion('type', [
  ReadCommandAction,
  ListFilesCommandAction,
  SearchCommandAction,
  UnknownCommandAction,
]);
export type CommandAction = z.infer<typeof CommandAction>;

export const CommandExecutionSource = z.enum([
  'agent',
  'userShell',
  'unifiedExecStartup',
  'unifiedExecInteraction',
]);
export type CommandExecutionSource = z.infer<typeof CommandExecutionSource>;

export const CommandExecutionStatus = z.enum(['inProgress', 'completed', 'failed', 'declined']);
export type CommandExecutionStatus = z.infer<typeof CommandExecutionStatus>;

export const PatchApplyStatus = z.enum(['inProgress', 'completed', 'failed', 'declined']);
export type PatchApplyStatus = z.infer<typeof PatchApplyStatus>;

export const PatchChangeKind = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('add') }),
  z.looseObject({ type: z.literal('delete') }),
  z.looseObject({ type: z.literal('update'), move_path: z.string().nullish() }),
]);
export type PatchChangeKind = z.infer<typeof PatchChangeKind>;

export const FileUpdateChange = z.looseObject({
  path: z.string(),
  kind: PatchChangeKind,
  diff: z.string(),
});
export type FileUpdateChange = z.infer<typeof FileUpdateChange>;

export const MessagePhase = z.enum(['commentary', 'partial_answer', 'final_answer']);
export type MessagePhase = z.infer<typeof MessagePhase>;

export const AgentMessageDelivery = z.enum(['async']);
export type AgentMessageDelivery = z.infer<typeof AgentMessageDelivery>;

export const MemoryCitationEntry = z.looseObject({
  path: z.string(),
  lineStart: UnsignedInt,
  lineEnd: UnsignedInt,
  note: z.string(),
});
export type MemoryCitationEntry = z.infer<typeof MemoryCitationEntry>;

export const MemoryCitation = z.looseObject({
  entries: z.array(MemoryCitationEntry),
  threadIds: z.array(z.string()),
});
export type MemoryCitation = z.infer<typeof MemoryCitation>;

export const AgentMessageDisplay = z.looseObject({
  action: z.string(),
  blockType: z.string().nullish(),
  checkTrustedContacts: z.boolean().nullish(),
  cyberTrustedAccess: z.boolean().nullish(),
});
export type AgentMessageDisplay = z.infer<typeof AgentMessageDisplay>;

export const AgentMessageModeration = z.looseObject({
  moderated: z.boolean(),
  display: AgentMessageDisplay.nullish(),
});
export type AgentMessageModeration = z.infer<typeof AgentMessageModeration>;

export const AsyncUserInputQuestion = z.looseObject({
  title: z.string(),
  options: z.array(z.string()).nullish(),
});
export type AsyncUserInputQuestion = z.infer<typeof AsyncUserInputQuestion>;

/**
 * Item timing fields the reference adds to every item; not part of the stable bundle, hence
 * optional.
 */
const itemTiming = {
  startedAtMs: z.number().int().optional(),
  completedAtMs: z.number().int().nullish(),
};

export const UserMessageItem = z.looseObject({
  type: z.literal('userMessage'),
  id: z.string(),
  clientId: z.string().nullable(),
  content: z.array(UserInput),
  ...itemTiming,
});
export type UserMessageItem = z.infer<typeof UserMessageItem>;

export const AgentMessageItem = z.looseObject({
  type: z.literal('agentMessage'),
  id: z.string(),
  text: z.string(),
  phase: MessagePhase.nullable(),
  memoryCitation: MemoryCitation.nullable(),
  delivery: AgentMessageDelivery.nullable(),
  questions: z.array(AsyncUserInputQuestion).nullable(),
  moderation: AgentMessageModeration.nullable(),
  ...itemTiming,
});
export type AgentMessageItem = z.infer<typeof AgentMessageItem>;

export const CommandExecutionItem = z.looseObject({
  type: z.literal('commandExecution'),
  id: z.string(),
  command: z.string(),
  cwd: z.string(),
  processId: z.string().nullable(),
  source: CommandExecutionSource,
  status: CommandExecutionStatus,
  commandActions: z.array(CommandAction),
  aggregatedOutput: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number().int().nullable(),
  pluginId: z.string().nullable(),
  scriptPath: z.string().nullable(),
  ...itemTiming,
});
export type CommandExecutionItem = z.infer<typeof CommandExecutionItem>;

export const ReasoningItem = z.looseObject({
  type: z.literal('reasoning'),
  id: z.string(),
  summary: z.array(z.string()).optional(),
  content: z.array(z.string()).optional(),
  ...itemTiming,
});
export type ReasoningItem = z.infer<typeof ReasoningItem>;

export const PlanItem = z.looseObject({
  type: z.literal('plan'),
  id: z.string(),
  text: z.string(),
  ...itemTiming,
});
export type PlanItem = z.infer<typeof PlanItem>;

export const FileChangeItem = z.looseObject({
  type: z.literal('fileChange'),
  id: z.string(),
  changes: z.array(FileUpdateChange),
  status: PatchApplyStatus,
  ...itemTiming,
});
export type FileChangeItem = z.infer<typeof FileChangeItem>;

export const ContextCompactionItem = z.looseObject({
  type: z.literal('contextCompaction'),
  id: z.string(),
  ...itemTiming,
});
export type ContextCompactionItem = z.infer<typeof ContextCompactionItem>;

/** The item types modelled field by field. */
export const KnownThreadItem = z.discriminatedUnion('type', [
  UserMessageItem,
  AgentMessageItem,
  CommandExecutionItem,
  ReasoningItem,
  PlanItem,
  FileChangeItem,
  ContextCompactionItem,
]);
export type KnownThreadItem = z.infer<typeof KnownThreadItem>;

/** The `type` values of {@link KnownThreadItem}. */
export const knownThreadItemTypes: ReadonlySet<string> = new Set(
  KnownThreadItem.options.map((option) => option.shape.type.value),
);

/**
 * Any other item type of the bundle (`mcpToolCall`, `webSearch`, `hookPrompt`, …) or a future one:
 * only `type` and `id` are checked, everything else passes through. A known `type` never falls
 * back here, so a malformed userMessage still fails.
 */
export const OtherThreadItem = z.looseObject({
  type: z.string().refine((type) => !knownThreadItemTypes.has(type), {
    message: 'known item type did not match its schema',
    abort: true,
  }),
  id: z.string(),
});
export type OtherThreadItem = z.infer<typeof OtherThreadItem>;

/** An entry of `Turn.items` / the `item` of item notifications. */
export const ThreadItem = z.union([KnownThreadItem, OtherThreadItem]);
export type ThreadItem = z.infer<typeof ThreadItem>;

export function isKnownThreadItem(item: ThreadItem): item is KnownThreadItem {
  return knownThreadItemTypes.has(item.type);
}

/**
 * One item of a thread's model-visible history, as the Responses API takes it in `input` (a user or
 * assistant `message`, a `function_call` and its `function_call_output`, a `reasoning` item, …).
 * `thread/inject_items` takes these raw; only `type` is checked, everything else is kept as sent.
 */
export const ResponseItem = z.looseObject({ type: z.string().min(1) });
export type ResponseItem = z.infer<typeof ResponseItem>;
