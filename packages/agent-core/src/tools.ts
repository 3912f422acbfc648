/**
 * The `exec_command` tool as the model sees it: the parameter names and descriptions the reference
 * offers, so prompts and models tuned for Codex work unchanged. tether runs each command to
 * completion; `yield_time_ms` and `max_output_tokens` are accepted and bounded as described.
 */
export const EXEC_COMMAND_TOOL = {
  type: 'function' as const,
  name: 'exec_command',
  description:
    'Runs a command in a shell and returns its output and exit code. The command runs in the turn cwd unless workdir is given.',
  strict: false,
  parameters: {
    type: 'object',
    properties: {
      cmd: { type: 'string', description: 'Shell command to execute.' },
      workdir: {
        type: 'string',
        description: 'Optional working directory to run the command in; defaults to the turn cwd.',
      },
      shell: {
        type: 'string',
        description: "Shell binary to launch. Defaults to the user's default shell.",
      },
      login: {
        type: 'boolean',
        description: 'Whether to run the shell with -l/-i semantics. Defaults to true.',
      },
      timeout_ms: {
        type: 'number',
        description: 'Kill the command after this many milliseconds (default 600000).',
      },
      yield_time_ms: {
        type: 'number',
        description: 'Accepted for compatibility; the command always runs to completion.',
      },
      max_output_tokens: {
        type: 'number',
        description: 'Maximum number of tokens of output to return to you (roughly 4 bytes each).',
      },
      sandbox_permissions: {
        type: 'string',
        enum: ['use_default', 'require_escalated'],
        description:
          'Sandbox permissions for the command. Set to "require_escalated" to request running without sandbox restrictions; defaults to "use_default".',
      },
      justification: {
        type: 'string',
        description:
          'Only set if sandbox_permissions is "require_escalated". A short question for the user asking to run this command outside the sandbox.',
      },
    },
    required: ['cmd'],
    additionalProperties: false,
  },
};

export interface ExecCommandArgs {
  cmd: string;
  workdir?: string;
  shell?: string;
  login?: boolean;
  timeoutMs?: number;
  maxOutputBytes?: number;
  /** The model asks to run outside the sandbox (`on-request` then asks the user). */
  escalated?: boolean;
  justification?: string;
}

/** Parses the model's arguments; the error message goes back to the model as the tool output. */
export function parseExecCommandArgs(raw: string): ExecCommandArgs | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    return { error: `failed to parse function arguments: ${(error as Error).message}` };
  }
  if (typeof value !== 'object' || value === null) {
    return { error: 'failed to parse function arguments: expected an object' };
  }
  const v = value as Record<string, unknown>;
  if (typeof v.cmd !== 'string' || v.cmd.trim() === '') {
    return { error: 'failed to parse function arguments: missing field `cmd`' };
  }
  const args: ExecCommandArgs = { cmd: v.cmd };
  if (typeof v.workdir === 'string' && v.workdir) args.workdir = v.workdir;
  if (typeof v.shell === 'string' && v.shell) args.shell = v.shell;
  if (typeof v.login === 'boolean') args.login = v.login;
  if (typeof v.timeout_ms === 'number' && v.timeout_ms > 0) args.timeoutMs = v.timeout_ms;
  if (v.sandbox_permissions === 'require_escalated') args.escalated = true;
  if (typeof v.justification === 'string' && v.justification) args.justification = v.justification;
  if (typeof v.max_output_tokens === 'number' && v.max_output_tokens > 0) {
    args.maxOutputBytes = Math.floor(v.max_output_tokens * 4);
  }
  return args;
}
