import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new empty directory under the system's temp directory, named `<prefix><random>`. */
export function tempHome(prefix = 'tether-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * A new empty directory under the user's home directory, for sandbox tests: the sandbox makes /tmp
 * a writable root of `workspace-write`, so a workspace or an "outside" meant to be protected must
 * not live there. The caller removes it (it is not in a place the system cleans).
 */
export function tempHomeOutsideTmp(prefix = '.tether-test-'): string {
  return mkdtempSync(join(homedir(), prefix));
}
