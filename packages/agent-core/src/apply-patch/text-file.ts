/**
 * A text file as lines that remember their own line ending, so an edit keeps a CRLF file CRLF
 * (and a file with mixed endings keeps each untouched line's ending), as the reference does:
 * matching sees the lines without their endings; lines a patch adds take the file's preferred
 * ending (that of its first line break, LF for a file without one); and after an update every line
 * ends with a line break, a last line that had none included. A UTF-8 byte order mark stays in
 * front of the file and out of its first line (so it is matched without it, and kept when that line
 * is replaced).
 */

const BOM = '\uFEFF';

type Ending = '\n' | '\r\n';

interface Line {
  text: string;
  ending: Ending | undefined;
}

/** One replacement: `oldLength` lines at `start` become `lines`. */
export interface Replacement {
  readonly start: number;
  readonly oldLength: number;
  readonly lines: readonly string[];
}

export class TextFile {
  private constructor(
    private lines: Line[],
    private readonly preferred: Ending,
    private readonly bom: boolean,
  ) {}

  static parse(text: string): TextFile {
    const bom = text.startsWith(BOM);
    const contents = bom ? text.slice(BOM.length) : text;
    const lines: Line[] = [];
    let preferred: Ending | undefined;
    let from = 0;
    for (;;) {
      const newline = contents.indexOf('\n', from);
      if (newline === -1) break;
      const crlf = newline > from && contents[newline - 1] === '\r';
      const ending: Ending = crlf ? '\r\n' : '\n';
      preferred ??= ending;
      lines.push({ text: contents.slice(from, crlf ? newline - 1 : newline), ending });
      from = newline + 1;
    }
    if (from < contents.length) lines.push({ text: contents.slice(from), ending: undefined });
    return new TextFile(lines, preferred ?? '\n', bom);
  }

  /** The lines without their endings, as patches are matched against them. */
  texts(): string[] {
    return this.lines.map((line) => line.text);
  }

  /** Applies replacements sorted by `start`, none overlapping. */
  replace(replacements: readonly Replacement[]): void {
    const out: Line[] = [];
    let at = 0;
    for (const { start, oldLength, lines } of replacements) {
      for (; at < start && at < this.lines.length; at++) {
        const line = this.lines[at];
        if (line) out.push(line);
      }
      at = Math.max(at, start + oldLength);
      for (const text of lines) out.push({ text, ending: this.preferred });
    }
    for (; at < this.lines.length; at++) {
      const line = this.lines[at];
      if (line) out.push(line);
    }
    for (const line of out) line.ending ??= this.preferred;
    this.lines = out;
  }

  toString(): string {
    let contents = this.bom ? BOM : '';
    for (const line of this.lines) contents += line.text + (line.ending ?? '');
    return contents;
  }
}
