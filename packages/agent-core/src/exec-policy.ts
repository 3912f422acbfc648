// Persisted exec-policy rules: the reference's `<home>/rules/*.rules` files of
// `prefix_rule(pattern=[…], decision="…")` statements. Approving a command with
// acceptWithExecpolicyAmendment appends an allow rule to `default.rules`; commands whose every
// part an allow rule matches are not asked about again, in any thread, by any server sharing the
// home.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Logger, silentLogger } from '@tether/protocol';
import lockfile from 'proper-lockfile';

/** The folder of a home that holds the rules files. */
export const RULES_DIR_NAME = 'rules';
/** The file amendments are appended to. */
export const DEFAULT_RULES_FILE = 'default.rules';

/** What a rule decides for the commands it matches; the strictest matching rule wins. */
export type ExecPolicyDecision = 'allow' | 'prompt' | 'forbidden';

/** One element of a rule's pattern: a word, or a list of alternative words. */
export type PatternToken = string | readonly string[];

/** A rule as loaded from a rules file. */
export interface ExecPolicyRule {
  /** The rules file it is in. */
  file: string;
  /** Its first line in that file (1-based). */
  line: number;
  pattern: PatternToken[];
  decision: ExecPolicyDecision;
  justification?: string;
}

export type ExecPolicyErrorCode = 'EMPTY_PREFIX' | 'NO_SUCH_RULE' | 'WRITE_FAILED';

/** A refused or failed change to the rules files. */
export class ExecPolicyError extends Error {
  readonly code: ExecPolicyErrorCode;

  constructor(code: ExecPolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ExecPolicyError';
    this.code = code;
  }
}

const DECISION_RANK: Record<ExecPolicyDecision, number> = { allow: 0, prompt: 1, forbidden: 2 };

function isDecision(value: string): value is ExecPolicyDecision {
  return value === 'allow' || value === 'prompt' || value === 'forbidden';
}

/**
 * The line an allow amendment is saved as, exactly as the reference writes it:
 * `prefix_rule(pattern=["git", "status"], decision="allow")` (words JSON-escaped).
 */
export function formatAllowPrefixRule(pattern: readonly string[]): string {
  return `prefix_rule(pattern=[${pattern.map((word) => JSON.stringify(word)).join(', ')}], decision="allow")`;
}

/** True when `pattern` is a prefix of `argv`, each element matching one of its alternatives. */
export function patternMatches(pattern: readonly PatternToken[], argv: readonly string[]): boolean {
  if (pattern.length === 0 || argv.length < pattern.length) return false;
  return pattern.every((token, i) => {
    const word = argv[i] ?? '';
    return typeof token === 'string' ? token === word : token.includes(word);
  });
}

function samePattern(a: readonly PatternToken[], b: readonly PatternToken[]): boolean {
  return a.length === b.length && a.every((token, i) => sameToken(token, b[i]));
}

function sameToken(a: PatternToken, b: PatternToken | undefined): boolean {
  if (b === undefined) return false;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  return a.length === b.length && a.every((word, i) => word === b[i]);
}

// ---------------------------------------------------------------------------------------------
// Reading rules files: a tolerant reader of the Starlark subset rules files use
// ---------------------------------------------------------------------------------------------

type Token =
  | { kind: 'ident' | 'punct'; value: string; start: number; end: number; line: number }
  | { kind: 'string'; value: string; start: number; end: number; line: number }
  | { kind: 'end'; start: number; end: number; line: number }
  | { kind: 'error'; message: string; start: number; end: number; line: number };

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
/** A line that starts a new call (`name(`): ends a statement whose brackets were never closed. */
const CALL_START = /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/;

const SIMPLE_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\x07',
  b: '\b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '\n': '',
};

