import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { PatchFileSystem } from '../apply-patch/files.js';

/**
 * AGENTS.md discovery, as the reference reads it: the user's own file from the state directory,
 * then every project file from the repository root (the nearest ancestor of the cwd holding a
 * `.git`) down to the cwd, one per directory (`AGENTS.override.md` wins over `AGENTS.md`).
 * Project files share a byte budget (`project_doc_max_bytes`, 32 KiB by default): the file that
 * crosses it is cut, later ones are left out; the user's file does not count against it.
 * The project's files are read where the thread's commands run (its environment's files: on a
 * remote exec-server, through its `fs/*` methods); the user's from this machine.
 */

/** The reference's default `project_doc_max_bytes`. */
export const DEFAULT_PROJECT_DOC_MAX_BYTES = 32 * 1024;
/** Names looked for in each directory, in order of preference. */
export const AGENTS_MD_FILENAMES = ['AGENTS.override.md', 'AGENTS.md'] as const;
/** What marks the root of a project (the reference's default `project_root_markers`). */
const PROJECT_ROOT_MARKERS = ['.git'] as const;
/** Between the user's instructions and the project's (the reference's separator). */
const PROJECT_DOC_SEPARATOR = '\n\n--- project-doc ---\n\n';

export interface LoadedAgentsMd {
  /** The cwd the files were looked up from; the instructions message names it. */
  directory: string;
  /** Everything the model is given, joined as the reference joins it ('' when there is nothing). */
  text: string;
  /** The files read, user file first (the `instructionSources` a client is told). */
  sources: string[];
  /** What the budget cut or left out, for the thread's clients. */
  warnings: string[];
}

/** What reading instructions needs of a filesystem (an environment's `files`, or this machine's). */
export type InstructionFiles = Pick<PatchFileSystem, 'readFile' | 'getMetadata'>;

/** This machine's files. */
export const hostFiles: InstructionFiles = {
  readFile: (path) => readFile(path),
  getMetadata: async (path) => {
    const info = await stat(path);
    return { isFile: info.isFile(), isDirectory: info.isDirectory() };
  },
};

export interface AgentsMdOptions {
  cwd: string;
  /** Where the project's files are read (default: this machine). */
  files?: InstructionFiles | undefined;
  /** The state directory holding the user's own `AGENTS.md` (tether's `TETHER_HOME`). */
  home?: string | undefined;
  /** Budget of the project files; 0 reads none. */
  maxBytes?: number | undefined;
}

const isFile = async (files: InstructionFiles, path: string): Promise<boolean> => {
  try {
    return (await files.getMetadata(path)).isFile;
  } catch {
    return false;
  }
};

const exists = async (files: InstructionFiles, path: string): Promise<boolean> => {
  try {
    await files.getMetadata(path);
    return true;
  } catch {
    return false;
  }
};

/** The first instructions file of a directory, by preference. */
async function instructionsFileIn(
  files: InstructionFiles,
  dir: string,
): Promise<string | undefined> {
  for (const name of AGENTS_MD_FILENAMES) {
    const candidate = join(dir, name);
    if (await isFile(files, candidate)) return candidate;
  }
  return undefined;
}

/** The directories searched: root to cwd when a project root is found, else the cwd alone. */
async function searchDirectories(files: InstructionFiles, cwd: string): Promise<string[]> {
  const chain: string[] = [];
  for (let dir = cwd; ; dir = dirname(dir)) {
    chain.push(dir);
    for (const marker of PROJECT_ROOT_MARKERS) {
      if (await exists(files, join(dir, marker))) return chain.reverse();
    }
    if (dirname(dir) === dir) return [cwd];
  }
}

/** Decodes bytes as the reference does (invalid UTF-8, a cut character included, becomes U+FFFD). */
const decode = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);

async function readBytes(files: InstructionFiles, path: string): Promise<Buffer | undefined> {
  try {
    return await files.readFile(path);
  } catch {
    // unreadable or gone since it was found: as if it were not there
    return undefined;
  }
}

