import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_RULES_FILE,
  ExecPolicy,
  ExecPolicyError,
  formatAllowPrefixRule,
  patternMatches,
  RULES_DIR_NAME,
} from './exec-policy.js';

let home: string;
let dir: string;
let file: string;

beforeEach(() => {
  home = mkdtempSync(join(tmpdir(), 'tether-exec-policy-'));
  dir = join(home, RULES_DIR_NAME);
  file = join(dir, DEFAULT_RULES_FILE);
});

afterEach(() => {
  rmSync(home, { recursive: true, force: true });
});

/** A pino logger that keeps what it logs, parsed. */
function recordingLogger() {
  const records: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => records.push(JSON.parse(line)) },
  );
  return { logger, records };
}

function writeRules(name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('saving amendments', () => {
  it('appends the reference line to <home>/rules/default.rules, creating both', async () => {
    const policy = ExecPolicy.forHome(home);
    expect(policy.defaultFile).toBe(file);
    await policy.appendAllowPrefix(['touch']);
    expect(readFileSync(file, 'utf8')).toBe('prefix_rule(pattern=["touch"], decision="allow")\n');
  });

  it('writes several amendments one line each, words JSON-escaped and ", "-separated', async () => {
    const policy = ExecPolicy.forHome(home);
    await policy.appendAllowPrefix(['rm', '-rf']);
    await policy.appendAllowPrefix(['echo', 'a "b" c']);
    await policy.appendAllowPrefix(['git', 'status']);
    expect(readFileSync(file, 'utf8')).toBe(
      'prefix_rule(pattern=["rm", "-rf"], decision="allow")\n' +
        'prefix_rule(pattern=["echo", "a \\"b\\" c"], decision="allow")\n' +
        'prefix_rule(pattern=["git", "status"], decision="allow")\n',
    );
  });

  it('does not write a line that is already there', async () => {
    const policy = ExecPolicy.forHome(home);
    await policy.appendAllowPrefix(['ls']);
    await policy.appendAllowPrefix(['ls']);
    expect(readFileSync(file, 'utf8')).toBe('prefix_rule(pattern=["ls"], decision="allow")\n');
  });

  it('ends an unterminated last line before appending', async () => {
    writeRules(DEFAULT_RULES_FILE, 'prefix_rule(pattern=["ls"], decision="allow")');
    await ExecPolicy.forHome(home).appendAllowPrefix(['echo', 'Hello, world!']);
    expect(readFileSync(file, 'utf8')).toBe(
      'prefix_rule(pattern=["ls"], decision="allow")\n' +
        'prefix_rule(pattern=["echo", "Hello, world!"], decision="allow")\n',
    );
  });

  it('refuses an empty pattern with the reference message, writing nothing', async () => {
    const policy = ExecPolicy.forHome(home);
    const refused = policy.appendAllowPrefix([]);
    await expect(refused).rejects.toBeInstanceOf(ExecPolicyError);
    await expect(refused).rejects.toMatchObject({
      code: 'EMPTY_PREFIX',
      message: 'prefix rule requires at least one token',
    });
    expect(existsSync(file)).toBe(false);
  });

  it('reports a file it cannot write as WRITE_FAILED, naming the file', async () => {
    writeFileSync(join(home, 'blocker'), '');
    const policy = new ExecPolicy(join(home, 'blocker', 'rules'));
    await expect(policy.appendAllowPrefix(['ls'])).rejects.toMatchObject({
      code: 'WRITE_FAILED',
      message: expect.stringContaining(join(home, 'blocker', 'rules', 'default.rules')),
    });
  });

  it('keeps every line when many appends race from two policies on the same folder', async () => {
    const a = ExecPolicy.forHome(home);
    const b = ExecPolicy.forHome(home);
    const words = Array.from({ length: 20 }, (_, i) => `cmd${i}`);
    await Promise.all(words.map((word, i) => (i % 2 ? a : b).appendAllowPrefix([word])));
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.sort()).toEqual(words.map((word) => formatAllowPrefixRule([word])).sort());
    expect(readdirSync(dir)).toEqual([DEFAULT_RULES_FILE]);
  });

  it('writes the same amendment once when it races with itself', async () => {
    writeRules(DEFAULT_RULES_FILE, '# saved approvals\n');
    const policies = Array.from({ length: 8 }, () => ExecPolicy.forHome(home));
    await Promise.all(policies.map((policy) => policy.appendAllowPrefix(['touch'])));
    expect(readFileSync(file, 'utf8')).toBe(
      `# saved approvals\n${formatAllowPrefixRule(['touch'])}\n`,
    );
  });

  it('loses no amendment saved while another policy removes a rule', async () => {
    writeRules(DEFAULT_RULES_FILE, 'prefix_rule(pattern=["old"])\n');
    const remover = ExecPolicy.forHome(home);
    const saver = ExecPolicy.forHome(home);
    const words = Array.from({ length: 10 }, (_, i) => `cmd${i}`);
    const [removed] = await Promise.all([
      remover.remove(['old']),
      ...words.map((word) => saver.appendAllowPrefix([word])),
    ]);
    expect(removed).toBe(1);
    expect(saver.list().map((rule) => rule.pattern[0])).toEqual(expect.arrayContaining(words));
    expect(saver.list()).toHaveLength(words.length);
  });

  it('reads back any words it saved', () => {
    const word = fc.string({ unit: 'binary', maxLength: 12 });
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 4 }), (pattern) => {
        writeRules(DEFAULT_RULES_FILE, `${formatAllowPrefixRule(pattern)}\n`);
        expect(
          ExecPolicy.forHome(home)
            .list()
            .map((rule) => rule.pattern),
        ).toEqual([pattern]);
      }),
      { numRuns: 200 },
    );
  });
});