/** Reads one quoted string starting at `text[at]`; returns its value and end, or an error. */
function readString(
  text: string,
  at: number,
): { value: string; end: number } | { message: string; end: number } {
  const quote = text[at];
  let value = '';
  let i = at + 1;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (c === quote) return { value, end: i + 1 };
    if (c === '\n') return { message: 'unterminated string', end: i };
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const next = text[i + 1] ?? '';
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      value += simple;
      i += 2;
      continue;
    }
    const hex =
      next === 'x'
        ? /^[0-9a-fA-F]{2}/.exec(text.slice(i + 2))
        : next === 'u'
          ? /^[0-9a-fA-F]{4}/.exec(text.slice(i + 2))
          : next === 'U'
            ? /^[0-9a-fA-F]{8}/.exec(text.slice(i + 2))
            : null;
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1));
    if (hex) {
      const code = Number.parseInt(hex[0], 16);
      if (code > 0x10ffff) return { message: 'invalid escape', end: i };
      value += String.fromCodePoint(code);
      i += 2 + hex[0].length;
    } else if (octal) {
      value += String.fromCodePoint(Number.parseInt(octal[0], 8));
      i += 1 + octal[0].length;
    } else {
      value += `\\${next}`;
      i += 2;
    }
  }
  return { message: 'unterminated string', end: i };
}

/**
 * Splits a rules file into statements of tokens. A newline ends a statement outside brackets; a
 * line starting a new call ends one whose brackets were left open (a line torn by a crash), so
 * one bad line never takes the following rules with it.
 */
function statements(text: string): Token[][] {
  const out: Token[][] = [];
  let current: Token[] = [];
  let depth = 0;
  let line = 1;
  const finish = () => {
    if (current.length > 0) out.push(current);
    current = [];
    depth = 0;
  };
  for (let i = 0; i < text.length; ) {
    const c = text[i] ?? '';
    if (c === '\n') {
      line++;
      i++;
      const eol = text.indexOf('\n', i);
      if (depth === 0 || CALL_START.test(text.slice(i, eol < 0 ? text.length : eol))) finish();
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '\\' && text[i + 1] === '\n') {
      i += 2;
      line++;
    } else if (c === '#') {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? text.length : eol;
    } else if (c === '"' || c === "'") {
      const read = readString(text, i);
      current.push(
        'value' in read
          ? { kind: 'string', value: read.value, start: i, end: read.end, line }
          : { kind: 'error', message: read.message, start: i, end: read.end, line },
      );
      i = read.end;
    } else if (IDENT_START.test(c)) {
      let end = i + 1;
      while (end < text.length && IDENT_PART.test(text[end] ?? '')) end++;
      current.push({ kind: 'ident', value: text.slice(i, end), start: i, end, line });
      i = end;
    } else if ('()[],=;'.includes(c)) {
      if (c === ';' && depth === 0) {
        finish();
      } else {
        if (c === '(' || c === '[') depth++;
        if (c === ')' || c === ']') depth = Math.max(0, depth - 1);
        current.push({ kind: 'punct', value: c, start: i, end: i + 1, line });
      }
      i++;
    } else {
      current.push({
        kind: 'error',
        message: `unexpected ${JSON.stringify(c)}`,
        start: i,
        end: i + 1,
        line,
      });
      i++;
    }
  }
  finish();
  return out;
}

type Value = string | Value[];

class StatementError extends Error {}

/** A recursive-descent reader of one `name(args)` statement. */
class StatementReader {
  private at = 0;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.at];
  }

  private isPunct(value: string): boolean {
    const token = this.peek();
    return token?.kind === 'punct' && token.value === value;
  }

  private expectPunct(value: string): void {
    if (!this.isPunct(value)) throw new StatementError(`expected \`${value}\``);
    this.at++;
  }

  private value(): Value {
    const token = this.peek();
    if (token?.kind === 'string') {
      this.at++;
      return token.value;
    }
    if (this.isPunct('[')) {
      this.at++;
      const items: Value[] = [];
      while (!this.isPunct(']')) {
        items.push(this.value());
        if (!this.isPunct(',')) break;
        this.at++;
      }
      this.expectPunct(']');
      return items;
    }
    if (token?.kind === 'error') throw new StatementError(token.message);
    throw new StatementError('expected a string or a list');
  }

  call(): { name: string; positional: Value[]; named: Map<string, Value>; end: number } {
    const name = this.peek();
    if (name?.kind !== 'ident') throw new StatementError('expected a rule such as prefix_rule(…)');
    this.at++;
    this.expectPunct('(');
    const positional: Value[] = [];
    const named = new Map<string, Value>();
    while (!this.isPunct(')')) {
      const token = this.peek();
      const next = this.tokens[this.at + 1];
      if (token?.kind === 'ident' && next?.kind === 'punct' && next.value === '=') {
        this.at += 2;
        if (named.has(token.value)) throw new StatementError(`\`${token.value}\` given twice`);
        named.set(token.value, this.value());
      } else {
        if (named.size > 0) throw new StatementError('positional argument after a keyword one');
        positional.push(this.value());
      }
      if (!this.isPunct(',')) break;
      this.at++;
    }
    const close = this.peek();
    this.expectPunct(')');
    if (this.at !== this.tokens.length) throw new StatementError('unexpected text after the rule');
    return { name: name.value, positional, named, end: close?.end ?? 0 };
  }
}

