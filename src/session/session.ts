/**
 * One session: one master, one slave. Watch first, then the Full Crawl, then live
 * mirroring until stopped (or, with --once, done after the crawl).
 *
 *   Initializing ──▶ Full Crawl ──▶ Changelog Crawl (Active) ──stop──▶ Stopped
 *        │               │  ▲              │   ▲
 *        │               ▼  │              ▼   │
 *        └──────────────▶ Faulty (reason; retried with backoff, queue kept)
 */
import { access, lstat, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Options } from '../config/options.js';
import type { Endpoint, LocalEndpoint } from '../endpoint/parse.js';
import { ExitCode, GsyncdError } from '../errors.js';
import type { Matcher } from '../filter/matcher.js';
import type { Logger } from '../log/logger.js';
import { ChangeSet, type Entry } from '../sync/change-set.js';
import { runBatch, type BatchDeps, type BatchResult } from '../sync/batch.js';
import { slaveHasFiles, isEmptyDir } from '../sync/empty-master.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import type { RsyncResult, RunRsync } from '../sync/rsync-runner.js';
import { isWithin, parentOf } from '../sync/paths.js';
import { Scheduler, realClock } from '../sync/scheduler.js';
import type { SshMaster } from '../transport/ssh-master.js';
import type { ChangeEvent, ChangeHandlers, ChangeSource } from '../watch/change-source.js';
import { backoffMs } from './backoff.js';
import { fullCrawl } from './full-crawl.js';
import { SETTLE_MS, Snapshotter, decideCrawl } from './history.js';
import { rootIdentity } from '../slave/facts.js';
import type { SavedState } from './saved-state.js';
import { readCheckpoint } from './checkpoint.js';
import { changesSinceSnapshot, scannedChangesSince, writeTreeSnapshot } from '../watch/snapshot.js';
import { SentSince } from './sent-since.js';
import { firstLines, sleep } from './wait.js';
import type { StatusWriter } from './status-writer.js';
import type { SlaveLink } from './slave-link.js';
import { Confirmer } from './confirmer.js';
import { scheduleRecheck } from './sent-recheck.js';
import { PauseGate, pauseRequested } from './pause.js';
import { ProgressReporter } from './progress.js';
import type { SessionMetrics } from '../status/metrics.js';
import type { Readiness } from '../status/http.js';
import { FailedPaths } from './failed-paths.js';
import { judgeBatch, type BatchVerdict } from '../sync/batch-failures.js';
import { ACTIONS } from '../sync/exit-codes.js';
import type { PathError } from '../sync/rsync-errors.js';

export interface SessionParts {
  readonly name: string;
  readonly master: LocalEndpoint;
  readonly slave: Endpoint;
  readonly options: Options;
  readonly matcher: Matcher;
  readonly plan: RsyncPlan;
  readonly logger: Logger;
  readonly status: StatusWriter;
  readonly runRsync: RunRsync;
  /** undefined for a local slave. */
  readonly ssh: SshMaster | undefined;
  /** The channel to `gsyncd slave`; undefined for a local slave or --remote-gsyncd none. */
  readonly link: SlaveLink | undefined;
  /** undefined with --once: nothing to watch. */
  readonly source: ChangeSource | undefined;
  /** The session's state directory (checkpoint requests arrive there). */
  readonly sessionDir: string;
  /** What survives restarts (snapshot, marker, pending set); undefined with --once. */
  readonly saved: SavedState | undefined;
  /** A terminal for the Full Crawl's progress line, when the log goes to that terminal too. */
  readonly progressTty?: NodeJS.WriteStream | undefined;
  /** Prometheus metrics, with --http-listen. */
  readonly metrics?: SessionMetrics | undefined;
}

const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  );

export class Session {
  private readonly changes: ChangeSet;
  private readonly scheduler: Scheduler;
  /** Stops waits and sleeps when a stop is asked. */
  private readonly stopping = new AbortController();
  /** Stops running rsyncs once the shutdown bound has passed. */
  private readonly killing = new AbortController();
  /** The master root's device and inode at start: another one means an unmount or a swap. */
  private masterId: { dev: number; ino: number } | undefined;
  /** Set while the master root is gone or another filesystem: nothing is sent meanwhile. */
  private masterGone: string | undefined;
  private reconnecting: Promise<boolean> | undefined;
  private faultyReason: string | undefined;
  /** Reached the live phase (History or Changelog Crawl): a clean stop then saves state. */
  private live = false;
  private inHistory = false;
  private lastEventAt = 0;
  /** Rechecks of sent paths still to run: no snapshot may be saved before them. */
  private rechecks = 0;
  private currentSlaveId: string | null = null;
  private snapshotter: Snapshotter | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly confirmer: Confirmer;
  /** The plan; a host::NAME slave learns its root in the handshake. */
  private plan: RsyncPlan;
  /** `gsyncd pause`: nothing is sent while paused; watching and queueing go on. */
  private readonly gate = new PauseGate();
  private controls: NodeJS.Timeout | undefined;
  /** Master paths rsync cannot read, given up on until they change (status --detail). */
  private readonly failedPaths: FailedPaths;

