import type { exec } from '@tether/protocol';
import type { Environment } from './environment.js';

/**
 * Login shells once per thread, as the reference runs them: the thread's first command runs in a
 * login shell (`bash -lc`); when the next one comes, the environment a login shell ends up with is
 * captured once (not alongside the first command: two login profiles at once can wait on each
 * other's locks, pyenv's rehash for one), and that and later commands run in a plain shell
 * (`bash -c`) started with it. The model then
 * sees what a login profile prints (version-manager warnings, banners) once per thread instead of
 * in every command, and commands still get the PATH and variables the profile sets.
 *
 * The reference keeps a snapshot script and sources it before `exec`ing the command's shell, which
 * carries over exported variables only; passing the captured variables as the process environment
 * does the same without a file, so it works unchanged against a remote exec-server.
 *
 * Only the configured default shell is captured, never a shell the model names: the capture runs
 * outside any command the user sees, so a model-named "shell" (a script it wrote in the workspace)
 * would otherwise run without being shown or asked for. A model-named shell simply runs as a login
 * shell each time. The capture itself runs inside the sandbox the command that triggers it runs in.
 */

/** How long capturing may take before later commands keep using login shells (the reference's). */
export const LOGIN_ENV_TIMEOUT_MS = 10_000;

const MARKER = '__TETHER_LOGIN_ENVIRONMENT__';
/** Printed after the profile ran: a marker (profiles may print to stdout), then `env -0`. */
const CAPTURE_SCRIPT = `printf '\\n%s\\n' '${MARKER}'; env -0`;

/**
 * Variables never carried over: the shell's own bookkeeping, and what the agent sets per command
 * (a captured `CODEX_TOOL_CALL_ID` would name the wrong call).
 */
const NOT_CARRIED = /^(PWD|OLDPWD|SHLVL|_|CODEX_.*|TETHER_.*)$/;

/** Parses `env -0` output after the marker; undefined when the marker is missing. */
export function parseLoginEnvironment(stdout: string): Record<string, string> | undefined {
  const at = stdout.lastIndexOf(`\n${MARKER}\n`);
  if (at < 0) return undefined;
  const env: Record<string, string> = {};
  for (const entry of stdout.slice(at + MARKER.length + 2).split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const name = entry.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || NOT_CARRIED.test(name)) continue;
    env[name] = entry.slice(eq + 1);
  }
  return env;
}

async function capture(
  environment: Environment,
  shell: string,
  cwd: string,
  env: Record<string, string>,
  sandbox: exec.SandboxContext | undefined,
  timeoutMs: number,
): Promise<Record<string, string> | undefined> {
  try {
    const running = await environment.run({
      argv: [shell, '-lc', CAPTURE_SCRIPT],
      cwd,
      env,
      ...(sandbox ? { sandbox } : {}),
    });
    const timer = setTimeout(() => void running.terminate(), timeoutMs);
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of running.output) {
        if (chunk.stream !== 'stderr') chunks.push(chunk.data);
      }
      if ((await running.exitCode) !== 0) return undefined;
    } finally {
      clearTimeout(timer);
    }
    return parseLoginEnvironment(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // no captured environment: commands keep running in login shells
    return undefined;
  }
}

/** A thread's login environment for its default shell. */
export class LoginShells {
  /** Whether a login command of the default shell ran already (the capture waits for the second). */
  private firstRan = false;
  private captured: Promise<Record<string, string> | undefined> | undefined;

  /**
   * @param shell the configured default shell, the only one captured
   */
  constructor(
    private readonly shell: string,
    private readonly timeoutMs = LOGIN_ENV_TIMEOUT_MS,
  ) {}

  /**
   * How to run `argv` (`[shell, '-lc', script]` for a login shell): unchanged for any other shell
   * than the default, for the thread's first login command, and when the capture failed; else a
   * plain shell with the captured environment as its base. `sandbox` is the sandbox the command
   * runs in, which a capture started for it runs in too.
   */
  async prepare(
    argv: readonly string[],
    base: Record<string, string>,
    environment: Environment,
    cwd: string,
    sandbox: exec.SandboxContext | undefined,
  ): Promise<{ argv: string[]; base: Record<string, string> }> {
    const [shell, flag, script, ...rest] = argv;
    if (shell !== this.shell || flag !== '-lc' || script === undefined) {
      return { argv: [...argv], base };
    }
    if (!this.firstRan) {
      this.firstRan = true;
      return { argv: [...argv], base };
    }
    this.captured ??= capture(environment, shell, cwd, base, sandbox, this.timeoutMs);
    const env = await this.captured;
    if (!env) return { argv: [...argv], base };
    return { argv: [shell, '-c', script, ...rest], base: env };
  }
}
