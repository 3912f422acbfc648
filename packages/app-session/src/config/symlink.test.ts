import {
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { tempHome } from '@tether/test-kit';
import { describe, expect, it } from 'vitest';
import { ConfigService } from './service.js';

const edit = { keyPath: 'model', value: 'written', mergeStrategy: 'replace' as const };

describe('writing a config.toml that is a symlink', () => {
  it('writes the file the link points to and keeps the link', async () => {
    const home = tempHome('tether-config-link-');
    const dotfiles = join(home, 'dotfiles');
    mkdirSync(dotfiles);
    const real = join(dotfiles, 'codex.toml');
    writeFileSync(real, '# kept\nmodel = "before"\n');
    const link = join(home, 'config.toml');
    symlinkSync('dotfiles/codex.toml', link);
    const config = new ConfigService({ home, systemFile: null, env: {} });
    await config.write([edit], {});
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('# kept\nmodel = "written"\n');
    expect(config.load().config.model).toBe('written');
    // no temporary file left beside the link or the file
    expect(readdirSync(dotfiles)).toEqual(['codex.toml']);
    expect(readdirSync(home).filter((name) => name.includes('.tmp-'))).toEqual([]);
  });

  it('creates the file a dangling link points to', async () => {
    const home = tempHome('tether-config-link-');
    const real = join(home, 'elsewhere.toml');
    const link = join(home, 'config.toml');
    symlinkSync(real, link);
    await new ConfigService({ home, systemFile: null, env: {} }).write([edit], {});
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(real, 'utf8')).toBe('model = "written"\n');
  });
});
