/**
 * When batches start. Low latency first: with nothing running, a change goes at once;
 * while batches run, changes gather, and a further batch starts (up to --sync-jobs) once
 * the oldest waiting change is --batch-delay old or a full batch is waiting.
 *
 *   paused ──resume──▶ idle ──change──▶ running(n) ──all done──▶ idle
 *      ▲                                   │
 *      └──────────────pause────────────────┘  (running batches finish; none start)
 */
import type { ChangeSet, Entry } from './change-set.js';
import { PathLocks } from './path-locks.js';

export interface SchedulerOptions {
  readonly jobs: number;
  readonly batchSize: number;
  readonly batchDelayMs: number;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): { unref?: () => void };
  clearTimeout(t: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => {
    clearTimeout(t as NodeJS.Timeout);
  },
};

export type BatchHandler = (entries: readonly Entry[]) => Promise<void>;

export class Scheduler {
  private readonly locks = new PathLocks();
  private running = 0;
  private paused = true;
  private timer: unknown;
  private timerAt = Infinity;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly changes: ChangeSet,
    private readonly o: SchedulerOptions,
    private readonly handle: BatchHandler,
    private readonly clock: Clock = realClock,
    private readonly onError: (e: unknown, entries: readonly Entry[]) => void = () => undefined,
  ) {}

  get active(): number {
    return this.running;
  }

  pause(): void {
    this.paused = true;
    this.clearTimer();
  }

  resume(): void {
    this.paused = false;
    this.kick();
  }

  /** Resolves when no batch is running. */
  whenIdle(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called after every change and every finished batch. */
  kick(): void {
    if (this.paused) return;
    const now = this.clock.now();
    while (this.running < this.o.jobs && this.changes.size > 0) {
      if (this.running > 0) {
        const oldest = this.changes.oldestSince() ?? now;
        const dueAt = oldest + this.o.batchDelayMs;
        if (dueAt > now && this.changes.size < this.o.batchSize) {
          this.wakeAt(dueAt);
          return;
        }
      }
      const entries = this.changes.take(this.o.batchSize, now, (e) => this.locks.conflicts(e.path));
      if (entries.length === 0) {
        // Everything due is held by a running batch (its end kicks again), or backing off.
        const next = this.changes.nextDue(now);
        if (next !== undefined) this.wakeAt(next);
        return;
      }
      this.start(entries);
    }
  }

  private start(entries: readonly Entry[]): void {
    const paths = entries.map((e) => e.path);
    this.locks.lock(paths);
    this.running++;
    void this.handle(entries)
      .catch((e: unknown) => {
        // A bug in a handler must not kill the daemon or leak the batch's paths.
        this.onError(e, entries);
      })
      .finally(() => {
      this.locks.unlock(paths);
      this.running--;
      if (this.running === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
      this.kick();
    });
  }

  private wakeAt(at: number): void {
    if (at >= this.timerAt) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.kick();
    }, Math.max(0, at - this.clock.now()));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
