/**
 * Batch dispatch: each batch the scheduler takes is checked against the master root and the
 * link, run (sync/batch.ts), and its outcome applied: sent paths counted and remembered for
 * the reconciliation, failures handed to Failures, a connection loss to the Reconnector.
 */
import type { Options } from '../config/options.js';
import type { LocalEndpoint } from '../endpoint/parse.js';
import type { Matcher } from '../filter/matcher.js';
import type { Logger } from '../log/logger.js';
import { judgeBatch } from '../sync/batch-failures.js';
import { DeleteMode, runBatch, statePathFollowing, statePathOf, type BatchResult, type PathState } from '../sync/batch.js';
import { followsLinks } from '../config/rsync-flags.js';
import { earliestOrigin, type Entry } from '../sync/change-set.js';
import { isWithin, parentOf } from '../sync/paths.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import type { RsyncResult, RunRsync } from '../sync/rsync-runner.js';
import type { SessionMetrics } from '../status/metrics.js';
import type { Checkpoints } from './checkpoints.js';
import type { HardLinks } from './hard-links.js';
import type { Confirmer } from './confirmer.js';
import { Failures, errorsOf } from './failures.js';
import type { SessionEvent } from './machine.js';
import type { MasterGuard } from './master-guard.js';
import type { SessionQueue } from './queue.js';
import type { Reconnector } from './reconnector.js';
import { scheduleRecheck } from './sent-recheck.js';
import type { Snapshots } from './snapshots.js';
import type { StatusWriter } from './status-writer.js';

export interface DispatchDeps {
  readonly master: LocalEndpoint;
  readonly options: Options;
  readonly matcher: Matcher;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly metrics: SessionMetrics | undefined;
  readonly runRsync: RunRsync;
  /** The plan now (a host::NAME slave learns its root in the handshake). */
  readonly plan: () => RsyncPlan;
  readonly slaveRoot: () => string;
  readonly queue: SessionQueue;
  readonly failures: Failures;
  readonly guard: MasterGuard;
  readonly link: Reconnector | undefined;
  readonly checkpoints: Checkpoints;
  readonly confirmer: Confirmer;
  readonly fire: (e: SessionEvent) => Promise<void>;
  /** The signal for an rsync starting now: the shutdown bound, or a pause. */
  readonly runSignal: () => AbortSignal;
  /** A stop past its bound or a pause stopped the run: its paths wait, no attempt counted. */
  readonly interrupted: () => boolean;
  /** Told what went out, for the reconciliation; undefined with --once. */
  readonly snapshots: Snapshots | undefined;
  /** Under -H while live: the other names of the files a batch sends, sent with them. */
  readonly hardLinks: HardLinks | undefined;
}

export class Dispatcher {
  /** Rechecks of sent paths still to run: no snapshot may be saved before them. */
  private rechecks = 0;
  /** How deletes go: as missing entries until the slave's rsync refuses them. */
  private readonly deletes: DeleteMode;
  /** What a listed path is: under -L and -k a link to a directory is that directory, sent whole. */
  private readonly stateOf: (abs: string) => Promise<PathState>;

  constructor(private readonly d: DispatchDeps) {
    this.stateOf = followsLinks(d.options.rsyncFlags) ? statePathFollowing : statePathOf;
    this.deletes = new DeleteMode((message) => {
      d.logger.warn("the slave's rsync refuses --delete-missing-args; deleting by the parent directory from now on (slower in large directories)", { rsync: message });
    });
  }

  rechecking(): boolean {
    return this.rechecks > 0;
  }

  /** The scheduler's batch handler. */
  /** `claim`: the scheduler's, for the paths sent beside the entries (see BatchHandler). */
  async handle(entries: readonly Entry[], claim: (paths: readonly string[]) => string[] = (p) => [...p]): Promise<void> {
    const release = this.d.checkpoints.hold(earliestOrigin(entries));
    try {
      await this.run(entries, claim);
    } finally {
      release();
    }
  }

