/**
 * `turn/*` and `command/exec` client requests: params and results.
 */
import { z } from 'zod';
import {
  ApprovalsReviewer,
  AskForApproval,
  CollaborationMode,
  Personality,
  ReasoningEffort,
  ReasoningSummary,
  SandboxPolicy,
  UnsignedInt,
} from './common.js';
import { UserInput } from './items.js';
import { Turn } from './thread.js';

/** Tool output handed back to the model with a turn (`toolOutput` of turn/start). */
export const TurnToolOutput = z.looseObject({
  name: z.string(),
  namespace: z.string().nullish(),
  /** A string or an array of content items. */
  output: z.union([z.string(), z.array(z.unknown())]),
  retain: z.boolean().optional(),
});
export type TurnToolOutput = z.infer<typeof TurnToolOutput>;

// turn/start

export const TurnStartParams = z.looseObject({
  threadId: z.string(),
  input: z.array(UserInput),
  cwd: z.string().nullish(),
  approvalPolicy: AskForApproval.nullish(),
  approvalsReviewer: ApprovalsReviewer.nullish(),
  sandboxPolicy: SandboxPolicy.nullish(),
  /** A named permission profile for this turn and later ones; experimental. */
  permissions: z.string().nullish(),
  model: z.string().nullish(),
  serviceTier: z.string().nullish(),
  serviceTierForTurn: z.string().nullish(),
  effort: ReasoningEffort.nullish(),
  summary: ReasoningSummary.nullish(),
  personality: Personality.nullish(),
  /**
   * Experimental: the mode's model and reasoning effort become the turn's; `plan` makes the
   * reply's proposed plan a `plan` item. Sticks for later turns.
   */
  collaborationMode: CollaborationMode.nullish(),
  /** JSON Schema the final answer must follow. */
  outputSchema: z.unknown().optional(),
  clientUserMessageId: z.string().nullish(),
  disabledPluginIds: z.array(z.string()).nullish(),
  parentTurnId: z.string().nullish(),
  rootTurnId: z.string().nullish(),
  toolOutput: TurnToolOutput.nullish(),
  turnTrigger: z.string().nullish(),
});
export type TurnStartParams = z.infer<typeof TurnStartParams>;

export const TurnStartResponse = z.looseObject({ turn: Turn });
export type TurnStartResponse = z.infer<typeof TurnStartResponse>;

// turn/steer

export const TurnSteerParams = z.looseObject({
  threadId: z.string(),
  /** Must equal the running turn's id. */
  expectedTurnId: z.string(),
  input: z.array(UserInput),
  clientUserMessageId: z.string().nullish(),
});
export type TurnSteerParams = z.infer<typeof TurnSteerParams>;

export const TurnSteerResponse = z.looseObject({ turnId: z.string() });
export type TurnSteerResponse = z.infer<typeof TurnSteerResponse>;

// turn/interrupt

export const TurnInterruptParams = z.looseObject({
  threadId: z.string(),
  turnId: z.string(),
});
export type TurnInterruptParams = z.infer<typeof TurnInterruptParams>;

export const TurnInterruptResponse = z.looseObject({});
export type TurnInterruptResponse = z.infer<typeof TurnInterruptResponse>;

// command/exec

export const CommandExecTerminalSize = z.looseObject({
  rows: UnsignedInt,
  cols: UnsignedInt,
});
export type CommandExecTerminalSize = z.infer<typeof CommandExecTerminalSize>;

export const CommandExecParams = z.looseObject({
  /** argv; the first element is the program. */
  command: z.array(z.string()),
  cwd: z.string().nullish(),
  /** Variables to set (string) or unset (`null`). */
  env: z.record(z.string(), z.string().nullable()).nullish(),
  timeoutMs: z.number().int().nullish(),
  disableTimeout: z.boolean().optional(),
  outputBytesCap: UnsignedInt.nullish(),
  disableOutputCap: z.boolean().optional(),
  sandboxPolicy: SandboxPolicy.nullish(),
  /** A named permission profile for this command; experimental. */
  permissionProfile: z.string().nullish(),
  processId: z.string().nullish(),
  tty: z.boolean().optional(),
  size: CommandExecTerminalSize.nullish(),
  streamStdin: z.boolean().optional(),
  streamStdoutStderr: z.boolean().optional(),
});
export type CommandExecParams = z.infer<typeof CommandExecParams>;

export const CommandExecResponse = z.looseObject({
  exitCode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
});
export type CommandExecResponse = z.infer<typeof CommandExecResponse>;
