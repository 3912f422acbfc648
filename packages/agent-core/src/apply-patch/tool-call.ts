import type { app } from '@tether/protocol';
import { messageOf } from '../errors.js';
import { completeItem, startItem } from '../items.js';
import { sandboxContextFor } from '../sandbox-policy.js';
import type { TurnContext, TurnOutcome } from '../turn-loop-runtime.js';
import {
  applyVerifiedPatch,
  type FileChange,
  PatchVerificationError,
  patchSummary,
  type VerifiedPatch,
  verifyPatch,
} from './apply.js';
import type { FileWriteOptions, PatchFileSystem } from './files.js';
import { type ParsedPatch, parsePatch } from './parser.js';
import { decidePatch, patchStaysInRoots, patchWritableRoots, type ResolvePath } from './safety.js';
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

/** Where each path leads (undefined: it cannot be resolved). */
function realPaths(
  paths: readonly string[],
  resolvePath: ResolvePath,
): Promise<Array<string | undefined>> {
  return Promise.all(paths.map((path) => resolvePath(path).catch(() => undefined)));
}

/** The first path that leads elsewhere than it did (a symlink made or changed meanwhile). */
async function movedSince(
  paths: readonly string[],
  before: ReadonlyArray<string | undefined>,
  resolvePath: ResolvePath,
): Promise<string | undefined> {
  const now = await realPaths(paths, resolvePath);
  return paths.find((_, i) => now[i] !== before[i]);
}

/**
 * Runs one `apply_patch` call as the reference does:
 * - a patch that does not parse or does not match the files is answered `apply_patch verification
 *   failed: …`, and one without hunks `patch rejected: empty patch`, with no item;
 * - a patch the approval policy refuses is answered `patch rejected: …`, with no item;
 * - otherwise a `fileChange` item starts; when the policy asks (see `decidePatch`), the thread's
 *   clients get `item/fileChange/requestApproval` (`reason` and `grantRoot` null); `decline`
 *   completes the item `declined` and tells the model `patch rejected by user`, `cancel`
 *   interrupts the turn; an accepted patch is verified again against the files as they are then
 *   (one that no longer applies fails the item and is answered `apply_patch verification
 *   failed: …`, nothing written);
 * - whether a path stays in the writable roots is judged by where it really leads (symlinks
 *   resolved by the environment), and a patch written without asking is written inside the
 *   thread's sandbox, so the environment refuses a write that would leave it;
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
  const resolvePath = (path: string) => files.resolvePath(path);
  const paths = touchedPaths(patch);
  const judged = decidePatch(
    settings.approvalPolicy,
    settings.sandbox,
    await patchStaysInRoots(patch, roots, resolvePath),
  );
  if (judged.kind === 'reject') return { output: `patch rejected: ${judged.reason}` };
  const approvedBefore = paths.every((path) => context.approvedPaths.has(path));
  const ask = judged.kind === 'ask' && !approvedBefore;
  // what the policy lets through without asking is written inside the thread's sandbox, checked
  // where the write happens (so a path that changes into a symlink meanwhile cannot lead out);
  // what the user accepted is written as accepted
  const writeOptions: FileWriteOptions =
    judged.kind === 'apply' ? { sandbox: sandboxContextFor(settings.sandbox, settings.cwd) } : {};

  let item: app.FileChangeItem = {
    type: 'fileChange',
    id: callId,
    changes: patch.changes.map(fileUpdateChange),
    status: 'inProgress',
    startedAtMs,
    completedAtMs: null,
  };
  startItem(turn, item, startedAtMs);
  if (ask) {
    const leadsTo = await realPaths(paths, resolvePath);
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
    // the files may have changed while the question was open: the patch is verified again against
    // them as they are now, and written only if it still applies, where it led when it was asked
    try {
      patch = await verifyPatch(parsed, settings.cwd, files);
      const moved = await movedSince(paths, leadsTo, resolvePath);
      if (moved !== undefined) {
        throw new PatchVerificationError(
          `${moved} no longer leads where it did when the patch was approved`,
        );
      }
    } catch (error) {
      completeItem(turn, { ...item, status: 'failed' });
      return failed(error);
    }
    item = { ...item, changes: patch.changes.map(fileUpdateChange) };
    if (answer === 'acceptForSession') for (const path of paths) context.approvedPaths.add(path);
  }

  try {
    await applyVerifiedPatch(patch, files, writeOptions);
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
