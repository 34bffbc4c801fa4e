/**
 * One session: one master, one slave. This file wires the session's owners and runs its
 * life through the state machine (machine.ts, shown in docs/session.md): watch first, then
 * the History or Full Crawl, then live mirroring until stopped (with --once, done after the
 * crawl). Each owner is a module of its own:
 *
 *   intake.ts       watcher events → queued changes     dispatch.ts   batches and their outcome
 *   crawls.ts       History and Full Crawl              failures.ts   retries, give-ups, Faulty
 *   snapshots.ts    reconciliation and snapshots        reconnector.ts  the SSH connection
 *   master-guard.ts the master root's identity          checkpoints.ts  `gsyncd checkpoint`
 *   pause.ts        `gsyncd pause|resume`               lifecycle.ts  the state, shown and logged
 *   renames.ts      renames to replay, queued           entry-replay.ts  renames replayed on the slave
 */
import { followsLinks } from '../config/rsync-flags.js';
import { ExitCode } from '../errors.js';
import { ChangeSet } from '../sync/change-set.js';
import { EntryQueue } from '../sync/entry-queue.js';
import { withoutRename } from '../watch/change-source.js';
import type { RsyncPlan } from '../sync/rsync-argv.js';
import { Scheduler, realClock } from '../sync/scheduler.js';
import type { Readiness } from '../status/http.js';
import { Checkpoints } from './checkpoints.js';
import { Confirmer } from './confirmer.js';
import { Crawls } from './crawls.js';
import { Dispatcher } from './dispatch.js';
import { HardLinks } from './hard-links.js';
import { LinkTargets, refuseLinkLoops } from './link-targets.js';
import { Replayer } from './entry-replay.js';
import { FailedPaths } from './failed-paths.js';
import { Failures } from './failures.js';
import { Intake } from './intake.js';
import { Lifecycle } from './lifecycle.js';
import { MasterGuard } from './master-guard.js';
import type { SessionParts } from './parts.js';
import { PauseGate, followPause, type PauseFollowerDeps } from './pause.js';
import { SessionQueue } from './queue.js';
import { Reconnector } from './reconnector.js';
import { Renames } from './renames.js';
import { replayTarget } from './replay-op.js';
import { RshServer } from '../transport/rsh-server.js';
import { sessionMarker } from './saved-state.js';
import { Snapshots } from './snapshots.js';

export type { SessionParts } from './parts.js';

export class Session {
  readonly life: Lifecycle;
  private readonly changes: ChangeSet;
  /** Renames waiting to be replayed on the slave. */
  private readonly steps = new EntryQueue();
  private readonly replayer: Replayer;
  /** Under -H while live: the names of the master's multi-linked files. */
  private readonly hardLinks: HardLinks | undefined;
  private readonly linkTargets: LinkTargets | undefined;
  private readonly scheduler: Scheduler;
  /** Stops waits and sleeps when a stop is asked. */
  private readonly stopping = new AbortController();
  /** Stops running rsyncs once the shutdown bound has passed. */
  private readonly killing = new AbortController();
  /** `gsyncd pause`: nothing is sent while paused; watching and queueing go on. */
  private readonly gate = new PauseGate();
  private readonly queue: SessionQueue;
  private readonly intake: Intake;
  private readonly guard: MasterGuard;
  private readonly connection: Reconnector | undefined;
  private readonly failures: Failures;
  private readonly checkpoints: Checkpoints;
  private readonly snapshots: Snapshots | undefined;
  private readonly dispatcher: Dispatcher;
  private readonly crawls: Crawls;
  /** The plan; a host::NAME slave learns its root in the handshake. */
  private plan: RsyncPlan;
  /** Batches' plan when their rsync goes through the slave channel (issue 14). */
  private batchPlan: RsyncPlan | undefined;
  private rshServer: RshServer | undefined;
  /** Batches may go (the initial sync is over); a pause holds them back meanwhile. */
  private sending = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly pauses: PauseFollowerDeps;

