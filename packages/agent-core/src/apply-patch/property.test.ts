import { structuredPatch } from 'diff';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyChunks } from './apply.js';
import { parsePatch } from './parser.js';

/**
 * A patch in the apply_patch format for the change `before` → `after`, from a unified diff with
 * `context` lines of context: each diff hunk becomes one `@@` chunk.
 */
function patchFor(path: string, before: string, after: string, context: number): string {
  const diff = structuredPatch(path, path, before, after, undefined, undefined, { context });
  let out = `*** Begin Patch\n*** Update File: ${path}\n`;
  for (const hunk of diff.hunks) {
    out += '@@\n';
    for (const line of hunk.lines) if (!line.startsWith('\\')) out += `${line}\n`;
  }
  return `${out}*** End Patch\n`;
}

/** Text as lines; unique lines, so the hunk's context names one place (the format relies on it). */
const lines = fc.uniqueArray(
  fc.string({
    unit: fc.constantFrom('a', 'b', 'z', ' ', '\t', '-', '+', '@', '*', 'é', '—', '’', '🙂'),
    maxLength: 8,
  }),
  { maxLength: 40 },
);

const text = (ls: readonly string[]) => ls.map((line) => `${line}\n`).join('');

describe('applying a generated diff', () => {
  it('reproduces the target text exactly', () => {
    fc.assert(
      fc.property(
        lines,
        lines,
        fc.array(fc.boolean(), { minLength: 41, maxLength: 41 }),
        fc.array(fc.nat({ max: 3 }), { minLength: 41, maxLength: 41 }),
        fc.integer({ min: 1, max: 3 }),
        (source, fresh, keep, inserts, context) => {
          // the target keeps some source lines and inserts new ones between them: an edited file
          const added = fresh.filter((line) => !source.includes(line));
          const target: string[] = [];
          for (let i = 0; i <= source.length; i++) {
            target.push(...added.splice(0, inserts[i] ?? 0));
            const line = source[i];
            if (line !== undefined && keep[i]) target.push(line);
          }
          const before = text(source);
          const after = text(target);
          fc.pre(before !== after);
          const patch = parsePatch(patchFor('f.txt', before, after, context));
          const hunk = patch.hunks[0];
          if (hunk?.kind !== 'update') throw new Error('expected one update');
          expect(applyChunks(before, hunk.chunks, '/f.txt')).toBe(after);
        },
      ),
      { numRuns: 500 },
    );
  });
});
