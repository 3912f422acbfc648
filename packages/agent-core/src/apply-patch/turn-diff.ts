import { relative, sep } from 'node:path';
import type { VerifiedPatch } from './apply.js';
import { gitFileDiff } from './unified-diff.js';

/**
 * The net change a turn's patches made, as one git-style diff (`turn/diff/updated`): each file
 * compared between its contents before the turn first touched it and its contents now, without
 * reading the filesystem again (only what the patches said). A file moved by a patch shows as one
 * entry from its old path to its new one; a file created and removed within the turn not at all.
 * Paths are shown relative to the turn's cwd.
 */
export class TurnDiffTracker {
  /** Contents before the turn touched the file (absent: it did not exist). */
  private readonly baseline = new Map<string, string>();
  /** Contents now (absent: it does not exist now). */
  private readonly current = new Map<string, string>();
  /** For a file moved this turn: its new path → the path it had before the turn. */
  private readonly origins = new Map<string, string>();

  constructor(private readonly cwd: string) {}

  /** The diff as last computed (it is sent after every response: computed once per change). */
  private cached: string | undefined;

  /** Takes in a patch that was written. */
  track(patch: VerifiedPatch): void {
    this.cached = undefined;
    for (const change of patch.changes) {
      switch (change.kind) {
        case 'add':
          this.origins.delete(change.path);
          this.remember(change.path, change.overwritten);
          this.current.set(change.path, change.contents);
          break;
        case 'delete':
          this.remember(change.path, change.contents);
          this.current.delete(change.path);
          this.origins.delete(change.path);
          break;
        case 'update': {
          this.remember(change.path, change.oldContents);
          const to = change.movePath;
          if (to === undefined || to === change.path) {
            this.current.set(change.path, change.newContents);
            break;
          }
          this.remember(to, change.overwrittenDestination);
          const origin = this.origins.get(change.path) ?? change.path;
          this.origins.delete(change.path);
          this.current.delete(change.path);
          this.current.set(to, change.newContents);
          if (origin === to) this.origins.delete(to);
          else this.origins.set(to, origin);
          break;
        }
      }
    }
  }

  /** The aggregated diff; `''` while the turn changed nothing (net). */
  diff(): string {
    this.cached ??= this.render();
    return this.cached;
  }

  private render(): string {
    const renames = this.renames();
    const renamed = new Set(renames.values());
    const paths = [...new Set([...this.baseline.keys(), ...this.current.keys()])].sort((a, b) =>
      compare(this.display(a), this.display(b)),
    );
    let out = '';
    for (const path of paths) {
      if (renamed.has(path)) continue;
      const to = renames.get(path) ?? path;
      out += gitFileDiff(
        this.display(path),
        this.baseline.get(path),
        this.display(to),
        this.current.get(to),
      );
    }
    return out;
  }

  /** Notes what a file held before the turn, the first time the turn touches it. */
  private remember(path: string, contents: string | undefined): void {
    if (this.current.has(path) || this.baseline.has(path)) return;
    // a path the turn already touched and removed has no baseline to learn
    if (this.touched.has(path)) return;
    this.touched.add(path);
    if (contents !== undefined) this.baseline.set(path, contents);
  }

  private readonly touched = new Set<string>();

  /** Moves shown as one entry: old path → new path, when both ends are plain (no re-creation). */
  private renames(): Map<string, string> {
    const pairs = new Map<string, string>();
    for (const [to, from] of this.origins) {
      if (
        to !== from &&
        !this.current.has(from) &&
        this.current.has(to) &&
        this.baseline.has(from) &&
        !this.baseline.has(to)
      ) {
        pairs.set(from, to);
      }
    }
    return pairs;
  }

  private display(path: string): string {
    const shown =
      path === this.cwd || path.startsWith(`${this.cwd}${sep}`) ? relative(this.cwd, path) : path;
    return shown.split(sep).join('/');
  }
}

/** Byte order, as the reference sorts its paths. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
