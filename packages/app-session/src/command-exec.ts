import { isAbsolute, resolve } from 'node:path';
import {
  completePolicy,
  type Environment,
  plainEnv,
  type RunningCommand,
  sandboxContextFor,
} from '@tether/agent-core';
import { type app, internalError, invalidParams, invalidRequest, RpcError } from '@tether/protocol';
import { profilePolicy } from './settings.js';

/** Defaults of the reference for one-off commands. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;
export const DEFAULT_OUTPUT_BYTES_CAP = 1024 * 1024;
/**
 * The most kept of one stream even with `disableOutputCap` (64 MiB): the answer is one JSON
 * message, and a process that writes without end must not take the server's memory with it.
 */
export const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    if (this.size >= this.cap) return;
    const room = this.cap - this.size;
    const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(piece);
    this.size += piece.length;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface CommandExecContext {
  /** Where the command runs: the environment the threads' commands run in. */
  environment: () => Promise<Environment>;
  /** The sandbox a command runs in when the request names none (the server's default). */
  defaultSandbox: () => app.SandboxPolicy;
}

/**
 * `command/exec`: runs one command outside any turn (argv, no shell) in the environment threads
 * use, inside the sandbox the request names (`sandboxPolicy` or `permissionProfile`) or the
 * server's default one, with the reference's timeout (10 s) and per-stream output cap (1 MiB),
 * and answers its exit code and output. Streaming, stdin and terminals are not offered here.
 */
export async function runCommand(
  params: app.CommandExecParams,
  context: CommandExecContext,
): Promise<app.CommandExecResponse> {
  if (params.command.length === 0) throw new RpcError(invalidRequest('command must not be empty'));
  if (params.outputBytesCap != null && params.disableOutputCap === true) {
    throw new RpcError(
      invalidParams('command/exec cannot set both outputBytesCap and disableOutputCap'),
    );
  }
  if (params.timeoutMs != null && params.disableTimeout === true) {
    throw new RpcError(invalidParams('command/exec cannot set both timeoutMs and disableTimeout'));
  }
  const profile = params.permissionProfile ?? null;
  if (profile !== null && params.sandboxPolicy != null) {
    throw new RpcError(
      invalidRequest('`permissionProfile` cannot be combined with `sandboxPolicy`'),
    );
  }
  if (params.size != null && params.tty !== true) {
    throw new RpcError(invalidParams('command/exec size requires tty: true'));
  }
  const streaming =
    params.tty === true || params.streamStdin === true || params.streamStdoutStderr === true;
  if (streaming && (params.processId === undefined || params.processId === null)) {
    throw new RpcError(
      invalidRequest('command/exec tty or streaming requires a client-supplied processId'),
    );
  }
  if (streaming) {
    throw new RpcError(
      invalidRequest(
        'command/exec streaming (tty, streamStdin, streamStdoutStderr) is not supported by tether',
      ),
    );
  }
  const sandbox =
    profile !== null
      ? profilePolicy(profile, null, 'invalid permission profile').sandbox
      : params.sandboxPolicy != null
        ? completePolicy(params.sandboxPolicy)
        : context.defaultSandbox();
  const cwd =
    params.cwd == null ? process.cwd() : isAbsolute(params.cwd) ? params.cwd : resolve(params.cwd);
  const env = plainEnv(process.env);
  for (const [key, value] of Object.entries(params.env ?? {})) {
    if (value === null || value === undefined) delete env[key];
    else env[key] = value;
  }
  const cap = params.disableOutputCap
    ? MAX_OUTPUT_BYTES
    : Math.min(params.outputBytesCap ?? DEFAULT_OUTPUT_BYTES_CAP, MAX_OUTPUT_BYTES);
  const timeoutMs = params.disableTimeout ? 0 : (params.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS);

  let running: RunningCommand;
  try {
    const environment = await context.environment();
    const sandboxContext = sandboxContextFor(sandbox, cwd);
    running = await environment.run({
      argv: params.command,
      cwd,
      env,
      ...(sandboxContext ? { sandbox: sandboxContext } : {}),
    });
  } catch (error) {
    throw new RpcError(internalError(`failed to spawn command: ${(error as Error).message}`), {
      cause: error,
    });
  }
  const stdout = new CappedBuffer(cap);
  const stderr = new CappedBuffer(cap);
  let timedOut = false;
  const timer =
    timeoutMs > 0
      ? setTimeout(() => {
          timedOut = true;
          void running.terminate();
        }, timeoutMs)
      : undefined;
  try {
    for await (const chunk of running.output) {
      (chunk.stream === 'stderr' ? stderr : stdout).push(chunk.data);
    }
  } catch (error) {
    throw new RpcError(internalError(`command/exec lost the command: ${(error as Error).message}`));
  } finally {
    clearTimeout(timer);
  }
  const exitCode = await running.exitCode;
  return { exitCode: timedOut ? 124 : exitCode, stdout: stdout.text(), stderr: stderr.text() };
}