  constructor(private readonly p: SessionParts) {
    const { logger, options, status } = p;
    this.plan = p.plan;
    this.life = new Lifecycle(status, logger, p.name);
    const fire = this.life.fire.bind(this.life);
    const stopRequested = (): boolean => this.stopping.signal.aborted;
    const failed = new FailedPaths(status.current.failed_paths ?? []);
    this.changes = new ChangeSet(options.maxQueue);
    const target = replayTarget(p);
    this.scheduler = new Scheduler(
      this.changes,
      { jobs: options.syncJobs, batchSize: options.batchSize, batchDelayMs: options.batchDelay * 1000, gather: () => this.life.phase() !== 'HistoryCrawl' },
      (entries, claim) => this.dispatcher.handle(entries, claim),
      realClock,
      (e, entries) => {
        logger.error('internal error in a batch; its paths stay queued', { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        this.changes.requeue(entries, Date.now() + 5000, Date.now());
      },
      { queue: this.steps, run: (steps) => this.replayer.run(steps), ready: () => target.replay() !== undefined },
      // A History Crawl ends when its last batch does, not at the next tick.
      () => {
        if (this.nothingLeft()) void this.crawls.endHistoryIfDone(true);
      },
    );
    const kick = (): void => {
      this.scheduler.kick();
    };
    this.queue = new SessionQueue({ changes: this.changes, failed, status, logger, maxQueue: options.maxQueue, kick });
    const queue = this.queue;
    this.failures = new Failures({ options, logger, status, metrics: p.metrics, queue, failed, fire });
    this.connection = p.ssh && new Reconnector({ ssh: p.ssh, slave: status.current.slave, logger, fire, stopSignal: this.stopping.signal, backoff: (a) => this.failures.backoff(a), kick });
    const confirmer = new Confirmer({ masterRoot: p.master.path, options, link: p.link, logger, queue, failed, failures: this.failures });
    this.snapshots =
      p.saved &&
      new Snapshots({
        saved: p.saved,
        master: p.master.path,
        matcher: p.matcher,
        options,
        logger,
        queue,
        failed,
        queueEvent: (e, origin) => {
          this.intake.queueEvent(e, origin);
        },
        idle: () => this.nothingLeft() && !this.dispatcher.rechecking() && this.life.faultyReason() === undefined,
        lastEventAt: () => this.intake.lastEventAt(),
        marker: (at, listedFrom) => sessionMarker(p, this.crawls.slaveId, at, listedFrom),
        stopSignal: this.stopping.signal,
      });
    this.hardLinks =
      options.rsyncFlags.has('hard-links') && !options.once
        ? new HardLinks({
            masterRoot: p.master.path,
            pruned: p.matcher.ignoredDirNames,
            logger,
            signal: this.stopping.signal,
            queue: (paths) => {
              for (const path of paths) queue.add(path, false);
              queue.kick();
            },
          })
        : undefined;
    this.linkTargets = followsLinks(options.rsyncFlags)
      ? new LinkTargets({
          masterRoot: p.master.path,
          pruned: p.matcher.ignoredDirNames,
          logger,
          dirsOnly: !options.rsyncFlags.has('copy-links'),
          signal: this.stopping.signal,
          queue: (path) => {
            this.intake.queueFollowed(path);
          },
          rescan: (reason) => {
            this.snapshots?.rescanUnwatched(reason);
          },
        })
      : undefined;
    this.intake = new Intake({
      options,
      ...(this.linkTargets && !options.once ? { links: this.linkTargets } : {}),
      masterRoot: p.master.path,
      matcher: p.matcher,
      logger,
      queue,
      changed: (path) => {
        confirmer.changed(path);
      },
      coverByRescans: (reason) => this.snapshots?.coverByRescans(reason) ?? Promise.resolve(false),
      stopRequested,
      renames: new Renames({
        options,
        matcher: p.matcher,
        changes: this.changes,
        steps: this.steps,
        replayable: target.replayable,
        inFlight: (path) => this.scheduler.inFlight(path),
        moved: (moves) => {
          this.hardLinks?.retarget(moves);
        },
      }),
    });
    this.guard = new MasterGuard({
      root: p.master.path,
      logger,
      fire,
      stopRequested,
      rewatch: async () => {
        await p.source?.stop().catch(() => undefined);
        if (!stopRequested()) await p.source?.start(this.intake.handlers());
      },
      resyncAll: () => {
        this.intake.resyncAll();
      },
    });
    this.checkpoints = new Checkpoints({ sessionDir: p.sessionDir, status, logger, live: () => this.life.live(), oldestQueued: () => minDefined(this.changes.oldestOrigin(), this.steps.oldestOrigin()) });
    this.replayer = new Replayer({
      replay: target.replay,
      masterRoot: p.master.path,
      steps: this.steps,
      queue,
      logger,
      status,
      metrics: p.metrics,
      checkpoints: this.checkpoints,
      snapshots: this.snapshots,
      rulesByPlace: !p.matcher.empty,
      stopping: stopRequested,
    });
    const slaveRoot = (): string => (p.slave.kind !== 'volume' ? p.slave.path : (p.link?.reply?.root ?? ''));
    this.dispatcher = new Dispatcher({
      master: p.master,
      options,
      matcher: p.matcher,
      logger,
      status,
      metrics: p.metrics,
      runRsync: p.runRsync,
      plan: () => this.currentBatchPlan(),
      slaveRoot,
      queue,
      failures: this.failures,
      guard: this.guard,
      link: this.connection,
      checkpoints: this.checkpoints,
      confirmer,
      fire,
      runSignal: () => this.gate.runSignal(this.killing.signal),
      interrupted: () => this.killing.signal.aborted || this.gate.isPaused,
      snapshots: this.snapshots,
      hardLinks: this.hardLinks,
    });
    this.pauses = {
      sessionDir: p.sessionDir,
      session: p.name,
      gate: this.gate,
      logger,
      fire,
      stopRequested,
      batches: this.scheduler,
      sending: () => this.sending,
      pending: () => this.changes.size,
    };
    this.crawls = new Crawls({
      p,
      life: this.life,
      plan: () => this.plan,
      slaveRoot,
      queue,
      intake: this.intake,
      failed,
      failures: this.failures,
      guard: this.guard,
      link: this.connection,
      dispatcher: this.dispatcher,
      snapshots: this.snapshots,
      gate: this.gate,
      stopSignal: this.stopping.signal,
      killSignal: this.killing.signal,
    });
  }

  /** Asks the session to end: stop watching, let running rsyncs finish within the bound. */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.p.logger.info('stopping', { session: this.p.name });
    this.stopping.abort();
    void this.life.fire({ type: 'stop' });
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
    const { p } = this;
    try {
      // A signal may come before the session starts (while the HTTP endpoint opens).
      if (this.stopRequested()) return await this.finish(ExitCode.ok);
      await this.life.fire({ type: 'start' });
      await followPause(this.pauses);
      this.every(1000, () => {
        void followPause(this.pauses).catch((e: unknown) => {
          p.logger.warn('could not read the pause request', { error: e instanceof Error ? e.message : String(e) });
        });
        void this.guard.check();
      });
      await this.guard.record();
      // The watch (invariant 2: in place before the crawl; its events wait in the queue) and
      // a History Crawl's comparison start while the slave is reached: from the saved state
      // as this host shows it, a restart's watch taking the snapshot's directories.
      await this.crawls.prepareLocal();
      const watching = this.stopRequested()
        ? undefined
        : this.crawls.watch(this.intake.handlers()).then(() => {
            this.crawls.beginHistoryScan();
            // Once watched, a link made later raises an event: the listing of links may start.
            this.hardLinks?.seed();
            return this.linkTargets?.seed();
          });
      watching?.catch(() => undefined);
      try {
        await this.connection?.connectFirst();
        if (p.link && !this.stopRequested()) {
          const hello = await p.link.connectFirst();
          if (p.slave.kind === 'volume') this.plan = { ...this.plan, dest: `${p.ssh?.destination ?? ''}:${hello.root}/` };
          await this.streamBatches(hello.streams === true);
        }
      } catch (e) {
        await watching?.catch(() => undefined);
        throw e;
      }
      refuseLinkLoops(await watching);
      // Which crawl, now that the slave has answered.
      if (!this.stopRequested()) await this.crawls.prepare();
      if (this.stopRequested()) return await this.finish(ExitCode.ok);

      const crawled = await this.crawls.initial();
      if (p.options.once) return await this.finish(crawled ? ExitCode.ok : ExitCode.failure);
      if (this.stopRequested()) return await this.finish(ExitCode.ok);
      if (this.life.phase() === 'FullCrawl') await this.crawls.enterChangelog();
      this.sending = true;
      if (!this.gate.isPaused) this.scheduler.resume();
      this.snapshots?.start();
      this.every(1000, () => {
        void this.crawls.endHistoryIfDone(this.nothingLeft());
        void this.checkpoints.follow().catch(() => undefined);
        this.snapshots?.tick();
      });
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

  /** Nothing queued, no rename waiting, no batch or run of renames under way. */
  private nothingLeft(): boolean {
    return this.changes.size === 0 && this.steps.size === 0 && this.scheduler.active === 0;
  }

  /**
   * Referenced: they keep the process alive. A watcher that could place no watch (the inotify
   * limit reached at start) holds no handle, and node exited 0 mid-session. finish() clears them.
   */
  private every(ms: number, fn: () => void): void {
    this.timers.push(setInterval(fn, ms));
  }

  /** For /readyz: live, not Faulty, and the link to the slave up. */
  readiness(): Readiness {
    return this.life.readiness(this.connection?.alive() ?? true);
  }

  /**
   * Batches' rsync through the slave channel, when the slave runs it (its hello says so),
   * --rsync-transport is channel, and nothing asks for the remote shell itself (a
   * --rsync-path, or --rsync-options the slave's check would refuse).
   */
  private async streamBatches(offered: boolean): Promise<void> {
    const { p } = this;
    const o = p.options;
    if (!offered || !p.rshJoin || o.rsyncTransport !== 'channel' || o.rsyncPath !== undefined || this.plan.extra.length > 0) return;
    const link = p.link;
    try {
      this.rshServer = await RshServer.open(() => link?.current());
    } catch (e) {
      // Batches then open ssh sessions, as with --rsync-transport ssh: slower, not wrong.
      p.logger.warn('cannot join batches to the slave channel; they go through ssh sessions', { error: e instanceof Error ? e.message : String(e) });
      return;
    }
    this.batchPlan = { ...this.plan, rsh: this.rshServer.rsh() };
    p.logger.debug('batches go through the slave channel', { socket: this.rshServer.socketPath });
  }

  /**
   * While the slave channel is down (being reopened), batches open ssh sessions as they did
   * before it: a run through a channel that is not there would fail at once, batch after
   * batch, and read as connection losses.
   */
  private currentBatchPlan(): RsyncPlan {
    // The slave gsyncd answering now may not be the one of the first handshake (upgraded or
    // downgraded in between): only one that offers streams is given them.
    const link = this.p.link;
    return this.batchPlan !== undefined && link?.current() !== undefined && link.reply?.streams === true ? this.batchPlan : this.plan;
  }

  /** Stop watching, drain within the bound, save state, close the connection (invariant 7). */
  private async finish(code: ExitCode): Promise<ExitCode> {
    const { logger, options } = this.p;
    if (!this.stopRequested()) {
      // Done (--once) or failed: nothing runs that a bound would have to stop.
      this.stopping.abort();
      void this.life.fire({ type: 'stop' });
    }
    for (const t of this.timers) clearInterval(t);
    // A clean stop while live saves the session state once drained; never while the master
    // root is gone (an empty tree would read as everything deleted).
    const saveFinal = code === ExitCode.ok && this.sending && !this.killing.signal.aborted && (await this.guard.problem()) === undefined;
    await this.p.source?.stop().catch((e: unknown) => {
      logger.warn('could not stop the watcher', { error: String(e) });
    });
    this.scheduler.pause();
    if (this.scheduler.active > 0) {
      logger.info('waiting for running rsync to finish', { running: this.scheduler.active, bound_s: options.shutdownTimeout });
      await this.scheduler.whenIdle();
    }
    this.killing.abort();
    // Renames not yet replayed are saved as what they stand for: a delete and a new subtree.
    for (const s of this.steps.takeAll()) for (const e of withoutRename({ path: s.origin.to, kind: 'rename', from: s.origin.from })) this.queue.add(e.path, e.kind !== 'delete', s.origin_ms);
    if (saveFinal) await this.snapshots?.saveFinal(() => this.changes.snapshot());
    await this.p.link?.close().catch(() => undefined);
    await this.rshServer?.close().catch(() => undefined);
    await this.p.ssh?.close().catch(() => undefined);
    this.queue.showPending();
    await this.life.fire({ type: code === ExitCode.ok ? 'stopped' : 'failed' });
    if (this.changes.size > 0) logger.info('changes left unsent', { pending: this.changes.size });
    return code;
  }
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));
