/**
 * What was sent since the last snapshot, and when (listed paths, the roots of resent subtrees
 * and what rsync named inside them), for the reconciliation before the next snapshot: a
 * change is covered when a run that started after it (its ctime, which no tool can set back)
 * sent its path. Bounded: past the bound
 * it covers nothing, and every change since the snapshot is sent again. Pure.
 */
import { ancestorsOf } from '../sync/paths.js';

const MAX = 200_000;

export class SentSince {
  /** Path → start of the latest run that listed it (ms). */
  private readonly paths = new Map<string, number>();
  /** Root of a subtree sent whole → start of that run (ms). */
  private readonly subtrees = new Map<string, number>();
  private overflow = false;

  add(paths: readonly string[], startedAt: number, subtrees = false): void {
    if (this.overflow) return;
    for (const p of paths) (subtrees ? this.subtrees : this.paths).set(p, startedAt);
    if (this.paths.size + this.subtrees.size > MAX) {
      this.overflow = true;
      this.paths.clear();
      this.subtrees.clear();
    }
  }

  /**
   * Whether the change at `path` was sent: for a path that exists, a run that started after
   * its ctime listed it or a subtree holding it; for a deleted one, a run listed it itself.
   */
  covers(path: string, changedAtMs: number | undefined): boolean {
    if (this.overflow) return false;
    // The later of a run that listed the path alone and one that sent it whole: a directory
    // sent for its own attributes, then whole, is covered from the second run.
    const alone = this.paths.get(path);
    const whole = this.subtrees.get(path);
    if (changedAtMs === undefined) return alone !== undefined || whole !== undefined;
    let latest = Math.max(alone ?? -Infinity, whole ?? -Infinity);
    for (const a of ancestorsOf(path)) latest = Math.max(latest, this.subtrees.get(a) ?? -Infinity);
    return latest > changedAtMs;
  }

  /** Past the bound: covers nothing. */
  get overflowed(): boolean {
    return this.overflow;
  }

  /** Covers nothing from now on (the journal of an earlier run passed the bound). */
  giveUp(): void {
    this.overflow = true;
    this.paths.clear();
    this.subtrees.clear();
  }

  clear(): void {
    this.paths.clear();
    this.subtrees.clear();
    this.overflow = false;
  }
}