  constructor(private readonly p: SessionParts) {
    this.plan = p.plan;
    this.failedPaths = new FailedPaths(p.status.current.failed_paths ?? []);
    this.confirmer = new Confirmer({
      masterRoot: p.master.path,
      options: p.options,
      link: p.link,
      logger: p.logger,
      pending: (path) => this.changes.has(path),
      resend: (path) => {
        this.queue(path, false);
        this.scheduler.kick();
      },
      countFailure: () => {
        this.countFailures(1);
      },
      giveUp: (path, reason) => {
        this.failedPaths.record(path, reason, 2, new Date());
        this.publishFailed();
      },
    });
    this.changes = new ChangeSet(p.options.maxQueue);
    this.scheduler = new Scheduler(
      this.changes,
      { jobs: p.options.syncJobs, batchSize: p.options.batchSize, batchDelayMs: p.options.batchDelay * 1000 },
      (entries) => this.handleBatch(entries),
      realClock,
      (e, entries) => {
        p.logger.error('internal error in a batch; its paths stay queued', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        this.changes.requeue(entries, Date.now() + 5000, Date.now());
      },
    );
  }

  /** Asks the session to end: stop watching, let running rsyncs finish within the bound. */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.p.logger.info('stopping', { session: this.p.name });
    this.stopping.abort();
    // A running rsync (a batch or the Full Crawl) may finish within the bound, no longer.
    setTimeout(() => {
      if (!this.killing.signal.aborted) {
        this.p.logger.warn('shutdown bound reached; stopping rsync', { bound_s: this.p.options.shutdownTimeout });
        this.killing.abort();
      }
    }, this.p.options.shutdownTimeout * 1000).unref();
  }

  /** A method, not a getter: it changes while we await, which a narrowed property would hide. */
  stopRequested(): boolean {
    return this.stopping.signal.aborted;
  }

  async run(): Promise<ExitCode> {
    const { logger, options } = this.p;
    try {
      await this.p.status.state('Initializing', 'N/A');
      await this.followPause();
      this.controls = setInterval(() => {
        void this.followPause().catch((e: unknown) => {
          logger.warn('could not read the pause request', { error: e instanceof Error ? e.message : String(e) });
        });
        void this.watchMasterRoot();
      }, 1000);
      this.controls.unref();
      const root = await stat(this.p.master.path);
      this.masterId = { dev: root.dev, ino: root.ino };
      if (this.p.ssh) {
        await this.connectFirst();
        // An idle session learns of a dead link from the connection itself, not from a batch.
        this.p.ssh.onLost = (reason) => {
          if (this.stopRequested() || this.reconnecting) return;
          this.p.logger.warn('ssh connection lost; reconnecting', { reason });
          void this.faulty(`connection to the slave lost: ${reason}`);
          void this.reconnect().then(() => {
            this.scheduler.kick();
          });
        };
      }
      if (this.p.link) {
        const hello = await this.p.link.connectFirst();
        if (this.p.slave.kind === 'volume') this.plan = { ...this.plan, dest: `${this.p.ssh?.destination ?? ''}:${hello.root}/` };
      }

      // Invariant 2: the watch is in place before the crawl starts; its events wait in the queue.
      if (this.p.source) {
        await this.p.source.start(this.watchHandlers());
      }
      if (this.stopRequested()) return await this.finish(ExitCode.ok);

      await this.guardEmptyMaster();
      const history = await this.historyCrawl();
      if (!history) await this.writeBaseline();
      const crawled = history || await fullCrawl({
        name: this.p.name,
        master: this.p.master.path,
        slave: this.p.status.current.slave,
        options: this.p.options,
        logger: this.p.logger,
        status: this.p.status,
        runRsync: this.p.runRsync,
        plan: this.plan,
        runSignal: () => this.gate.runSignal(this.killing.signal),
        whenRunning: () => this.gate.whenRunning(this.stopping.signal),
        paused: () => this.gate.isPaused,
        stopSignal: this.stopping.signal,
        afterRun: (r) => {
          // Files created and deleted while the crawl walked the tree: see sent-recheck.ts.
          if (!this.p.options.once) {
            this.recheckSent(r, 0);
            this.resyncBelowSentMergeFiles(r);
            this.sentSince.add(r.sent?.paths ?? [], Date.now() - r.seconds * 1000);
          }
          this.p.metrics?.crawl(r.exit.code, r.stats.filesTransferred, r.stats.bytes);
          this.logRsyncOutput(r);
        },
        countFailure: () => {
          this.countFailures(1);
        },
        masterFailures: (failures) => {
          this.retryMasterFailures(failures);
        },
        slaveRoot: () => this.slaveRootPath(),
        faulty: (reason) => this.faulty(reason),
        masterProblem: () => this.masterProblem(),
        progress: new ProgressReporter(this.p.logger, 30_000, this.p.progressTty),
        reconnect: () => this.reconnect(),
      });
      if (options.once) return await this.finish(crawled ? ExitCode.ok : ExitCode.failure);
      if (this.stopRequested()) return await this.finish(ExitCode.ok);

      this.live = true;
      if (!history) await this.enterChangelogCrawl();
      if (!this.gate.isPaused) this.scheduler.resume();
      this.startSnapshots();
      await new Promise<void>((resolve) => {
        if (this.stopRequested()) resolve();
        this.stopping.signal.addEventListener('abort', () => {
          resolve();
        });
      });
      return await this.finish(ExitCode.ok);
    } catch (e) {
      await this.finish(ExitCode.failure).catch(() => undefined);
      throw e;
    }
  }

