import type { app } from '@tether/protocol';
import { isSandboxed } from './sandbox-policy.js';

/**
 * How a command the model asks for is handled: run it (inside the thread's sandbox or not), ask
 * the user first, or refuse. Decided once, here, for every environment.
 */
export type CommandDecision =
  | { kind: 'run'; sandboxed: boolean }
  | {
      kind: 'ask';
      /** Shown to the user: the model's justification, or why the sandbox cannot be used. */
      reason?: string;
      /** Run inside the sandbox once accepted (false: the user is asked to lift it). */
      sandboxedOnAccept: boolean;
    }
  | { kind: 'reject'; message: string };

/** What the decision is made from. */
export interface CommandFacts {
  approvalPolicy: app.AskForApproval;
  sandbox: app.SandboxPolicy;
  /** The model asked to run outside the sandbox (`sandbox_permissions: "require_escalated"`). */
  escalated: boolean;
  /** The model's reason for asking, when it gave one. */
  justification: string | undefined;
  /** Every command of the line is allowed by the user's exec-policy rules. */
  allowedByRules: boolean;
  /** The line is a plain sequence of known-safe read-only commands. */
  knownSafe: boolean;
  /** The user already accepted exactly this command for the session. */
  approvedForSession: boolean;
  /** Whether the environment can sandbox commands; `problem` says what is missing. */
  sandboxAvailable: boolean;
  sandboxProblem: string | undefined;
}

/** The reference's words for an escalation under `never`. */
export const NEVER_ESCALATE_MESSAGE =
  'approval policy is Never; reject command — you cannot ask for escalated permissions if the approval policy is Never';

/** The reference's reason when a command failed in the sandbox and may be run without it. */
export const RETRY_WITHOUT_SANDBOX_REASON = 'command failed; retry without sandbox?';

function escalationsAllowed(policy: app.AskForApproval): boolean {
  if (policy === 'never') return false;
  if (typeof policy === 'object') return policy.granular.sandbox_approval !== false;
  return true;
}

/**
 * The decision for one command:
 * - commands the user's rules allow run without asking and without the sandbox (the reference's
 *   `bypass_sandbox`); commands accepted for the session run as they were accepted;
 * - `never` never asks: escalations are refused, everything else runs in the sandbox;
 * - `untrusted` runs known-safe commands in the sandbox and asks for everything else;
 * - `on-request`, `on-failure` and granular policies run commands in the sandbox and ask when the
 *   model asks to leave it;
 * - a command that needs the sandbox where there is none is never run unsandboxed silently: the
 *   user is asked (or, under `never`, the command fails saying what is missing).
 */
export function decideCommand(facts: CommandFacts): CommandDecision {
  const policy = facts.approvalPolicy;
  const sandboxed = isSandboxed(facts.sandbox);
  if (facts.allowedByRules) return { kind: 'run', sandboxed: false };
  if (facts.escalated && !escalationsAllowed(policy)) {
    return { kind: 'reject', message: NEVER_ESCALATE_MESSAGE };
  }
  // outside a sandbox there is nothing to escalate from
  const wantsOut = facts.escalated && sandboxed;
  if (facts.approvedForSession) return { kind: 'run', sandboxed: sandboxed && !wantsOut };
  const unavailable = sandboxed && !wantsOut && !facts.sandboxAvailable;
  if (policy === 'never') {
    if (unavailable) {
      return {
        kind: 'reject',
        message: `the sandbox is unavailable: ${facts.sandboxProblem ?? 'unknown reason'}`,
      };
    }
    return { kind: 'run', sandboxed };
  }
  const reasonFor = () =>
    unavailable
      ? `the sandbox is unavailable (${facts.sandboxProblem ?? 'unknown reason'}); run this command without it?`
      : wantsOut
        ? facts.justification
        : undefined;
  const ask = (): CommandDecision => {
    const reason = reasonFor();
    return {
      kind: 'ask',
      ...(reason !== undefined ? { reason } : {}),
      sandboxedOnAccept: sandboxed && !wantsOut && !unavailable,
    };
  };
  if (policy === 'untrusted') {
    if (facts.knownSafe && !wantsOut && !unavailable) return { kind: 'run', sandboxed };
    return ask();
  }
  // on-request, on-failure, granular
  if (wantsOut || unavailable) return ask();
  return { kind: 'run', sandboxed };
}

/**
 * Whether a failed sandboxed command is offered to the user to run again without the sandbox:
 * under `on-failure` (and a granular policy that allows sandbox approvals), when its output looks
 * like the sandbox refused it.
 */
export function offersRetryWithoutSandbox(
  policy: app.AskForApproval,
  exitCode: number,
  output: string,
): boolean {
  if (exitCode === 0) return false;
  const asks =
    policy === 'on-failure' || (typeof policy === 'object' && policy.granular.sandbox_approval);
  return asks && looksLikeSandboxDenial(output);
}

const DENIAL_MARKERS = [
  'read-only file system',
  'operation not permitted',
  'permission denied',
  'network is unreachable',
  'could not resolve host',
  'temporary failure in name resolution',
];

/** The reference's heuristic: a failure whose output names what a sandbox refuses. */
export function looksLikeSandboxDenial(output: string): boolean {
  const text = output.toLowerCase();
  return DENIAL_MARKERS.some((marker) => text.includes(marker));
}

/** The key under which `acceptForSession` remembers a command (exact command, cwd, escalation). */
export function sessionApprovalKey(
  canonical: readonly string[],
  cwd: string,
  escalated: boolean,
): string {
  return JSON.stringify([canonical, cwd, escalated]);
}

/** The developer message the reference adds once a command prefix was saved as a rule. */
export function prefixSavedMessage(pattern: readonly string[]): string {
  return `Approved command prefix saved:\n- [${pattern.map((token) => JSON.stringify(token)).join(', ')}]`;
}

/** What the model reads when the user declined a command (the reference's words). */
export const DECLINED_OUTPUT =
  'exec_command failed: CreateProcess { message: "Rejected(\\"rejected by user\\")" }';