const PREFIX_RULE_PARAMETERS = ['pattern', 'decision', 'match', 'not_match', 'justification'];

function prefixRuleFields(
  positional: Value[],
  named: Map<string, Value>,
): { pattern: PatternToken[]; decision: ExecPolicyDecision; justification?: string } {
  if (positional.length > PREFIX_RULE_PARAMETERS.length) {
    throw new StatementError('too many arguments');
  }
  const args = new Map<string, Value>();
  for (const [i, value] of positional.entries()) args.set(PREFIX_RULE_PARAMETERS[i] ?? '', value);
  for (const [key, value] of named) {
    if (!PREFIX_RULE_PARAMETERS.includes(key))
      throw new StatementError(`unknown argument \`${key}\``);
    if (args.has(key)) throw new StatementError(`\`${key}\` given twice`);
    args.set(key, value);
  }
  const rawPattern = args.get('pattern');
  if (!Array.isArray(rawPattern)) throw new StatementError('`pattern` must be a list');
  if (rawPattern.length === 0) throw new StatementError('pattern cannot be empty');
  const pattern = rawPattern.map((element): PatternToken => {
    if (typeof element === 'string') return element;
    if (element.length === 0) throw new StatementError('pattern alternatives cannot be empty');
    const words = element.map((word) => {
      if (typeof word !== 'string')
        throw new StatementError('pattern alternative must be a string');
      return word;
    });
    return words.length === 1 ? (words[0] ?? '') : words;
  });
  const rawDecision = args.get('decision') ?? 'allow';
  if (typeof rawDecision !== 'string' || !isDecision(rawDecision)) {
    throw new StatementError('`decision` must be "allow", "prompt" or "forbidden"');
  }
  for (const key of ['match', 'not_match']) {
    const examples = args.get(key);
    if (examples !== undefined && !Array.isArray(examples)) {
      throw new StatementError(`\`${key}\` must be a list`);
    }
  }
  const justification = args.get('justification');
  if (justification !== undefined && (typeof justification !== 'string' || !justification.trim())) {
    throw new StatementError('`justification` must be a non-empty string');
  }
  return justification === undefined
    ? { pattern, decision: rawDecision }
    : { pattern, decision: rawDecision, justification };
}

/** A rule with where its statement sits in the file text. */
interface PlacedRule extends ExecPolicyRule {
  start: number;
  end: number;
}

interface ReadProblem {
  line: number;
  message: string;
}

/** Statements the reference accepts that tether does not apply: skipped without a warning. */
const IGNORED_STATEMENTS = new Set(['network_rule', 'host_executable']);

function readRules(text: string, file: string): { rules: PlacedRule[]; problems: ReadProblem[] } {
  const rules: PlacedRule[] = [];
  const problems: ReadProblem[] = [];
  for (const tokens of statements(text)) {
    const first = tokens[0];
    if (!first) continue;
    try {
      const call = new StatementReader(tokens).call();
      if (IGNORED_STATEMENTS.has(call.name)) continue;
      if (call.name !== 'prefix_rule') throw new StatementError(`unknown rule \`${call.name}\``);
      const fields = prefixRuleFields(call.positional, call.named);
      rules.push({ file, line: first.line, ...fields, start: first.start, end: call.end });
    } catch (error) {
      if (!(error instanceof StatementError)) throw error;
      problems.push({ line: first.line, message: error.message });
    }
  }
  return { rules, problems };
}

