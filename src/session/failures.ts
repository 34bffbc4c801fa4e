/**
 * What a failed batch means for its paths (DESIGN.md invariant 6). The paths that went
 * through count as sent; each failed one is retried with capped, jittered backoff. A master
 * path rsync cannot read is given up on after --retry-attempts (listed, counted, tried again
 * when it changes); a slave that refuses writes, or an rsync that fails as a whole, makes
 * the session Faulty, and its paths are retried until they go through.
 */
import type { Options } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import type { BatchVerdict } from '../sync/batch-failures.js';
import type { BatchResult } from '../sync/batch.js';
import { mostAttempts, type Entry } from '../sync/change-set.js';
import { ACTIONS } from '../sync/exit-codes.js';
import type { PathError } from '../sync/rsync-errors.js';
import type { SessionMetrics } from '../status/metrics.js';
import { backoffMs } from './backoff.js';
import type { FailedPaths } from './failed-paths.js';
import type { SessionEvent } from './machine.js';
import type { SessionQueue } from './queue.js';
import type { StatusWriter } from './status-writer.js';
import { firstLines } from './wait.js';

export interface FailuresDeps {
  readonly options: Options;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly metrics: SessionMetrics | undefined;
  readonly queue: SessionQueue;
  readonly failed: FailedPaths;
  readonly fire: (e: SessionEvent) => Promise<void>;
}

/** rsync's first lines of complaint in a batch, or the outcome's name. */
export const errorsOf = (result: BatchResult): string => firstLines(result.runs.map((r) => r.result.stderr).join('\n'), 10) || result.outcome;

export class Failures {
  constructor(private readonly d: FailuresDeps) {}

  /** Capped (--retry-max-delay), jittered exponential backoff. */
  backoff(attempt: number): number {
    return backoffMs(attempt, 1000, this.d.options.retryMaxDelay * 1000);
  }

  count(n: number): void {
    this.d.metrics?.failures(n);
    this.d.status.update((s) => ({ ...s, failures: s.failures + n }));
  }

  /**
   * The failed paths of a batch whose other paths went through (`succeeded` has counted
   * them): each is retried, given up on, or makes the session Faulty.
   */
  async afterBatch(verdict: BatchVerdict, result: BatchResult, fields: Record<string, unknown>): Promise<void> {
    const { logger, options } = this.d;
    const now = Date.now();
    let givenUp = 0;
    let nextTry = Infinity;
    for (const f of verdict.failed) {
      const attempts = f.entry.attempts + 1;
      if (f.side === 'sender' && attempts >= options.retryAttempts) {
        this.d.failed.record(f.entry.path, f.reason, attempts, new Date(now));
        givenUp++;
        logger.error('giving up on a path until it changes again', { path: f.entry.path || '.', attempts, reason: f.reason });
        continue;
      }
      const delay = this.backoff(f.entry.attempts);
      nextTry = Math.min(nextTry, delay);
      this.d.queue.requeue([f.entry], now + delay, true, f.alone);
    }
    logger[ACTIONS[result.outcome].level]('batch failed', {
      ...fields,
      failed: verdict.failed.length,
      sent: verdict.done.length,
      ...(Number.isFinite(nextTry) ? { retry_in_s: (nextTry / 1000).toFixed(1) } : {}),
      error: errorsOf(result),
    });
    if (givenUp > 0) {
      this.count(givenUp);
      this.d.queue.publishFailed();
    }
    const slaveTrouble = verdict.failed.find((f) => f.side === 'receiver');
    const runTrouble = verdict.failed.find((f) => f.side === 'run');
    if (slaveTrouble) await this.d.fire({ type: 'fault', reason: `the slave refused writes: ${slaveTrouble.reason}` });
    else if (runTrouble) await this.d.fire({ type: 'fault', reason: `rsync failed (exit ${String(fields['rsync_exit'])}): ${runTrouble.reason}` });
  }

  /** Whether the slave took the verdict's other paths fine (no reason to stay Faulty). */
  static healthy(verdict: BatchVerdict): boolean {
    return !verdict.failed.some((f) => f.side === 'receiver' || f.side === 'run');
  }

  /** A whole batch lost its connection: every path again after a backoff (the slave may be refusing the transfer). */
  connectionLost(entries: readonly Entry[]): void {
    this.d.queue.requeue(entries, Date.now() + this.backoff(mostAttempts(entries)));
  }

  /**
   * The Full Crawl went through except for these master paths: each is retried as a batch
   * would retry it. Recursive, as judgeBatch makes them: a batch sends a file as a file.
   */
  retryMasterPaths(failures: readonly PathError[]): void {
    const now = Date.now();
    for (const f of failures) {
      const entry: Entry = { path: f.path, recursive: true, since: now, origin: 0, attempts: 0, notBefore: 0 };
      this.d.queue.requeue([entry], now + this.backoff(0));
      this.d.logger.error('could not send a path; retrying it', { path: f.path || '.', reason: f.message });
    }
  }
}
