/**
 * The crawl phases (gluster's names): with usable saved state, the History Crawl queues what
 * changed while gsyncd was not running and batches send it; otherwise the Full Crawl runs
 * one recursive rsync of the tree (full-crawl.ts). Either way the Changelog Crawl follows.
 */
import { stat } from 'node:fs/promises';
import { ExitCode, GsyncdError } from '../errors.js';
import { rootIdentity } from '../slave/facts.js';
import { isEmptyDir, slaveHasFiles } from '../sync/empty-master.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import type { ChangeEvent, ChangeHandlers, WatchSeed } from '../watch/change-source.js';
import { listedDirectories } from '../watch/listing.js';
import { isListing } from '../watch/listing-read.js';
import { changesSinceSnapshot } from '../watch/snapshot.js';
import { followsLinks } from '../config/rsync-flags.js';
import type { Dispatcher } from './dispatch.js';
import type { FailedPaths } from './failed-paths.js';
import type { Failures } from './failures.js';
import { fullCrawl } from './full-crawl.js';
import { decideCrawl, type CrawlDecision } from './history.js';
import type { Intake } from './intake.js';
import type { Lifecycle } from './lifecycle.js';
import type { MasterGuard } from './master-guard.js';
import type { PauseGate } from './pause.js';
import type { SessionParts } from './parts.js';
import { ProgressReporter } from './progress.js';
import { StepTimes } from './step-times.js';
import type { SessionQueue } from './queue.js';
import type { Marker } from './saved-state.js';
import type { Reconnector } from './reconnector.js';
import type { Snapshots } from './snapshots.js';

export interface CrawlsDeps {
  readonly p: SessionParts;
  readonly life: Lifecycle;
  readonly plan: () => RsyncPlan;
  readonly slaveRoot: () => string;
  readonly queue: SessionQueue;
  readonly intake: Intake;
  readonly failed: FailedPaths;
  readonly failures: Failures;
  readonly guard: MasterGuard;
  readonly link: Reconnector | undefined;
  readonly dispatcher: Dispatcher;
  readonly snapshots: Snapshots | undefined;
  readonly gate: PauseGate;
  readonly stopSignal: AbortSignal;
  readonly killSignal: AbortSignal;
}

export class Crawls {
  /** The slave root's identity as this run found it, for the marker. */
  slaveId: string | null = null;
  /** Which crawl this start needs, once prepare() has looked. */
  private decision: CrawlDecision | undefined;
  /** The same from what this host alone shows (the slave not asked yet), for an early start. */
  private tentative: CrawlDecision | undefined;
  /** A History Crawl's comparison with the snapshot, begun as soon as the watch was in place. */
  private scan: { readonly changes: Promise<ChangeEvent[]>; readonly sentGone: Promise<string[] | undefined>; readonly halt: AbortController } | undefined;
  private endingHistory = false;

  constructor(private readonly d: CrawlsDeps) {}

  /**
   * Before the slave is reached: the crawl the saved state allows as far as this host can
   * tell. The watch and a History Crawl's comparison start from it while the connection and
   * the handshake take their time (a remote login shell alone takes 0.5 s on many servers);
   * prepare() may still turn it into a Full Crawl.
   */
  async prepareLocal(): Promise<void> {
    const { p } = this.d;
    const saved = p.saved;
    if (!saved) return;
    const decision = decideCrawl(await saved.marker(), await saved.has(saved.snapshotFile), p.master.path, p.status.current.slave, null);
    this.tentative = decision.kind === 'history' && (await isListing(saved.snapshotFile)) ? decision : undefined;
  }

  /** Once the slave has answered: which crawl this start needs. */
  async prepare(): Promise<void> {
    await this.guardEmptyMaster();
    this.decision = await this.decide();
  }