describe('matching', () => {
  it('matches by prefix: a rule for git status allows git status --short but not git log', async () => {
    const policy = ExecPolicy.forHome(home);
    await policy.appendAllowPrefix(['git', 'status']);
    expect(policy.matches(['git', 'status'])).toBe('allow');
    expect(policy.matches(['git', 'status', '--short'])).toBe('allow');
    expect(policy.matches(['git', 'log'])).toBeUndefined();
    expect(policy.matches(['git'])).toBeUndefined();
    expect(policy.matches(['/usr/bin/git', 'status'])).toBeUndefined();
    expect(policy.matches([])).toBeUndefined();
  });

  it('takes the strictest decision of the matching rules', () => {
    writeRules(
      DEFAULT_RULES_FILE,
      [
        'prefix_rule(pattern=["git"], decision="allow")',
        'prefix_rule(pattern=["git", "push"], decision="forbidden")',
        'prefix_rule(pattern=["git", "commit"], decision="prompt")',
      ].join('\n'),
    );
    const policy = ExecPolicy.forHome(home);
    expect(policy.matches(['git', 'status'])).toBe('allow');
    expect(policy.matches(['git', 'push', 'origin'])).toBe('forbidden');
    expect(policy.matches(['git', 'commit', '-m', 'x'])).toBe('prompt');
  });

  it('matches alternatives, in the first position and later', () => {
    writeRules(
      DEFAULT_RULES_FILE,
      'prefix_rule(pattern=["git", ["status", "log"]], decision="allow")\n' +
        'prefix_rule(pattern=[["ls", "dir"], "-la"])\n',
    );
    const policy = ExecPolicy.forHome(home);
    expect(policy.matches(['git', 'log', '-1'])).toBe('allow');
    expect(policy.matches(['git', 'status'])).toBe('allow');
    expect(policy.matches(['git', 'push'])).toBeUndefined();
    expect(policy.matches(['dir', '-la'])).toBe('allow');
    expect(policy.matches(['ls', '-l'])).toBeUndefined();
    expect(patternMatches([['a', 'b'], 'c'], ['b', 'c'])).toBe(true);
    expect(patternMatches([], ['b'])).toBe(false);
  });

  it('allows all only when an allow rule, and nothing stricter, matches every command', async () => {
    const policy = ExecPolicy.forHome(home);
    await policy.appendAllowPrefix(['touch']);
    expect(
      policy.allowsAll([
        ['touch', 'c.txt'],
        ['touch', 'd.txt'],
      ]),
    ).toBe(true);
    expect(
      policy.allowsAll([
        ['touch', 'e.txt'],
        ['rm', 'e.txt'],
      ]),
    ).toBe(false);
    expect(policy.allowsAll([])).toBe(false);
    appendFileSync(file, 'prefix_rule(pattern=["touch", "/etc"], decision="prompt")\n');
    expect(policy.allowsAll([['touch', '/etc']])).toBe(false);
  });

  it('has no rules, and does not throw, when the folder does not exist', () => {
    const policy = ExecPolicy.forHome(home);
    expect(policy.list()).toEqual([]);
    expect(policy.matches(['ls'])).toBeUndefined();
    expect(policy.allowsAll([['ls']])).toBe(false);
  });
});