  /** Applies a pause or resume asked by `gsyncd pause|resume` (pause.ts). */
  private async followPause(): Promise<void> {
    const paused = await pauseRequested(this.p.sessionDir);
    if (this.stopRequested() || !this.gate.set(paused)) return;
    if (paused) {
      this.scheduler.pause();
      await this.p.status.setPaused(true);
      this.p.logger.info('session paused', { session: this.p.name, pending: this.changes.size, stopping_rsync: this.scheduler.active });
    } else {
      await this.p.status.setPaused(false);
      this.p.logger.info('session resumed', { session: this.p.name, pending: this.changes.size });
      if (this.live) this.scheduler.resume();
    }
  }

  private async enterChangelogCrawl(): Promise<void> {
    this.inHistory = false;
    await this.p.status.state('Active', 'Changelog Crawl');
    this.p.logger.info('Changelog Crawl started', { session: this.p.name, pending: this.changes.size });
  }

  /** Whether the slave root holds anything. The handshake has just looked, where there is one (a restricted slave would refuse rsync --list-only). */
  private async slaveHasFilesNow(): Promise<boolean> {
    const hello = this.p.link?.reply;
    if (hello) return !hello.empty;
    const localSlave = this.p.slave.kind === 'local' ? this.p.slave.path : undefined;
    return slaveHasFiles(this.plan, localSlave, this.p.options.rsyncCommand, this.p.runRsync);
  }

  private async slaveEmptyButMasterNot(): Promise<boolean> {
    if (await isEmptyDir(this.p.master.path)) return false;
    // A slave that cannot be listed is not taken for empty: the History Crawl stays possible.
    return !(await this.slaveHasFilesNow().catch(() => true));
  }

  /** The slave root's identity, to tell the slave the saved state was made for from a new one. */
  private async slaveId(): Promise<string | null> {
    if (this.p.slave.kind === 'local') {
      try {
        return rootIdentity(await stat(this.p.slave.path, { bigint: true }));
      } catch {
        return null;
      }
    }
    return this.p.link?.reply?.root_id ?? null;
  }

  /**
   * With usable saved state: queue what changed since the snapshot, and the pending set of a
   * clean stop; batches send them (History Crawl). Returns false when a Full Crawl is needed.
   */
  private async historyCrawl(): Promise<boolean> {
    const saved = this.p.saved;
    if (!saved) return false;
    const slaveId = await this.slaveId();
    this.currentSlaveId = slaveId;
    let decision = decideCrawl(await saved.marker(), await exists(saved.snapshotFile), this.p.master.path, this.p.status.current.slave, slaveId);
    if (decision.kind === 'history' && (await this.slaveEmptyButMasterNot())) {
      decision = { kind: 'full', reason: 'the slave root is empty but the master is not' };
    }
    if (decision.kind === 'full') {
      this.p.logger.info('Full Crawl needed', { reason: decision.reason });
      // The crawl judges every path anew.
      this.failedPaths.forget();
      this.publishFailed();
      // Until the new crawl completes, the old state must not be taken for the new slave.
      await saved.forget();
      return false;
    }
    await this.p.status.state('Active', 'History Crawl');
    const started = performance.now();
    const events = await changesSinceSnapshot(this.p.master.path, saved.snapshotFile, this.p.matcher.ignoredDirNames);
    const pending = await saved.pending();
    // Changed at some unknown time before now: as old as can be, for checkpoints.
    for (const e of events) this.queueEvent(e, 0);
    for (const e of pending) this.queue(e.path, e.recursive, 0);
    // Paths that failed before the restart are tried again.
    const failedBefore = this.failedPaths.list();
    for (const f of failedBefore) this.queue(f.path, false, 0);
    this.p.logger.info('History Crawl started', {
      since: decision.marker.snapshotAt,
      changes: events.length,
      pending: pending.length,
      queued: this.changes.size,
      failed_before: failedBefore.length,
      seconds: ((performance.now() - started) / 1000).toFixed(2),
    });
    this.inHistory = true;
    if (this.changes.size === 0) {
      this.p.logger.info('History Crawl finished', { session: this.p.name });
      await this.enterChangelogCrawl();
    }
    return true;
  }

  /** While live: a snapshot when due and safe (history.ts), and the end of a History Crawl. */
  private startSnapshots(): void {
    const saved = this.p.saved;
    if (!saved) return;
    this.snapshotter = new Snapshotter({
      saved,
      logger: this.p.logger,
      idle: () => this.changes.size === 0 && this.scheduler.active === 0 && this.rechecks === 0 && this.faultyReason === undefined,
      lastEventAt: () => this.lastEventAt,
      write: (file) => writeTreeSnapshot(this.p.master.path, file, this.p.matcher.ignoredDirNames),
      marker: (at) => ({ version: 1, master: this.p.master.path, slave: this.p.status.current.slave, slaveId: this.currentSlaveId, snapshotAt: at.toISOString() }),
      intervalMs: this.p.options.snapshotInterval * 1000,
      reconcile: () => this.reconcile(),
      onSaved: () => {
        this.sentSince.clear();
      },
    });
    if (this.rescanEveryMs !== undefined) this.snapshotter.rescanEvery(this.rescanEveryMs);
    this.ticker = setInterval(() => {
      if (this.inHistory && this.changes.size === 0 && this.scheduler.active === 0) {
        this.p.logger.info('History Crawl finished', { session: this.p.name });
        void this.enterChangelogCrawl();
      }
      void this.checkpoint().catch(() => undefined);
      void this.snapshotter?.tick().catch((e: unknown) => {
        this.p.logger.warn('could not save a snapshot', { error: e instanceof Error ? e.message : String(e) });
      });
    }, 1000);
    this.ticker.unref();
  }