  /**
   * A History Crawl's comparison of the tree with the snapshot, begun once the watch is in
   * place (invariant 2: a change after it is an event, one before it is in the comparison).
   */
  beginHistoryScan(): void {
    const { p } = this.d;
    const saved = p.saved;
    if (this.tentative?.kind !== 'history' || !saved || this.scan) return;
    const halt = new AbortController();
    const changes = changesSinceSnapshot(p.master.path, saved.snapshotFile, p.matcher.ignoredDirNames, { signal: halt.signal, follow: followsLinks(p.options.rsyncFlags) });
    // The last run's journal and which of its paths are gone, beside the scan: a Full Crawl
    // journals the whole tree, and looking at 100k paths took a second of a restart after it.
    const sentGone = this.sentAndGone(this.tentative.marker);
    // Awaited by history(), or dropped by a Full Crawl: never a rejection left unhandled.
    changes.catch(() => undefined);
    sentGone.catch(() => undefined);
    this.scan = { changes, sentGone, halt };
  }

  /**
   * What the last run sent after the snapshot (its journal, then not sent again), and which
   * of it is gone now: no comparison with the snapshot shows those gone, their deletes must
   * still reach the slave. Undefined past the journal's bound: the whole tree is resent.
   */
  private async sentAndGone(marker: Marker): Promise<string[] | undefined> {
    const snapshots = this.d.snapshots;
    if (!snapshots) return [];
    await snapshots.loadJournal(new Date(marker.snapshotAt));
    return snapshots.sentAndGone();
  }

  /** A Full Crawl after all: the comparison under way stops, and is done with the snapshot. */
  private async dropScan(): Promise<void> {
    const scan = this.scan;
    this.scan = undefined;
    if (!scan) return;
    scan.halt.abort();
    await scan.changes.catch(() => undefined);
    // The last run's journal means nothing to a Full Crawl.
    await scan.sentGone.catch(() => undefined);
    this.d.snapshots?.sentSince.clear();
  }

  /**
   * Places the watch (invariant 2: before the crawl), a History Crawl's from the snapshot's
   * directories; its time is logged at debug.
   */
  async watch(handlers: ChangeHandlers): Promise<void> {
    const source = this.d.p.source;
    if (!source) return;
    const started = performance.now();
    const seed = this.watchSeed();
    await source.start(handlers, seed);
    this.d.p.logger.debug('watch in place', { from: seed ? 'the saved snapshot' : 'the tree', seconds: ((performance.now() - started) / 1000).toFixed(2) });
  }

  /**
   * For a History Crawl, where the watch may take its directories from: the saved snapshot
   * (a grep of its directories, where a walk of the tree reads every directory's entries),
   * when its listing left out the same directories as the filters do now.
   */
  private watchSeed(): WatchSeed | undefined {
    const decision = this.decision ?? this.tentative;
    const saved = this.d.p.saved;
    if (decision?.kind !== 'history' || !saved) return undefined;
    const { listedFrom, pruned } = decision.marker;
    const since = listedFrom === undefined ? NaN : Date.parse(listedFrom);
    const now = this.d.p.matcher.ignoredDirNames;
    if (!Number.isFinite(since) || pruned?.length !== now.length || pruned.some((n, i) => n !== now[i])) return undefined;
    const file = saved.snapshotFile;
    return { directories: () => listedDirectories(file), since };
  }

  /**
   * The initial sync, once the watch is in place: a History Crawl (its batches then run
   * live), else the Full Crawl. Returns false when a Full Crawl did not bring the slave in
   * line (--once: exit 1).
   *
   * The Full Crawl's baseline listing (what the first reconciliation compares with) runs
   * beside its rsync, at a lower priority: begun right after the watch, it needs nothing
   * from the crawl, since a change after the watch is an event and one before it is what
   * the crawl sends. It must not wait for the crawl: a change made meanwhile whose event
   * never comes (a directory past the inotify limit) would be in it, and never found. On a
   * million files (tmpfs, 2 cores): where the crawl waited for the baseline, a first start
   * took 9.9 s for a 6.4 s rsync; beside it at nice 10, 5.8 s for a 4.5 s cycle.
   */
  async initial(): Promise<boolean> {
    const decision = this.decision;
    if (decision === undefined) throw new Error('Crawls.initial() before prepare()');
    if (decision.kind === 'history') return this.history(decision.marker);
    if (this.d.life.phase() !== 'Initializing') return false;
    await this.d.life.fire({ type: 'full' });
    void this.d.snapshots?.writeBaseline();
    return this.full();
  }

