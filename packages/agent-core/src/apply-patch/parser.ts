/**
 * The patch format the model writes (the reference's `apply_patch` envelope):
 *
 * ```text
 * *** Begin Patch
 * *** Add File: path        then "+" lines: the new file's contents
 * *** Delete File: path
 * *** Update File: path     optionally "*** Move to: path", then chunks:
 * @@ [context line]          then " " (kept), "-" (removed) and "+" (added) lines,
 * *** End of File           optionally, when the chunk must match the end of the file
 * *** End Patch
 * ```
 *
 * Parsed as leniently as the reference: markers may carry padding, chunks may be separated by
 * blank lines, the first chunk of an update may omit its `@@`, a bare empty line in a chunk is an
 * empty context line, and the whole text may be wrapped in a `<<EOF` … `EOF` heredoc. The error
 * messages are the reference's, since the model reads them and reacts to their wording.
 */

export interface UpdateChunk {
  /** The `@@ <line>` that locates the chunk (usually a function or class line). */
  readonly context: string | undefined;
  /** Lines the chunk replaces (context and removed lines, in order). */
  readonly oldLines: readonly string[];
  /** Lines that replace them (context and added lines, in order). */
  readonly newLines: readonly string[];
  /** `*** End of File`: `oldLines` should match at the end of the file. */
  readonly endOfFile: boolean;
}

export type PatchHunk =
  | { readonly kind: 'add'; readonly path: string; readonly contents: string }
  | { readonly kind: 'delete'; readonly path: string }
  | {
      readonly kind: 'update';
      readonly path: string;
      readonly movePath: string | undefined;
      readonly chunks: readonly UpdateChunk[];
    };

export interface ParsedPatch {
  readonly hunks: readonly PatchHunk[];
  /** The patch text without any heredoc wrapper, lines joined with `\n`. */
  readonly text: string;
}

/** A patch that does not follow the format; `message` is what the reference tells the model. */
export class PatchParseError extends Error {
  readonly code: 'invalid_patch' | 'invalid_hunk';
  /** 1-based line of the patch where a hunk went wrong. */
  readonly line: number | undefined;

  constructor(code: 'invalid_patch', detail: string);
  constructor(code: 'invalid_hunk', detail: string, line: number);
  constructor(code: 'invalid_patch' | 'invalid_hunk', detail: string, line?: number) {
    super(
      code === 'invalid_patch'
        ? `invalid patch: ${detail}`
        : `invalid hunk at line ${line}, ${detail}`,
    );
    this.name = 'PatchParseError';
    this.code = code;
    this.line = line;
  }
}

const BEGIN = '*** Begin Patch';
const END = '*** End Patch';
const ADD = '*** Add File: ';
const DELETE = '*** Delete File: ';
const UPDATE = '*** Update File: ';
const MOVE = '*** Move to: ';
const END_OF_FILE = '*** End of File';
const NO_LINES = 'Update hunk does not contain any lines';

/** The heredoc openers the reference unwraps (`<<EOF`, `<<'EOF'`, `<<"EOF"`). */
const HEREDOC_OPENERS: ReadonlySet<string> = new Set(['<<EOF', "<<'EOF'", '<<"EOF"']);

/**
 * Splits like Rust's `str::lines`: on `\n`, dropping one `\r` before it, and no empty last line
 * after a final newline (the text is trimmed first, so there is none).
 */
function linesOf(text: string): string[] {
  if (text === '') return [];
  return text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
}

function checkBoundaries(lines: readonly string[]): void {
  const first = lines[0]?.trim();
  const last = lines.at(-1)?.trim();
  if (first === BEGIN && last === END) return;
  if (first !== BEGIN) {
    throw new PatchParseError(
      'invalid_patch',
      "The first line of the patch must be '*** Begin Patch'",
    );
  }
  throw new PatchParseError('invalid_patch', "The last line of the patch must be '*** End Patch'");
}

/** The patch's lines between its markers, unwrapping a heredoc when the plain text does not parse. */
function envelope(lines: string[]): string[] {
  try {
    checkBoundaries(lines);
    return lines;
  } catch (error) {
    const first = lines[0];
    const last = lines.at(-1);
    // at least the two heredoc lines and the two markers
    if (
      lines.length >= 4 &&
      first !== undefined &&
      HEREDOC_OPENERS.has(first) &&
      last?.endsWith('EOF') === true
    ) {
      const inner = lines.slice(1, -1);
      checkBoundaries(inner);
      return inner;
    }
    throw error;
  }
}

