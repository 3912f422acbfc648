// Command safety: which commands are known to be read-only, which are dangerous, how a command is
// keyed for approvals and what it is shown as. Shell scripts are judged from a real parse with
// tree-sitter's bash grammar (the reference's `codex-rs/shell-command`), never by splitting strings.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { posix } from 'node:path';
import type { app } from '@tether/protocol';
import { Language, type Node, Parser } from 'web-tree-sitter';

/** A failure to load the bash grammar, or a sync function called before it loaded. */
export class ShellParserError extends Error {
  readonly code: 'NOT_LOADED' | 'LOAD_FAILED';

  constructor(code: 'NOT_LOADED' | 'LOAD_FAILED', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ShellParserError';
    this.code = code;
  }
}

let shellParser: Parser | undefined;
let loading: Promise<void> | undefined;

/** Where the bash grammar is loaded from: the `tree-sitter-bash` package's shipped wasm file. */
export function bashGrammarPath(): string {
  return createRequire(import.meta.url).resolve('tree-sitter-bash/tree-sitter-bash.wasm');
}

/**
 * Loads the bash grammar once (later calls return the same promise). Every sync function of this
 * module that parses a shell script needs it loaded and throws `ShellParserError` (`NOT_LOADED`)
 * otherwise. A failed load can be retried.
 */