describe('reading rules files', () => {
  it('reads comments, blank lines, multi-line statements and every argument form', () => {
    const path = writeRules(
      DEFAULT_RULES_FILE,
      [
        '# rules for this machine',
        '',
        'prefix_rule(pattern=["ls"], decision="allow")  # trailing comment',
        'prefix_rule(',
        '    pattern = ["npm", "test"],',
        '    decision = "prompt",',
        '    justification = "runs the test suite",',
        '    match = [["npm", "test"], "npm test --watch"],',
        '    not_match = ["npm install"],',
        ')',
        "prefix_rule(['cargo', 'check'], 'forbidden')",
        'prefix_rule(pattern=["make"]); prefix_rule(pattern=["tac"])',
        'prefix_rule(pattern=["printf", "a\\tb\\u00e9\\x41\\101"])',
      ].join('\n'),
    );
    expect(ExecPolicy.forHome(home).list()).toEqual([
      { file: path, line: 3, pattern: ['ls'], decision: 'allow' },
      {
        file: path,
        line: 4,
        pattern: ['npm', 'test'],
        decision: 'prompt',
        justification: 'runs the test suite',
      },
      { file: path, line: 11, pattern: ['cargo', 'check'], decision: 'forbidden' },
      { file: path, line: 12, pattern: ['make'], decision: 'allow' },
      { file: path, line: 12, pattern: ['tac'], decision: 'allow' },
      { file: path, line: 13, pattern: ['printf', 'a\tbéAA'], decision: 'allow' },
    ]);
  });

  it('skips a statement it cannot read with a warning naming the line, and keeps the rest', () => {
    const { logger, records } = recordingLogger();
    const path = writeRules(
      DEFAULT_RULES_FILE,
      [
        'prefix_rule(pattern=["a"])',
        'prefix_rule(pattern=["b"], decision="maybe")',
        'prefix_rule(pattern=[])',
        'prefix_rule(pattern=["c", []])',
        'prefix_rule(pattern="d")',
        'prefix_rule(pattern=["e"], colour="red")',
        'allow_rule(pattern=["f"])',
        'prefix_rule(pattern=["g"]) extra',
        'prefix_rule(pattern=["h"], justification=" ")',
        'prefix_rule(pattern=["i\\"])',
        'network_rule(host="example.com", protocol="https", decision="allow")',
        'x = 1',
        'prefix_rule(pattern=["z"])',
      ].join('\n'),
    );
    const policy = new ExecPolicy(dir, logger);
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['a'], ['z']]);
    const warnings = records.filter((record) => record.level === 40);
    expect(warnings.map((record) => record.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 12]);
    expect(warnings.every((record) => record.file === path)).toBe(true);
    expect(warnings[0]).toMatchObject({
      msg: 'skipping a rule it cannot read',
      message: '`decision` must be "allow", "prompt" or "forbidden"',
    });
  });

  it('loses only the torn last line of a crashed write, even after the next append', async () => {
    writeRules(
      DEFAULT_RULES_FILE,
      'prefix_rule(pattern=["ls"], decision="allow")\nprefix_rule(pattern=["to',
    );
    const policy = ExecPolicy.forHome(home);
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['ls']]);
    await policy.appendAllowPrefix(['pwd']);
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['ls'], ['pwd']]);
    writeRules(
      DEFAULT_RULES_FILE,
      'prefix_rule(pattern=["ls"], decision="allow")\nprefix_rule(pattern=["touch"], decis\n\n' +
        '# note\nprefix_rule(pattern=["pwd"], decision="allow")\n',
    );
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['ls'], ['pwd']]);
  });

  it('reads every *.rules file in the folder, and nothing else', () => {
    writeRules('b.rules', 'prefix_rule(pattern=["b"])\n');
    writeRules('a.rules', 'prefix_rule(pattern=["a"])\n');
    writeRules('notes.txt', 'prefix_rule(pattern=["txt"])\n');
    mkdirSync(join(dir, 'dir.rules'));
    expect(
      ExecPolicy.forHome(home)
        .list()
        .map((rule) => [rule.file, rule.pattern]),
    ).toEqual([
      [join(dir, 'a.rules'), ['a']],
      [join(dir, 'b.rules'), ['b']],
    ]);
  });

  it('sees rules another policy or an editor saved, and removed, without being told', async () => {
    const mine = ExecPolicy.forHome(home);
    const theirs = ExecPolicy.forHome(home);
    expect(mine.matches(['touch', 'x'])).toBeUndefined();
    await theirs.appendAllowPrefix(['touch']);
    expect(mine.matches(['touch', 'x'])).toBe('allow');
    writeRules('project.rules', 'prefix_rule(pattern=["make"])\n');
    expect(mine.matches(['make'])).toBe('allow');
    rmSync(join(dir, 'project.rules'));
    expect(mine.matches(['make'])).toBeUndefined();
    writeFileSync(file, 'prefix_rule(pattern=["touch"], decision="forbidden")\n');
    expect(mine.matches(['touch', 'x'])).toBe('forbidden');
  });
});

