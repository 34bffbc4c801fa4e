/**
 * The session's queue of changes as its owners use it: a queued path is a failed path
 * forgiven (it changed, so it is tried afresh), the status shows the count, and a subtree
 * folded at the queue's bound is a warning (invariant 4: never a silent drop).
 */
import type { Logger } from '../log/logger.js';
import type { ChangeSet, Entry } from '../sync/change-set.js';
import type { FailedPaths } from './failed-paths.js';
import type { StatusWriter } from './status-writer.js';

export interface QueueDeps {
  readonly changes: ChangeSet;
  readonly failed: FailedPaths;
  readonly status: StatusWriter;
  readonly logger: Logger;
  readonly maxQueue: number;
  /** Starts a batch if one may start (the scheduler). */
  readonly kick: () => void;
}

export class SessionQueue {
  constructor(private readonly d: QueueDeps) {}

  get size(): number {
    return this.d.changes.size;
  }

  has(path: string): boolean {
    return this.d.changes.has(path);
  }

  /** `origin`: when the change may have happened at the earliest (for checkpoints). */
  add(path: string, recursive: boolean, origin?: number): void {
    if (this.d.failed.clear(path, recursive)) this.publishFailed();
    const folded = this.d.changes.add(path, recursive, Date.now(), origin);
    if (folded) {
      this.d.logger.warn('queue bound reached; resyncing a subtree as a whole', {
        subtree: folded.folded || '.',
        folded_paths: folded.removed,
        max_queue: this.d.maxQueue,
      });
    }
    this.showPending();
  }

  /** Queues and lets a batch start now. */
  push(path: string, recursive: boolean, origin?: number): void {
    this.add(path, recursive, origin);
    this.d.kick();
  }

  /** Back into the queue, not before `notBefore` (ms); see ChangeSet.requeue. */
  requeue(entries: readonly Entry[], notBefore: number, countAttempt = true, alone = false): void {
    this.d.changes.requeue(entries, notBefore, Date.now(), countAttempt, alone);
    this.showPending();
  }

  kick(): void {
    this.d.kick();
  }

  showPending(): void {
    this.d.status.update((s) => ({ ...s, pending: this.d.changes.size }));
  }

  publishFailed(): void {
    this.d.status.update((s) => ({ ...s, failed_paths: this.d.failed.list() }));
  }
}