  /** Follows `gsyncd checkpoint`: a time set in the session's checkpoint file, completed when done. */
  private async checkpoint(): Promise<void> {
    const cp = await readCheckpoint(this.p.sessionDir);
    const current = this.p.status.current.checkpoint;
    if (cp === undefined) return;
    if (cp !== current.time) {
      this.p.status.update((s) => ({ ...s, checkpoint: { time: cp, completed: false, completion_time: null } }));
      this.p.logger.info('checkpoint set', { time: cp });
      return;
    }
    if (current.completed || !this.doneBefore(Date.parse(cp))) return;
    const completion = new Date().toISOString();
    this.p.status.update((s) => ({ ...s, checkpoint: { time: cp, completed: true, completion_time: completion } }));
    await this.p.status.flush();
    this.p.logger.info('checkpoint completed', { time: cp, completion_time: completion });
  }

  /** The first connection decides whether the slave can be reached at all: exit 3 if not. */
  private async connectFirst(): Promise<void> {
    const ssh = this.p.ssh;
    if (!ssh) return;
    try {
      await ssh.start();
      this.p.logger.info('ssh connection up', { slave: this.p.status.current.slave });
    } catch (e) {
      throw new GsyncdError(
        `slave ${this.p.status.current.slave} unreachable: ${e instanceof Error ? e.message : String(e)}`,
        ExitCode.unreachable,
      );
    }
  }

  private async guardEmptyMaster(): Promise<void> {
    if (this.p.options.allowEmptyMaster || !(await isEmptyDir(this.p.master.path))) return;
    if (!(await this.slaveHasFilesNow())) return;
    throw new GsyncdError(
      `master ${this.p.master.path} is empty but the slave ${this.p.status.current.slave} is not; ` +
        'refusing to empty the slave (an unmounted disk?). Pass --allow-empty-master if this is intended',
      ExitCode.failure,
    );
  }

  private onEvents(events: readonly ChangeEvent[]): void {
    this.lastEventAt = Date.now();
    this.p.logger.debug('events', { count: events.length, paths: events.slice(0, 50).map((e) => `${e.kind}:${e.path}`).join('|'), queued: this.changes.size });
    // An event arrives up to SETTLE_MS after its change: stamp it that old, so that a checkpoint
    // set between a change and its event still waits for it.
    const origin = this.lastEventAt - SETTLE_MS;
    for (const e of events) this.queueEvent(e, origin);
    for (const w of this.p.matcher.takeWarnings()) this.p.logger.warn('filter file ignored', { problem: w });
    this.scheduler.kick();
  }

  private queueEvent(e: ChangeEvent, origin: number): void {
    this.confirmer.changed(e.path);
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    if (this.p.matcher.mergeFileNames.has(name)) {
      // A per-directory filter file changed: what is sent below its directory may have too.
      const dir = parentOf(e.path);
      this.p.matcher.invalidate(dir);
      this.p.logger.info('filter file changed; resyncing its directory', { file: e.path, dir: dir || '.' });
      this.queue(dir, true, origin);
      return;
    }
    // A name that is not valid UTF-8 came back lossy (U+FFFD): send its directory instead.
    if (e.path.includes('\uFFFD')) {
      this.queue(parentOf(e.path), true, origin);
      return;
    }
    const verdict = this.p.matcher.verdictUntyped(e.path);
    if (verdict === 'exclude') {
      // Not sent, but its directory's mtime changed, as a plain `rsync -a --exclude` would copy.
      this.queueDirAttrs(parentOf(e.path), origin);
      return;
    }
    // A rule for directories only, and the type is unknown: let rsync judge within the parent.
    if (verdict === 'depends-on-type') {
      this.queue(parentOf(e.path), true, origin);
      return;
    }
    if (e.kind === 'delete' && this.p.options.ignoreDeletes) {
      // The delete is not sent; the directory's new mtime is.
      this.queueDirAttrs(parentOf(e.path), origin);
      return;
    }
    // Whatever is a directory when the batch is built is sent whole: it may have appeared with
    // content the watcher never saw (moved in), and @parcel/watcher reports a file replaced by
    // a directory as an "update". The root's own update is only its attributes.
    this.queue(e.path, e.kind !== 'delete' && e.path !== '', origin);
  }

  /** A directory's own attributes (mtime, mode), not its content. */
  private queueDirAttrs(dir: string, origin: number): void {
    if (dir === '' || this.p.matcher.verdict(dir, true) === 'include') this.queue(dir, false, origin);
  }

  /** `origin`: when the change may have happened at the earliest (for checkpoints). */
  private queue(path: string, recursive: boolean, origin?: number): void {
    // A failed path that changes is tried again, with a fresh count of attempts.
    if (this.failedPaths.clear(path, recursive)) this.publishFailed();
    const folded = this.changes.add(path, recursive, Date.now(), origin);
    if (folded) {
      this.p.logger.warn('queue bound reached; resyncing a subtree as a whole', {
        subtree: folded.folded || '.',
        folded_paths: folded.removed,
        max_queue: this.p.options.maxQueue,
      });
    }
    this.p.status.update((s) => ({ ...s, pending: this.changes.size }));
  }

  /** What was sent since the last snapshot: the watcher's misses are the changes not in it. */
  private readonly sentSince = new SentSince();

