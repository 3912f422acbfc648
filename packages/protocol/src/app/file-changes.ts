/**
 * What a client sees of the agent's file edits (`apply_patch`): the turn's aggregated diff and the
 * `item/fileChange/requestApproval` server request with its answer. The `fileChange` item itself
 * is in `items.ts`.
 */
import { z } from 'zod';

/** `turn/diff/updated`: the turn's net unified diff so far (git-style, one entry per file). */
export const TurnDiffUpdatedNotification = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  diff: z.string(),
});
export type TurnDiffUpdatedNotification = z.infer<typeof TurnDiffUpdatedNotification>;

/**
 * `item/fileChange/requestApproval` params. The reference sends `reason` and `grantRoot` as `null`
 * when they do not apply (not left out).
 */
export const FileChangeRequestApprovalParams = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
  /** The fileChange item awaiting approval. */
  itemId: z.string(),
  startedAtMs: z.number().int(),
  reason: z.string().nullish(),
  /** A root the agent asks to write under for the rest of the session. */
  grantRoot: z.string().nullish(),
});
export type FileChangeRequestApprovalParams = z.infer<typeof FileChangeRequestApprovalParams>;

/**
 * `accept`; `acceptForSession` (later edits of the same files go unasked); `decline` (the turn goes
 * on, the model is told); `cancel` (the turn is interrupted).
 */
export const FileChangeApprovalDecision = z.enum([
  'accept',
  'acceptForSession',
  'decline',
  'cancel',
]);
export type FileChangeApprovalDecision = z.infer<typeof FileChangeApprovalDecision>;

export const FileChangeRequestApprovalResponse = z.looseObject({
  decision: FileChangeApprovalDecision,
});
export type FileChangeRequestApprovalResponse = z.infer<typeof FileChangeRequestApprovalResponse>;