  /** Every second while live: the History Crawl ends once what it queued is sent. */
  async endHistoryIfDone(idle: boolean): Promise<void> {
    // Asked from the tick and when the last batch ends: one of them moves on.
    if (this.d.life.phase() !== 'HistoryCrawl' || !idle || this.endingHistory) return;
    this.endingHistory = true;
    try {
      this.d.p.logger.info('History Crawl finished', { session: this.d.p.name });
      await this.enterChangelog();
    } finally {
      this.endingHistory = false;
    }
  }

  async enterChangelog(): Promise<void> {
    await this.d.life.fire({ type: 'crawled' });
    this.d.p.logger.info('Changelog Crawl started', { session: this.d.p.name, pending: this.d.queue.size });
  }

  /** Whether the slave root holds anything. The handshake has just looked, where there is one (a restricted slave would refuse rsync --list-only). */
  private async slaveHasFilesNow(): Promise<boolean> {
    const { p } = this.d;
    const hello = p.link?.reply;
    if (hello) return !hello.empty;
    return slaveHasFiles(this.d.plan(), p.slave.kind === 'local' ? p.slave.path : undefined, p.options.rsyncCommand, p.runRsync);
  }

  private async guardEmptyMaster(): Promise<void> {
    const { p } = this.d;
    if (p.options.allowEmptyMaster || !(await isEmptyDir(p.master.path))) return;
    if (!(await this.slaveHasFilesNow())) return;
    throw new GsyncdError(
      `master ${p.master.path} is empty but the slave ${p.status.current.slave} is not; ` +
        'refusing to empty the slave (an unmounted disk?). Pass --allow-empty-master if this is intended',
      ExitCode.failure,
    );
  }

  /** The slave root's identity, to tell the slave the saved state was made for from a new one. */
  private async currentSlaveId(): Promise<string | null> {
    const { p } = this.d;
    if (p.slave.kind !== 'local') return p.link?.reply?.root_id ?? null;
    return stat(p.slave.path, { bigint: true }).then(rootIdentity, () => null);
  }

  /** History Crawl when the saved state is usable; for a Full Crawl, the old state goes. */
  private async decide(): Promise<CrawlDecision> {
    const { p, queue } = this.d;
    const saved = p.saved;
    if (!saved) return { kind: 'full', reason: 'no saved state for this session' };
    this.slaveId = await this.currentSlaveId();
    let decision = decideCrawl(await saved.marker(), await saved.has(saved.snapshotFile), p.master.path, p.status.current.slave, this.slaveId);
    if (decision.kind === 'history' && !(await isListing(saved.snapshotFile))) {
      decision = { kind: 'full', reason: 'the saved snapshot is in an older format' };
    }
    if (decision.kind === 'history' && (await this.slaveEmptyButMasterNot())) {
      decision = { kind: 'full', reason: 'the slave root is empty but the master is not' };
    }
    if (decision.kind === 'full') {
      p.logger.info('Full Crawl needed', { reason: decision.reason });
      await this.dropScan();
      // The crawl judges every path anew.
      this.d.failed.forget();
      queue.publishFailed();
      // Until the new crawl completes, the old state must not be taken for the new slave.
      await saved.forget();
    }
    return decision;
  }