  /**
   * Before a snapshot: a fresh scan (in a process of its own) against the last snapshot finds
   * every change since; those that were never sent are changes whose events @parcel/watcher
   * dropped (it does, under load, at the edge of its event batches). They are sent now.
   */
  private async reconcile(): Promise<number> {
    const against = await this.reconcileBase();
    if (against === undefined) return 0;
    const events = await scannedChangesSince(this.p.master.path, against, this.p.matcher.ignoredDirNames);
    const missed: ChangeEvent[] = [];
    for (const e of events) {
      // Excluded paths are never sent (their directory's own change is an event of its own).
      // Failed paths are known and listed: they wait for a change of their own.
      if (this.changes.has(e.path) || this.failedPaths.has(e.path) || this.p.matcher.verdictUntyped(e.path) === 'exclude') continue;
      const changedAt = await lstat(path.join(this.p.master.path, e.path)).then(
        (st) => st.ctimeMs,
        () => undefined,
      );
      if (!this.sentSince.covers(e.path, changedAt)) missed.push(e);
    }
    if (missed.length === 0) return 0;
    this.p.logger.warn('watcher missed changes; sending them', { paths: missed.length, first: missed[0]?.path });
    for (const e of missed) this.queueEvent(e, 0);
    this.scheduler.kick();
    return missed.length;
  }

  /** Set once the inotify limit is reached: how often the Snapshotter rescans the tree. */
  private rescanEveryMs: number | undefined;

  /**
   * The kernel's inotify limit is reached: what goes unwatched is found by the reconciliation,
   * run as a rescan every --poll-interval busy or not (history.ts), and the whole tree is
   * resynced once for what was missed already.
   */
  private async coverByRescans(reason: string): Promise<void> {
    if (this.rescanEveryMs !== undefined || this.stopRequested()) return;
    this.rescanEveryMs = this.p.options.pollInterval * 1000;
    this.snapshotter?.rescanEvery(this.rescanEveryMs);
    const read = (file: string): Promise<string> =>
      readFile(file, 'utf8').then(
        (t) => t.trim(),
        () => 'unknown',
      );
    const limit = await read('/proc/sys/fs/inotify/max_user_watches');
    // In a container's user namespace, a lower limit of its own may be the one reached.
    const nsLimit = await read('/proc/sys/user/max_inotify_watches');
    this.p.logger.warn('inotify watch limit reached: changes in unwatched directories are found by rescanning the tree instead', {
      'fs.inotify.max_user_watches': limit,
      ...(nsLimit !== limit && nsLimit !== 'unknown' ? { 'user.max_inotify_watches': nsLimit } : {}),
      rescan_every_s: this.p.options.pollInterval,
      fix: 'raise it (sysctl -w fs.inotify.max_user_watches=1048576, and a file in /etc/sysctl.d/ to keep it), then restart the session',
      reason,
    });
    this.lastEventAt = Date.now();
    this.queue('', true, 0);
    this.scheduler.kick();
  }

