import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * True while a pid runs. A zombie (dead, not yet reaped by its parent) counts as gone: tests ask
 * whether a process was killed, and a killed child of a live parent stays a zombie for a while.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the state letter follows the command name, which is in parentheses and may hold anything
    return stat[stat.lastIndexOf(')') + 2] !== 'Z';
  } catch {
    return false;
  }
}

export interface PgrepOptions {
  /** The whole command line must equal `pattern` (pgrep -x), not merely contain a match. */
  exact?: boolean;
}

/**
 * The pids of processes whose full command line matches `pattern` (a regular expression, as
 * `pgrep -f` takes it); none is an empty list. Tests use it for processes they cannot hold a pid
 * of: what a sandboxed shell or a killed server left behind, found by a marker in their argv.
 */
export function pgrep(pattern: string, options: PgrepOptions = {}): number[] {
  const args = [...(options.exact ? ['-x'] : []), '-f', pattern];
  try {
    return execFileSync('pgrep', args, { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map(Number);
  } catch (error) {
    // pgrep exits 1 when nothing matches; anything else (no pgrep at all) must not read as "none
    // left", or a test that no process survives would pass without looking
    if (typeof error === 'object' && error !== null && 'status' in error && error.status === 1) {
      return [];
    }
    throw error;
  }
}
