import { runCommand } from '../command-exec.js';
import type { AreaHandlers, ServiceParts } from './context.js';

/** `command/exec`: one command outside any thread, in the threads' environment and sandbox. */
export function shellHandlers({ commandExec }: ServiceParts): AreaHandlers<'command/exec'> {
  return {
    'command/exec': (params) => runCommand(params, commandExec),
  };
}