  private async run(batch: readonly Entry[], claim: (paths: readonly string[]) => string[]): Promise<void> {
    const { logger, queue } = this.d;
    const entries = await this.withLinkedNames(batch, claim);
    const problem = await this.d.guard.problem();
    if (problem !== undefined) {
      // No attempt: the paths wait for the root to come back (MasterGuard.check).
      queue.requeue(entries, Date.now() + 2000, false);
      await this.d.guard.lost(problem);
      return;
    }
    if (this.d.link && !this.d.link.alive() && !(await this.d.link.reconnect())) {
      queue.requeue(entries, Date.now() + 1000);
      return;
    }
    logger.debug('batch starting', { paths: entries.length, first: entries[0]?.path, recursive: entries.filter((e) => e.recursive).length });
    const deps = { plan: this.d.plan(), rsyncCommand: this.d.options.rsyncCommand, runRsync: this.d.runRsync, masterRoot: this.d.master.path, killAfterMs: 5000, rules: this.d.matcher, deletes: this.deletes, stateOf: this.stateOf };
    const result = await runBatch(entries, deps, this.d.runSignal());
    const origin = earliestOrigin(entries);
    for (const run of result.runs) {
      logger.debug('rsync run', { recursive: run.recursive, paths: run.paths.slice(0, 20).join('|'), exit: run.result.exit.code });
      this.afterRun(run.result, run.recursive, origin);
    }
    const exitCodes = result.runs.map((r) => r.result.exit.code);
    this.d.metrics?.batch({ files: result.files, bytes: result.bytes, seconds: result.seconds, exitCodes }, ['ok', 'vanished', 'max-delete'].includes(result.outcome));
    const fields = { files: result.files, bytes: result.bytes, literal_bytes: result.literal, seconds: result.seconds.toFixed(3), rsync_exit: exitCodes.length === 0 ? 0 : Math.max(...exitCodes) };
    if (this.d.interrupted() && result.outcome !== 'ok') {
      queue.requeue(entries, 0, false);
      return;
    }
    switch (result.outcome) {
      case 'ok':
      case 'vanished':
        this.succeeded(result);
        logger.info('batch done', fields);
        this.d.confirmer.afterBatch(result);
        return;
      case 'max-delete':
        logger.warn('batch stopped deleting at --max-delete', { ...fields, error: errorsOf(result) });
        this.d.failures.count(result.files);
        this.succeeded(result);
        return;
      case 'connection':
        logger.warn('batch failed: connection lost', { ...fields, error: errorsOf(result) });
        this.d.failures.connectionLost(entries);
        // A batch that fails while the link is being reopened is a symptom of it: the
        // reconnector's reason (the slave unreachable, and why) stays the one shown.
        if (!this.d.link?.busy()) await this.d.fire({ type: 'fault', reason: `connection to the slave lost: ${errorsOf(result)}` });
        this.d.link?.again();
        return;
      case 'partial':
      case 'fatal':
      case 'usage': {
        const verdict = judgeBatch(entries, result.runs, this.d.master.path, this.d.slaveRoot());
        if (verdict.failed.length === 0) {
          // What rsync named was only gone since the batch looked (batch-failures.ts): done.
          this.succeeded(result);
          logger.info('batch done', fields);
          this.d.confirmer.afterBatch(result);
          return;
        }
        if (verdict.done.length > 0) this.succeeded(result, new Set(verdict.failed.map((f) => f.entry.path)), Failures.healthy(verdict));
        await this.d.failures.afterBatch(verdict, result, fields);
        return;
      }
    }
  }

  /**
   * The batch and, under -H, the other names of its files' inodes: rsync links them only in one
   * run. Each is held for the batch first (`claim`): one that another batch sends, or that a
   * queued rename must move first, is queued for a batch of its own instead.
   */
  private async withLinkedNames(entries: readonly Entry[], claim: (paths: readonly string[]) => string[]): Promise<readonly Entry[]> {
    const links = this.d.hardLinks;
    if (links === undefined) return entries;
    const found = await links.peers(entries.map((e) => e.path));
    if (found.length === 0) return entries;
    const origin = earliestOrigin(entries);
    const names = claim(found);
    const held = new Set(names);
    for (const p of found) if (!held.has(p)) this.d.queue.add(p, false, origin);
    const since = entries[0]?.since ?? Date.now();
    return [...entries, ...names.map((path): Entry => ({ path, recursive: false, since, origin, attempts: 0, notBefore: 0 }))];
  }

