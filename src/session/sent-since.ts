/**
 * What was sent since the last snapshot, and when (listed paths, the roots of resent subtrees
 * and what rsync named inside them), for the reconciliation before the next snapshot: a
 * change is covered when a run that started after it (its ctime, which no tool can set back)
 * sent its path. A directory is also sent by any run that lists a path below it: rsync's
 * --relative sends a listed path's directories with it, their attributes included (its
 * implied directories). Bounded: past the bound it covers nothing, and every change since the
 * snapshot is sent again. Pure.
 */
import { ancestorsOf } from '../sync/paths.js';

const MAX = 200_000;

export class SentSince {
  /** Path → start of the latest run that listed it (ms). */
  private readonly paths = new Map<string, number>();
  /** Root of a subtree sent whole → start of that run (ms). */
  private readonly subtrees = new Map<string, number>();
  /**
   * Directory → start of the latest run that listed a path below it. A directory's ctime moves
   * with every entry made, removed or renamed in it; those entries are sent as paths of their
   * own, and the directory's new times with them.
   */
  private readonly below = new Map<string, number>();
  private overflow = false;

  /** `impliedDirs`: false when rsync is told --no-implied-dirs, and sends a listed path's directories bare. */
  constructor(private readonly impliedDirs = true) {}

  add(paths: readonly string[], startedAt: number, subtrees = false): void {
    if (this.overflow) return;
    for (const p of paths) {
      (subtrees ? this.subtrees : this.paths).set(p, startedAt);
      // A directory's time is never below its children's (each add sets all the ancestors):
      // the climb stops at the first one that is as recent already.
      for (const dir of ancestorsOf(p)) {
        if ((this.below.get(dir) ?? -Infinity) >= startedAt) break;
        this.below.set(dir, startedAt);
      }
    }
    if (this.paths.size + this.subtrees.size + this.below.size > MAX) this.giveUp();
  }

  /** Every path a run listed or named as sent (none once past the bound: see overflowed). */
  listed(): string[] {
    return [...new Set([...this.paths.keys(), ...this.subtrees.keys()])];
  }

  /**
   * Whether the change at `path` was sent: for a path that exists, a run that started after
   * its ctime listed it or a subtree holding it (or, for a directory, anything below it); for
   * a deleted one, a run listed it itself.
   */
  covers(path: string, changedAtMs: number | undefined, isDir = false): boolean {
    if (this.overflow) return false;
    // The later of a run that listed the path alone and one that sent it whole: a directory
    // sent for its own attributes, then whole, is covered from the second run.
    const alone = this.paths.get(path);
    const whole = this.subtrees.get(path);
    if (changedAtMs === undefined) return alone !== undefined || whole !== undefined;
    let latest = Math.max(alone ?? -Infinity, whole ?? -Infinity);
    for (const a of ancestorsOf(path)) latest = Math.max(latest, this.subtrees.get(a) ?? -Infinity);
    if (isDir && this.impliedDirs) latest = Math.max(latest, this.below.get(path) ?? -Infinity);
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
    this.below.clear();
  }

  clear(): void {
    this.paths.clear();
    this.subtrees.clear();
    this.below.clear();
    this.overflow = false;
  }
}
