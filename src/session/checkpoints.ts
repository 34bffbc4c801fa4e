/**
 * Follows `gsyncd checkpoint` for a running session (checkpoint.ts keeps the file): the time
 * set is completed once everything changed on the master before it is on the slave. What
 * is queued, and what batches and rechecks hold while they run, each carry the earliest
 * moment their changes may have happened (their origin).
 */
import type { Logger } from '../log/logger.js';
import { readCheckpoint } from './checkpoint.js';
import { SETTLE_MS } from './history.js';
import type { StatusWriter } from './status-writer.js';

export interface CheckpointDeps {
  readonly sessionDir: string;
  readonly status: StatusWriter;
  readonly logger: Logger;
  /** Live: batches carry the changes (no crawl still to come). */
  readonly live: () => boolean;
  /** The oldest origin still queued. */
  readonly oldestQueued: () => number | undefined;
}

export class Checkpoints {
  /** Work in flight (a batch, a recheck) → the oldest origin it carries. */
  private readonly inFlight = new Map<number, number>();
  private seq = 0;

  constructor(private readonly d: CheckpointDeps) {}

  /** Holds back checkpoints after `origin` until the returned function is called. */
  hold(origin: number): () => void {
    const id = ++this.seq;
    this.inFlight.set(id, origin);
    return () => {
      this.inFlight.delete(id);
    };
  }

  /**
   * Whether everything changed on the master before `t` (ms) is on the slave: live, the
   * watcher has had time to deliver the events of changes before t, and no queued or running
   * change is that old.
   */
  doneBefore(t: number): boolean {
    if (!this.d.live() || Date.now() < t + SETTLE_MS) return false;
    const oldest = this.d.oldestQueued();
    if (oldest !== undefined && oldest <= t) return false;
    for (const since of this.inFlight.values()) if (since <= t) return false;
    return true;
  }

  /** Called every second while live: a new time is taken up, a due one completed. */
  async follow(): Promise<void> {
    const { status, logger } = this.d;
    const cp = await readCheckpoint(this.d.sessionDir);
    const current = status.current.checkpoint;
    if (cp === undefined) return;
    if (cp !== current.time) {
      status.update((s) => ({ ...s, checkpoint: { time: cp, completed: false, completion_time: null } }));
      logger.info('checkpoint set', { time: cp });
      return;
    }
    if (current.completed || !this.doneBefore(Date.parse(cp))) return;
    const completion = new Date().toISOString();
    status.update((s) => ({ ...s, checkpoint: { time: cp, completed: true, completion_time: completion } }));
    await status.flush();
    logger.info('checkpoint completed', { time: cp, completion_time: completion });
  }
}