  /** Before a Full Crawl: the tree as it starts, what the first reconciliation compares with. */
  private async writeBaseline(): Promise<void> {
    const saved = this.p.saved;
    if (!saved) return;
    try {
      await writeTreeSnapshot(this.p.master.path, saved.baselineFile, this.p.matcher.ignoredDirNames);
    } catch (e) {
      this.p.logger.warn('could not save the baseline snapshot; changes the watcher misses before the first snapshot go unnoticed until a restart', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** The last confirmed snapshot, else the tree as the Full Crawl found it. */
  private async reconcileBase(): Promise<string | undefined> {
    const saved = this.p.saved;
    if (!saved) return undefined;
    if (await exists(saved.snapshotFile)) return saved.snapshotFile;
    return (await exists(saved.baselineFile)) ? saved.baselineFile : undefined;
  }

  /** Batches in flight, and rechecks after them, with the oldest origin each carries (for checkpoints). */
  private readonly inFlight = new Map<number, number>();
  private batchSeq = 0;

  private async handleBatch(entries: readonly Entry[]): Promise<void> {
    const id = ++this.batchSeq;
    this.inFlight.set(id, Math.min(...entries.map((e) => e.origin)));
    try {
      await this.runOneBatch(entries);
    } finally {
      this.inFlight.delete(id);
    }
  }

  /**
   * Whether everything changed on the master before `t` (ms) is on the slave: live, the
   * watcher has had time to deliver the events of changes before t, and no queued or running
   * change is that old.
   */
  private doneBefore(t: number): boolean {
    if (!this.live || Date.now() < t + SETTLE_MS) return false;
    const oldest = this.changes.oldestOrigin();
    if (oldest !== undefined && oldest <= t) return false;
    for (const since of this.inFlight.values()) if (since <= t) return false;
    return true;
  }

  private async runOneBatch(entries: readonly Entry[]): Promise<void> {
    const { logger } = this.p;
    const now = Date.now();
    const masterProblem = await this.masterProblem();
    if (masterProblem !== undefined) {
      // No attempt: the paths wait for the root to come back (watchMasterRoot).
      this.changes.requeue(entries, now + 2000, now, false);
      await this.masterLost(masterProblem);
      return;
    }
    if (this.p.ssh && !this.p.ssh.alive() && !(await this.reconnect())) {
      this.changes.requeue(entries, Date.now() + 1000, Date.now());
      return;
    }
    const deps: BatchDeps = {
      plan: this.plan,
      rsyncCommand: this.p.options.rsyncCommand,
      runRsync: this.p.runRsync,
      masterRoot: this.p.master.path,
      killAfterMs: 5000,
      rules: this.p.matcher,
    };
    logger.debug('batch starting', { paths: entries.length, first: entries[0]?.path, recursive: entries.filter((e) => e.recursive).length });
    const result = await runBatch(entries, deps, this.gate.runSignal(this.killing.signal));
    for (const run of result.runs) {
      if (!run.recursive) continue;
      this.recheckSent(run.result, Math.min(...entries.map((e) => e.origin)));
      this.resyncBelowSentMergeFiles(run.result);
    }
    for (const run of result.runs) logger.debug('rsync run', { recursive: run.recursive, paths: run.paths.slice(0, 20).join('|'), exit: run.result.exit.code });
    for (const run of result.runs) this.logRsyncOutput(run.result);
    const exitCodes = result.runs.map((r) => r.result.exit.code);
    this.p.metrics?.batch({ files: result.files, bytes: result.bytes, seconds: result.seconds, exitCodes }, ['ok', 'vanished', 'max-delete'].includes(result.outcome));
    const fields = {
      files: result.files,
      bytes: result.bytes,
      seconds: result.seconds.toFixed(3),
      rsync_exit: exitCodes.length === 0 ? 0 : Math.max(...exitCodes),
    };
    if ((this.killing.signal.aborted || this.gate.isPaused) && result.outcome !== 'ok') {
      // Stopped by shutdown or a pause: the paths stay queued, and that was no attempt.
      this.changes.requeue(entries, 0, Date.now(), false);
      return;
    }
    switch (result.outcome) {
      case 'ok':
      case 'vanished':
        this.succeeded(result);
        logger.info('batch done', fields);
        this.confirmer.afterBatch(result);
        return;
      case 'max-delete':
        logger.warn('batch stopped deleting at --max-delete', { ...fields, error: this.errorsOf(result) });
        this.countFailures(result.files);
        this.succeeded(result);
        return;
      case 'connection':
        logger.warn('batch failed: connection lost', { ...fields, error: this.errorsOf(result) });
        // Backoff even when the link comes back at once: the slave may be refusing the transfer.
        this.changes.requeue(entries, Date.now() + this.backoff(Math.max(0, ...entries.map((e) => e.attempts))), Date.now());
        await this.faulty(`connection to the slave lost: ${this.errorsOf(result)}`);
        void this.reconnect().then(() => {
          this.scheduler.kick();
        });
        return;
      case 'partial':
      case 'fatal':
      case 'usage':
        await this.afterFailure(judgeBatch(entries, result.runs, this.p.master.path, this.slaveRootPath()), result, fields);
        return;
    }
  }

  /**
   * The paths of a failed batch that went through count as sent; each failed one is retried
   * with backoff. A master path rsync cannot read is given up on after --retry-attempts (listed,
   * counted, tried again when it changes); a slave that refuses writes, or an rsync that
   * fails as a whole, makes the session Faulty, and its paths are retried until it works.
   */
  private async afterFailure(verdict: BatchVerdict, result: BatchResult, fields: Record<string, unknown>): Promise<void> {
    const { logger, options } = this.p;
    const now = Date.now();
    const slaveTrouble = verdict.failed.find((f) => f.side === 'receiver');
    const runTrouble = verdict.failed.find((f) => f.side === 'run');
    if (verdict.done.length > 0) this.succeeded(result, new Set(verdict.failed.map((f) => f.entry.path)), !slaveTrouble && !runTrouble);
    let givenUp = 0;
    let nextTry = Infinity;
    for (const f of verdict.failed) {
      const attempts = f.entry.attempts + 1;
      if (f.side === 'sender' && attempts >= options.retryAttempts) {
        this.failedPaths.record(f.entry.path, f.reason, attempts, new Date(now));
        givenUp++;
        logger.error('giving up on a path until it changes again', { path: f.entry.path || '.', attempts, reason: f.reason });
        continue;
      }
      const delay = this.backoff(f.entry.attempts);
      nextTry = Math.min(nextTry, delay);
      this.changes.requeue([f.entry], now + delay, now, true, f.alone);
    }
    logger[ACTIONS[result.outcome].level]('batch failed', {
      ...fields,
      failed: verdict.failed.length,
      sent: verdict.done.length,
      ...(Number.isFinite(nextTry) ? { retry_in_s: (nextTry / 1000).toFixed(1) } : {}),
      error: this.errorsOf(result),
    });
    if (givenUp > 0) {
      this.countFailures(givenUp);
      this.publishFailed();
    }
    if (slaveTrouble) await this.faulty(`the slave refused writes: ${slaveTrouble.reason}`);
    else if (runTrouble) await this.faulty(`rsync failed (exit ${String(fields['rsync_exit'])}): ${runTrouble.reason}`);
  }

  /**
   * The Full Crawl went through except for these master paths: each is retried as a batch
   * would retry it. Recursive, as judgeBatch makes them: a batch sends a file as a file.
   */
  private retryMasterFailures(failures: readonly PathError[]): void {
    const now = Date.now();
    for (const f of failures) {
      const entry: Entry = { path: f.path, recursive: true, since: now, origin: 0, attempts: 0, notBefore: 0 };
      this.changes.requeue([entry], now + this.backoff(0), now);
      this.p.logger.error('could not send a path; retrying it', { path: f.path || '.', reason: f.message });
    }
    this.p.status.update((s) => ({ ...s, pending: this.changes.size }));
  }

  /** Capped (--retry-max-delay), jittered exponential backoff. */
  private backoff(attempt: number): number {
    return backoffMs(attempt, 1000, this.p.options.retryMaxDelay * 1000);
  }

  /** The slave root as its rsync names it in messages. */
  private slaveRootPath(): string {
    const slave = this.p.slave;
    if (slave.kind !== 'volume') return slave.path;
    return this.p.link?.reply?.root ?? '';
  }

  private publishFailed(): void {
    this.p.status.update((s) => ({ ...s, failed_paths: this.failedPaths.list() }));
  }

  /** `failed`: paths of the batch that did not go through; `healthy`: the slave took the rest fine. */
  private succeeded(result: BatchResult, failed: ReadonlySet<string> = new Set(), healthy = true): void {
    this.snapshotter?.sent();
    const through = (p: string): boolean => failed.size === 0 || ![...failed].some((f) => isWithin(p, f));
    for (const run of result.runs) {
      const startedAt = Date.now() - run.result.seconds * 1000;
      this.sentSince.add(run.paths.filter(through), startedAt, run.recursive);
      if (run.recursive && run.result.sent) this.sentSince.add(run.result.sent.paths.filter(through), startedAt);
    }
    this.p.status.update((s) => ({
      ...s,
      last_synced: new Date().toISOString(),
      pending: this.changes.size,
      totals: { ...s.totals, files: s.totals.files + result.files, bytes: s.totals.bytes + result.bytes, batches: s.totals.batches + 1 },
    }));
    if (healthy) void this.healthyAgain();
  }

  /** For /readyz: live, not Faulty, and the link to the slave up. */
  readiness(): Readiness {
    const s = this.p.status.current;
    if (this.faultyReason !== undefined) return { ready: false, reason: `Faulty: ${this.faultyReason}` };
    if (!this.live) return { ready: false, reason: `not live yet: ${s.status}, ${s.crawl_status}` };
    if (this.p.ssh && !this.p.ssh.alive()) return { ready: false, reason: 'the SSH connection to the slave is down' };
    return { ready: true, reason: `${s.status}, ${s.crawl_status}` };
  }

  private countFailures(n: number): void {
    this.p.metrics?.failures(n);
    this.p.status.update((s) => ({ ...s, failures: s.failures + n }));
  }

  private errorsOf(result: BatchResult): string {
    return firstLines(result.runs.map((r) => r.result.stderr).join('\n'), 10) || result.outcome;
  }

  /**
   * rsync's receiver judges deletes in a directory by the merge files the slave holds before
   * the run brings the new ones: after a run that sent a merge file, its directory is synced
   * once more, as the next run of a cron rsync would (the new file is then in place).
   */
  private resyncBelowSentMergeFiles(r: RsyncResult): void {
    const names = this.p.matcher.mergeFileNames;
    if (names.size === 0 || r.sent === undefined || this.p.options.ignoreDeletes) return;
    const dirs = new Set(r.sent.paths.filter((p) => names.has(p.slice(p.lastIndexOf('/') + 1))).map(parentOf));
    for (const dir of dirs) this.queue(dir, true, 0);
    if (dirs.size > 0) this.scheduler.kick();
  }

  /** See sent-recheck.ts; deletes are only queued when deletes propagate. */
  private recheckSent(r: RsyncResult, origin: number): void {
    if (this.p.options.ignoreDeletes || r.sent === undefined || r.sent.paths.length === 0) return;
    this.rechecks++;
    // Until it has looked, the recheck holds back checkpoints as its batch did.
    const id = ++this.batchSeq;
    this.inFlight.set(id, origin);
    scheduleRecheck(r.sent, {
      done: () => {
        this.rechecks--;
        this.inFlight.delete(id);
      },
      masterRoot: this.p.master.path,
      logger: this.p.logger,
      pending: (path) => this.changes.has(path),
      queueDeletes: (paths) => {
        for (const path of paths) this.queue(path, false, origin);
        this.scheduler.kick();
      },
    });
  }

  private logRsyncOutput(r: RsyncResult): void {
    if (r.output !== '') {
      const level = this.p.options.rsyncFlags.has('verbose') ? 'info' : 'debug';
      for (const line of r.output.split('\n')) if (line !== '') this.p.logger[level](`rsync: ${line}`);
    }
  }

  /** Why batches must not run now: the master root is gone or another filesystem. */
  private async masterProblem(): Promise<string | undefined> {
    try {
      const s = await stat(this.p.master.path);
      if (!s.isDirectory()) return `master root ${this.p.master.path} is no longer a directory; no change is sent until it is back`;
      if (this.masterId !== undefined && (s.dev !== this.masterId.dev || s.ino !== this.masterId.ino)) {
        return `master root ${this.p.master.path} is not the directory it was (unmounted, or replaced); no change is sent until it is back`;
      }
      return undefined;
    } catch {
      return `master root ${this.p.master.path} is gone; no change is sent until it is back`;
    }
  }

  private watchHandlers(): ChangeHandlers {
    return {
      onEvents: (events) => {
        this.onEvents(events);
      },
      onLost: (path, reason) => {
        this.p.logger.warn('watcher lost events; resyncing the subtree', { path: path || '.', reason });
        // A loss is a change like any other: it holds back snapshots and starts a batch now.
        this.lastEventAt = Date.now();
        // The lost changes are of unknown age: a checkpoint waits for this resync.
        this.queue(path, true, 0);
        this.scheduler.kick();
      },
      onLimit: (reason) => {
        void this.coverByRescans(reason);
      },
    };
  }

  private checkingRoot = false;

  /**
   * Every second: a master root that is gone or another filesystem (unmounted, replaced)
   * makes the session Faulty, and nothing is sent, deleted or snapshotted meanwhile; once it
   * is back, the watch is placed afresh (an unmount removes it) and the tree is resynced.
   */
  private async watchMasterRoot(): Promise<void> {
    if (this.checkingRoot || this.stopRequested() || this.masterId === undefined) return;
    this.checkingRoot = true;
    try {
      const problem = await this.masterProblem();
      if (problem !== undefined) {
        await this.masterLost(problem);
        return;
      }
      if (this.masterGone === undefined) return;
      this.p.logger.info('master root is back; watching it afresh and resyncing the tree', { master: this.p.master.path });
      await this.p.source?.stop().catch(() => undefined);
      if (this.stopRequested()) return;
      await this.p.source?.start(this.watchHandlers());
      this.masterGone = undefined;
      this.lastEventAt = Date.now();
      this.queue('', true, 0);
      this.scheduler.kick();
    } catch (e) {
      this.p.logger.warn('could not watch the master root again; retrying', { error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.checkingRoot = false;
    }
  }

  private async masterLost(problem: string): Promise<void> {
    if (this.masterGone === undefined) this.p.logger.error('master root lost; nothing is sent until it is back', { master: this.p.master.path, problem });
    this.masterGone = problem;
    await this.faulty(problem);
  }

  /**
   * A Faulty session is healthy again: after a batch went through (`onlyLink` false), or once
   * the link is back for a session Faulty for the link alone.
   */
  private async healthyAgain(onlyLink = false): Promise<void> {
    const reason = this.faultyReason;
    if (reason === undefined || (onlyLink && !/^(slave unreachable|connection (to the slave )?lost)/.test(reason))) return;
    this.faultyReason = undefined;
    const crawl = this.p.status.current.crawl_status;
    await this.p.status.state(crawl === 'Full Crawl' ? 'Initializing' : 'Active', crawl);
    this.p.logger.info('session healthy again', { session: this.p.name });
  }

  private async faulty(reason: string): Promise<void> {
    if (this.faultyReason === reason) return;
    this.faultyReason = reason;
    this.p.logger.warn('session Faulty', { session: this.p.name, reason });
    await this.p.status.state('Faulty', this.p.status.current.crawl_status, reason);
  }

  /** Reopens the shared SSH connection with capped, jittered backoff; false when stopped. */
  private reconnect(): Promise<boolean> {
    const ssh = this.p.ssh;
    if (!ssh) return Promise.resolve(true);
    this.reconnecting ??= (async () => {
      for (let attempt = 0; !this.stopRequested(); attempt++) {
        await ssh.stop().catch(() => undefined);
        try {
          await ssh.start(20_000);
          this.p.logger.info('ssh connection up again', { attempt: attempt + 1 });
          await this.healthyAgain(true);
          return true;
        } catch (e) {
          const reason = e instanceof Error ? e.message : String(e);
          await this.faulty(`slave unreachable: ${reason}`);
          await sleep(this.backoff(attempt), this.stopping.signal);
        }
      }
      return false;
    })().finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  /** Stop watching, drain within the bound, close the connection (invariant 7). */
  private async finish(code: ExitCode): Promise<ExitCode> {
    const { logger, options } = this.p;
    if (this.ticker) clearInterval(this.ticker);
    if (this.controls) clearInterval(this.controls);
    // A clean stop while live saves a snapshot, taken while still watching: events of changes
    // made just before it arrive within the settle time and join the pending set.
    let final: Date | undefined;
    // Never while the master root is gone: an empty tree would read as everything deleted.
    if (code === ExitCode.ok && this.live && this.snapshotter && !this.killing.signal.aborted && (await this.masterProblem()) === undefined) {
      try {
        final = await this.snapshotter.beginFinal();
        await sleep(SETTLE_MS, this.killing.signal);
      } catch (e) {
        logger.warn('could not save a snapshot', { error: e instanceof Error ? e.message : String(e) });
        final = undefined;
      }
    }
    await this.p.source?.stop().catch((e: unknown) => {
      logger.warn('could not stop the watcher', { error: String(e) });
    });
    this.scheduler.pause();
    if (this.scheduler.active > 0) {
      logger.info('waiting for running rsync to finish', { running: this.scheduler.active, bound_s: options.shutdownTimeout });
      await this.scheduler.whenIdle();
    }
    this.killing.abort();
    if (final !== undefined && this.p.saved) {
      try {
        // The final snapshot holds what the watcher missed too: check before it counts.
        if ((await this.reconcileBase()) === undefined) {
          await this.p.saved.discardCandidate();
          logger.info('no earlier snapshot to check the final one against; the next start runs a Full Crawl');
        } else {
          await this.reconcile();
          await this.p.saved.savePending(this.changes.snapshot());
          await this.snapshotter?.confirmFinal(final);
        }
      } catch (e) {
        logger.warn('could not save the session state', { error: e instanceof Error ? e.message : String(e) });
      }
    }
    await this.p.link?.close().catch(() => undefined);
    await this.p.ssh?.close().catch(() => undefined);
    this.p.status.update((s) => ({ ...s, pending: this.changes.size }));
    await this.p.status.state(code === ExitCode.ok ? 'Stopped' : 'Faulty', 'N/A');
    if (this.changes.size > 0) logger.info('changes left unsent', { pending: this.changes.size });
    return code;
  }
}
