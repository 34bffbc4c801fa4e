/**
 * The Full Crawl: one recursive rsync of the whole tree that deletes what the slave has
 * beyond the master. Each rsync exit status decides: done, a configuration error, the slave
 * unreachable (with --once), or Faulty and retried with backoff, reconnecting first when
 * the link failed.
 */
import type { Options } from '../config/options.js';
import { ExitCode, GsyncdError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { fullSyncArgv, type RsyncPlan } from '../sync/rsync-argv.js';
import type { RsyncResult, RunRsync } from '../sync/rsync-runner.js';
import { parseRsyncErrors, type PathError } from '../sync/rsync-errors.js';
import type { ProgressReporter } from './progress.js';
import type { StatusWriter } from './status-writer.js';
import { firstLines, sleep } from './wait.js';

export interface FullCrawlContext {
  readonly name: string;
  readonly master: string;
  readonly slave: string;
  readonly options: Options;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly runRsync: RunRsync;
  readonly plan: RsyncPlan;
  /** For each rsync run: aborted when the shutdown bound has passed, or by a pause. */
  runSignal(): AbortSignal;
  /** Resolves once not paused (or stopping). */
  whenRunning(): Promise<void>;
  paused(): boolean;
  /** A stop was asked: no more retries. */
  readonly stopSignal: AbortSignal;
  afterRun(r: RsyncResult): void;
  countFailure(): void;
  /** The crawl went through but for these master paths rsync could not read: retry them. */
  masterFailures(failures: readonly PathError[]): void;
  /** The slave root as its rsync names it in messages. */
  slaveRoot(): string;
  /** Where its progress goes. */
  readonly progress: ProgressReporter;
  faulty(reason: string): Promise<void>;
  /** Why the master root must not be crawled now (gone, unmounted), or undefined. */
  masterProblem(): Promise<string | undefined>;
  reconnect(): Promise<boolean>;
  /** The pause before attempt `attempt + 1` (capped, jittered: Failures.backoff). */
  backoff(attempt: number): number;
}

/** One recursive rsync of the whole tree, retried as its exit status says. Returns whether the slave now matches. */
export async function fullCrawl(c: FullCrawlContext): Promise<boolean> {
  const { logger, options } = c;
  const stopping = (): boolean => c.stopSignal.aborted;
  const pause = (attempt: number): Promise<void> => sleep(c.backoff(attempt), c.stopSignal);
  for (let attempt = 0; ; attempt++) {
    await c.whenRunning();
    if (stopping()) return false;
    // A retry may come after the master's disk went away: crawling an empty mount point
    // with --delete would empty the slave.
    const problem = await c.masterProblem();
    if (problem !== undefined) {
      if (options.once) throw new GsyncdError(problem, ExitCode.failure);
      await c.faulty(problem);
      await pause(attempt);
      continue;
    }
    logger.info('Full Crawl started', { session: c.name, master: c.master, slave: c.slave });
    const r = await c.runRsync(options.rsyncCommand, fullSyncArgv(c.plan, !options.once), {
      signal: c.runSignal(),
      killAfterMs: 5000,
      onProgress: (p) => {
        c.progress.update(p);
      },
    });
    c.progress.end();
    c.afterRun(r);
    if (c.paused() && r.exit.outcome !== 'ok' && r.exit.outcome !== 'vanished') {
      // Stopped by a pause: on resume a new run picks up (rsync skips what already arrived).
      logger.info('Full Crawl paused; it runs again on resume', { files: r.stats.filesTransferred, bytes: r.stats.bytes });
      attempt--;
      continue;
    }
    if (r.spawnError !== undefined) {
      throw new GsyncdError(`cannot run rsync (${options.rsyncCommand}): ${r.spawnError}`, ExitCode.failure);
    }
    const fields = { files: r.stats.filesTransferred, deleted: r.stats.filesDeleted, bytes: r.stats.bytes, seconds: r.seconds.toFixed(2), rsync_exit: r.exit.code };
    switch (r.exit.outcome) {
      case 'ok':
      case 'vanished':
        countCrawl(c, r);
        logger.info('Full Crawl finished', fields);
        return true;
      case 'usage':
        throw new GsyncdError(`rsync refused its arguments (exit ${r.exit.code}, ${r.exit.meaning}): ${firstLines(r.stderr)}`, ExitCode.usage);
      case 'max-delete':
        logger.warn('Full Crawl stopped deleting at --max-delete; the slave still has files the master lacks', { ...fields, error: firstLines(r.stderr) });
        if (options.once) return false;
        c.countFailure();
        return true;
      case 'connection':
        if (stopping()) return false;
        if (options.once) {
          throw new GsyncdError(`slave ${c.slave} unreachable during the Full Crawl: ${firstLines(r.stderr) || r.exit.meaning}`, ExitCode.unreachable);
        }
        await c.faulty(`connection lost during Full Crawl: ${firstLines(r.stderr) || r.exit.meaning}`);
        if (!(await c.reconnect())) return false;
        // The link may be fine and the slave refusing: never retry in a tight loop.
        await pause(attempt);
        if (stopping()) return false;
        break;
      case 'partial':
      case 'fatal': {
        if (stopping()) return false;
        const unread = masterOnly(r, c);
        if (unread !== undefined) {
          // One unreadable file must not hold back the tree, nor send it all again.
          logger.error('Full Crawl finished, but for paths rsync could not read', { ...fields, failed: unread.length, first: unread[0]?.message });
          if (options.once) return false;
          countCrawl(c, r);
          c.masterFailures(unread);
          return true;
        }
        logger.error('Full Crawl failed', { ...fields, meaning: r.exit.meaning, error: firstLines(r.stderr, 20) });
        if (options.once) return false;
        await c.faulty(`Full Crawl failed: rsync exit ${r.exit.code} (${r.exit.meaning}): ${firstLines(r.stderr, 1)}`);
        await pause(attempt);
        if (stopping()) return false;
        break;
      }
    }
  }
}

/** The failed paths of a partial run, when every failure is a master path that could not be read. */
function masterOnly(r: RsyncResult, c: FullCrawlContext): PathError[] | undefined {
  if (r.exit.outcome !== 'partial') return undefined;
  const errors = parseRsyncErrors(r.stderr, c.master, c.slaveRoot());
  if (errors.unattributed.length > 0 || errors.paths.length === 0 || errors.paths.some((p) => p.side !== 'sender')) return undefined;
  return [...errors.paths];
}

/** A crawl that went through: its figures join the totals, and it is the last sync. */
function countCrawl(c: FullCrawlContext, r: RsyncResult): void {
  c.status.update((s) => ({
    ...s,
    last_synced: new Date().toISOString(),
    totals: { ...s.totals, files: s.totals.files + r.stats.filesTransferred, bytes: s.totals.bytes + r.stats.bytes, full_syncs: s.totals.full_syncs + 1 },
  }));
}