// ---------------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------------

const LOCK_OPTIONS = {
  realpath: false,
  stale: 10_000,
  update: 2_000,
  retries: { retries: 60, minTimeout: 5, maxTimeout: 100, factor: 1.5 },
};

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/**
 * The exec-policy rules of one rules folder (`<home>/rules`). Reads every `*.rules` file in it,
 * tolerantly: comments and blank lines are fine, a statement it cannot read is skipped with a
 * warning, and nothing it reads ever throws. Every query first checks the files' sizes and times
 * and reloads what changed, so rules another thread or server saved apply at once. Changes are
 * made under a lock file (`<file>.lock`), durably: an append is one write followed by fsync, a
 * removal rewrites the file to a temporary file that is renamed over it.
 */
export class ExecPolicy {
  readonly rulesDir: string;
  readonly defaultFile: string;
  private readonly logger: Logger;
  private signature: string | undefined;
  private rules: PlacedRule[] = [];

  constructor(rulesDir: string, logger: Logger = silentLogger()) {
    this.rulesDir = rulesDir;
    this.defaultFile = join(rulesDir, DEFAULT_RULES_FILE);
    this.logger = logger;
  }

  /** The policy of a home folder: its `rules` subfolder. */
  static forHome(home: string, logger?: Logger): ExecPolicy {
    return new ExecPolicy(join(home, RULES_DIR_NAME), logger);
  }