  /**
   * What any rsync run (a batch's, the Full Crawl's) leaves to do: a recursive run's sent
   * paths are rechecked and its merge files' directories synced again; its output is logged.
   */
  afterRun(r: RsyncResult, recursive: boolean, origin: number): void {
    if (recursive && !this.d.options.once) {
      this.recheckSent(r, origin);
      this.resyncBelowSentMergeFiles(r);
    }
    const flags = this.d.options.rsyncFlags;
    if (flags.has('stats')) {
      const st = r.stats;
      this.d.logger.info('rsync stats', {
        files_transferred: st.filesTransferred,
        files_created: st.filesCreated,
        files_deleted: st.filesDeleted,
        bytes: st.bytes,
        literal_bytes: st.literal,
        seconds: r.seconds.toFixed(3),
        rsync_exit: r.exit.code,
      });
    }
    if (r.output !== '') {
      const level = flags.has('verbose') || flags.has('itemize-changes') || flags.has('stats') ? 'info' : 'debug';
      for (const line of r.output.split('\n')) if (line !== '') this.d.logger[level](`rsync: ${line}`);
    }
  }

  /** `failed`: paths of the batch that did not go through; `healthy`: the slave took the rest fine. */
  private succeeded(result: BatchResult, failed: ReadonlySet<string> = new Set(), healthy = true): void {
    const through = (p: string): boolean => failed.size === 0 || ![...failed].some((f) => isWithin(p, f));
    for (const run of result.runs) {
      const startedAt = Date.now() - run.result.seconds * 1000;
      this.d.snapshots?.sent(run.paths.filter(through), startedAt, run.recursive);
      if (run.recursive && run.result.sent) this.d.snapshots?.sent(run.result.sent.paths.filter(through), startedAt);
    }
    this.d.status.update((s) => ({
      ...s,
      last_synced: new Date().toISOString(),
      pending: this.d.queue.size,
      totals: { ...s.totals, files: s.totals.files + result.files, bytes: s.totals.bytes + result.bytes, batches: s.totals.batches + 1 },
    }));
    if (healthy) void this.d.fire({ type: 'healthy' });
  }

  /**
   * rsync's receiver judges deletes in a directory by the merge files the slave holds before
   * the run brings the new ones: after a run that sent a merge file, its directory is synced
   * once more, as the next run of a cron rsync would (the new file is then in place).
   */
  private resyncBelowSentMergeFiles(r: RsyncResult): void {
    const names = this.d.matcher.mergeFileNames;
    if (names.size === 0 || r.sent === undefined || this.d.options.ignoreDeletes) return;
    const dirs = new Set(r.sent.paths.filter((p) => names.has(p.slice(p.lastIndexOf('/') + 1))).map(parentOf));
    for (const dir of dirs) this.d.queue.add(dir, true, 0);
    if (dirs.size > 0) this.d.queue.kick();
  }

  /** See sent-recheck.ts; deletes are only queued when deletes propagate. */
  private recheckSent(r: RsyncResult, origin: number): void {
    if (this.d.options.ignoreDeletes || r.sent === undefined || r.sent.paths.length === 0) return;
    this.rechecks++;
    // Until it has looked, the recheck holds back checkpoints as its batch did.
    const release = this.d.checkpoints.hold(origin);
    scheduleRecheck(r.sent, {
      done: () => {
        this.rechecks--;
        release();
      },
      masterRoot: this.d.master.path,
      logger: this.d.logger,
      pending: (path) => this.d.queue.has(path),
      queueDeletes: (paths) => {
        for (const path of paths) this.d.queue.add(path, false, origin);
        this.d.queue.kick();
      },
    });
  }
}
