#!/usr/bin/env node
// Publishes every public workspace package with changesets, or proves (--dry-run) that each would
// publish. Runs under pnpm (`pnpm release`, `pnpm release:dry-run`): pnpm's own path comes from
// npm_execpath, so no global pnpm is needed, and a `pnpm` shim on PATH lets `changeset publish`
// (which runs `pnpm publish`) find it.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const dryRun = process.argv.includes('--dry-run');
const pnpm = process.env.npm_execpath;
if (!pnpm) {
  console.error('run this through pnpm: `npx --yes pnpm@10.34.9 release` (or release:dry-run)');
  process.exit(2);
}

/** The workspace packages npm would see as publishable. */
function publicPackages() {
  const found = [];
  for (const group of ['packages', 'apps']) {
    for (const dir of readdirSync(join(root, group))) {
      const manifest = JSON.parse(readFileSync(join(root, group, dir, 'package.json'), 'utf8'));
      if (!manifest.private) found.push(`${manifest.name}@${manifest.version}`);
    }
  }
  return found.sort();
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', ...options });
  if (result.status !== 0) {
    process.stdout.write(result.stdout ?? '');
    process.stderr.write(result.stderr ?? '');
    console.error(`${[command, ...args].join(' ')} failed (${result.status})`);
    process.exit(1);
  }
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

const expected = publicPackages();
if (dryRun) {
  const output = run(process.execPath, [pnpm, '-r', 'publish', '--dry-run', '--no-git-checks']);
  const published = [...output.matchAll(/^\+ (@tether\/[\w-]+@\S+)$/gm)].map((m) => m[1]).sort();
  const missing = expected.filter((name) => !published.includes(name));
  if (missing.length > 0) {
    console.error(`these packages would not publish: ${missing.join(', ')}`);
    process.exit(1);
  }
  console.log(
    `release dry run: ${published.length} packages would publish: ${published.join(', ')}`,
  );
  process.exit(0);
}

run(process.execPath, [pnpm, 'build'], { stdio: 'inherit' });
run(process.execPath, [pnpm, 'pack:check'], { stdio: 'inherit' });
const shim = mkdtempSync(join(tmpdir(), 'tether-release-'));
writeFileSync(join(shim, 'pnpm'), `#!/bin/sh\nexec "${process.execPath}" "${pnpm}" "$@"\n`);
chmodSync(join(shim, 'pnpm'), 0o755);
run(process.execPath, [join(root, 'node_modules/@changesets/cli/bin.js'), 'publish'], {
  stdio: 'inherit',
  env: { ...process.env, PATH: `${shim}${delimiter}${process.env.PATH}` },
});
