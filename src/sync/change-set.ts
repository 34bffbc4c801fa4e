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
  /**
   * The earliest time (ms) the change it stands for may have happened, for checkpoints: an
   * event arrives after its change, and a History Crawl's changes are of unknown age (0).
   */
  readonly origin: number;
  /** Attempts already made after failures, for backoff and give-up. */
  readonly attempts: number;
  /** Not to be sent before this time (ms): backoff after a failure. */
  readonly notBefore: number;
  /** Sent in a batch of its own: it failed in a batch whose failure named no path. */
  readonly alone?: boolean;
}

/**
 * The earliest origin and the most attempts among a batch's entries. A loop, not
 * Math.min(...spread): a batch may hold up to --batch-size (a million) entries, and a spread
 * of more than about 120,000 arguments overflows the call stack.
 */
export const earliestOrigin = (entries: readonly Entry[]): number => entries.reduce((m, e) => Math.min(m, e.origin), Infinity);
export const mostAttempts = (entries: readonly Entry[]): number => entries.reduce((m, e) => Math.max(m, e.attempts), 0);

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
  add(path: string, recursive: boolean, now: number, origin: number = now): Overflow | undefined {
    const ancestor = this.coveringAncestor(path);
    if (ancestor) {
      if (origin < ancestor.origin) this.entries.set(ancestor.path, { ...ancestor, origin });
      return undefined;
    }
    const prev = this.entries.get(path);
    if (prev) {
      const merged = { ...prev, origin: Math.min(prev.origin, origin) };
      if (recursive && !prev.recursive) this.makeRecursive(path, { ...merged, notBefore: 0 });
      // A new change makes a path that was backing off due again.
      else this.entries.set(path, prev.notBefore > now ? { ...merged, notBefore: 0 } : merged);
      return undefined;
    }
    const entry: Entry = { path, recursive, since: now, origin, attempts: 0, notBefore: 0 };
    if (recursive) this.makeRecursive(path, entry);
    else this.entries.set(path, entry);
    let overflow: Overflow | undefined;
    while (this.entries.size > this.maxPaths) {
      const f = this.fold(now);
      overflow = { folded: f.folded, removed: f.removed + (overflow?.removed ?? 0) };
    }
    return overflow;
  }

  /**
   * Puts back entries of a batch that failed, keeping their age and counting the attempt
   * (not for a batch that was interrupted by a stop or a pause: that was no attempt).
   * `alone`: each is to be retried in a batch of its own.
   */
  requeue(entries: readonly Entry[], notBefore: number, now: number, countAttempt = true, alone = false): void {
    for (const e of entries) {
      const ancestor = this.coveringAncestor(e.path);
      if (ancestor) {
        if (e.origin < ancestor.origin) this.entries.set(ancestor.path, { ...ancestor, origin: e.origin });
        continue;
      }
      const current = this.entries.get(e.path);
      // A newer change since the batch started takes precedence: it is due now; the older
      // origin stays, so that a checkpoint still waits for it.
      if (current) {
        const merged = { ...current, origin: Math.min(current.origin, e.origin) };
        if (e.recursive && !current.recursive) this.makeRecursive(e.path, merged);
        else this.entries.set(e.path, merged);
        continue;
      }
      const again: Entry = { ...e, attempts: e.attempts + (countAttempt ? 1 : 0), notBefore, ...(alone ? { alone } : {}) };
      if (e.recursive) this.makeRecursive(e.path, again);
      else this.entries.set(e.path, again);
    }
    // A whole batch may come back at once: fold until within the bound again.
    while (this.entries.size > this.maxPaths) this.fold(now);
  }

  /**
   * Renames made at once: a queued path at or below a move's old path is now at its new one
   * (the deepest move wins, for a move out of a directory that moved too). A change queued
   * before a rename then goes after its replay, to the name it has now.
   */
  retarget(moves: readonly { readonly from: string; readonly to: string }[]): void {
    if (this.entries.size === 0 || moves.length === 0) return;
    const to = new Map(moves.map((m) => [m.from, m.to]));
    const moved = (p: string): string => {
      if (to.has(p)) return to.get(p) ?? p;
      for (const a of ancestorsOf(p)) {
        const t = to.get(a);
        if (t !== undefined) return t + p.slice(a.length);
      }
      return p;
    };
    const all = [...this.entries.values()];
    if (!all.some((e) => moved(e.path) !== e.path)) return;
    this.entries.clear();
    this.recursiveCount = 0;
    for (const e of all) this.put({ ...e, path: moved(e.path) });
  }

  /** Puts an entry back under its path, merged with what covers or holds it. */
  private put(e: Entry): void {
    const ancestor = this.coveringAncestor(e.path);
    if (ancestor) {
      if (e.origin < ancestor.origin) this.entries.set(ancestor.path, { ...ancestor, origin: e.origin });
      return;
    }
    const current = this.entries.get(e.path);
    const merged = current ? { ...current, since: Math.min(current.since, e.since), origin: Math.min(current.origin, e.origin), recursive: current.recursive || e.recursive } : e;
    if (merged.recursive) this.makeRecursive(e.path, merged);
    else this.entries.set(e.path, merged);
  }

  /** Whether a queued recursive entry stands for `path` (it or an ancestor). */
  covers(path: string): boolean {
    if (this.entries.get(path)?.recursive === true) return true;
    return this.coveringAncestor(path) !== undefined;
  }

  /** The oldest entry's age reference, or undefined when empty. */
  oldestSince(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.entries.values()) if (oldest === undefined || e.since < oldest) oldest = e.since;
    return oldest;
  }

  /** The earliest origin of any queued change, or undefined when empty. */
  oldestOrigin(): number | undefined {
    let oldest: number | undefined;
    for (const e of this.entries.values()) if (oldest === undefined || e.origin < oldest) oldest = e.origin;
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

  /**
   * Removes and returns up to `limit` due entries that `blocked` does not hold back. Retries
   * (entries that failed before) go in batches of their own, apart from fresh changes, so that
   * a path that keeps failing never fails the others with it; an `alone` entry goes by itself.
   */
  take(limit: number, now: number, blocked: (e: Entry) => boolean): Entry[] {
    const out: Entry[] = [];
    let retries: boolean | undefined;
    for (const e of this.entries.values()) {
      if (out.length >= limit) break;
      if (e.notBefore > now || blocked(e)) continue;
      const retry = e.attempts > 0;
      if (retries === undefined) {
        retries = retry;
        out.push(e);
        if (e.alone === true) break;
      } else if (retry === retries && e.alone !== true) out.push(e);
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

  private coveringAncestor(path: string): Entry | undefined {
    if (this.recursiveCount === 0) return undefined;
    for (const a of ancestorsOf(path)) {
      const e = this.entries.get(a);
      if (e?.recursive) return e;
    }
    return undefined;
  }

  /**
   * Makes `path` one recursive entry, absorbing what lies inside. It keeps the oldest age of
   * what it absorbs, so that no change waits longer than --batch-delay because of it.
   */
  private makeRecursive(path: string, base: Entry): void {
    let since = base.since;
    let origin = base.origin;
    for (const [p, e] of this.entries) {
      if (isWithin(p, path)) {
        this.entries.delete(p);
        if (e.recursive) this.recursiveCount--;
        since = Math.min(since, e.since);
        origin = Math.min(origin, e.origin);
      }
    }
    this.recursiveCount++;
    this.entries.set(path, { ...base, path, recursive: true, since, origin });
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
    const origin = this.oldestOrigin() ?? now;
    this.makeRecursive(folded, { path: folded, recursive: true, since: oldest, origin, attempts: 0, notBefore: 0 });
    return { folded, removed: before - this.entries.size };
  }
}