/** Reads the user's and the project's instructions for a cwd. */
export async function loadAgentsMd(options: AgentsMdOptions): Promise<LoadedAgentsMd> {
  const maxBytes = options.maxBytes ?? DEFAULT_PROJECT_DOC_MAX_BYTES;
  const sources: string[] = [];
  const warnings: string[] = [];
  let userText: string | undefined;
  if (options.home !== undefined) {
    const path = await instructionsFileIn(hostFiles, options.home);
    const bytes = path === undefined ? undefined : await readBytes(hostFiles, path);
    if (path !== undefined && bytes !== undefined) {
      const text = decode(bytes);
      if (text.trim() !== '') {
        userText = text;
        sources.push(path);
      }
    }
  }

  const projectTexts: string[] = [];
  const files = options.files ?? hostFiles;
  if (maxBytes > 0) {
    let remaining = maxBytes;
    for (const dir of await searchDirectories(files, options.cwd)) {
      const path = await instructionsFileIn(files, dir);
      if (path === undefined) continue;
      if (remaining === 0) {
        warnings.push(
          `Skipped \`${path}\`: the ${maxBytes}-byte project instruction budget was already used. Shorten the project's AGENTS.md files, or raise \`project_doc_max_bytes\`.`,
        );
        continue;
      }
      const bytes = await readBytes(files, path);
      if (bytes === undefined) continue;
      const kept = bytes.length > remaining ? bytes.subarray(0, remaining) : bytes;
      const text = decode(kept);
      // a blank file neither counts nor uses the budget, as in the reference
      if (text.trim() === '') continue;
      if (kept.length < bytes.length) {
        warnings.push(
          `Only ${kept.length} of the ${bytes.length} bytes of \`${path}\` were loaded: project instructions are limited to ${maxBytes} bytes. Shorten the project's AGENTS.md files, or raise \`project_doc_max_bytes\`.`,
        );
      }
      projectTexts.push(text);
      sources.push(path);
      remaining -= kept.length;
    }
  }

  const project = projectTexts.join('\n\n');
  let text = userText ?? '';
  if (project !== '') text = text === '' ? project : `${text}${PROJECT_DOC_SEPARATOR}${project}`;
  const total = Buffer.byteLength(text);
  if (maxBytes > 0 && total > maxBytes) {
    warnings.push(
      `The instructions given to the model take ${total} bytes, more than the ${maxBytes}-byte \`project_doc_max_bytes\`: that limit applies to project files only, the user's own AGENTS.md comes on top.`,
    );
  }
  return { directory: options.cwd, text, sources, warnings };
}

/** The notice a changed set of instructions starts with (the reference's words: the model keys on them). */
export const AGENTS_MD_REPLACED_NOTICE =
  'These AGENTS.md instructions replace all previously provided AGENTS.md instructions.';
/** What the model is told when the instructions it had no longer apply. */
export const AGENTS_MD_REMOVED_NOTICE =
  'The previously provided AGENTS.md instructions no longer apply.';

const AGENTS_MD_HEADER = '# AGENTS.md instructions for ';

/**
 * The user-instructions message part, framed as the reference frames it:
 * `# AGENTS.md instructions for <dir>`, then the text inside `<INSTRUCTIONS>` tags.
 */
export function renderAgentsMd(
  directory: string,
  text: string,
  kind: 'initial' | 'replacement' | 'removal' = 'initial',
): string {
  const body =
    kind === 'removal'
      ? AGENTS_MD_REMOVED_NOTICE
      : kind === 'replacement'
        ? `${AGENTS_MD_REPLACED_NOTICE}\n\n${text}`
        : text;
  return `${AGENTS_MD_HEADER}${directory}\n\n<INSTRUCTIONS>\n${body}\n</INSTRUCTIONS>`;
}

/** Reads back what a rendered part told the model (`undefined`: not an instructions part). */
export function parseAgentsMd(part: string): { directory: string; text: string } | undefined {
  if (!part.startsWith(AGENTS_MD_HEADER)) return undefined;
  const open = part.indexOf('\n\n<INSTRUCTIONS>\n');
  if (open < 0 || !part.endsWith('\n</INSTRUCTIONS>')) return undefined;
  const directory = part.slice(AGENTS_MD_HEADER.length, open);
  let text = part.slice(open + '\n\n<INSTRUCTIONS>\n'.length, -'\n</INSTRUCTIONS>'.length);
  if (text === AGENTS_MD_REMOVED_NOTICE) text = '';
  else if (text.startsWith(`${AGENTS_MD_REPLACED_NOTICE}\n\n`)) {
    text = text.slice(AGENTS_MD_REPLACED_NOTICE.length + 2);
  }
  return { directory, text };
}