describe('removing rules', () => {
  it('removes the listed rule by index, rewriting the file in place of the old one', async () => {
    writeRules(
      DEFAULT_RULES_FILE,
      '# keep me\nprefix_rule(pattern=["ls"])\nprefix_rule(pattern=["pwd"])  # note\nprefix_rule(pattern=["id"])\n',
    );
    const before = statSync(file).ino;
    const policy = ExecPolicy.forHome(home);
    expect(await policy.remove(1)).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe(
      '# keep me\nprefix_rule(pattern=["ls"])\nprefix_rule(pattern=["id"])\n',
    );
    expect(statSync(file).ino).not.toBe(before);
    expect(readdirSync(dir)).toEqual([DEFAULT_RULES_FILE]);
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['ls'], ['id']]);
  });

  it('removes a statement sharing its line without touching the other', async () => {
    writeRules(DEFAULT_RULES_FILE, 'prefix_rule(pattern=["make"]); prefix_rule(pattern=["tac"])\n');
    expect(await ExecPolicy.forHome(home).remove(['tac'])).toBe(1);
    expect(readFileSync(file, 'utf8')).toBe('prefix_rule(pattern=["make"]); \n');
  });

  it('removes a pattern from every rules file, whatever its decision', async () => {
    writeRules(
      DEFAULT_RULES_FILE,
      'prefix_rule(pattern=["git", "push"])\nprefix_rule(pattern=["git"])\n',
    );
    writeRules(
      'team.rules',
      'prefix_rule(\n  pattern=["git", "push"],\n  decision="forbidden",\n)\n',
    );
    const policy = ExecPolicy.forHome(home);
    expect(await policy.remove(['git', 'push'])).toBe(2);
    expect(policy.list().map((rule) => rule.pattern)).toEqual([['git']]);
    expect(readFileSync(join(dir, 'team.rules'), 'utf8')).toBe('');
    expect(await policy.remove(['nothing'])).toBe(0);
  });

  it('refuses an index with no rule', async () => {
    await expect(ExecPolicy.forHome(home).remove(0)).rejects.toMatchObject({
      code: 'NO_SUCH_RULE',
    });
  });
});