/** Parses a patch; throws {@link PatchParseError} with the reference's message. */
export function parsePatch(patch: string): ParsedPatch {
  const lines = envelope(linesOf(patch.trim()));
  const body = lines.slice(1, -1);
  const hunks: PatchHunk[] = [];
  let at = 0;
  // line numbers count from the first hunk header, which is the patch's second line
  while (at < body.length) {
    const { hunk, consumed } = parseHunk(body, at, at + 2);
    hunks.push(hunk);
    at += consumed;
  }
  return { hunks, text: lines.join('\n') };
}

function parseHunk(
  lines: readonly string[],
  start: number,
  lineNumber: number,
): { hunk: PatchHunk; consumed: number } {
  const header = (lines[start] ?? '').trim();
  if (header.startsWith(ADD)) {
    let contents = '';
    let at = start + 1;
    for (; at < lines.length; at++) {
      const line = lines[at] ?? '';
      if (!line.startsWith('+')) break;
      contents += `${line.slice(1)}\n`;
    }
    return {
      hunk: { kind: 'add', path: header.slice(ADD.length), contents },
      consumed: at - start,
    };
  }
  if (header.startsWith(DELETE)) {
    return { hunk: { kind: 'delete', path: header.slice(DELETE.length) }, consumed: 1 };
  }
  if (header.startsWith(UPDATE)) {
    const path = header.slice(UPDATE.length);
    let at = start + 1;
    let movePath: string | undefined;
    const move = lines[at];
    if (move?.startsWith(MOVE)) {
      movePath = move.slice(MOVE.length);
      at++;
    }
    const chunks: UpdateChunk[] = [];
    while (at < lines.length) {
      const line = lines[at] ?? '';
      // blank lines may separate chunks
      if (line.trim() === '') {
        at++;
        continue;
      }
      // the next file operation (or a stray marker) ends this one
      if (line.startsWith('*')) break;
      const { chunk, consumed } = parseChunk(
        lines,
        at,
        lineNumber + (at - start),
        chunks.length === 0,
      );
      chunks.push(chunk);
      at += consumed;
    }
    if (chunks.length === 0) {
      throw new PatchParseError(
        'invalid_hunk',
        `Update file hunk for path '${path}' is empty`,
        lineNumber,
      );
    }
    return { hunk: { kind: 'update', path, movePath, chunks }, consumed: at - start };
  }
  throw new PatchParseError(
    'invalid_hunk',
    `'${header}' is not a valid hunk header. Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'`,
    lineNumber,
  );
}

function parseChunk(
  lines: readonly string[],
  start: number,
  lineNumber: number,
  mayOmitHeader: boolean,
): { chunk: UpdateChunk; consumed: number } {
  const first = lines[start] ?? '';
  let context: string | undefined;
  let bodyStart = start;
  if (first === '@@') {
    bodyStart++;
  } else if (first.startsWith('@@ ')) {
    context = first.slice(3);
    bodyStart++;
  } else if (!mayOmitHeader) {
    throw new PatchParseError(
      'invalid_hunk',
      `Expected update hunk to start with a @@ context marker, got: '${first}'`,
      lineNumber,
    );
  }
  if (bodyStart >= lines.length) {
    throw new PatchParseError('invalid_hunk', NO_LINES, lineNumber + 1);
  }
  const oldLines: string[] = [];
  const newLines: string[] = [];
  let endOfFile = false;
  let taken = 0;
  for (let at = bodyStart; at < lines.length; at++) {
    const line = lines[at] ?? '';
    if (line === END_OF_FILE) {
      if (taken === 0) throw new PatchParseError('invalid_hunk', NO_LINES, lineNumber + 1);
      endOfFile = true;
      taken++;
      break;
    }
    const marker = line[0];
    if (marker === undefined) {
      // an empty line: models often drop the space of an empty context line
      oldLines.push('');
      newLines.push('');
    } else if (marker === ' ') {
      oldLines.push(line.slice(1));
      newLines.push(line.slice(1));
    } else if (marker === '+') {
      newLines.push(line.slice(1));
    } else if (marker === '-') {
      oldLines.push(line.slice(1));
    } else {
      if (taken === 0) {
        throw new PatchParseError(
          'invalid_hunk',
          `Unexpected line found in update hunk: '${line}'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)`,
          lineNumber + 1,
        );
      }
      // the start of the next chunk or file operation
      break;
    }
    taken++;
  }
  return { chunk: { context, oldLines, newLines, endOfFile }, consumed: bodyStart - start + taken };
}
