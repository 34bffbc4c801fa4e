/**
 * Paths that keep failing on the master side (rsync cannot read them): listed with rsync's
 * reason by `status --detail`, left alone until they change again, and retried when the
 * session next starts. Pure bookkeeping; the status file carries the list across restarts.
 */
import { isWithin } from '../sync/paths.js';
import type { FailedPath } from '../status/status.js';

export class FailedPaths {
  private readonly byPath = new Map<string, FailedPath>();

  constructor(before: readonly FailedPath[] = []) {
    for (const f of before) this.byPath.set(f.path, f);
  }

  get size(): number {
    return this.byPath.size;
  }

  has(path: string): boolean {
    return this.byPath.has(path);
  }

  list(): FailedPath[] {
    return [...this.byPath.values()];
  }

  /** Given up on after `attempts`; `since` is when it first failed. */
  record(path: string, reason: string, attempts: number, now: Date): void {
    const before = this.byPath.get(path);
    this.byPath.set(path, { path, reason, attempts: (before?.attempts ?? 0) + attempts, since: before?.since ?? now.toISOString() });
  }

  /** The path is queued again (it changed, or it went through): off the list, with what lies inside when `recursive`. Returns whether anything was. */
  clear(path: string, recursive: boolean): boolean {
    let any = this.byPath.delete(path);
    if (recursive) {
      for (const p of this.byPath.keys()) {
        if (isWithin(p, path)) any = this.byPath.delete(p) || any;
      }
    }
    return any;
  }

  forget(): void {
    this.byPath.clear();
  }
}
