import { z } from 'zod';
import { execTypeName } from '../zod-message.js';
import { FileUri } from './uri.js';

/** `environmentInfo.shell`: the shell the server detected. */
export const ShellInfo = z.looseObject({
  /** Stable name: `bash`, `zsh`, `sh`, `powershell`, `cmd`, ... */
  name: z.string(),
  /** Executable path or command name (not a URI). */
  path: z.string(),
});
export type ShellInfo = z.infer<typeof ShellInfo>;

/**
 * What `environment/info` returns, and `initialize` returns as `environmentInfo`. All members are
 * always present in 0.169.0.
 */
export const EnvironmentInfo = z.looseObject({
  shell: ShellInfo,
  /** e.g. `"0.169.0"`. */
  executorVersion: z.string(),
  /** e.g. `"sha256:2101…"`. */
  providerId: z.string(),
  /** The server's working directory. */
  cwd: FileUri,
  userHomeDir: FileUri,
  /** e.g. `"linux"`. */
  platformOs: z.string(),
  /** Directories the server puts in front of `PATH`. */
  prependPathDirs: z.array(FileUri),
  /** Always `[]` in the observed transcripts; the element shape is not known. */
  temporaryDirectories: z.array(z.unknown()),
  tempDir: FileUri,
  /** Feature flags, e.g. `fileWriteStreaming`, `sandboxedFileStreaming`. */
  capabilities: z.record(z.string(), z.boolean()),
});
export type EnvironmentInfo = z.infer<typeof EnvironmentInfo>;

/** `initialize` params. A fresh session unless `resumeSessionId` names a detached one. */
export const InitializeParams = z.looseObject({
  clientName: z.string(),
  /** A `null` is the same as absent (serde `Option`). */
  resumeSessionId: z.string().nullish(),
});
export type InitializeParams = z.infer<typeof InitializeParams>;

export const InitializeResult = z.looseObject({
  /** UUIDv4; the resumed id when `resumeSessionId` was given. */
  sessionId: z.string(),
  environmentInfo: EnvironmentInfo,
});
export type InitializeResult = z.infer<typeof InitializeResult>;

/** Params of the client notification `initialized`: `{}`, or absent. */
export const InitializedParams = z.looseObject({}).nullish();
export type InitializedParams = z.infer<typeof InitializedParams>;

/** `environment/info` params: `{}` (absent or `null` also accepted). */
/**
 * Params of a method that takes none (serde's unit): absent, `null` or `{}`; anything else is
 * `invalid type: map, expected unit` and the like.
 */
export const UnitParams = z.unknown().superRefine((value, ctx) => {
  if (value === undefined || value === null) return;
  if (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0) return;
  ctx.addIssue({ code: 'custom', message: `invalid type: ${execTypeName(value)}, expected unit` });
});
export type UnitParams = z.infer<typeof UnitParams>;

export const EnvironmentInfoParams = UnitParams;
export type EnvironmentInfoParams = z.infer<typeof EnvironmentInfoParams>;

/** `environment/status` params: none. */
export const EnvironmentStatusParams = UnitParams;
export type EnvironmentStatusParams = z.infer<typeof EnvironmentStatusParams>;

/** `environment/status` result: `ready` once the executor can take work (always, here). */
export const EnvironmentStatusResult = z.looseObject({
  status: z.string(),
});
export type EnvironmentStatusResult = z.infer<typeof EnvironmentStatusResult>;

/** `environment/info` result: the same object as `InitializeResult.environmentInfo`. */
export const EnvironmentInfoResult = EnvironmentInfo;
export type EnvironmentInfoResult = EnvironmentInfo;
