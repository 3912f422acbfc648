import { randomBytes } from 'node:crypto';

/**
 * What the model reads of a command it ran, and the environment the command gets: both as codex
 * 0.169.0 does it, because prompts and models tuned for Codex read these exact lines.
 */

/** The Codex version whose protocol tether speaks, told to commands as `CODEX_VERSION`. */
export const CODEX_COMPAT_VERSION = '0.169.0';

/**
 * The reference's rough token count of a text (4 bytes a token, rounded up): what it reports as
 * `Original token count`.
 */
export function approximateTokens(bytes: number): number {
  return Math.ceil(bytes / 4);
}

export interface ExecResult {
  /** How long the command ran. */
  wallMs: number;
  exitCode: number;
  /** The output the model is shown (possibly cut to the output cap). */
  output: string;
  /** Bytes the command wrote in all, before any cut. */
  originalBytes: number;
  /** Six hex digits naming this piece of output; random when not given. */
  chunkId?: string;
}

/**
 * `exec_command`'s output as the reference words it:
 * `Chunk ID`, `Wall time` (seconds, 4 decimals), `Process exited with code`,
 * `Original token count`, then `Output:` and the output itself.
 */
export function execOutputText(result: ExecResult): string {
  const chunkId = result.chunkId ?? randomBytes(3).toString('hex');
  return [
    `Chunk ID: ${chunkId}`,
    `Wall time: ${(result.wallMs / 1000).toFixed(4)} seconds`,
    `Process exited with code ${result.exitCode}`,
    `Original token count: ${approximateTokens(result.originalBytes)}`,
    'Output:',
    result.output,
  ].join('\n');
}

export interface CommandEnvFacts {
  threadId: string;
  /** The tool call that runs the command. */
  callId: string;
  /** tether's state directory, told to commands as `CODEX_HOME` (the reference tells its own). */
  home?: string | undefined;
}

/**
 * The environment of a model's command: the server's environment without tether's own settings
 * (`TETHER_*`: a tether started by the command must not share this one's state directory or
 * socket by accident), plus what the reference sets on every command.
 */
export function commandEnvironment(
  base: Readonly<Record<string, string>>,
  facts: CommandEnvFacts,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    if (!key.startsWith('TETHER_')) env[key] = value;
  }
  env.CODEX_APPLY_PATCH_PRESERVE_LINE_ENDINGS = '1';
  env.CODEX_CI = '1';
  if (facts.home !== undefined) env.CODEX_HOME = facts.home;
  env.CODEX_SESSION_ID = facts.threadId;
  env.CODEX_THREAD_ID = facts.threadId;
  env.CODEX_TOOL_CALL_ID = facts.callId;
  env.CODEX_VERSION = CODEX_COMPAT_VERSION;
  return env;
}
