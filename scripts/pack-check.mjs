#!/usr/bin/env node
// Proves that every published package and app works from its tarball: `pnpm pack` each public
// package under packages/ and apps/, install all the tarballs together into a scratch project with
// plain npm (so `workspace:` ranges must have been rewritten), import each package and `require()`
// it (Node >= 20.19 loads ESM through require, given an exports map with a `default` condition),
// check that every source map resolves to a file inside the tarball, typecheck a TypeScript file that
// imports each one with NodeNext resolution (so the .d.ts files ship), run the first ```js example of
// each README (every library package has one), and start each app's bin with `--version`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'tether-pack-'));
const tarballs = join(scratch, 'tarballs');
const project = join(scratch, 'project');

// pnpm is whatever runs this script (npm_execpath), else the pinned version through npx.
const pnpmPath = process.env.npm_execpath;
const pnpm = (args, cwd) =>
  pnpmPath && /pnpm/.test(pnpmPath)
    ? execFileSync(process.execPath, [pnpmPath, ...args], { cwd, stdio: 'pipe' })
    : execFileSync('npx', ['--yes', 'pnpm@10.34.9', ...args], { cwd, stdio: 'pipe' });

const packages = ['packages', 'apps']
  .flatMap((parent) => readdirSync(join(root, parent)).map((dir) => join(root, parent, dir)))
  .filter((dir) => existsSync(join(dir, 'package.json')))
  .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) }))
  .filter(({ manifest }) => !manifest.private);

try {
  execFileSync('mkdir', ['-p', tarballs, project]);
  const deps = {};
  for (const { dir, manifest } of packages) {
    const out = pnpm(['pack', '--pack-destination', tarballs], dir).toString().trim().split('\n');
    const tarball = out[out.length - 1].trim();
    deps[manifest.name] = `file:${tarball}`;
    console.log(`packed ${manifest.name}@${manifest.version} -> ${tarball}`);
  }
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify(
      {
        name: 'pack-check',
        private: true,
        type: 'module',
        dependencies: deps,
        // a TypeScript consumer of Node libraries has Node's types
        devDependencies: { '@types/node': '20.19.43' },
        overrides: deps,
      },
      null,
      2,
    ),
  );
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    stdio: 'inherit',
  });

  // one copy of zod for every package: protocol takes it as a peer, so the consumer's own zod (or
  // the one npm adds for the peer) is the one whose types the schemas carry
  const zods = execFileSync('npm', ['ls', 'zod', '--all', '--parseable'], { cwd: project })
    .toString()
    .split('\n')
    .filter((line) => line.trim() !== '');
  if (new Set(zods).size !== 1) {
    throw new Error(`expected one installed zod, found ${zods.length}:\n${zods.join('\n')}`);
  }
  console.log(`one zod installed for every package: ${zods[0]}`);

  const imports = [];
  for (const { manifest } of packages) {
    const name = manifest.name;
    const script = `const m = await import(${JSON.stringify(name)}); const keys = Object.keys(m); if (keys.length === 0) throw new Error('no exports'); console.log(${JSON.stringify(name)} + ': ' + keys.length + ' exports');`;
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: project,
      stdio: 'inherit',
    });
    imports.push(`import * as m${imports.length} from ${JSON.stringify(name)};`);
    // plain CommonJS `require`, as a consumer's .cjs file would, for every subpath but package.json
    for (const subpath of Object.keys(manifest.exports ?? { '.': null })) {
      if (subpath === './package.json') continue;
      const id = subpath === '.' ? name : `${name}/${subpath.slice(2)}`;
      const required = `const keys = Object.keys(require(${JSON.stringify(id)})); if (keys.length === 0) throw new Error('no exports'); console.log(${JSON.stringify(id)} + ': require() gives ' + keys.length + ' exports');`;
      execFileSync(process.execPath, ['-e', required], { cwd: project, stdio: 'inherit' });
    }
    checkSourceMaps(join(project, 'node_modules', name), name);
  }
  const uses = imports.map((_, i) => `console.log(Object.keys(m${i}).length);`).join('\n');
  writeFileSync(join(project, 'check.ts'), `${imports.join('\n')}\n${uses}\n`);
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      files: ['check.ts'],
    }),
  );
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project], {
    stdio: 'inherit',
  });
  for (const { dir, manifest } of packages) {
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    // an app's README documents its command line first; only libraries must have an example
    if (!example && dir.startsWith(join(root, 'apps'))) continue;
    if (!example) throw new Error(`${manifest.name}: README has no \`\`\`js example`);
    const file = join(project, `example-${manifest.name.split('/')[1]}.mjs`);
    writeFileSync(file, example);
    execFileSync(process.execPath, [file], { cwd: project, stdio: 'pipe', timeout: 30_000 });
    console.log(`${manifest.name}: README example runs`);
  }
  for (const { manifest } of packages) {
    for (const bin of Object.keys(manifest.bin ?? {})) {
      // the installed shim, as `npx <bin>` would run it after `npm install`
      const out = execFileSync(join(project, 'node_modules', '.bin', bin), ['--version'], {
        cwd: project,
        timeout: 30_000,
      })
        .toString()
        .trim();
      if (!out.includes(manifest.version)) {
        throw new Error(`${bin} --version printed ${JSON.stringify(out)}, not ${manifest.version}`);
      }
      console.log(`${bin} --version: ${out}`);
    }
  }
  console.log(
    `pack check: ${packages.length} packages install, import, require, typecheck and run their README examples from tarballs on Node ${process.version}`,
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

// Every .map under the installed package must name sources inside the package: a map that points
// at ../src/*.ts which the tarball lacks breaks "go to definition" and stack-trace source lookup.
function checkSourceMaps(pkgDir, name) {
  const maps = readdirSync(pkgDir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.map') && !file.split(/[\\/]/).includes('node_modules'));
  if (maps.length === 0) throw new Error(`${name}: no source maps in the tarball`);
  for (const file of maps) {
    const map = JSON.parse(readFileSync(join(pkgDir, file), 'utf8'));
    for (const source of map.sources) {
      const target = resolve(dirname(join(pkgDir, file)), map.sourceRoot ?? '', source);
      if (relative(pkgDir, target).startsWith('..') || !existsSync(target)) {
        throw new Error(`${name}: ${file} points at ${source}, which is not in the tarball`);
      }
    }
  }
  console.log(`${name}: ${maps.length} source maps resolve inside the tarball`);
}
