import { describe, expect, it } from 'vitest';
import type { FileChange } from './apply.js';
import { TurnDiffTracker } from './turn-diff.js';
import { gitFileDiff } from './unified-diff.js';

const cwd = '/w';
const patch = (...changes: FileChange[]) => ({ changes, cwd });
const update = (
  path: string,
  oldContents: string,
  newContents: string,
  movePath?: string,
): FileChange => ({
  kind: 'update',
  path,
  patchPath: path,
  movePath,
  movePatchPath: movePath,
  oldContents,
  newContents,
  overwrittenDestination: undefined,
});

describe('the turn diff', () => {
  it('compares each file with what it held before the turn, across patches', () => {
    const tracker = new TurnDiffTracker(cwd);
    expect(tracker.diff()).toBe('');
    tracker.track(patch(update('/w/b.txt', '1\n', '2\n')));
    tracker.track(
      patch(update('/w/b.txt', '2\n', '3\n'), {
        kind: 'add',
        path: '/w/a.txt',
        patchPath: 'a.txt',
        contents: 'new\n',
        overwritten: undefined,
      }),
    );
    expect(tracker.diff()).toBe(
      gitFileDiff('a.txt', undefined, 'a.txt', 'new\n') +
        gitFileDiff('b.txt', '1\n', 'b.txt', '3\n'),
    );
  });

  it('shows a move as one entry, and nothing for a file created and removed within the turn', () => {
    const tracker = new TurnDiffTracker(cwd);
    tracker.track(patch(update('/w/old.txt', 'x\n', 'y\n', '/w/sub/new.txt')));
    tracker.track(
      patch({
        kind: 'add',
        path: '/w/tmp.txt',
        patchPath: 'tmp.txt',
        contents: 't\n',
        overwritten: undefined,
      }),
    );
    tracker.track(
      patch({ kind: 'delete', path: '/w/tmp.txt', patchPath: 'tmp.txt', contents: 't\n' }),
    );
    expect(tracker.diff()).toBe(gitFileDiff('old.txt', 'x\n', 'sub/new.txt', 'y\n'));
  });

  it('is empty again when the turn undid its change, and shows paths outside the cwd whole', () => {
    const tracker = new TurnDiffTracker(cwd);
    tracker.track(patch(update('/w/a.txt', 'a\n', 'b\n')));
    tracker.track(patch(update('/w/a.txt', 'b\n', 'a\n')));
    expect(tracker.diff()).toBe('');
    tracker.track(patch(update('/elsewhere/x.txt', 'a\n', 'b\n')));
    expect(tracker.diff()).toContain('diff --git a//elsewhere/x.txt b//elsewhere/x.txt\n');
  });
});
