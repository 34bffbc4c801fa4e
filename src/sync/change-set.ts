/**
 * The queue of changed paths (DESIGN.md invariant 4). Pure data structure, no I/O.
 *
 * - One entry per path: any number of events on a path coalesce. Whether the path is a
 *   file, a directory or gone is decided when the batch is built, by looking at the master.
 * - A `recursive` entry stands for its whole subtree (a directory that appeared, with
 *   content the watcher never saw, or a resync); it absorbs entries beneath it.
 * - Bounded by distinct paths: past `maxPaths`, the subtree holding most entries is folded
 *   into one recursive entry. Never a drop, never a crash.
 */
import { ancestorsOf, isWithin, topOf } from './paths.js';

export interface Entry {
  readonly path: string;
  readonly recursive: boolean;
  /** When the path was first queued (ms), for the batch-delay bound. */
  readonly since: number;
  /** Attempts already made after failures, for backoff and give-up. */
  readonly attempts: number;
  /** Not to be sent before this time (ms): backoff after a failure. */
  readonly notBefore: number;
}

export interface Overflow {
  readonly folded: string;
  readonly removed: number;
}

export class ChangeSet {
  private readonly entries = new Map<string, Entry>();
  private recursiveCount = 0;

  constructor(private readonly maxPaths: number) {}

  get size(): number {
    return this.entries.size;
  }

  has(path: string): boolean {
    return this.entries.has(path);
  }

  /** Queues a change; returns what was folded when the bound was hit. */
  add(path: string, recursive: boolean, now: number): Overflow | undefined {
    if (this.coveredByAncestor(path)) return undefined;
    const prev = this.entries.get(path);
    if (prev) {
      if (recursive && !prev.recursive) this.makeRecursive(path, { ...prev, notBefore: 0 });
      // A new change makes a path that was backing off due again.
      else if (prev.notBefore > now) this.entries.set(path, { ...prev, notBefore: 0 });
      return undefined;
    }
    const entry: Entry = { path, recursive, since: now, attempts: 0, notBefore: 0 };
    if (recursive) this.makeRecursive(path, entry);
    else this.entries.set(path, entry);
    let overflow: Overflow | undefined;
    while (this.entries.size > this.maxPaths) {
      const f = this.fold(now);
      overflow = { folded: f.folded, removed: f.removed + (overflow?.removed ?? 0) };
    }
    return overflow;
  }

  /** Puts back entries of a batch that failed, keeping their age and counting the attempt. */
  requeue(entries: readonly Entry[], notBefore: number, now: number): void {
    for (const e of entries) {
      if (this.coveredByAncestor(e.path)) continue;
      const current = this.entries.get(e.path);
      // A newer change since the batch started takes precedence: it is due now.
      if (current) {
        if (e.recursive && !current.recursive) this.makeRecursive(e.path, current);
        continue;
      }
      const again: Entry = { ...e, attempts: e.attempts + 1, notBefore };
      if (e.recursive) this.makeRecursive(e.path, again);
      else this.entries.set(e.path, again);
    }
    // A whole batch may come back at once: fold until within the bound again.
    while (this.entries.size > this.maxPaths) this.fold(now);
  }

  /** The oldest entry's age reference, or undefined when empty. */
  oldestSince(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.entries.values()) if (oldest === undefined || e.since < oldest) oldest = e.since;
    return oldest;
  }

  /** The earliest time an entry that is backing off becomes due. */
  nextDue(now: number): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) {
      if (e.notBefore > now && (next === undefined || e.notBefore < next)) next = e.notBefore;
    }
    return next;
  }

  /** Removes and returns up to `limit` due entries that `blocked` does not hold back. */
  take(limit: number, now: number, blocked: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    for (const e of this.entries.values()) {
      if (out.length >= limit) break;
      if (e.notBefore > now || blocked(e)) continue;
      out.push(e);
    }
    for (const e of out) {
      this.entries.delete(e.path);
      if (e.recursive) this.recursiveCount--;
    }
    return out;
  }

  /** Every queued entry, for persisting or status. */
  snapshot(): Entry[] {
    return [...this.entries.values()];
  }

  private coveredByAncestor(path: string): boolean {
    if (this.recursiveCount === 0) return false;
    for (const a of ancestorsOf(path)) if (this.entries.get(a)?.recursive) return true;
    return false;
  }

  /**
   * Makes `path` one recursive entry, absorbing what lies inside. It keeps the oldest age of
   * what it absorbs, so that no change waits longer than --batch-delay because of it.
   */
  private makeRecursive(path: string, base: Entry): void {
    let since = base.since;
    for (const [p, e] of this.entries) {
      if (isWithin(p, path)) {
        this.entries.delete(p);
        if (e.recursive) this.recursiveCount--;
        since = Math.min(since, e.since);
      }
    }
    this.recursiveCount++;
    this.entries.set(path, { ...base, path, recursive: true, since });
  }

  /**
   * Folds the top-level subtree with the most entries into one recursive entry; when every
   * entry is its own top-level name, the whole tree becomes one resync.
   */
  private fold(now: number): Overflow {
    const counts = new Map<string, number>();
    for (const p of this.entries.keys()) {
      const top = topOf(p);
      counts.set(top, (counts.get(top) ?? 0) + 1);
    }
    let best = '';
    let bestCount = 0;
    for (const [top, n] of counts) if (n > bestCount) [best, bestCount] = [top, n];
    const folded = bestCount > 1 ? best : '';
    const before = this.entries.size;
    const oldest = this.oldestSince() ?? now;
    this.makeRecursive(folded, { path: folded, recursive: true, since: oldest, attempts: 0, notBefore: 0 });
    return { folded, removed: before - this.entries.size };
  }
}
