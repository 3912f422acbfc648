import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { app } from '@tether/protocol';

/** Where the installation id lives in the state directory (the reference's file name). */
export const INSTALLATION_ID_FILE = 'installation_id';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * This installation's id: made once and kept in the state directory, so a client sees the same id
 * across restarts, as the reference's `installation_id`.
 */
export function installationId(home: string): string {
  const file = join(home, INSTALLATION_ID_FILE);
  try {
    const stored = readFileSync(file, 'utf8').trim();
    if (UUID.test(stored)) return stored;
  } catch {
    // made below
  }
  const id = randomUUID();
  try {
    mkdirSync(home, { recursive: true, mode: 0o700 });
    writeFileSync(file, id, { mode: 0o644 });
  } catch {
    // a read-only home still gets an id for this run
  }
  return id;
}

/**
 * What a client is told after `initialize` about remote control: tether has none, so it is
 * `disabled`, with the machine's name and the installation id, as the reference reports it.
 */
export function remoteControlStatus(
  home: string,
): () => app.RemoteControlStatusChangedNotification {
  let id: string | undefined;
  return () => {
    id ??= installationId(home);
    return { status: 'disabled', serverName: hostname(), installationId: id, environmentId: null };
  };
}
