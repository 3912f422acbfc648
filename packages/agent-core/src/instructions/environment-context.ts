import { readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { type app, exec } from '@tether/protocol';
import { permissionProfileFor } from '../sandbox-policy.js';

/**
 * The `<environment_context>` user message: where the agent works (cwd, shell), the date and time
 * zone, and what the filesystem allows, in the reference's XML. The first turn of a thread sends
 * all of it; a later turn sends only what changed (the cwd and shell when the cwd moved; the date,
 * time zone and filesystem whenever anything did), and nothing when nothing did.
 */
export interface EnvironmentState {
  cwd: string;
  /** The shell's name (`bash`). */
  shell: string;
  /** `YYYY-MM-DD`, local time. */
  currentDate: string;
  /** IANA name (`Etc/UTC`, `Europe/Paris`). */
  timezone: string;
  /** The `<filesystem>` element: workspace roots and the permission profile. */
  filesystem: string;
}

const OPEN = '<environment_context>';
const CLOSE = '</environment_context>';

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** The machine's time zone as the reference names it: the zoneinfo link of /etc/localtime first. */
export function localTimeZone(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  if (!env.TZ) {
    try {
      const target = readlinkSync('/etc/localtime');
      const at = target.indexOf('zoneinfo/');
      if (at >= 0) return target.slice(at + 'zoneinfo/'.length);
    } catch {
      // not a link (or no such file): the runtime's own idea below
    }
  }
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** A local date as `YYYY-MM-DD`. */
export function localDate(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function entryTarget(path: exec.FileSystemPath): string {
  switch (path.type) {
    case 'path':
      return `<path>${escapeXml(exec.fileUriToPath(path.path))}</path>`;
    case 'glob_pattern':
      return `<glob_pattern>${escapeXml(path.pattern)}</glob_pattern>`;
    case 'special':
      return `<special>:${path.value.kind}</special>`;
  }
}

/**
 * The `<filesystem>` element for a policy: the workspace roots, then the permission profile the
 * commands really run under (read from the same profile the sandbox enforces).
 */
export function renderFilesystem(policy: app.SandboxPolicy, cwd: string): string {
  const roots = `<workspace_roots><root>${escapeXml(cwd)}</root></workspace_roots>`;
  let profile: string;
  const managed = permissionProfileFor(policy, cwd);
  if (managed?.type === 'managed' && managed.file_system.type === 'restricted') {
    const entries = managed.file_system.entries
      .map((entry) => `<entry access="${entry.access}">${entryTarget(entry.path)}</entry>`)
      .join('');
    profile = `<permission_profile type="managed"><file_system type="restricted">${entries}</file_system></permission_profile>`;
  } else if (policy.type === 'externalSandbox') {
    profile =
      '<permission_profile type="external"><file_system type="external" /></permission_profile>';
  } else {
    profile =
      '<permission_profile type="disabled"><file_system type="unrestricted" /></permission_profile>';
  }
  return `<filesystem>${roots}${profile}</filesystem>`;
}

export function environmentState(
  settings: { cwd: string; sandbox: app.SandboxPolicy },
  options: { shell: string; now?: Date; timezone?: string },
): EnvironmentState {
  return {
    cwd: settings.cwd,
    shell: basename(options.shell),
    currentDate: localDate(options.now ?? new Date()),
    timezone: options.timezone ?? localTimeZone(),
    filesystem: renderFilesystem(settings.sandbox, settings.cwd),
  };
}

/**
 * The message part telling the model about `current`, given what it was told before (`previous`);
 * undefined when nothing changed.
 */
export function renderEnvironmentContext(
  current: EnvironmentState,
  previous?: Partial<EnvironmentState>,
): string | undefined {
  const moved = previous?.cwd !== current.cwd;
  const changed =
    moved ||
    previous?.currentDate !== current.currentDate ||
    previous?.timezone !== current.timezone ||
    previous?.filesystem !== current.filesystem;
  if (!changed) return undefined;
  const lines = [OPEN];
  if (moved) {
    lines.push(
      `  <cwd>${escapeXml(current.cwd)}</cwd>`,
      `  <shell>${escapeXml(current.shell)}</shell>`,
    );
  }
  lines.push(
    `  <current_date>${escapeXml(current.currentDate)}</current_date>`,
    `  <timezone>${escapeXml(current.timezone)}</timezone>`,
    `  ${current.filesystem}`,
    CLOSE,
  );
  return lines.join('\n');
}

const unescapeXml = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * What a rendered part told the model, member by member (a partial update names only what
 * changed); undefined when the part is not an environment context.
 */
export function parseEnvironmentContext(part: string): Partial<EnvironmentState> | undefined {
  if (!part.startsWith(`${OPEN}\n`) || !part.endsWith(`\n${CLOSE}`)) return undefined;
  const state: Partial<EnvironmentState> = {};
  for (const line of part.split('\n').slice(1, -1)) {
    const trimmed = line.trim();
    if (trimmed.startsWith('<filesystem>')) {
      state.filesystem = trimmed;
      continue;
    }
    const match = /^<(cwd|shell|current_date|timezone)>(.*)<\/\1>$/.exec(trimmed);
    if (!match) continue;
    const value = unescapeXml(match[2] ?? '');
    if (match[1] === 'cwd') state.cwd = value;
    else if (match[1] === 'shell') state.shell = value;
    else if (match[1] === 'current_date') state.currentDate = value;
    else state.timezone = value;
  }
  return state;
}