  private ruleFiles(): { files: string[]; signature: string } {
    let names: string[];
    try {
      names = readdirSync(this.rulesDir);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') {
        this.logger.warn({ err: error, dir: this.rulesDir }, 'cannot read the rules folder');
      }
      return { files: [], signature: '' };
    }
    const files: string[] = [];
    const parts: string[] = [];
    for (const name of names.filter((n) => n.endsWith('.rules')).sort()) {
      const file = join(this.rulesDir, name);
      try {
        const stat = statSync(file);
        if (!stat.isFile()) continue;
        files.push(file);
        parts.push(`${name}\0${stat.size}\0${stat.mtimeMs}\0${stat.ctimeMs}\0${stat.ino}`);
      } catch {
        // removed between readdir and stat: as if it were not there
      }
    }
    return { files, signature: parts.join('\n') };
  }

  /** Reads every rules file again. */
  load(): void {
    const { files, signature } = this.ruleFiles();
    const rules: PlacedRule[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (error) {
        this.logger.warn({ err: error, file }, 'cannot read a rules file');
        continue;
      }
      const read = readRules(text, file);
      for (const problem of read.problems) {
        this.logger.warn({ file, ...problem }, 'skipping a rule it cannot read');
      }
      rules.push(...read.rules);
    }
    this.rules = rules;
    this.signature = signature;
  }

  private refresh(): void {
    if (this.ruleFiles().signature !== this.signature) this.load();
  }

  /** Every rule, by file name then line. */
  list(): ExecPolicyRule[] {
    this.refresh();
    return this.rules.map(({ start: _start, end: _end, pattern, ...rule }) => ({
      ...rule,
      pattern: pattern.map((token) => (typeof token === 'string' ? token : [...token])),
    }));
  }

  /** The strictest decision of the rules whose pattern is a prefix of `argv`, if any matches. */
  matches(argv: readonly string[]): ExecPolicyDecision | undefined {
    this.refresh();
    let decision: ExecPolicyDecision | undefined;
    for (const rule of this.rules) {
      if (!patternMatches(rule.pattern, argv)) continue;
      if (decision === undefined || DECISION_RANK[rule.decision] > DECISION_RANK[decision]) {
        decision = rule.decision;
      }
    }
    return decision;
  }

  /** True when there is at least one command and an allow rule, and no stricter one, matches each. */
  allowsAll(commands: readonly (readonly string[])[]): boolean {
    return commands.length > 0 && commands.every((command) => this.matches(command) === 'allow');
  }

  private async locked<T>(file: string, run: () => Promise<T>): Promise<T> {
    await mkdir(this.rulesDir, { recursive: true });
    const release = await lockfile.lock(file, {
      ...LOCK_OPTIONS,
      onCompromised: (error) => this.logger.warn({ err: error, file }, 'rules lock compromised'),
    });
    try {
      return await run();
    } finally {
      await release().catch((error: unknown) =>
        this.logger.warn({ err: error, file }, 'cannot release the rules lock'),
      );
    }
  }

  /**
   * Saves an allow rule for `pattern` as one line of `default.rules` (creating the folder and the
   * file), unless that exact line is already there. Refuses an empty pattern with the reference's
   * `prefix rule requires at least one token`.
   */
  async appendAllowPrefix(pattern: readonly string[]): Promise<void> {
    if (pattern.length === 0) {
      throw new ExecPolicyError('EMPTY_PREFIX', 'prefix rule requires at least one token');
    }
    const line = formatAllowPrefixRule(pattern);
    const file = this.defaultFile;
    try {
      await this.locked(file, async () => {
        let contents = '';
        let existed = true;
        try {
          contents = await readFile(file, 'utf8');
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error;
          existed = false;
        }
        if (contents.split(/\r?\n/).includes(line)) return;
        const separator = contents !== '' && !contents.endsWith('\n') ? '\n' : '';
        const handle = await open(file, 'a');
        try {
          await handle.appendFile(`${separator}${line}\n`);
          await handle.sync();
        } finally {
          await handle.close();
        }
        if (!existed) await syncDirectory(this.rulesDir);
      });
    } catch (error) {
      throw new ExecPolicyError(
        'WRITE_FAILED',
        `failed to update rules file ${file}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    this.refresh();
  }

  /**
   * Removes rules and returns how many: by index, the `list()` entry at that index (with any
   * identical rule in the same file); by pattern, every rule with exactly that pattern in any
   * rules file. Each changed file is rewritten atomically (temporary file, fsync, rename).
   */
  async remove(target: number | readonly PatternToken[]): Promise<number> {
    const rules = this.list();
    if (typeof target === 'number') {
      const rule = rules[target];
      if (!rule) throw new ExecPolicyError('NO_SUCH_RULE', `there is no rule at index ${target}`);
      return this.rewriteWithout(
        rule.file,
        (r) => samePattern(r.pattern, rule.pattern) && r.decision === rule.decision,
      );
    }
    let removed = 0;
    for (const file of new Set(rules.map((rule) => rule.file))) {
      removed += await this.rewriteWithout(file, (r) => samePattern(r.pattern, target));
    }
    return removed;
  }

  private async rewriteWithout(file: string, drop: (rule: PlacedRule) => boolean): Promise<number> {
    let removed = 0;
    try {
      await this.locked(file, async () => {
        const text = await readFile(file, 'utf8');
        const doomed = readRules(text, file).rules.filter(drop);
        if (doomed.length === 0) return;
        let kept = '';
        let at = 0;
        for (const rule of doomed) {
          const [from, to] = statementLines(text, rule.start, rule.end);
          kept += text.slice(at, from);
          at = to;
        }
        kept += text.slice(at);
        const temp = join(this.rulesDir, `.${basename(file)}.${process.pid}.${Date.now()}.tmp`);
        try {
          const handle = await open(temp, 'w');
          try {
            await handle.writeFile(kept);
            await handle.sync();
          } finally {
            await handle.close();
          }
          await rename(temp, file);
        } finally {
          await rm(temp, { force: true });
        }
        await syncDirectory(this.rulesDir);
        removed = doomed.length;
      });
    } catch (error) {
      throw new ExecPolicyError(
        'WRITE_FAILED',
        `failed to update rules file ${file}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    this.refresh();
    return removed;
  }
}

/** The whole lines a statement fills when nothing else is on them, else just the statement. */
function statementLines(text: string, start: number, end: number): [number, number] {
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const newline = text.indexOf('\n', end);
  const lineEnd = newline < 0 ? text.length : newline + 1;
  const before = text.slice(lineStart, start);
  const after = text.slice(end, lineEnd);
  if (/^[ \t]*$/.test(before) && /^[ \t]*(#.*)?\r?\n?$/.test(after)) return [lineStart, lineEnd];
  return [start, end];
}
