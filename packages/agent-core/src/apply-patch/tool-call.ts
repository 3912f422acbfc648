import type { app } from '@tether/protocol';
import { messageOf } from '../errors.js';
import { completeItem, startItem } from '../items.js';
import type { TurnContext, TurnOutcome } from '../turn-loop-runtime.js';
import {
  applyVerifiedPatch,
  type FileChange,
  patchSummary,
  type VerifiedPatch,
  verifyPatch,
} from './apply.js';
import type { PatchFileSystem } from './files.js';
import { type ParsedPatch, parsePatch } from './parser.js';
import { decidePatch, patchStaysInRoots, patchWritableRoots } from './safety.js';
import type { TurnDiffTracker } from './turn-diff.js';
import { diffHunks } from './unified-diff.js';

/** What the model reads when the user declined a patch (the reference's words). */
export const PATCH_DECLINED_OUTPUT = 'patch rejected by user';

/** What one `apply_patch` call needs beyond the turn. */
export interface PatchCallContext {
  turn: TurnContext;
  /** Where the patch is read and written (undefined: the environment cannot edit files). */
  files: PatchFileSystem | undefined;
  /** The turn's aggregated diff, updated when a patch is written. */
  tracker: TurnDiffTracker;
  /**
   * Paths the user accepted for the session (`acceptForSession`): a later patch touching only
   * these is written without asking. Kept per thread, in memory.
   */
  approvedPaths: Set<string>;
  /** `$TMPDIR` of the environment, writable under workspace-write unless excluded. */
  tmpdir: string | undefined;
}

/** What the call hands back: the model's output, and whether the turn stops. */
export interface PatchCallResult {
  output: string;
  stop?: TurnOutcome;
}

/** `Exit code …` output as the reference formats a finished patch for the model. */
function execOutput(exitCode: number, startedAtMs: number, text: string): string {
  const seconds = Math.round((Date.now() - startedAtMs) / 100) / 10;
  return `Exit code: ${exitCode}\nWall time: ${seconds} seconds\nOutput:\n${text}`;
}

/** A verified change as the `fileChange` item lists it (absolute paths, the reference's diffs). */
export function fileUpdateChange(change: FileChange): app.FileUpdateChange {
  switch (change.kind) {
    case 'add':
      return { path: change.path, kind: { type: 'add' }, diff: change.contents };
    case 'delete':
      return { path: change.path, kind: { type: 'delete' }, diff: change.contents };
    case 'update': {
      const hunks = diffHunks(change.oldContents, change.newContents, 1);
      return {
        path: change.path,
        kind: { type: 'update', move_path: change.movePath ?? null },
        diff: change.movePath === undefined ? hunks : `${hunks}\n\nMoved to: ${change.movePath}`,
      };
    }
  }
}

function touchedPaths(patch: VerifiedPatch): string[] {
  return patch.changes.flatMap((change) =>
    change.kind === 'update' && change.movePath !== undefined
      ? [change.path, change.movePath]
      : [change.path],
  );
}

/**
 * Runs one `apply_patch` call as the reference does:
 * - a patch that does not parse or does not match the files is answered `apply_patch verification
 *   failed: …`, and one without hunks `patch rejected: empty patch`, with no item;
 * - a patch the approval policy refuses is answered `patch rejected: …`, with no item;
 * - otherwise a `fileChange` item starts; when the policy asks (see `decidePatch`), the thread's
 *   clients get `item/fileChange/requestApproval` (`reason` and `grantRoot` null); `decline`
 *   completes the item `declined` and tells the model `patch rejected by user`, `cancel`
 *   interrupts the turn;
 * - the patch is written whole or not at all; the item completes `completed` (then
 *   `turn/diff/updated` with the turn's diff) or `failed`.
 */
export async function runApplyPatchCall(
  context: PatchCallContext,
  callId: string,
  input: string,
): Promise<PatchCallResult> {
  const { turn } = context;
  const startedAtMs = Date.now();
  const failed = (error: unknown) => ({
    output: `apply_patch verification failed: ${messageOf(error)}`,
  });
  let parsed: ParsedPatch;
  try {
    parsed = parsePatch(input);
  } catch (error) {
    return failed(error);
  }
  if (parsed.hunks.length === 0) return { output: 'patch rejected: empty patch' };
  const files = context.files;
  if (!files) return failed('this environment cannot edit files');
  let patch: VerifiedPatch;
  try {
    patch = await verifyPatch(parsed, turn.settings.cwd, files);
  } catch (error) {
    return failed(error);
  }
  const { settings } = turn;
  const roots = patchWritableRoots(settings.sandbox, settings.cwd, context.tmpdir);
  const paths = touchedPaths(patch);
  let decision = decidePatch(
    settings.approvalPolicy,
    settings.sandbox,
    patchStaysInRoots(patch, roots),
  );
  if (decision.kind === 'ask' && paths.every((path) => context.approvedPaths.has(path))) {
    decision = { kind: 'apply' };
  }
  if (decision.kind === 'reject') return { output: `patch rejected: ${decision.reason}` };

  const item: app.FileChangeItem = {
    type: 'fileChange',
    id: callId,
    changes: patch.changes.map(fileUpdateChange),
    status: 'inProgress',
    startedAtMs,
    completedAtMs: null,
  };
  startItem(turn, item, startedAtMs);
  if (decision.kind === 'ask') {
    turn.setWaitingOnApproval(true);
    const outcome = await turn.request('item/fileChange/requestApproval', {
      threadId: turn.threadId,
      turnId: turn.turnId,
      itemId: callId,
      startedAtMs: Date.now(),
      reason: null,
      grantRoot: null,
    });
    // nobody will answer: the turn was interrupted or the thread unloaded
    if (outcome.kind === 'cancelled') return { output: 'aborted', stop: { status: 'completed' } };
    // an error answer (or one that did not match the schema) declines
    const answer = outcome.kind === 'result' ? outcome.result.decision : 'decline';
    turn.setWaitingOnApproval(false);
    // the reference leaves the item open and interrupts the turn
    if (answer === 'cancel') return { output: 'aborted', stop: { status: 'interrupted' } };
    if (answer === 'decline') {
      completeItem(turn, { ...item, status: 'declined' });
      return { output: PATCH_DECLINED_OUTPUT };
    }
    if (answer === 'acceptForSession') for (const path of paths) context.approvedPaths.add(path);
  }

  try {
    await applyVerifiedPatch(patch, files);
  } catch (error) {
    completeItem(turn, { ...item, status: 'failed' });
    return { output: execOutput(1, startedAtMs, `${messageOf(error)}\n`) };
  }
  completeItem(turn, { ...item, status: 'completed' });
  context.tracker.track(patch);
  emitTurnDiff(turn, context.tracker);
  return { output: execOutput(0, startedAtMs, patchSummary(patch)) };
}

/** `turn/diff/updated` with the turn's diff, when the turn changed anything (net). */
export function emitTurnDiff(
  turn: Pick<TurnContext, 'threadId' | 'turnId' | 'emit'>,
  tracker: TurnDiffTracker,
): void {
  const diff = tracker.diff();
  if (diff === '') return;
  turn.emit('turn/diff/updated', { threadId: turn.threadId, turnId: turn.turnId, diff });
}
