export {
  applyChunks,
  applyVerifiedPatch,
  type FileChange,
  PatchApplyError,
  PatchVerificationError,
  patchSummary,
  type VerifiedPatch,
  verifyPatch,
} from './apply.js';
export {
  type FileMetadata,
  type FileWriteOptions,
  type PatchFileSystem,
  readText,
} from './files.js';
export {
  type ParsedPatch,
  type PatchHunk,
  PatchParseError,
  parsePatch,
  type UpdateChunk,
} from './parser.js';
export {
  decidePatch,
  OUTSIDE_PROJECT_REASON,
  type PatchDecision,
  patchStaysInRoots,
  patchWritableRoots,
  READ_ONLY_REASON,
  type ResolvePath,
} from './safety.js';
export { LineSeeker, seekSequence } from './seek.js';
export {
  APPLY_PATCH_FREEFORM_TOOL,
  APPLY_PATCH_FUNCTION_TOOL,
  APPLY_PATCH_GRAMMAR,
  APPLY_PATCH_TOOL_NAME,
  type ApplyPatchToolType,
  applyPatchTool,
  applyPatchToolTypeFor,
  patchFromArguments,
} from './tool.js';
export {
  emitTurnDiff,
  fileUpdateChange,
  PATCH_DECLINED_OUTPUT,
  type PatchCallContext,
  type PatchCallResult,
  runApplyPatchCall,
} from './tool-call.js';
export { TurnDiffTracker } from './turn-diff.js';
export { diffHunks, gitBlobId, gitFileDiff } from './unified-diff.js';
