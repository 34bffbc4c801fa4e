/**
 * Which queued paths may start while others are in flight: never two rsync runs on the same
 * path, on a path and its ancestor, or on two paths in one directory (each run sets its
 * parent directories' times when it ends, so siblings in two runs could leave a stale time).
 */
import { ancestorsOf, parentOf } from './paths.js';

export class PathLocks {
  /** Paths held by running batches. */
  private readonly held = new Map<string, number>();
  /** Every proper ancestor of a held path. */
  private readonly ancestors = new Map<string, number>();
  /** Parent directories of held paths. */
  private readonly parents = new Map<string, number>();

  conflicts(path: string): boolean {
    if (this.held.has(path) || this.ancestors.has(path) || this.parents.has(parentOf(path))) return true;
    for (const a of ancestorsOf(path)) if (this.held.has(a)) return true;
    return false;
  }

  /** Whether a held path is `path`, lies inside it or holds it (siblings aside). */
  overlaps(path: string): boolean {
    if (this.held.has(path) || this.ancestors.has(path)) return true;
    for (const a of ancestorsOf(path)) if (this.held.has(a)) return true;
    return false;
  }

  /** Whether a held path is `path` or lies inside it. */
  holdsWithin(path: string): boolean {
    return this.held.has(path) || this.ancestors.has(path);
  }

  lock(paths: readonly string[]): void {
    for (const p of paths) {
      bump(this.held, p, 1);
      bump(this.parents, parentOf(p), 1);
      for (const a of ancestorsOf(p)) bump(this.ancestors, a, 1);
    }
  }

  unlock(paths: readonly string[]): void {
    for (const p of paths) {
      bump(this.held, p, -1);
      bump(this.parents, parentOf(p), -1);
      for (const a of ancestorsOf(p)) bump(this.ancestors, a, -1);
    }
  }

  get idle(): boolean {
    return this.held.size === 0;
  }
}

function bump(map: Map<string, number>, key: string, by: number): void {
  const n = (map.get(key) ?? 0) + by;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
