import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tempHome } from '@tether/test-kit';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFiles } from '../test-support/node-files.js';
import { testSettings } from '../test-support/settings.js';
import {
  AGENTS_MD_REMOVED_NOTICE,
  AGENTS_MD_REPLACED_NOTICE,
  DEFAULT_PROJECT_DOC_MAX_BYTES,
  loadAgentsMd,
  parseAgentsMd,
  renderAgentsMd,
} from './agents-md.js';
import { ThreadContext } from './context.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A temp directory with `files` (path → content) written into it. */
function tree(files: Record<string, string>): string {
  const root = tempHome('tether-agents-md-');
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return root;
}

describe('loadAgentsMd', () => {
  it('reads the user file, then every file from the repository root down to the cwd, override first', async () => {
    const root = tree({
      'home/AGENTS.md': 'home rules',
      'repo/.git/HEAD': 'ref: refs/heads/main\n',
      'repo/AGENTS.md': 'root rules\n',
      'repo/a/AGENTS.md': 'a rules',
      'repo/a/b/AGENTS.override.md': 'b override',
      'repo/a/b/AGENTS.md': 'b plain (shadowed by the override)',
      'repo/a/b/c/.keep': '',
    });
    const cwd = join(root, 'repo/a/b/c');
    const loaded = await loadAgentsMd({ cwd, home: join(root, 'home') });
    expect(loaded.directory).toBe(cwd);
    // the reference's joining: user text, the project-doc separator, project files by blank lines
    expect(loaded.text).toBe(
      'home rules\n\n--- project-doc ---\n\nroot rules\n\n\na rules\n\nb override',
    );
    expect(loaded.sources).toEqual([
      join(root, 'home/AGENTS.md'),
      join(root, 'repo/AGENTS.md'),
      join(root, 'repo/a/AGENTS.md'),
      join(root, 'repo/a/b/AGENTS.override.md'),
    ]);
    expect(loaded.warnings).toEqual([]);
  });

  it('stops at the repository root, and reads only the cwd outside a repository', async () => {
    const root = tree({
      'AGENTS.md': 'above the repository: never read',
      'repo/.git': 'gitdir: /elsewhere\n', // a worktree's .git is a file; it marks the root too
      'repo/AGENTS.md': 'repo rules',
      'plain/AGENTS.md': 'parent of a non-repository cwd: not read',
      'plain/sub/AGENTS.md': 'cwd rules',
    });
    expect((await loadAgentsMd({ cwd: join(root, 'repo') })).text).toBe('repo rules');
    expect((await loadAgentsMd({ cwd: join(root, 'plain/sub') })).text).toBe('cwd rules');
  });

  it('skips blank files, and has nothing to say without any file', async () => {
    const root = tree({
      'repo/.git/HEAD': '',
      'repo/AGENTS.md': ' \n\t\n',
      'home/AGENTS.md': '\n',
    });
    const loaded = await loadAgentsMd({ cwd: join(root, 'repo'), home: join(root, 'home') });
    expect(loaded).toMatchObject({ text: '', sources: [], warnings: [] });
  });

  it('cuts the project files at the budget, leaves later ones out, and says so; the user file is not counted', async () => {
    const root = tree({
      'home/AGENTS.md': 'H'.repeat(50),
      'repo/.git/HEAD': '',
      'repo/AGENTS.md': 'R'.repeat(60),
      'repo/sub/AGENTS.md': 'S'.repeat(60),
      'repo/sub/deeper/AGENTS.md': 'never read',
    });
    const loaded = await loadAgentsMd({
      cwd: join(root, 'repo/sub/deeper'),
      home: join(root, 'home'),
      maxBytes: 100,
    });
    expect(loaded.text).toBe(
      `${'H'.repeat(50)}\n\n--- project-doc ---\n\n${'R'.repeat(60)}\n\n${'S'.repeat(40)}`,
    );
    expect(loaded.sources).toEqual([
      join(root, 'home/AGENTS.md'),
      join(root, 'repo/AGENTS.md'),
      join(root, 'repo/sub/AGENTS.md'),
    ]);
    expect(loaded.warnings).toHaveLength(3);
    expect(loaded.warnings[0]).toContain(
      `40 of the 60 bytes of \`${join(root, 'repo/sub/AGENTS.md')}\``,
    );
    expect(loaded.warnings[1]).toContain(join(root, 'repo/sub/deeper/AGENTS.md'));
    expect(loaded.warnings[2]).toContain('`project_doc_max_bytes`');
  });

  it('uses a 32 KiB budget by default and reads nothing with a budget of 0', async () => {
    expect(DEFAULT_PROJECT_DOC_MAX_BYTES).toBe(32768);
    const root = tree({ 'repo/.git/HEAD': '', 'repo/AGENTS.md': 'x'.repeat(40_000) });
    const loaded = await loadAgentsMd({ cwd: join(root, 'repo') });
    expect(loaded.text).toHaveLength(32768);
    expect((await loadAgentsMd({ cwd: join(root, 'repo'), maxBytes: 0 })).text).toBe('');
  });
});

describe('the AGENTS.md message part', () => {
  it('is framed as the reference frames it, and reads back', () => {
    expect(renderAgentsMd('/w', 'do x')).toBe(
      '# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>\ndo x\n</INSTRUCTIONS>',
    );
    expect(renderAgentsMd('/w', 'do y', 'replacement')).toBe(
      `# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>\n${AGENTS_MD_REPLACED_NOTICE}\n\ndo y\n</INSTRUCTIONS>`,
    );
    expect(renderAgentsMd('/w', '', 'removal')).toBe(
      `# AGENTS.md instructions for /w\n\n<INSTRUCTIONS>\n${AGENTS_MD_REMOVED_NOTICE}\n</INSTRUCTIONS>`,
    );
    for (const kind of ['initial', 'replacement'] as const) {
      expect(parseAgentsMd(renderAgentsMd('/w', 'a\n\nb', kind))).toEqual({
        directory: '/w',
        text: 'a\n\nb',
      });
    }
    expect(parseAgentsMd(renderAgentsMd('/w', '', 'removal'))).toEqual({
      directory: '/w',
      text: '',
    });
    expect(parseAgentsMd('# AGENTS.md is great')).toBeUndefined();
  });
});

describe("a thread's AGENTS.md through its environment", () => {
  it('are read through the files given; an environment that cannot be reached is warned about and asked again', async () => {
    const root = tree({ 'repo/.git/HEAD': '', 'repo/AGENTS.md': 'repo rules' });
    const cwd = join(root, 'repo');
    let reachable = false;
    let asked = 0;
    const context = new ThreadContext({
      shell: '/bin/bash',
      files: async () => {
        asked++;
        if (!reachable) throw new Error('exec-server unreachable');
        return nodeFiles;
      },
    });
    const warnings: string[] = [];
    const settings = testSettings({ cwd });
    const first = await context.turnMessages(settings, [], (w) => warnings.push(w));
    expect(JSON.stringify(first)).not.toContain('repo rules');
    expect(warnings).toEqual([
      "The project's AGENTS.md files could not be read: exec-server unreachable",
    ]);
    reachable = true;
    const second = await context.turnMessages(settings, [], (w) => warnings.push(w));
    expect(JSON.stringify(second)).toContain('repo rules');
    // read once it worked: not again for the same cwd
    await context.turnMessages(settings, [], (w) => warnings.push(w));
    expect(asked).toBe(2);
    expect(warnings).toHaveLength(1);
  });
});
