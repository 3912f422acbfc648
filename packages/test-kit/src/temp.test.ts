import { readdirSync, rmSync, statSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempHome, tempHomeOutsideTmp } from './temp.js';

describe('temp homes', () => {
  it('tempHome makes a new empty directory under the temp directory', () => {
    const a = tempHome('kit-');
    const b = tempHome('kit-');
    try {
      expect(a).not.toBe(b);
      expect(dirname(a)).toBe(tmpdir());
      expect(basename(a)).toMatch(/^kit-/);
      expect(statSync(a).isDirectory()).toBe(true);
      expect(readdirSync(a)).toEqual([]);
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  it('tempHomeOutsideTmp makes one under the home directory, away from /tmp', () => {
    const dir = tempHomeOutsideTmp('.kit-');
    try {
      expect(dirname(dir)).toBe(homedir());
      expect(dir.startsWith(tmpdir())).toBe(false);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