export function loadShellParser(): Promise<void> {
  loading ??= (async () => {
    try {
      await Parser.init();
      const language = await Language.load(await readFile(bashGrammarPath()));
      const parser = new Parser();
      parser.setLanguage(language);
      shellParser = parser;
    } catch (error) {
      loading = undefined;
      throw new ShellParserError(
        'LOAD_FAILED',
        `failed to load the bash grammar: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  })();
  return loading;
}

/** True once `loadShellParser()` has finished. */
export function isShellParserLoaded(): boolean {
  return shellParser !== undefined;
}

/** Parses `script` and hands the root node to `read`; the tree is freed afterwards. */
function withTree<T>(script: string, read: (root: Node) => T): T | undefined {
  if (!shellParser) {
    throw new ShellParserError(
      'NOT_LOADED',
      'the bash grammar is not loaded: await loadShellParser() first',
    );
  }
  const tree = shellParser.parse(script);
  if (!tree) return undefined;
  try {
    return read(tree.rootNode);
  } finally {
    tree.delete();
  }
}

function children(node: Node): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < node.childCount; i++) {
    const child = node.child(i);
    if (child) out.push(child);
  }
  return out;
}

function namedChildren(node: Node): Node[] {
  const out: Node[] = [];
  for (let i = 0; i < node.namedChildCount; i++) {
    const child = node.namedChild(i);
    if (child) out.push(child);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plain scripts: plain commands joined by && || ; |
// ---------------------------------------------------------------------------------------------

/** Node kinds a plain script may contain (the reference's `ALLOWED_KINDS`). */
const PLAIN_NODE_KINDS = new Set([
  'program',
  'list',
  'pipeline',
  'command',
  'command_name',
  'word',
  'string',
  'string_content',
  'raw_string',
  'number',
  'concatenation',
]);

/** Anonymous tokens a plain script may contain (the reference's `ALLOWED_PUNCT_TOKENS`). */
const PLAIN_TOKENS = new Set(['&&', '||', ';', '|', '"', "'"]);

/** Nodes whose text between children must be blanks: a newline or a `\` continuation is not. */
const BLANK_GAP_KINDS = new Set(['program', 'list', 'pipeline', 'command', 'command_name']);

const BLANKS = /^[ \t]*$/;

/**
 * Characters that make an unquoted word expand at run time (globs, braces, tilde, escapes,
 * expansions, zsh's `^` and `#`), as the reference's `is_literal_word_or_number` lists them.
 */
const EXPANDING_CHARS = /[{}*?[\]\\~^#$`]/;

/** Backslash escapes that double quotes remove (so the source spelling is not the argument). */
const DOUBLE_QUOTE_ESCAPES = /\\[$`"\\\n]/;

function isLiteralWord(node: Node): boolean {
  if (node.namedChildCount !== 0) return false;
  const text = node.text;
  return !text.startsWith('=') && !EXPANDING_CHARS.test(text);
}

function gapsAreBlank(node: Node, kids: Node[], src: string): boolean {
  let at = node.startIndex;
  for (const kid of kids) {
    if (!BLANKS.test(src.slice(at, kid.startIndex))) return false;
    at = kid.endIndex;
  }
  return BLANKS.test(src.slice(at, node.endIndex));
}

function doubleQuotedValue(node: Node): string | undefined {
  if (node.type !== 'string') return undefined;
  if (namedChildren(node).some((part) => part.type !== 'string_content')) return undefined;
  const text = node.text;
  if (text.length < 2 || !text.startsWith('"') || !text.endsWith('"')) return undefined;
  const inner = text.slice(1, -1);
  return DOUBLE_QUOTE_ESCAPES.test(inner) ? undefined : inner;
}

function singleQuotedValue(node: Node): string | undefined {
  const text = node.text;
  if (text.length < 2 || !text.startsWith("'") || !text.endsWith("'")) return undefined;
  return text.slice(1, -1);
}

/** The value of one literal argument: a word, a number, a quoted string or a concatenation. */
function literalArgument(node: Node): string | undefined {
  switch (node.type) {
    case 'word':
    case 'number':
      return isLiteralWord(node) ? node.text : undefined;
    case 'string':
      return doubleQuotedValue(node);
    case 'raw_string':
      return singleQuotedValue(node);
    case 'concatenation': {
      let value = '';
      for (const part of namedChildren(node)) {
        if (part.type === 'concatenation') return undefined;
        const piece = literalArgument(part);
        if (piece === undefined) return undefined;
        value += piece;
      }
      return value === '' ? undefined : value;
    }
    default:
      return undefined;
  }
}

function plainCommandWords(command: Node): string[] | undefined {
  const words: string[] = [];
  for (const child of namedChildren(command)) {
    if (child.type === 'command_name') {
      const name = child.namedChildCount === 1 ? child.namedChild(0) : null;
      if (name?.type !== 'word' || !isLiteralWord(name)) return undefined;
      words.push(name.text);
      continue;
    }
    const word = literalArgument(child);
    if (word === undefined) return undefined;
    words.push(word);
  }
  return words.length > 0 ? words : undefined;
}

function plainCommandsOf(root: Node, src: string): string[][] | undefined {
  if (root.hasError) return undefined;
  if (!BLANKS.test(src.slice(0, root.startIndex)) || !BLANKS.test(src.slice(root.endIndex))) {
    return undefined;
  }
  const commands: Node[] = [];
  const stack: Node[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.isMissing) return undefined;
    const kind = node.type;
    if (node.isNamed) {
      if (!PLAIN_NODE_KINDS.has(kind)) return undefined;
      if ((kind === 'word' || kind === 'number') && !isLiteralWord(node)) return undefined;
      if (kind === 'command') commands.push(node);
    } else if (!PLAIN_TOKENS.has(kind)) {
      return undefined;
    }
    const kids = children(node);
    if (BLANK_GAP_KINDS.has(kind) && !gapsAreBlank(node, kids, src)) return undefined;
    stack.push(...kids);
  }
  if (commands.length === 0) return undefined;
  commands.sort((a, b) => a.startIndex - b.startIndex);
  const out: string[][] = [];
  for (const command of commands) {
    const words = plainCommandWords(command);
    if (!words) return undefined;
    out.push(words);
  }
  return out;
}

/**
 * The reference's `try_parse_word_only_commands_sequence`: the plain commands of `script` (each an
 * argv) when the script is only plain commands joined by `&&`, `||`, `;` and `|`, else undefined.
 * A plain command is literal words: unquoted words without anything the shell would expand,
 * single-quoted strings, double-quoted strings without expansions or escapes, and concatenations of
 * those. Anything else is not plain: a parse error, a subshell or group, any redirection or
 * heredoc, `&`, `|&`, `$(…)`, backticks, `$VAR` in any form, an assignment prefix, a comment, a
 * keyword (`if`, `for`, `!`, …), an empty segment, and a newline or `\` line continuation between
 * words (a newline inside quotes is part of the word). Needs `loadShellParser()`.
 */
export function parseWordOnlyCommands(script: string): string[][] | undefined {
  if (script.includes('\0')) return undefined;
  return withTree(script, (root) => plainCommandsOf(root, script));
}

// ---------------------------------------------------------------------------------------------
// Shell wrappers
// ---------------------------------------------------------------------------------------------

const SCRIPT_SHELLS = new Set(['bash', 'sh', 'zsh']);

/** The program key of an argv[0]: its basename (`/usr/bin/ls` → `ls`), undefined when empty. */
export function programName(arg0: string | undefined): string | undefined {
  if (arg0 === undefined) return undefined;
  const name = posix.basename(arg0);
  return name === '' || name === '.' || name === '..' ? undefined : name;
}

/** A `[bash|sh|zsh (any path), -c|-lc, script]` argv, exactly three elements. */
export interface ShellScriptCommand {
  shell: string;
  flag: '-c' | '-lc';
  script: string;
}

/** The reference's `extract_bash_command`: the shell, flag and script of a shell argv. */
export function extractShellScript(argv: readonly string[]): ShellScriptCommand | undefined {
  if (argv.length !== 3) return undefined;
  const [shell = '', flag, script = ''] = argv;
  if (flag !== '-c' && flag !== '-lc') return undefined;
  const name = programName(shell);
  if (name === undefined || !SCRIPT_SHELLS.has(name)) return undefined;
  return { shell, flag, script };
}

/** The plain commands of a `bash -lc` argv (`parse_shell_lc_plain_commands`). */
export function parseShellPlainCommands(argv: readonly string[]): string[][] | undefined {
  const shell = extractShellScript(argv);
  return shell ? parseWordOnlyCommands(shell.script) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Known-safe commands
// ---------------------------------------------------------------------------------------------

/** One rule of the known-safe table. */
export interface SafeCommandRule {
  /** The program key: the basename of argv[0]. */
  readonly program: string;
  /** When the program is safe, in words. */
  readonly when: string;
  /** Decides for a whole argv whose program key is `program`. */
  readonly isSafe: (argv: readonly string[]) => boolean;
}

const ALWAYS_SAFE = [
  'cat',
  'cd',
  'cut',
  'echo',
  'expr',
  'false',
  'grep',
  'head',
  'id',
  'ls',
  'nl',
  'paste',
  'pwd',
  'rev',
  'seq',
  'stat',
  'tail',
  'tr',
  'true',
  'uname',
  'uniq',
  'wc',
  'which',
  'whoami',
  'numfmt',
  'tac',
];

/** A cluster of short options (`-abc`, not `--long`, not `-`). */
function isShortCluster(arg: string): boolean {
  return arg.length > 1 && arg.startsWith('-') && !arg.startsWith('--');
}

/** `--out`, `--outp`, … `--output`, with or without `=value`: getopt accepts abbreviations. */
function isOutputLongOption(arg: string): boolean {
  if (!arg.startsWith('--')) return false;
  const name = arg.split('=', 1)[0] ?? '';
  return name.length > 2 && '--output'.startsWith(name);
}

const UNSAFE_FIND_OPTIONS = new Set([
  '-exec',
  '-execdir',
  '-ok',
  '-okdir',
  '-delete',
  '-fls',
  '-fprint',
  '-fprint0',
  '-fprintf',
]);

const UNSAFE_RG_FLAGS = new Set(['--search-zip', '-z']);
const UNSAFE_RG_OPTIONS_WITH_VALUES = ['--pre', '--hostname-bin'];

const SED_PRINT_RANGE = /^(\d+,)?\d+p$/;

/**
 * The known-safe table (the reference's `is_safe_to_call_with_exec`): programs that only read, and
 * the conditions for the few that can also write or run other programs. Anything not listed
 * (git, sort, tee, xargs, env, sudo, shells, …) is not known safe. Where the reference checks one
 * spelling of a flag, this table also catches the spellings the program accepts for it (short
 * option clusters, getopt abbreviations), so it is never less strict.
 */
export const SAFE_COMMAND_RULES: readonly SafeCommandRule[] = [
  ...ALWAYS_SAFE.map((program) => ({ program, when: 'always', isSafe: () => true })),
  {
    program: 'base64',
    when: 'without an output file: no -o, -oFILE, short cluster with o, --output[=…] or an abbreviation of it',
    isSafe: (argv) =>
      !argv
        .slice(1)
        .some((arg) => (isShortCluster(arg) && arg.includes('o')) || isOutputLongOption(arg)),
  },
  {
    program: 'find',
    when: `without ${[...UNSAFE_FIND_OPTIONS].join(' ')}`,
    isSafe: (argv) => !argv.slice(1).some((arg) => UNSAFE_FIND_OPTIONS.has(arg)),
  },
  {
    program: 'rg',
    when: 'without --search-zip, -z (alone or in a short cluster), --pre[=…], --hostname-bin[=…]',
    isSafe: (argv) =>
      !argv
        .slice(1)
        .some(
          (arg) =>
            UNSAFE_RG_FLAGS.has(arg) ||
            (isShortCluster(arg) && arg.includes('z')) ||
            UNSAFE_RG_OPTIONS_WITH_VALUES.some(
              (option) => arg === option || arg.startsWith(`${option}=`),
            ),
        ),
  },
  {
    program: 'sed',
    when: 'only as `sed -n N[,M]p [FILE]` (FILE not starting with -)',
    isSafe: (argv) =>
      argv.length <= 4 &&
      argv[1] === '-n' &&
      SED_PRINT_RANGE.test(argv[2] ?? '') &&
      !(argv[3] ?? '').startsWith('-'),
  },
];

const SAFE_RULES_BY_PROGRAM = new Map(SAFE_COMMAND_RULES.map((rule) => [rule.program, rule]));

/** The table's rule for a program key, if any. */
export function safeCommandRule(program: string): SafeCommandRule | undefined {
  return SAFE_RULES_BY_PROGRAM.get(program);
}

/**
 * True when `argv`, run directly (no shell), is known to only read: its program (the basename of
 * argv[0]) is in `SAFE_COMMAND_RULES` and the rule's condition holds.
 */
export function isKnownSafeCommand(argv: readonly string[]): boolean {
  const program = programName(argv[0]);
  if (program === undefined) return false;
  const rule = SAFE_RULES_BY_PROGRAM.get(program);
  return rule?.isSafe(argv) ?? false;
}

/**
 * The reference's `is_known_safe_command`: `argv` is itself known safe, or it is
 * `[bash|sh|zsh, -c|-lc, script]` whose script is a plain script (`parseWordOnlyCommands`) in
 * which every command is known safe. Needs `loadShellParser()`.
 */
export function isKnownSafeShellCommand(argv: readonly string[]): boolean {
  if (isKnownSafeCommand(argv)) return true;
  const commands = parseShellPlainCommands(argv);
  return commands?.every(isKnownSafeCommand) ?? false;
}

// ---------------------------------------------------------------------------------------------
// Dangerous commands
// ---------------------------------------------------------------------------------------------

function rmForces(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--force') return true;
    if (isShortCluster(arg) && arg.includes('f')) return true;
  }
  return false;
}

function isDangerousExec(argv: readonly string[]): boolean {
  const program = programName(argv[0]);
  if (program === 'rm') return rmForces(argv.slice(1));
  if (program === 'sudo') return isDangerousExec(argv.slice(1));
  return false;
}

function literalCommandWords(command: Node): string[] | undefined {
  const words: string[] = [];
  let named = false;
  for (const child of namedChildren(command)) {
    if (child.type === 'command_name') {
      const name = child.namedChild(0);
      const word = name ? literalArgument(name) : undefined;
      if (word === undefined) return undefined;
      words.push(word);
      named = true;
    } else if (named) {
      const word = literalArgument(child);
      if (word !== undefined) words.push(word);
    }
  }
  return named ? words : undefined;
}

/**
 * The reference's `parse_shell_lc_literal_commands`: the statically known words of every command in
 * any script that parses, wherever it sits (pipelines, loops, substitutions). Dynamic words and
 * redirections are left out, so this can find a dangerous command but never prove a script safe.
 */
export function parseLiteralCommands(script: string): string[][] | undefined {
  return withTree(script, (root) => {
    if (root.hasError) return undefined;
    const commands: { at: number; words: string[] }[] = [];
    const stack: Node[] = [root];
    for (let node = stack.pop(); node; node = stack.pop()) {
      if (node.type === 'command') {
        const words = literalCommandWords(node);
        if (words) commands.push({ at: node.startIndex, words });
      }
      stack.push(...namedChildren(node));
    }
    return commands.sort((a, b) => a.at - b.at).map((command) => command.words);
  });
}

/**
 * The reference's `command_might_be_dangerous`: `rm` with a force flag (`-f`, `-rf`, `-fr`,
 * `--force`, `-r … -f`, before any `--`), or `sudo` of a dangerous command; for a
 * `[bash|sh|zsh, -c|-lc, script]` argv, any literal command anywhere in the script. Needs
 * `loadShellParser()`.
 */
export function isDangerousCommand(argv: readonly string[]): boolean {
  if (isDangerousExec(argv)) return true;
  const shell = extractShellScript(argv);
  if (!shell) return false;
  return (parseLiteralCommands(shell.script) ?? []).some(isDangerousExec);
}

// ---------------------------------------------------------------------------------------------
// Approvals: the cache key, the commands rules are matched against, the proposed amendment
// ---------------------------------------------------------------------------------------------

/** The first element of the approval key of a shell script that is not one plain command. */
export const CANONICAL_SHELL_SCRIPT_PREFIX = '__codex_shell_script__';

/**
 * The reference's `canonicalize_command_for_approval` (the acceptForSession key): a shell argv
 * whose script is exactly one plain command becomes that command's words (so `/bin/bash -lc
 * "touch  a.txt"` and `bash -lc "touch a.txt"` share a key); any other shell script becomes
 * `["__codex_shell_script__", flag, script]`; any other argv is returned as is.
 */
export function canonicalizeCommandForApproval(argv: readonly string[]): string[] {
  const shell = extractShellScript(argv);
  if (!shell) return [...argv];
  const commands = parseWordOnlyCommands(shell.script);
  const [single] = commands ?? [];
  if (commands?.length === 1 && single) return single;
  return [CANONICAL_SHELL_SCRIPT_PREFIX, shell.flag, shell.script];
}

/** Heredoc pieces a single command may carry and still be matched by its words. */
const HEREDOC_ATTACHMENT_KINDS = new Set([
  'heredoc_body',
  'simple_heredoc_body',
  'heredoc_redirect',
  'herestring_redirect',
  'redirected_statement',
  'comment',
]);

function hasDescendant(root: Node, kind: string): boolean {
  const stack: Node[] = [root];
  for (let node = stack.pop(); node; node = stack.pop()) {
    if (node.type === kind) return true;
    stack.push(...namedChildren(node));
  }
  return false;
}

/**
 * The reference's `parse_shell_lc_single_command_prefix`: for a script with a heredoc and exactly
 * one command (`python3 <<'PY' … PY`), that command's literal words (here `["python3"]`).
 */
function heredocCommandPrefix(script: string): string[] | undefined {
  return withTree(script, (root) => {
    if (root.hasError) return undefined;
    if (!hasDescendant(root, 'heredoc_redirect') || hasDescendant(root, 'file_redirect')) {
      return undefined;
    }
    let single: Node | undefined;
    const stack: Node[] = [root];
    for (let node = stack.pop(); node; node = stack.pop()) {
      if (node.type === 'command') {
        if (single) return undefined;
        single = node;
      }
      stack.push(...namedChildren(node));
    }
    if (!single) return undefined;
    const words: string[] = [];
    for (const child of namedChildren(single)) {
      const word = child.type === 'command_name' ? child.namedChild(0) : child;
      if (!word) return undefined;
      if (word.type === 'word' || word.type === 'number') {
        if (!isLiteralWord(word)) return undefined;
        words.push(word.text);
      } else if (!HEREDOC_ATTACHMENT_KINDS.has(word.type)) {
        return undefined;
      }
    }
    return words.length > 0 ? words : undefined;
  });
}

/** What exec-policy rules are matched against (the reference's `commands_for_exec_policy`). */
export interface ExecPolicyCommands {
  /** The plain script's commands, a heredoc script's single command, or the argv itself. */
  commands: string[][];
  /** True for the heredoc case: rules may allow it, but no amendment is proposed for it. */
  complexParsing: boolean;
}

/**
 * The commands exec-policy rules are matched against: the commands of a plain shell script, else
 * the words of a heredoc script's single command (`complexParsing`), else the whole argv. Needs
 * `loadShellParser()` for shell argvs.
 */
export function commandsForExecPolicy(argv: readonly string[]): ExecPolicyCommands {
  const shell = extractShellScript(argv);
  if (shell) {
    const commands = parseWordOnlyCommands(shell.script);
    if (commands) return { commands, complexParsing: false };
    const prefix = heredocCommandPrefix(shell.script);
    if (prefix) return { commands: [prefix], complexParsing: true };
  }
  return { commands: [[...argv]], complexParsing: false };
}

/**
 * The reference's `proposedExecpolicyAmendment`: the first command of `commandsForExecPolicy(argv)`
 * that `isAllowed` does not skip, so for a plain script the whole first such command
 * (`touch e.txt && rm e.txt` → `["touch","e.txt"]`, or `["rm","e.txt"]` once `touch` is allowed)
 * and for any other script the whole argv (`["/bin/bash","-lc",script]`). Undefined when every
 * command is allowed, and for a heredoc script. `isAllowed` says which commands the caller will
 * not ask about (for example those matched by an allow rule); by default none are skipped, as
 * under the reference's `untrusted` policy, which asks even for `ls`.
 */
export function proposedPrefixAmendment(
  argv: readonly string[],
  isAllowed: (command: readonly string[]) => boolean = () => false,
): string[] | undefined {
  const { commands, complexParsing } = commandsForExecPolicy(argv);
  if (complexParsing) return undefined;
  return commands.find((command) => !isAllowed(command));
}

// ---------------------------------------------------------------------------------------------
// Display: shlex quoting and the parsed command actions
// ---------------------------------------------------------------------------------------------

const UNQUOTED_OK = /^[+\-./:@\]_0-9A-Za-z]$/;

type Quoting = 'unquoted' | 'single' | 'double';

/** One chunk of a word and the quoting it gets (Rust shlex 1.3's `quoting_strategy`). */
function quotingChunk(chars: string[], from: number): [number, Quoting] {
  let unquoted = true;
  let single = true;
  let double = true;
  let i = from;
  if (chars[i] === '^') {
    unquoted = false;
    double = false;
    i++;
  }
  for (; i < chars.length; i++) {
    const c = chars[i] ?? '';
    let u: boolean = unquoted;
    let s: boolean = single;
    let d: boolean = double;
    if ((c.codePointAt(0) ?? 0) >= 0x80) {
      u = false;
    } else {
      if (!UNQUOTED_OK.test(c)) u = false;
      if (c === "'" || c === '^' || c === '\\') s = false;
      if (c === '`' || c === '$' || c === '!' || c === '^') d = false;
    }
    if (!u && !s && !d) break;
    unquoted = u;
    single = s;
    double = d;
  }
  return [i, unquoted ? 'unquoted' : single ? 'single' : 'double'];
}

/** Quotes one word the way Rust's shlex 1.3 `try_quote` does (what the reference displays). */
export function shlexQuote(word: string): string {
  if (word === '') return "''";
  const chars = [...word];
  let out = '';
  for (let at = 0; at < chars.length; ) {
    const [chunkEnd, quoting] = quotingChunk(chars, at);
    const end = Math.max(chunkEnd, at + 1);
    const chunk = chars.slice(at, end).join('');
    if (quoting === 'unquoted') {
      if (at === 0 && end === chars.length) return word;
      out += chunk;
    } else if (quoting === 'single') {
      out += `'${chunk}'`;
    } else {
      out += `"${chunk.replace(/[$`"\\]/g, '\\$&')}"`;
    }
    at = end;
  }
  return out;
}

/** Joins words with spaces, quoting each as Rust's shlex `try_join` does (the reference's display). */
export function shlexJoin(words: readonly string[]): string {
  if (words.some((word) => word.includes('\0'))) return '<command included NUL byte>';
  return words.map(shlexQuote).join(' ');
}

/**
 * The reference's `short_display_path`: the last path component that is not `build`, `dist`,
 * `node_modules` or `src` (`webview/src` → `webview`, `/etc/hostname` → `hostname`).
 */
export function shortDisplayPath(path: string): string {
  const trimmed = path.replaceAll('\\', '/').replace(/\/+$/, '');
  const parts = trimmed.split('/').reverse();
  const part = parts.find(
    (p) => p !== '' && p !== 'build' && p !== 'dist' && p !== 'node_modules' && p !== 'src',
  );
  return part ?? trimmed;
}

/** Operands of an argument list: not flags, not `--flag=value`, not the values of `withValues`. */
function operands(args: readonly string[], withValues: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      out.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.includes('=')) continue;
    if (withValues.includes(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    out.push(arg);
  }
  return out;
}

function joinCwd(cwd: string, path: string): string {
  if (path.startsWith('/')) return path;
  return cwd.endsWith('/') ? `${cwd}${path}` : `${cwd}/${path}`;
}

/** Options that take a value, per listing program (so the value is not taken for the path). */
const LISTING_OPTIONS_WITH_VALUES: Record<string, readonly string[]> = {
  ls: ['-I', '-w', '--block-size', '--format', '--time-style', '--color', '--quoting-style'],
  eza: ['-I', '--ignore-glob', '--color', '--sort', '--time-style', '--time'],
  exa: ['-I', '--ignore-glob', '--color', '--sort', '--time-style', '--time'],
  tree: ['-L', '-P', '-I', '--charset', '--filelimit', '--sort'],
  du: ['-d', '--max-depth', '-B', '--block-size', '--exclude', '--time-style'],
};
const RG_OPTIONS_WITH_VALUES = [
  '-g',
  '--glob',
  '--iglob',
  '-t',
  '--type',
  '--type-add',
  '--type-not',
  '-m',
  '--max-count',
  '-A',
  '-B',
  '-C',
  '--context',
  '--max-depth',
];
const GREP_OPTIONS_WITH_VALUES = [
  '-m',
  '--max-count',
  '-C',
  '--context',
  '-A',
  '--after-context',
  '-B',
  '--before-context',
];
const FIND_QUERY_OPTIONS = new Set(['-name', '-iname', '-path', '-regex']);

function grepSearch(command: string, args: readonly string[]): app.CommandAction {
  let pattern: string | undefined;
  const found: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      found.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-e' || arg === '--regexp' || arg === '-f' || arg === '--file') {
      pattern ??= args[i + 1];
      i++;
    } else if (GREP_OPTIONS_WITH_VALUES.includes(arg)) {
      i++;
    } else if (!arg.startsWith('-')) {
      found.push(arg);
    }
  }
  const query = pattern ?? found[0] ?? null;
  const path = found[pattern === undefined ? 1 : 0];
  return {
    type: 'search',
    command,
    query,
    path: path === undefined ? null : shortDisplayPath(path),
  };
}

/** `sed -n [-e] N[,M]p FILE`: the file it prints lines of. */
function sedReadPath(args: readonly string[]): string | undefined {
  if (!args.includes('-n')) return undefined;
  let range = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-e' || arg === '--expression') {
      if (SED_PRINT_RANGE.test(args[i + 1] ?? '')) range = true;
      i++;
    } else if (arg === '-f' || arg === '--file') {
      i++;
    } else if (!arg.startsWith('-') && SED_PRINT_RANGE.test(arg)) {
      range = true;
    }
  }
  if (!range) return undefined;
  const [first, second] = operands(args, ['-e', '-f', '--expression', '--file']);
  if (first === undefined) return undefined;
  return SED_PRINT_RANGE.test(first) ? second : first;
}

/** `head`/`tail` with `-n N` (or `-nN`) and a file, or just a file. */
function headTailReadPath(args: readonly string[], allowPlus: boolean): string | undefined {
  const count = (value: string | undefined): boolean => {
    const digits = allowPlus && value?.startsWith('+') ? value.slice(1) : value;
    return digits !== undefined && /^\d+$/.test(digits);
  };
  const [first, second] = args;
  if (first === '-n' && count(second)) return args.slice(2).find((arg) => !arg.startsWith('-'));
  if (first?.startsWith('-n') && count(first.slice(2))) {
    return args.slice(1).find((arg) => !arg.startsWith('-'));
  }
  return args.length === 1 && first !== undefined && !first.startsWith('-') ? first : undefined;
}

function readAction(command: string, path: string, cwd: string): app.CommandAction {
  return { type: 'read', command, name: shortDisplayPath(path), path: joinCwd(cwd, path) };
}

/** Classifies one command's words (a subset of the reference's `summarize_main_tokens`). */
function summarize(words: readonly string[], cwd: string): app.CommandAction | undefined {
  const [head = '', ...args] = words;
  const command = shlexJoin(words);
  const pathOrNull = (path: string | undefined): string | null =>
    path === undefined ? null : shortDisplayPath(path);
  switch (head) {
    case 'ls':
    case 'eza':
    case 'exa':
    case 'tree':
    case 'du':
      return {
        type: 'listFiles',
        command,
        path: pathOrNull(operands(args, LISTING_OPTIONS_WITH_VALUES[head])[0]),
      };
    case 'rg':
    case 'rga': {
      const found = operands(args, RG_OPTIONS_WITH_VALUES);
      if (args.includes('--files'))
        return { type: 'listFiles', command, path: pathOrNull(found[0]) };
      return { type: 'search', command, query: found[0] ?? null, path: pathOrNull(found[1]) };
    }
    case 'grep':
    case 'egrep':
    case 'fgrep':
      return grepSearch(command, args);
    case 'find': {
      const root = args.find((arg) => !arg.startsWith('-') && !['!', '(', ')'].includes(arg));
      const at = args.findIndex((arg) => FIND_QUERY_OPTIONS.has(arg));
      const query = at >= 0 ? args[at + 1] : undefined;
      if (query !== undefined) return { type: 'search', command, query, path: pathOrNull(root) };
      return { type: 'listFiles', command, path: pathOrNull(root) };
    }
    case 'cat':
    case 'more': {
      const found = operands(args);
      return found.length === 1 && found[0] !== undefined
        ? readAction(command, found[0], cwd)
        : undefined;
    }
    case 'head':
    case 'tail': {
      const path = headTailReadPath(args, head === 'tail');
      return path === undefined ? undefined : readAction(command, path, cwd);
    }
    case 'nl': {
      const path = operands(args, ['-s', '-w', '-v', '-i', '-b'])[0];
      return path === undefined ? undefined : readAction(command, path, cwd);
    }
    case 'sed': {
      const path = sedReadPath(args);
      return path === undefined ? undefined : readAction(command, path, cwd);
    }
    default:
      return undefined;
  }
}

/**
 * The `commandActions` of an approval request or a `commandExecution` item (the reference's
 * `parse_command`, a subset): a single command is `listFiles` (ls, eza, exa, tree, du, rg --files,
 * find without a name filter), `search` (rg, grep, egrep, fgrep, find -name/-iname/-path/-regex),
 * `read` (cat, more, head/tail with a file, nl, sed -n N,Mp FILE; `path` is made absolute against
 * `cwd`, `name` is its last component) or `unknown`. A shell script of one plain command is that
 * command (shown shlex-joined); any other script, compound ones included, is one `unknown` action
 * holding the whole script. Needs `loadShellParser()` for shell argvs.
 */
export function commandActions(argv: readonly string[], cwd: string): app.CommandAction[] {
  const shell = extractShellScript(argv);
  if (shell) {
    const commands = parseWordOnlyCommands(shell.script);
    const [single] = commands ?? [];
    const action = commands?.length === 1 && single ? summarize(single, cwd) : undefined;
    return [action ?? { type: 'unknown', command: shell.script }];
  }
  return [summarize(argv, cwd) ?? { type: 'unknown', command: shlexJoin(argv) }];
}