  /**
   * With usable saved state: queue what changed since the snapshot, the pending set of a
   * clean stop and the paths that failed before; batches send them.
   */
  private async history(marker: Marker): Promise<boolean> {
    const { p, queue } = this.d;
    const saved = p.saved;
    if (!saved) return false;
    if (this.d.life.phase() !== 'Initializing') return true;
    await this.d.life.fire({ type: 'history' });
    const started = performance.now();
    this.beginHistoryScan();
    const steps = new StepTimes();
    const scan = this.scan;
    this.scan = undefined;
    const changes = await (scan?.changes ?? changesSinceSnapshot(p.master.path, saved.snapshotFile, p.matcher.ignoredDirNames, { follow: followsLinks(p.options.rsyncFlags) }));
    steps.mark('scan');
    // Past the journal's bound what was sent and is gone is unknown: the whole tree is resent with --delete.
    const sentGone = await (scan?.sentGone ?? this.sentAndGone(marker));
    steps.mark('sent_and_gone');
    const snapshots = this.d.snapshots;
    const events = snapshots ? await snapshots.unsent(changes, { restart: true }) : changes;
    steps.mark('unsent');
    // The scan began when the watch was in place, well before this step when the slave is slow to answer.
    p.logger.debug('History Crawl steps (waited for each)', steps.fields());
    const pending = await saved.pending();
    // Changed at some unknown time before now: as old as can be, for checkpoints.
    // Deletes (of old names), then the renames, made at once, then what is new (new names):
    // a change queued under an old name moves with its rename.
    const isRename = (e: ChangeEvent): boolean => e.kind === 'rename' && e.from !== undefined;
    for (const e of events) if (e.kind === 'delete') this.d.intake.queueEvent(e, 0);
    this.d.intake.queueRenames(
      events.filter(isRename).map((e) => ({ from: e.from ?? '', to: e.path })),
      0,
    );
    for (const e of events) if (e.kind !== 'delete' && !isRename(e)) this.d.intake.queueEvent(e, 0);
    for (const path of sentGone ?? []) this.d.intake.queueEvent({ path, kind: 'delete' }, 0);
    if (sentGone === undefined) queue.add('', true, 0);
    for (const e of pending) queue.add(e.path, e.recursive, 0);
    const failedBefore = this.d.failed.list();
    for (const f of failedBefore) queue.add(f.path, false, 0);
    p.logger.info('History Crawl started', {
      since: marker.snapshotAt,
      changes: events.length,
      pending: pending.length,
      queued: queue.size,
      failed_before: failedBefore.length,
      renames: events.filter(isRename).length,
      sent_before_stop: changes.length - events.length,
      sent_and_gone: sentGone?.length ?? 'unknown: the whole tree is resent',
      seconds: ((performance.now() - started) / 1000).toFixed(2),
    });
    if (queue.size === 0) await this.endHistoryIfDone(true);
    return true;
  }

  private async slaveEmptyButMasterNot(): Promise<boolean> {
    if (await isEmptyDir(this.d.p.master.path)) return false;
    // A slave that cannot be listed is not taken for empty: the History Crawl stays possible.
    return !(await this.slaveHasFilesNow().catch(() => true));
  }

  private async full(): Promise<boolean> {
    const { p, gate, dispatcher, failures } = this.d;
    const ok = await fullCrawl({
      name: p.name,
      master: p.master.path,
      slave: p.status.current.slave,
      options: p.options,
      logger: p.logger,
      status: p.status,
      runRsync: p.runRsync,
      plan: this.d.plan(),
      runSignal: () => gate.runSignal(this.d.killSignal),
      whenRunning: () => gate.whenRunning(this.d.stopSignal),
      paused: () => gate.isPaused,
      stopSignal: this.d.stopSignal,
      afterRun: (r) => {
        // Files created and deleted while the crawl walked the tree: see sent-recheck.ts.
        dispatcher.afterRun(r, true, 0);
        if (!p.options.once) this.d.snapshots?.sent(r.sent?.paths ?? [], Date.now() - r.seconds * 1000);
        p.metrics?.crawl(r.exit.code, r.stats.filesTransferred, r.stats.bytes);
      },
      countFailure: () => {
        failures.count(1);
      },
      masterFailures: (list) => {
        failures.retryMasterPaths(list);
      },
      slaveRoot: this.d.slaveRoot,
      faulty: (reason) => this.d.life.fire({ type: 'fault', reason }),
      masterProblem: () => this.d.guard.problem(),
      progress: new ProgressReporter(p.logger, 30_000, p.progressTty),
      reconnect: () => this.d.link?.reconnect() ?? Promise.resolve(true),
      backoff: (attempt) => failures.backoff(attempt),
    });
    // The crawl went through: whatever made it Faulty on the way is behind it.
    if (ok) await this.d.life.fire({ type: 'healthy' });
    return ok;
  }
}
