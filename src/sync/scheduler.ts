/**
 * When batches start. Low latency first: with nothing running, a change goes at once;
 * while batches run, changes gather, and a further batch starts (up to --sync-jobs) once
 * the oldest waiting change is --batch-delay old or a full batch is waiting.
 *
 *   paused ──resume──▶ idle ──change──▶ running(n) ──all done──▶ idle
 *      ▲                                   │
 *      └──────────────pause────────────────┘  (running batches finish; none start)
 *
 * Renames queued for replay go first, one run of them at a time, beside the batches: a run
 * of renames takes the queued ones up to the first whose paths a running batch holds, and
 * holds their paths while it replays them.
 */
import type { ChangeSet, Entry } from './change-set.js';
import type { EntryQueue, QueuedStep } from './entry-queue.js';
import { PathLocks } from './path-locks.js';

export interface SchedulerOptions {
  readonly jobs: number;
  readonly batchSize: number;
  readonly batchDelayMs: number;
  /**
   * Whether changes gather for --batch-delay while a batch runs (live, where more are coming).
   * Not in a History Crawl: it queues all it knows at once, and waiting only delays the
   * paths a first batch could not take (those its renames held) by that batch's time.
   */
  readonly gather?: () => boolean;
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

/**
 * Runs one batch. `claim`: paths the batch would send beside its entries (under -H, the other
 * names of its files' inodes); it returns those no other batch or queued rename holds, now
 * held by this batch until it ends. The others wait for a batch of their own.
 */
export type BatchHandler = (entries: readonly Entry[], claim: (paths: readonly string[]) => string[]) => Promise<void>;

/** Renames to replay before the data queued after them (entry-queue.ts), and who replays them. */
export interface EntrySteps {
  readonly queue: EntryQueue;
  /** Replays the steps in order; never rejects (a step that fails is sent as data). */
  readonly run: (steps: readonly QueuedStep[]) => Promise<void>;
  /**
   * Whether the slave can replay now (its channel is up). While it cannot, the steps wait, as
   * batches wait for the connection, and are looked at again each second: taken, each would
   * only be sent as data, and a moved directory resent whole.
   */
  readonly ready?: () => boolean;
}

/** How often waiting steps are looked at again while the slave cannot replay. */
const REPLAY_RETRY_MS = 1000;

export class Scheduler {
  private readonly locks = new PathLocks();
  /** The paths of running batches alone (the data in flight): sent whole, or by themselves. */
  private readonly sendingWhole = new PathLocks();
  private readonly sendingSelf = new PathLocks();
  private running = 0;
  private replaying = false;
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
    private readonly steps?: EntrySteps,
    /** Told each time the last running batch or run of renames ends. */
    private readonly onIdle?: () => void,
  ) {}

  /** Batches and runs of renames going on. */
  get active(): number {
    return this.running + (this.replaying ? 1 : 0);
  }

  /** Whether a running batch sends `path`, something in it or above it. */
  inFlight(path: string): boolean {
    // A directory sent by itself (its attributes) sends nothing below it.
    return this.sendingWhole.overlaps(path) || this.sendingSelf.holdsWithin(path);
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
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Called after every change and every finished batch. */
  kick(): void {
    if (this.paused) return;
    this.replay();
    const now = this.clock.now();
    while (this.running < this.o.jobs && this.changes.size > 0) {
      if (this.running > 0 && (this.o.gather?.() ?? true)) {
        const oldest = this.changes.oldestSince() ?? now;
        const dueAt = oldest + this.o.batchDelayMs;
        if (dueAt > now && this.changes.size < this.o.batchSize) {
          this.wakeAt(dueAt);
          return;
        }
      }
      const entries = this.changes.take(this.o.batchSize, now, (e) => this.locks.conflicts(e.path) || (this.steps?.queue.blocks(e.path) ?? false));
      if (entries.length === 0) {
        // Everything due is held by a running batch (its end kicks again), or backing off.
        const next = this.changes.nextDue(now);
        if (next !== undefined) this.wakeAt(next);
        return;
      }
      this.start(entries);
    }
  }

  private replay(): void {
    const s = this.steps;
    if (this.replaying || s === undefined || s.queue.size === 0) return;
    if (s.ready?.() === false) {
      this.wakeAt(this.clock.now() + REPLAY_RETRY_MS);
      return;
    }
    // Not held back by batches in the same directory (see EntryQueue.blocks): under a steady
    // stream of changes there, renames would wait for a gap that never comes.
    const steps = s.queue.take((p) => this.locks.overlaps(p));
    if (steps.length === 0) return;
    const paths = steps.flatMap((step) => [step.from, step.to]);
    this.locks.lock(paths);
    this.replaying = true;
    // run() never rejects; a bug in it must still not leave the paths locked or reject unhandled.
    void s.run(steps).catch(() => undefined).finally(() => {
      this.locks.unlock(paths);
      this.replaying = false;
      this.ended();
    });
  }

  private ended(): void {
    this.kick();
    if (this.active === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
      this.onIdle?.();
    }
  }

  private start(entries: readonly Entry[]): void {
    const paths = entries.map((e) => e.path);
    const whole = entries.filter((e) => e.recursive).map((e) => e.path);
    const self = entries.filter((e) => !e.recursive).map((e) => e.path);
    this.locks.lock(paths);
    this.sendingWhole.lock(whole);
    this.sendingSelf.lock(self);
    this.running++;
    const claimed: string[] = [];
    const claim = (more: readonly string[]): string[] => {
      // Another batch's path, or one a queued rename must move first: not this batch's to send.
      const free = more.filter((p) => !this.locks.overlaps(p) && !(this.steps?.queue.blocks(p) ?? false));
      this.locks.lock(free);
      this.sendingSelf.lock(free);
      claimed.push(...free);
      return free;
    };
    void this.handle(entries, claim)
      .catch((e: unknown) => {
        // A bug in a handler must not kill the daemon or leak the batch's paths.
        this.onError(e, entries);
      })
      .finally(() => {
        this.locks.unlock([...paths, ...claimed]);
        this.sendingWhole.unlock(whole);
        this.sendingSelf.unlock([...self, ...claimed]);
        this.running--;
        this.ended();
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
