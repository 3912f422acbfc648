import { z } from 'zod';
import { Base64 } from './base64.js';
import { SandboxContext } from './sandbox.js';
import { FileUri } from './uri.js';

/** A client-chosen process handle, scoped to the session (not an OS pid). */
export const ProcessId = z.string();
export type ProcessId = z.infer<typeof ProcessId>;

/** A non-negative integer (`u64`/`usize` on the reference; safe integers here). */
const Uint = z.int().nonnegative();

/**
 * Per-process event number shared by output, exited and closed: starts at 1, +1 per event.
 */
export const Seq = Uint;
export type Seq = z.infer<typeof Seq>;

/** `"pty"` is the single merged stream of a tty process. */
export const ProcessOutputStream = z.enum(['stdout', 'stderr', 'pty']);
export type ProcessOutputStream = z.infer<typeof ProcessOutputStream>;

/** How `envPolicy` seeds the child's environment before `env` is overlaid. */
export const ProcessEnvInherit = z.enum(['core', 'all', 'none']);
export type ProcessEnvInherit = z.infer<typeof ProcessEnvInherit>;

/** `process/start` `envPolicy`: every member required when the object is given. */
export const ProcessEnvPolicy = z.looseObject({
  inherit: ProcessEnvInherit,
  /** When false, variables matching `*KEY*`, `*SECRET*`, `*TOKEN*` are dropped. */
  ignoreDefaultExcludes: z.boolean(),
  /** Case-insensitive globs to drop. */
  exclude: z.array(z.string()),
  set: z.record(z.string(), z.string()),
  /** When non-empty, only variables matching these globs are kept. */
  includeOnly: z.array(z.string()),
});
export type ProcessEnvPolicy = z.infer<typeof ProcessEnvPolicy>;

/**
 * `process/start` params. Defaults the reference applies to absent members: `pipeStdin` false,
 * `enforceManagedNetwork` false; `null` is the same as absent for the `nullish` members.
 */
export const ProcessStartParams = z.looseObject({
  processId: ProcessId,
  argv: z.array(z.string()).min(1, { error: 'argv must not be empty' }),
  /** Working directory as a `file://` URI (0.169.0; a plain path is rejected). */
  cwd: FileUri,
  /** Without `envPolicy` this is exactly the child's environment: nothing is inherited. */
  env: z.record(z.string(), z.string()),
  tty: z.boolean(),
  /** Keep non-tty stdin writable through `process/write`. */
  pipeStdin: z.boolean().optional(),
  /** Overrides the argv[0] the child sees (a name, not a path). */
  arg0: z.string().nullish(),
  envPolicy: ProcessEnvPolicy.nullish(),
  /** Run the process in this sandbox (absent or `null`: unsandboxed). */
  sandbox: SandboxContext.nullish(),
  enforceManagedNetwork: z.boolean().optional(),
  /** Managed-network details; not modelled. */
  managedNetwork: z.unknown().optional(),
});
export type ProcessStartParams = z.infer<typeof ProcessStartParams>;

export const ProcessStartResult = z.looseObject({
  processId: ProcessId,
  /** `"none"` when unsandboxed, `"linuxSeccomp"` with a sandbox context (new in 0.169.0). */
  sandboxType: z.string(),
});
export type ProcessStartResult = z.infer<typeof ProcessStartResult>;

/**
 * `process/read` params. Absent (or `null`) means: `afterSeq` 0, `maxBytes` unlimited (at least
 * one whole chunk is always returned), `waitMs` 0 (no long poll).
 */
export const ProcessReadParams = z.looseObject({
  processId: ProcessId,
  afterSeq: Uint.nullish(),
  maxBytes: Uint.nullish(),
  waitMs: Uint.nullish(),
});
export type ProcessReadParams = z.infer<typeof ProcessReadParams>;

/** One retained output chunk in a `process/read` result. */
export const ProcessOutputChunk = z.looseObject({
  seq: Seq,
  stream: ProcessOutputStream,
  /** Raw bytes, standard base64, at most 8192 bytes decoded. */
  chunk: Base64,
});
export type ProcessOutputChunk = z.infer<typeof ProcessOutputChunk>;

export const ProcessReadResult = z.looseObject({
  /** Chunks with `seq > afterSeq`, in order (exit/close events use seqs but never appear). */
  chunks: z.array(ProcessOutputChunk),
  nextSeq: Seq,
  exited: z.boolean(),
  exitCode: z.int().nullable(),
  closed: z.boolean(),
  failure: z.string().nullable(),
  sandboxDenied: z.boolean(),
});
export type ProcessReadResult = z.infer<typeof ProcessReadResult>;

/** `process/write` params: `writeId` is required in 0.169.0; `chunk` must be valid base64. */
export const ProcessWriteParams = z.looseObject({
  processId: ProcessId,
  chunk: Base64,
  writeId: z.string(),
});
export type ProcessWriteParams = z.infer<typeof ProcessWriteParams>;

/** An unknown process is a result (`unknownProcess`), not an error. */
export const ProcessWriteStatus = z.enum(['accepted', 'unknownProcess', 'stdinClosed', 'starting']);
export type ProcessWriteStatus = z.infer<typeof ProcessWriteStatus>;

export const ProcessWriteResult = z.looseObject({
  status: ProcessWriteStatus,
});
export type ProcessWriteResult = z.infer<typeof ProcessWriteResult>;

/** Signals `process/signal` knows; `interrupt` is SIGINT (the process exits 130). */
export const ProcessSignalName = z.enum(['interrupt']);
export type ProcessSignalName = z.infer<typeof ProcessSignalName>;

export const ProcessSignalParams = z.looseObject({
  processId: ProcessId,
  signal: ProcessSignalName,
});
export type ProcessSignalParams = z.infer<typeof ProcessSignalParams>;

/** `process/signal` answers `{}`. */
export const ProcessSignalResult = z.looseObject({});
export type ProcessSignalResult = z.infer<typeof ProcessSignalResult>;

export const ProcessTerminateParams = z.looseObject({
  processId: ProcessId,
});
export type ProcessTerminateParams = z.infer<typeof ProcessTerminateParams>;

export const ProcessTerminateResult = z.looseObject({
  /** True when the process was running and has been SIGKILLed; false for exited or unknown. */
  running: z.boolean(),
});
export type ProcessTerminateResult = z.infer<typeof ProcessTerminateResult>;

/** `process/output` notification params. */
export const ProcessOutputNotification = z.looseObject({
  processId: ProcessId,
  seq: Seq,
  stream: ProcessOutputStream,
  chunk: Base64,
});
export type ProcessOutputNotification = z.infer<typeof ProcessOutputNotification>;

/**
 * `process/exited` notification params. May arrive before trailing output: wait for
 * `process/closed`. Death by signal is reported as 128+signo.
 */
export const ProcessExitedNotification = z.looseObject({
  processId: ProcessId,
  seq: Seq,
  exitCode: z.int(),
  sandboxDenied: z.boolean(),
});
export type ProcessExitedNotification = z.infer<typeof ProcessExitedNotification>;

/** `process/closed` notification params: always the process's last event. */
export const ProcessClosedNotification = z.looseObject({
  processId: ProcessId,
  seq: Seq,
});
export type ProcessClosedNotification = z.infer<typeof ProcessClosedNotification>;
