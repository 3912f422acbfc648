#!/usr/bin/env node
// Lints every public package as npm would publish it: publint (package.json against what the
// tarball holds: exports, files, types) and are-the-types-wrong (how TypeScript resolves each
// export). The packages are ESM only, so attw runs with its `esm-only` profile: `require()` of
// them works from Node 20.19 (require(esm), checked from the tarballs by pack-check), and the
// CommonJS-resolution rows would report that nature, not a fault.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
let failed = 0;
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(join(root, group)).sort()) {
    const dir = join(root, group, name);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    for (const [tool, args] of [
      ['publint', ['--pack', 'npm', '--strict']],
      ['attw', ['--pack', '.', '--profile', 'esm-only', '--format', 'table-flipped']],
    ]) {
      const run = spawnSync(bin(tool), args, { cwd: dir, encoding: 'utf8' });
      if (run.status === 0) {
        console.log(`${manifest.name}: ${tool} clean`);
      } else {
        failed += 1;
        console.log(`${manifest.name}: ${tool} found problems\n${run.stdout}${run.stderr}`);
      }
    }
  }
}
if (failed > 0) {
  console.error(`lint:packages: ${failed} problem report(s)`);
  process.exit(1);
}
console.log('lint:packages: every public package is clean (publint, are-the-types-wrong)');
