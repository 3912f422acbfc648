import { existsSync } from 'node:fs';
import fc from 'fast-check';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  bashGrammarPath,
  CANONICAL_SHELL_SCRIPT_PREFIX,
  canonicalizeCommandForApproval,
  commandActions,
  commandsForExecPolicy,
  extractShellScript,
  isDangerousCommand,
  isKnownSafeCommand,
  isKnownSafeShellCommand,
  loadShellParser,
  parseLiteralCommands,
  parseWordOnlyCommands,
  proposedPrefixAmendment,
  SAFE_COMMAND_RULES,
  ShellParserError,
  safeCommandRule,
  shlexJoin,
  shlexQuote,
  shortDisplayPath,
} from './command-safety.js';

beforeAll(async () => {
  await loadShellParser();
});

const bash = (script: string): string[] => ['bash', '-lc', script];

describe('loading the bash grammar', () => {
  it('loads the wasm shipped in the tree-sitter-bash package', () => {
    const path = bashGrammarPath();
    expect(path).toMatch(/[/\\]tree-sitter-bash[/\\]tree-sitter-bash\.wasm$/);
    expect(existsSync(path)).toBe(true);
  });

  it('refuses to parse before it is loaded, and loading twice is one load', async () => {
    vi.resetModules();
    const fresh = await import('./command-safety.js');
    expect(fresh.isShellParserLoaded()).toBe(false);
    let thrown: unknown;
    try {
      fresh.parseWordOnlyCommands('ls');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(fresh.ShellParserError);
    expect(thrown).toMatchObject({ code: 'NOT_LOADED' });
    const first = fresh.loadShellParser();
    expect(fresh.loadShellParser()).toBe(first);
    await first;
    expect(fresh.isShellParserLoaded()).toBe(true);
    expect(fresh.parseWordOnlyCommands('ls')).toEqual([['ls']]);
    expect(new ShellParserError('NOT_LOADED', 'x').code).toBe('NOT_LOADED');
  });
});

describe('parseWordOnlyCommands accepts plain commands', () => {
  it.each<[string, string, string[][]]>([
    ['one command', 'ls -1', [['ls', '-1']]],
    [
      'commands joined by && ; and |',
      "ls && pwd; echo 'hi there' | wc -l",
      [['ls'], ['pwd'], ['echo', 'hi there'], ['wc', '-l']],
    ],
    ['||', 'grep -R "x" -n || true', [['grep', '-R', 'x', '-n'], ['true']]],
    ['a double-quoted string', 'echo "hello world"', [['echo', 'hello world']]],
    ['a single-quoted string, raw', "echo 'a $HOME `x` \\n'", [['echo', 'a $HOME `x` \\n']]],
    ['a newline inside double quotes', 'echo "line1\nline2"', [['echo', 'line1\nline2']]],
    ['a backslash that double quotes keep', 'echo "\\n"', [['echo', '\\n']]],
    ['mixed quote concatenation', `echo "/usr"'/'"local"/bin`, [['echo', '/usr/local/bin']]],
    ['a flag glued to a quoted value', 'rg -n "foo" -g"*.py"', [['rg', '-n', 'foo', '-g*.py']]],
    ['numbers', 'echo 123 -1', [['echo', '123', '-1']]],
    ['empty quoted words', `echo "" ''`, [['echo', '', '']]],
    ['quoted special characters', `echo "~HOME" 'HEAD^' '*?'`, [['echo', '~HOME', 'HEAD^', '*?']]],
    ['blanks around and between words', ' \tls \t -la  ', [['ls', '-la']]],
    ['a trailing ; (a terminator, not an empty command)', 'ls;', [['ls']]],
    ['non-ASCII words', 'echo héllo 😀', [['echo', 'héllo', '😀']]],
  ])('%s', (_name, script, expected) => {
    expect(parseWordOnlyCommands(script)).toEqual(expected);
  });
});

describe('parseWordOnlyCommands rejects everything else', () => {
  it.each<[string, string]>([
    ['an empty script', ''],
    ['a blank script', '   '],
    ['a parse error (trailing &&)', 'ls &&'],
    ['a leading operator', '&& ls'],
    ['a leading ;', '; ls'],
    [';;', 'ls ;; pwd'],
    ['an empty pipeline segment', 'ls | | wc'],
    ['a trailing pipe', 'cat x |'],
    ['a subshell', '(ls)'],
    ['a nested subshell', 'ls || (pwd && echo hi)'],
    ['a group', '{ ls; }'],
    ['> redirection', 'ls > out.txt'],
    ['>> redirection', 'ls >> out.txt'],
    ['< redirection', 'cat < /etc/passwd'],
    ['fd duplication', 'ls 2>&1'],
    ['&> redirection', 'ls &> out'],
    ['a heredoc', 'cat <<EOF\nx\nEOF'],
    ['a herestring', 'cat <<< x'],
    ['& (background)', 'echo hi & echo bye'],
    ['a trailing &', 'ls &'],
    ['|&', 'ls |& wc'],
    ['$(…)', 'echo $(pwd)'],
    ['backticks', 'echo `pwd`'],
    ['$VAR', 'echo $HOME'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    ['${VAR}', 'echo ${HOME}'],
    ['$VAR inside double quotes', 'echo "hi $USER"'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
    ['${VAR} inside double quotes', 'echo "hi ${USER}"'],
    ['$(…) inside double quotes', 'echo "$(rm -rf /)"'],
    ['$VAR glued to a flag', 'rg -g"$VAR" pattern'],
    ['a lone trailing $', 'echo a$'],
    ['arithmetic expansion', 'echo $((1+2))'],
    ['process substitution', 'diff <(ls) <(ls)'],
    ['an assignment prefix', 'FOO=bar ls'],
    ['a declaration', 'export X=1'],
    ['a comment', 'ls # listing'],
    ['a newline between commands', 'ls\ntouch /tmp/pwned'],
    ['a newline after &&', 'ls &&\ntouch x'],
    ['a trailing newline', 'ls\n'],
    ['a \\ line continuation', 'ls \\\n-la'],
    ['a carriage return', 'ls\r'],
    ['an escaped quote in double quotes', 'echo "a \\"b\\" c"'],
    ['an escaped backslash in double quotes', 'echo "\\\\"'],
    ['an escaped $ in double quotes', 'echo "\\$HOME"'],
    ['a \\ newline in double quotes', 'find . "-de\\\nlete"'],
    ['a backslash in a word', 'find . -de\\lete'],
    ['a glob *', 'find . -del*'],
    ['a glob ?', 'find . -delet?'],
    ['a glob [ ]', 'find . -delet[e]'],
    ['a brace expansion', 'find . -{delete,print}'],
    ['a tilde', 'echo ~'],
    ['a tilde inside a word', 'echo HEAD~1'],
    ['zsh ^', 'echo foo^bar'],
    ['zsh # inside a word', 'echo foo#bar'],
    ['zsh =cmd', 'echo =sh'],
    ['a quoted command name', '"ls" -la'],
    ['a negation', '! ls'],
    ['if', 'if true; then ls; fi'],
    ['for', 'for a in 1; do ls; done'],
    ['a test command', '[[ -f x ]]'],
    ['a function definition', 'f() { ls; }'],
    ['a NUL character', 'ls\0x'],
  ])('%s', (_name, script) => {
    expect(parseWordOnlyCommands(script)).toBeUndefined();
  });
});

describe('extractShellScript', () => {
  it('takes bash, sh and zsh by any path with -c or -lc, exactly three elements', () => {
    expect(extractShellScript(['/bin/bash', '-lc', 'ls'])).toEqual({
      shell: '/bin/bash',
      flag: '-lc',
      script: 'ls',
    });
    expect(extractShellScript(['sh', '-c', 'ls'])?.script).toBe('ls');
    expect(extractShellScript(['/usr/bin/zsh', '-lc', 'ls'])?.script).toBe('ls');
    expect(extractShellScript(['bash', '-lc', 'git', 'status'])).toBeUndefined();
    expect(extractShellScript(['bash', '-x', 'ls'])).toBeUndefined();
    expect(extractShellScript(['python3', '-c', 'print(1)'])).toBeUndefined();
    expect(extractShellScript(['fish', '-c', 'ls'])).toBeUndefined();
  });
});

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

describe('the known-safe table', () => {
  it('lists exactly the reference programs', () => {
    expect(SAFE_COMMAND_RULES.map((rule) => rule.program).sort()).toEqual(
      [...ALWAYS_SAFE, 'base64', 'find', 'rg', 'sed'].sort(),
    );
    expect(safeCommandRule('ls')?.when).toBe('always');
    expect(safeCommandRule('git')).toBeUndefined();
  });

  it.each(ALWAYS_SAFE)('%s is always safe, by name or by path', (program) => {
    expect(isKnownSafeCommand([program])).toBe(true);
    expect(isKnownSafeCommand([`/usr/bin/${program}`, '-x', 'some file'])).toBe(true);
  });

  it('base64 is safe without an output file', () => {
    expect(isKnownSafeCommand(['base64'])).toBe(true);
    expect(isKnownSafeCommand(['base64', '-d', '-w0', 'in.txt'])).toBe(true);
    for (const args of [
      ['-o', 'out.bin'],
      ['--output', 'out.bin'],
      ['--output=out.bin'],
      ['-ob64.txt'],
      ['-do', 'out.bin'],
      ['--out=x'],
    ]) {
      expect(isKnownSafeCommand(['base64', ...args]), args.join(' ')).toBe(false);
    }
  });

  it('find is safe without options that run, delete or write', () => {
    expect(isKnownSafeCommand(['find', '.', '-name', 'file.txt', '-type', 'f'])).toBe(true);
    for (const option of [
      '-exec',
      '-execdir',
      '-ok',
      '-okdir',
      '-delete',
      '-fls',
      '-fprint',
      '-fprint0',
      '-fprintf',
    ]) {
      expect(isKnownSafeCommand(['find', '.', option, 'x']), option).toBe(false);
    }
  });

  it('rg is safe without zip search, --pre or --hostname-bin', () => {
    expect(isKnownSafeCommand(['rg', '-n', 'TODO', 'src', '--pre-glob', '*.gz'])).toBe(true);
    for (const args of [
      ['--search-zip'],
      ['-z'],
      ['-nz'],
      ['--pre', 'pwned'],
      ['--pre=pwned'],
      ['--hostname-bin', 'pwned'],
      ['--hostname-bin=pwned'],
    ]) {
      expect(isKnownSafeCommand(['rg', ...args, 'pattern']), args.join(' ')).toBe(false);
    }
  });

  it('sed is safe only as sed -n N[,M]p [FILE]', () => {
    expect(isKnownSafeCommand(['sed', '-n', '1p'])).toBe(true);
    expect(isKnownSafeCommand(['sed', '-n', '1,5p', 'file.txt'])).toBe(true);
    for (const argv of [
      ['sed', '-n', 'xp', 'file.txt'],
      ['sed', '-n', '1,2,3p', 'file.txt'],
      ['sed', '-n', '1p', 'a', 'b'],
      ['sed', '-i', 's/a/b/', 'file.txt'],
      ['sed', '-n', '1p', '-i'],
      ['sed', 's/a/b/', 'file.txt'],
      ['sed', '-n', '1w /tmp/x'],
    ]) {
      expect(isKnownSafeCommand(argv), argv.join(' ')).toBe(false);
    }
  });

  it.each<[string, string[]]>([
    ['git status', ['git', 'status']],
    ['git -c core.pager=x log', ['git', '-c', 'core.pager=x', 'log']],
    ['sort (not listed at all)', ['sort', 'x']],
    ['sort -o', ['sort', '-o', '/tmp/pwned', '/etc/hostname']],
    ['tee', ['tee', 'x']],
    ['xargs', ['xargs', 'ls']],
    ['env', ['env', 'ls']],
    ['sudo', ['sudo', 'ls']],
    ['sh -c', ['sh', '-c', 'ls']],
    ['rm', ['rm', 'x']],
    ['touch', ['touch', 'x']],
    ['an empty argv', []],
    ['an empty program', ['']],
  ])('%s is not known safe', (_name, argv) => {
    expect(isKnownSafeCommand(argv)).toBe(false);
  });
});

describe('isKnownSafeShellCommand', () => {
  it.each<[string, string[]]>([
    ['bash -lc of one safe command', bash('ls -la')],
    ['sh -c', ['sh', '-c', 'ls']],
    ['zsh by path', ['/bin/zsh', '-lc', 'ls']],
    ['a sequence of safe commands', bash('ls && pwd; echo hi | wc -l')],
    ['|| true', bash('grep -R "Cargo.toml" -n || true')],
    ['sed -n with a quoted range', bash("sed -n '1,5p' file.txt")],
    ['a safe argv run directly', ['cat', 'README.md']],
  ])('%s is safe', (_name, argv) => {
    expect(isKnownSafeShellCommand(argv)).toBe(true);
  });

  it.each<[string, string[]]>([
    ['ls && rm -rf /', bash('ls && rm -rf /')],
    ['a newline then touch', bash('ls …\ntouch /tmp/pwned')],
    ['sort -o', bash('sort -o /tmp/pwned /etc/hostname')],
    ['find -delete', bash('find . -delete')],
    ['rg --pre', bash('rg --pre x pattern')],
    ['git -c core.pager', bash('git -c core.pager=x log')],
    ['sed -i', bash("sed -i 's/a/b/' file.txt")],
    ['a pipe to tee', bash('ls | tee /tmp/pwned')],
    ['a pipe to xargs', bash('ls | xargs rm')],
    ['env', bash('env ls')],
    ['sh -c of an unsafe command', bash('sh -c "touch x"')],
    ['sh -c of a safe command (a shell is never known safe inside a script)', bash('sh -c ls')],
    ['the whole script quoted as one program', bash("'git status'")],
    ['four elements', ['bash', '-lc', 'git', 'status']],
    ['a redirect', bash('ls > out.txt')],
    ['a subshell', bash('(ls)')],
    ['an unparsable script', bash('ls &&')],
  ])('%s is not safe', (_name, argv) => {
    expect(isKnownSafeShellCommand(argv)).toBe(false);
  });
});

/** A plain command of an always-safe program with argument words that need no quoting. */
const safeCommand = fc
  .tuple(
    fc.constantFrom(...ALWAYS_SAFE),
    fc.array(fc.stringMatching(/^[a-zA-Z0-9_./-]{1,10}$/), { maxLength: 4 }),
  )
  .map(([program, args]) => [program, ...args].join(' '));

const unsafeCommand = fc.constantFrom(
  'rm -rf /tmp/x',
  'touch /tmp/pwned',
  'sh -c id',
  'tee /tmp/pwned',
  'xargs rm',
  'git status',
  'sort -o /tmp/pwned /etc/hostname',
  'python3 x.py',
);

/** Shell constructs that, added to a safe command, make the script not provably safe. */
const unsafeConstructs: [string, (safe: string, other: string, unsafe: string) => string][] = [
  ['a newline, then anything', (s, o) => `${s}\n${o}`],
  ['; then an unsafe command', (s, _o, u) => `${s}; ${u}`],
  ['&& then an unsafe command', (s, _o, u) => `${s} && ${u}`],
  ['|| then an unsafe command', (s, _o, u) => `${s} || ${u}`],
  ['| to an unsafe program', (s, _o, u) => `${s} | ${u}`],
  ['& (background)', (s) => `${s} &`],
  ['& then a command', (s, o) => `${s} & ${o}`],
  ['> redirect', (s) => `${s} > /tmp/pwned`],
  ['>> redirect', (s) => `${s} >> /tmp/pwned`],
  ['< redirect', (s) => `${s} < /etc/shadow`],
  ['&> redirect', (s) => `${s} &> /tmp/pwned`],
  ['fd redirect', (s) => `${s} 2>/tmp/pwned`],
  ['a heredoc', (s) => `${s} <<EOF\nx\nEOF`],
  ['a herestring', (s) => `${s} <<< x`],
  ['$(…)', (s, o) => `${s} $(${o})`],
  ['backticks', (s, o) => `${s} \`${o}\``],
  ['$VAR', (s) => `${s} $HOME`],
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion
  ['${VAR}', (s) => `${s} \${HOME}`],
  ['"$VAR"', (s) => `${s} "$HOME"`],
  ['"$(…)"', (s, o) => `${s} "$(${o})"`],
  ['<(…)', (s, o) => `${s} <(${o})`],
  ['a subshell', (s) => `(${s})`],
  ['a subshell after &&', (s, o) => `${s} && (${o})`],
  ['a { group; }', (s) => `{ ${s}; }`],
  ['an assignment prefix', (s) => `FOO=bar ${s}`],
  ['a glob', (s) => `${s} *`],
  ['a tilde', (s) => `${s} ~`],
  ['a brace expansion', (s) => `${s} {a,b}`],
  ['a comment', (s) => `${s} # c`],
  ['a negation', (s) => `! ${s}`],
  ['if', (s, o) => `if ${s}; then ${o}; fi`],
  ['a line continuation', (s) => `${s} \\\n-x`],
];

describe('known-safe properties', () => {
  it('a safe command, and a chain of safe commands, stay safe', () => {
    fc.assert(
      fc.property(safeCommand, safeCommand, fc.constantFrom('&&', '||', ';', '|'), (a, b, op) => {
        expect(isKnownSafeShellCommand(bash(a))).toBe(true);
        expect(isKnownSafeShellCommand(bash(`${a} ${op} ${b}`))).toBe(true);
      }),
    );
  });

  it.each(unsafeConstructs)('adding %s to a safe command makes it unsafe', (_name, build) => {
    fc.assert(
      fc.property(safeCommand, safeCommand, unsafeCommand, (safe, other, unsafe) => {
        expect(isKnownSafeShellCommand(bash(build(safe, other, unsafe)))).toBe(false);
      }),
      { numRuns: 50 },
    );
  });
});

describe('isDangerousCommand', () => {
  it.each<[string, string[]]>([
    ['rm -rf', ['rm', '-rf', '/']],
    ['rm -f', ['rm', '-f', '/']],
    ['/bin/rm -fr', ['/bin/rm', '-fr', '/tmp/example']],
    ['rm -r -f', ['rm', '-r', '-f', '/tmp/example']],
    ['rm --force', ['rm', '--force', '/tmp/example']],
    ['rm with -f last', ['rm', '/tmp/example', '-f']],
    ['sudo rm -rf', ['sudo', 'rm', '-rf', '/tmp/example']],
    ['rm -rf in a pipeline', bash('printf x | rm -rf /tmp/example')],
    ['rm --force in an if', bash('if test -d /tmp/x; then rm --force /tmp/x; fi')],
    ['rm -rf with an expansion and a redirect', bash('rm -rf "$TARGET" >/dev/null')],
    ['rm -r -f in a loop', bash('for t in /tmp/a /tmp/b; do rm -r -f "$t"; done')],
    ['rm -rf in a command substitution', bash('echo "$(rm -rf /tmp/example)"')],
  ])('%s is dangerous', (_name, argv) => {
    expect(isDangerousCommand(argv)).toBe(true);
  });

  it.each<[string, string[]]>([
    ['rm -r', ['rm', '-r', '/tmp/example']],
    ['rm -- -f', ['rm', '--', '-f']],
    ['rm -rf as quoted text', bash("echo 'rm -rf /tmp/example'")],
    ['a dynamic program name', bash('cmd=rm; $cmd -rf /tmp/example')],
    ['an unparsable script', bash('if then rm -rf /tmp/example')],
    ['sudo of a harmless command', ['sudo', 'ls']],
    ['ls', ['ls']],
  ])('%s is not dangerous', (_name, argv) => {
    expect(isDangerousCommand(argv)).toBe(false);
  });

  it('finds the literal words of every command in a complex script, in order', () => {
    expect(
      parseLiteralCommands('for a in x; do rm -rf "$a" "/tmp/b"; done; echo "$(id -u)"'),
    ).toEqual([['rm', '-rf', '/tmp/b'], ['echo'], ['id', '-u']]);
    expect(parseLiteralCommands('ls &&')).toBeUndefined();
  });
});

describe('canonicalizeCommandForApproval', () => {
  it('keys a single plain command by its words, whatever the shell path and spacing', () => {
    expect(canonicalizeCommandForApproval(['/bin/bash', '-lc', 'touch  a.txt'])).toEqual([
      'touch',
      'a.txt',
    ]);
    expect(canonicalizeCommandForApproval(bash("touch 'a.txt'"))).toEqual(['touch', 'a.txt']);
  });

  it('keys any other script by its exact text and flag', () => {
    expect(canonicalizeCommandForApproval(bash('touch a && touch b'))).toEqual([
      CANONICAL_SHELL_SCRIPT_PREFIX,
      '-lc',
      'touch a && touch b',
    ]);
    expect(canonicalizeCommandForApproval(['sh', '-c', 'ls > x'])).toEqual([
      '__codex_shell_script__',
      '-c',
      'ls > x',
    ]);
  });

  it('leaves an argv that is not a shell script as it is', () => {
    expect(canonicalizeCommandForApproval(['touch', 'a.txt'])).toEqual(['touch', 'a.txt']);
    expect(canonicalizeCommandForApproval(['bash', '-lc', 'ls', 'x'])).toEqual([
      'bash',
      '-lc',
      'ls',
      'x',
    ]);
  });
});

describe('commandsForExecPolicy and proposedPrefixAmendment', () => {
  it('matches rules against each command of a plain script, or the whole argv', () => {
    expect(commandsForExecPolicy(bash('ls && echo hi | wc -l'))).toEqual({
      commands: [['ls'], ['echo', 'hi'], ['wc', '-l']],
      complexParsing: false,
    });
    expect(commandsForExecPolicy(bash('curl x; echo rc=$?'))).toEqual({
      commands: [bash('curl x; echo rc=$?')],
      complexParsing: false,
    });
    expect(commandsForExecPolicy(['touch', 'x'])).toEqual({
      commands: [['touch', 'x']],
      complexParsing: false,
    });
  });

  it('matches a heredoc script by its single command, as complex parsing', () => {
    expect(commandsForExecPolicy(bash("python3 <<'PY'\nprint('hello')\nPY"))).toEqual({
      commands: [['python3']],
      complexParsing: true,
    });
    expect(commandsForExecPolicy(bash("python3 <<'PY' > /tmp/out\nx\nPY")).complexParsing).toBe(
      false,
    );
    expect(commandsForExecPolicy(bash("cat <<'PY'\nx\nPY\necho done")).complexParsing).toBe(false);
  });

  it('proposes the first command that is not allowed, as the reference does', () => {
    expect(proposedPrefixAmendment(['/bin/bash', '-lc', 'touch declined.txt'])).toEqual([
      'touch',
      'declined.txt',
    ]);
    expect(proposedPrefixAmendment(bash('ls && echo hi | wc -l'))).toEqual(['ls']);
    expect(proposedPrefixAmendment(bash('cat /etc/hostname'))).toEqual(['cat', '/etc/hostname']);
    const touchAllowed = (command: readonly string[]) => command[0] === 'touch';
    expect(proposedPrefixAmendment(bash('touch e.txt && rm e.txt'), touchAllowed)).toEqual([
      'rm',
      'e.txt',
    ]);
    expect(proposedPrefixAmendment(bash('touch a && touch b'), touchAllowed)).toBeUndefined();
  });

  it('proposes the whole argv for a script that is not plain, and nothing for a heredoc', () => {
    const curl = ['/bin/bash', '-lc', 'curl -s http://example.com ; echo rc=$?'];
    expect(proposedPrefixAmendment(curl)).toEqual(curl);
    expect(proposedPrefixAmendment(bash('echo "a \\"b\\" c"'))).toEqual(bash('echo "a \\"b\\" c"'));
    expect(proposedPrefixAmendment(bash("python3 <<'PY'\nprint(1)\nPY"))).toBeUndefined();
  });
});

describe('commandActions', () => {
  const cwd = '/work/project';

  it.each<[string, string[], unknown]>([
    ['ls', bash('ls'), { type: 'listFiles', command: 'ls', path: null }],
    [
      'ls of a missing directory',
      bash('ls /nonexistent-dir'),
      { type: 'listFiles', command: 'ls /nonexistent-dir', path: 'nonexistent-dir' },
    ],
    [
      'cat of an absolute path',
      bash('cat /etc/hostname'),
      { type: 'read', command: 'cat /etc/hostname', name: 'hostname', path: '/etc/hostname' },
    ],
    [
      'sed -n of a relative path',
      bash('sed -n 1p hello.txt'),
      { type: 'read', command: 'sed -n 1p hello.txt', name: 'hello.txt', path: `${cwd}/hello.txt` },
    ],
    [
      'head -n',
      bash('head -n 50 Cargo.toml'),
      {
        type: 'read',
        command: 'head -n 50 Cargo.toml',
        name: 'Cargo.toml',
        path: `${cwd}/Cargo.toml`,
      },
    ],
    [
      'tail -n +N',
      bash('tail -n +10 src/a.ts'),
      { type: 'read', command: 'tail -n +10 src/a.ts', name: 'a.ts', path: `${cwd}/src/a.ts` },
    ],
    [
      'nl',
      bash('nl -ba notes.txt'),
      { type: 'read', command: 'nl -ba notes.txt', name: 'notes.txt', path: `${cwd}/notes.txt` },
    ],
    [
      'rg with a quoted query (shown shlex-quoted)',
      bash('rg -n "BUG|FIXME" -S webview/src'),
      {
        type: 'search',
        command: "rg -n 'BUG|FIXME' -S webview/src",
        query: 'BUG|FIXME',
        path: 'webview',
      },
    ],
    [
      'rg --files',
      bash('rg --files src'),
      { type: 'listFiles', command: 'rg --files src', path: 'src' },
    ],
    [
      'grep -e',
      bash('grep -rn -e TODO lib'),
      { type: 'search', command: 'grep -rn -e TODO lib', query: 'TODO', path: 'lib' },
    ],
    [
      'find -name',
      bash("find . -name '*.rs'"),
      { type: 'search', command: "find . -name '*.rs'", query: '*.rs', path: '.' },
    ],
    [
      'find -type',
      bash('find src -type f'),
      { type: 'listFiles', command: 'find src -type f', path: 'src' },
    ],
    [
      'a command it does not know (the script as written)',
      bash('touch  declined.txt'),
      { type: 'unknown', command: 'touch  declined.txt' },
    ],
    ['cat of two files', bash('cat a b'), { type: 'unknown', command: 'cat a b' }],
    [
      'a compound script',
      bash('ls && echo hi | wc -l'),
      { type: 'unknown', command: 'ls && echo hi | wc -l' },
    ],
    ['a script that is not plain', bash('cat x > y'), { type: 'unknown', command: 'cat x > y' }],
    [
      'an argv run directly',
      ['cat', 'my file.txt'],
      {
        type: 'read',
        command: "cat 'my file.txt'",
        name: 'my file.txt',
        path: `${cwd}/my file.txt`,
      },
    ],
    ['an unknown argv run directly', ['touch', 'a b'], { type: 'unknown', command: "touch 'a b'" }],
  ])('%s', (_name, argv, expected) => {
    expect(commandActions(argv, cwd)).toEqual([expected]);
  });
});

describe('display helpers', () => {
  it('quotes words as Rust shlex 1.3 does', () => {
    expect(
      ['', 'abc', 'a b', "it's", '1,10p', '--color=always', 'héllo', '^x', 'a^b', 'a"b'].map(
        shlexQuote,
      ),
    ).toEqual([
      "''",
      'abc',
      "'a b'",
      `"it's"`,
      "'1,10p'",
      "'--color=always'",
      "'héllo'",
      "'^x'",
      "a'^b'",
      `'a"b'`,
    ]);
    expect(shlexJoin(['/bin/bash', '-lc', 'touch declined.txt'])).toBe(
      "/bin/bash -lc 'touch declined.txt'",
    );
    expect(shlexJoin(['echo', 'a\0b'])).toBe('<command included NUL byte>');
  });

  it('shortens paths for display', () => {
    expect(shortDisplayPath('webview/src')).toBe('webview');
    expect(shortDisplayPath('packages/app/node_modules/')).toBe('app');
    expect(shortDisplayPath('/etc/hostname')).toBe('hostname');
    expect(shortDisplayPath('.')).toBe('.');
  });
});
