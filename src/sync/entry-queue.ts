/**
 * Renames waiting to be replayed on the slave, in the order they were made. Pure.
 *
 * A step never overtakes data in flight on its paths (the scheduler takes steps only while
 * no running batch holds them, something inside them or above them), and data never
 * overtakes a step queued before it: a change queued on a step's path, inside it or above
 * it waits until the step is done (`blocks`). A change queued
 * before the rename was moved to the new name (ChangeSet.retarget), so it goes after.
 */
import { overlaps } from './paths.js';
import type { Step } from './move-order.js';
import { PathLocks } from './path-locks.js';

export interface QueuedStep extends Step {
  /** When the rename may have happened at the earliest (ms), for checkpoints. */
  readonly origin_ms: number;
  /** The slave's copy may lag the master's (data was in flight): resend the new name after. */
  readonly verify: boolean;
}


export class EntryQueue {
  private steps: QueuedStep[] = [];
  private readonly held = new PathLocks();

  get size(): number {
    return this.steps.length;
  }


  add(steps: readonly QueuedStep[]): void {
    for (const s of steps) {
      this.steps.push(s);
      this.held.lock([s.from, s.to]);
    }
  }

  /**
   * Whether a change on `path` must wait for a queued step: one on the step's paths, inside
   * them or above them. A sibling need not: its run sets the directory's times, and a
   * rename's parents have their times sent after it anyway.
   */
  blocks(path: string): boolean {
    return this.steps.length > 0 && this.held.overlaps(path);
  }

  /** The earliest origin of a queued step, or undefined when none is queued. */
  oldestOrigin(): number | undefined {
    let oldest: number | undefined;
    for (const s of this.steps) if (oldest === undefined || s.origin_ms < oldest) oldest = s.origin_ms;
    return oldest;
  }

  /** The steps from the front, up to the first whose paths `busy` holds (data in flight). */
  take(busy: (path: string) => boolean): QueuedStep[] {
    let n = 0;
    while (n < this.steps.length) {
      const s = this.steps[n];
      if (s === undefined || busy(s.from) || busy(s.to)) break;
      n++;
    }
    return this.remove(this.steps.slice(0, n));
  }

  /**
   * A step could not be replayed: the queued steps that touch its paths (and, in turn, theirs)
   * cannot be either, since the slave's tree is not what they expect. They are taken out.
   */
  takeTouching(paths: readonly string[]): QueuedStep[] {
    const touched = [...paths];
    const out: QueuedStep[] = [];
    for (const s of this.steps) {
      if (!touched.some((t) => overlaps(t, s.from) || overlaps(t, s.to))) continue;
      out.push(s);
      touched.push(s.from, s.to, s.origin.from, s.origin.to);
    }
    return this.remove(out);
  }

  /** Every queued step (a stop: they are sent as data instead). */
  takeAll(): QueuedStep[] {
    return this.remove([...this.steps]);
  }

  private remove(out: readonly QueuedStep[]): QueuedStep[] {
    if (out.length === 0) return [];
    const gone = new Set(out);
    this.steps = this.steps.filter((s) => !gone.has(s));
    for (const s of out) this.held.unlock([s.from, s.to]);
    return [...out];
  }
}
