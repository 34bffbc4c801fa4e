/**
 * Per-batch confirmation by the slave (issue: reports), as the session uses it: a sample or
 * all of a batch's paths, at most two confirmations in flight, a differing copy counted and
 * sent again once, and not again until it changes (something may keep altering it on the
 * way: an --rsync-options --chmod, a process on the slave).
 */
import type { Options } from '../config/options.js';
import type { Logger } from '../log/logger.js';
import type { BatchResult } from '../sync/batch.js';
import { usesArchive } from '../sync/rsync-argv.js';
import type { SlaveLink } from './slave-link.js';
import { SAMPLE_SIZE, confirmPaths, pickSample } from './confirm.js';
import { confirmScope, type ConfirmScope } from './confirm-scope.js';
import type { FailedPaths } from './failed-paths.js';
import type { Failures } from './failures.js';
import type { SessionQueue } from './queue.js';

export interface ConfirmerDeps {
  readonly masterRoot: string;
  readonly options: Options;
  readonly link: SlaveLink | undefined;
  readonly logger: Logger;
  /** A differing copy is queued again, or listed as failed (status --detail) until it changes. */
  readonly queue: SessionQueue;
  readonly failed: FailedPaths;
  readonly failures: Failures;
}

/**
 * Confirming compares modes and times by the master's names: only meaningful when rsync keeps
 * them, never with -n, nor where the slave is not read as rsync wrote it (-K writes through
 * the slave's links to directories, which the confirmation does not follow; under --iconv the
 * slave's names are not the master's).
 */
export function confirmable(o: Pick<Options, 'rsyncFlags' | 'rsyncValues'>): boolean {
  const flags = o.rsyncFlags;
  if (flags.has('dry-run') || flags.has('keep-dirlinks') || o.rsyncValues.has('iconv')) return false;
  return usesArchive(flags) || (flags.has('perms') && flags.has('times') && flags.has('links'));
}

export class Confirmer {
  private inFlight = 0;
  private readonly resent = new Set<string>();
  private readonly enabled: boolean;
  private readonly scope: ConfirmScope;

  constructor(private readonly d: ConfirmerDeps) {
    this.enabled = d.options.verify !== 'off' && confirmable(d.options);
    this.scope = confirmScope(d.options);
  }

  /** A new change of the path: it may be resent after a mismatch again. */
  changed(path: string): void {
    if (this.resent.size > 0) this.resent.delete(path);
  }

  /** Asks the slave about what this batch sent; not awaited by the batch. */
  afterBatch(result: BatchResult): void {
    const channel = this.d.link?.current();
    if (!channel || !this.enabled || this.inFlight >= 2) return;
    const sent = result.runs.filter((r) => !r.recursive).flatMap((r) => r.paths);
    const paths = this.d.options.verify === 'all' ? sent : pickSample(sent, SAMPLE_SIZE);
    if (paths.length === 0) return;
    this.inFlight++;
    confirmPaths(paths, {
      masterRoot: this.d.masterRoot,
      channel,
      checksum: this.d.options.verifyChecksum,
      scope: this.scope,
      pending: (path) => this.d.queue.has(path),
    })
      .then((mismatches) => {
        this.d.logger.debug('confirmed by the slave', { paths: paths.length, mismatches: mismatches.length });
        for (const m of mismatches) {
          this.d.failures.count(1);
          if (this.resent.has(m.path)) {
            this.d.logger.error('slave copy still differs after sending it again; not resending until it changes', { path: m.path, reason: m.reason });
            this.d.failed.record(m.path, `the slave's copy differs after sending it again: ${m.reason}`, 2, new Date());
            this.d.queue.publishFailed();
            continue;
          }
          this.d.logger.warn('slave copy differs from the master; sending it again', { path: m.path, reason: m.reason });
          this.resent.add(m.path);
          this.d.queue.push(m.path, false);
        }
      })
      .catch((e: unknown) => {
        this.d.logger.debug('confirmation skipped', { reason: e instanceof Error ? e.message : String(e) });
      })
      .finally(() => {
        this.inFlight--;
      });
  }
}
