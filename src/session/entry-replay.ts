/**
 * Renames replayed on the slave (gluster's entry operations), one step after another in the
 * order the master made them: through the slave gsyncd's channel, or directly for a local
 * slave. A step the slave cannot replay (its source is not there, a type differs) is sent by
 * rsync instead: the old name as a delete, the new one whole. So are the steps after it that
 * touch its paths, since the slave's tree is then not what they expect. Correctness first.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import type { EntryOp, EntryResult } from '../slave/entry-ops.js';
import type { SessionMetrics } from '../status/metrics.js';
import type { EntryQueue, QueuedStep } from '../sync/entry-queue.js';
import { encodeName } from '../sync/names.js';
import { overlaps, parentOf } from '../sync/paths.js';
import type { Checkpoints } from './checkpoints.js';
import type { SessionQueue } from './queue.js';
import type { Snapshots } from './snapshots.js';
import type { StatusWriter } from './status-writer.js';

/** Carries out one operation on the slave; undefined when no slave can replay now. */
export type ReplayOp = (op: EntryOp) => Promise<EntryResult>;

export interface ReplayDeps {
  readonly replay: () => ReplayOp | undefined;
  readonly masterRoot: string;
  readonly steps: EntryQueue;
  readonly queue: SessionQueue;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly metrics: SessionMetrics | undefined;
  readonly checkpoints: Checkpoints;
  readonly snapshots: Snapshots | undefined;
  /** Filter rules that could judge a directory's content by where it is: resend a moved one. */
  readonly rulesByPlace: boolean;
  /** A stop was asked: the steps not begun go as data, which the stop saves (invariant 7). */
  readonly stopping: () => boolean;
}


export class Replayer {
  constructor(private readonly d: ReplayDeps) {}

  /**
   * The scheduler's run of steps. Never rejects: should anything throw, the steps not done yet
   * are queued as data (invariant 1). A stop ends it after the step under way.
   */
  async run(steps: readonly QueuedStep[]): Promise<void> {
    const release = this.d.checkpoints.hold(steps.reduce((m, s) => Math.min(m, s.origin_ms), Infinity));
    /** Paths the slave no longer holds as the steps expect: a step on them is sent as data. */
    const tainted: string[] = [];
    let next = 0;
    try {
      for (; next < steps.length; next++) {
        const s = steps[next];
        if (s === undefined) continue;
        if (this.d.stopping()) {
          this.sendInstead(s, 'gsyncd is stopping', 'fallback', tainted);
        } else if (tainted.some((t) => overlaps(t, s.from) || overlaps(t, s.to))) {
          this.sendInstead(s, 'it follows a rename that was not replayed', 'fallback', tainted);
        } else {
          // Before the request: a change made while it is under way is not taken for sent.
          const started = Date.now();
          const r = await this.replayOne(s);
          if (r.result === 'done') await this.done(s, started);
          else this.sendInstead(s, r.reason, r.result, tainted);
        }
      }
    } catch (e) {
      this.d.logger.error('internal error in a run of renames; sending the rest by rsync', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      for (const s of steps.slice(next)) {
        for (const p of new Set([s.from, s.origin.from])) this.d.queue.add(p, false, s.origin_ms);
        this.d.queue.add(s.origin.to, true, s.origin_ms);
      }
    } finally {
      release();
      this.d.queue.kick();
    }
  }

  private async replayOne(s: QueuedStep): Promise<EntryResult> {
    const op = this.d.replay();
    if (op === undefined) return { result: 'fallback', reason: 'the slave channel is down' };
    try {
      return await op({ op: 'rename', from: s.from, to: s.to });
    } catch (e) {
      return { result: 'fallback', reason: `the slave channel was lost (${e instanceof Error ? e.message : String(e)})` };
    }
  }

  private async done(s: QueuedStep, started: number): Promise<void> {
    const { logger, queue } = this.d;
    // A step aside is half a rename: the rest follows.
    if (s.to !== s.origin.to) return;
    this.count('done');
    logger.info('renamed on the slave', { from: s.origin.from, to: s.to });
    // The slave's copy moved whole: for the reconciliation, the new name went out as a subtree.
    this.d.snapshots?.sent([s.origin.from, s.to], started, true);
    // rename(2) sets its directories' times to now on the slave; rsync sets them back.
    for (const dir of new Set([parentOf(s.origin.from), parentOf(s.to)])) queue.add(dir, false, s.origin_ms);
    if (s.verify || (this.d.rulesByPlace && (await this.isDirectory(s.to)))) queue.add(s.to, true, s.origin_ms);
  }

  /** Sent by rsync instead: the old name (and where the slave holds it now) as deletes, the new one whole. */
  private sendInstead(s: QueuedStep, reason: string, result: 'fallback' | 'refused', tainted: string[]): void {
    const { logger, queue } = this.d;
    this.count(result);
    const fields = { from: s.origin.from, to: s.origin.to, reason };
    if (result === 'refused') logger.warn('the slave refused a rename; sending it by rsync', fields);
    else logger.info('rename not replayed; sending it by rsync', fields);
    for (const p of new Set([s.from, s.origin.from])) queue.add(p, false, s.origin_ms);
    queue.add(s.origin.to, true, s.origin_ms);
    tainted.push(s.from, s.to, s.origin.from, s.origin.to);
    // Queued steps on the same paths expect a slave tree this one did not make.
    for (const later of this.d.steps.takeTouching([s.from, s.to, s.origin.from, s.origin.to])) {
      this.sendInstead(later, 'it follows a rename that was not replayed', 'fallback', tainted);
    }
  }

  private count(result: 'done' | 'fallback' | 'refused'): void {
    this.d.metrics?.entryOp('rename', result);
    this.d.status.update((st) => ({
      ...st,
      totals: { ...st.totals, ...(result === 'done' ? { renames: st.totals.renames + 1 } : { renames_sent: st.totals.renames_sent + 1 }) },
    }));
  }

  private isDirectory(rel: string): Promise<boolean> {
    return lstat(encodeName(path.join(this.d.masterRoot, rel))).then(
      (st) => st.isDirectory(),
      () => false,
    );
  }
}
