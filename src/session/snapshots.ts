/**
 * Reconciliation and snapshots, the session's owner of what survives a restart (invariant 1).
 * The reconciliation scans the tree against the last snapshot and sends what changed and
 * was never sent (a watcher event dropped, a directory past the inotify limit); the
 * Snapshotter (history.ts) decides when a snapshot is safe. A clean stop saves a last one.
 */
import type { Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { setImmediate as yieldTurn } from 'node:timers/promises';
import path from 'node:path';
import type { Options } from '../config/options.js';
import { followsLinks } from '../config/rsync-flags.js';
import type { Matcher } from '../filter/matcher.js';
import type { Logger } from '../log/logger.js';
import type { Entry } from '../sync/change-set.js';
import { ancestorsOf } from '../sync/paths.js';
import { withoutRename, type ChangeEvent } from '../watch/change-source.js';
import { changesBetween, changesSinceSnapshot, modifiedSince, writeTreeSnapshot } from '../watch/snapshot.js';
import type { FailedPaths } from './failed-paths.js';
import { releaseHeap } from './heap.js';
import { SETTLE_MS, Snapshotter } from './history.js';
import type { SessionQueue } from './queue.js';
import type { Marker, SavedState } from './saved-state.js';
import { loadJournal, SentJournal } from './sent-journal.js';
import { SentSince } from './sent-since.js';
import { sleep } from './wait.js';
import { encodeName } from '../sync/names.js';

export interface SnapshotsDeps {
  readonly saved: SavedState;
  readonly master: string;
  readonly matcher: Matcher;
  readonly options: Options;
  readonly logger: Logger;
  readonly queue: SessionQueue;
  readonly failed: FailedPaths;
  /** Queues a change as the watcher would have reported it. */
  readonly queueEvent: (e: ChangeEvent, origin: number) => void;
  /** Queue empty, nothing running, no recheck pending, not Faulty. */
  readonly idle: () => boolean;
  readonly lastEventAt: () => number;
  readonly marker: (at: Date, listedFrom: Date) => Marker;
  /** The session's stop: scans under way stop with it. */
  readonly stopSignal?: AbortSignal;
}

/** lstat(2) calls made in one turn of the event loop: about 2 ms of it on tmpfs. */
const STAT_SLICE = 1024;

const readTrimmed = (file: string): Promise<string> =>
  readFile(file, 'utf8').then(
    (t) => t.trim(),
    () => 'unknown',
  );

export class Snapshots {
  /** What was sent since the last snapshot: the watcher's misses are the changes not in it. */
  readonly sentSince: SentSince;
  /** The same, on disk as it happens: a clean stop needs no listing. */
  private readonly journal: SentJournal;
  /** Aborted at a clean stop: a scan under way stops (find and sort with it). */
  private readonly halting = new AbortController();
  private snapshotter: Snapshotter | undefined;
  /** Set once the inotify limit is reached: how often the tree is rescanned. */
  private rescanEveryMs: number | undefined;
  /** -L, -k: listings follow links, as rsync copies them. */
  private readonly follow: boolean;
  /** The inotify limit was reached (rescans cover it). */
  private limitReached = false;
  /** A link points out of the tree under -L: a rescan finds its referent's changes, no event does. */
  private unwatchedReferents = false;
  /** When the baseline's listing began (ms): a directory changed since may not be in it. */
  private baselineFrom: number | undefined;
  /** The baseline's listing, while it runs: the first reconciliation waits for it. */
  private baselineWritten: Promise<void> | undefined;
  private readonly baselineHalting = new AbortController();

  constructor(private readonly d: SnapshotsDeps) {
    this.follow = followsLinks(d.options.rsyncFlags);
    this.sentSince = new SentSince(!/(^|\s)--no-implied-dirs(\s|$)/.test(d.options.rsyncOptions));
    this.journal = new SentJournal(d.saved.journalFile, d.logger);
    d.stopSignal?.addEventListener('abort', () => {
      this.haltScans();
    }, { once: true });
  }

  /**
   * A stop was asked: no snapshot is saved from now on, and a scan under way stops. The
   * baseline's listing, once live, is let finish: it is what the next start needs when no
   * snapshot was saved yet (saveFinal).
   */
  private haltScans(): void {
    this.snapshotter?.stop();
    this.halting.abort();
    if (!this.snapshotter) this.baselineHalting.abort();
  }

  /** Before a Full Crawl: the tree as it starts, what the first reconciliation compares with. */
  writeBaseline(): Promise<void> {
    this.baselineFrom = Date.now();
    this.baselineWritten = this.listBaseline();
    return this.baselineWritten;
  }

  /** Beside the Full Crawl's rsync, which nobody waits for less: at a lower priority. */
  private async listBaseline(): Promise<void> {
    try {
      await writeTreeSnapshot(this.d.master, this.d.saved.baselineFile, this.d.matcher.ignoredDirNames, { signal: this.baselineHalting.signal, background: true, follow: this.follow });
    } catch (e) {
      if (this.baselineHalting.signal.aborted) return;
      this.d.logger.warn('could not save the baseline snapshot; changes the watcher misses before the first snapshot go unnoticed until a restart', {
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** Once live: snapshots when due and safe. */
  start(): void {
    this.snapshotter = new Snapshotter({
      saved: this.d.saved,
      logger: this.d.logger,
      idle: this.d.idle,
      lastEventAt: this.d.lastEventAt,
      write: (file) => writeTreeSnapshot(this.d.master, file, this.d.matcher.ignoredDirNames, { signal: this.halting.signal, follow: this.follow }),
      marker: this.d.marker,
      intervalMs: this.d.options.snapshotInterval * 1000,
      reconcile: () => this.reconcile(),
      checkCandidate: () => this.checkCandidate(),
      onSaved: () => {
        this.sentSince.clear();
        this.journal.clear();
      },
    });
    if (this.rescanEveryMs !== undefined) this.snapshotter.rescanEvery(this.rescanEveryMs);
  }

  /** Every second while live. */
  tick(): void {
    void this.snapshotter?.tick().catch((e: unknown) => {
      if (this.halting.signal.aborted) return;
      this.d.logger.warn('could not save a snapshot', { error: e instanceof Error ? e.message : String(e) });
    });
  }

  /** What `run` sent went out at `startedAt`; `subtrees`: its paths were sent whole. */
  sent(paths: readonly string[], startedAt: number, subtrees = false): void {
    this.snapshotter?.sent();
    this.sentSince.add(paths, startedAt, subtrees);
    if (this.sentSince.overflowed) this.journal.overflow();
    else this.journal.append(paths, startedAt, subtrees);
  }

  /**
   * At a restart from the snapshot of `since`: what the last run sent after it. Returns how
   * many runs it journalled.
   */
  loadJournal(since: Date): Promise<number> {
    return loadJournal(this.d.saved.journalFile, since.getTime(), this.sentSince);
  }

  /**
   * At a restart, once the journal is loaded: the paths the last run sent after its snapshot
   * that are gone from the master now. The snapshot never held them, so its comparison with
   * the tree cannot show them gone; their deletes must still reach the slave. Undefined when
   * the journal went past its bound: what was sent is unknown.
   */
  async sentAndGone(): Promise<string[] | undefined> {
    if (this.sentSince.overflowed) return undefined;
    const gone: string[] = [];
    // A Full Crawl journals every path of the tree. lstat(2) without a promise each, a slice at
    // a time between turns of the event loop: on 100k paths (tmpfs) 0.2 s, where 64 promised
    // lstats at a time took 0.7–1.3 s of a restart, and one at a time 4.6 s.
    const listed = this.sentSince.listed().filter((p) => p !== '');
    for (let i = 0; i < listed.length; i += STAT_SLICE) {
      if (i > 0) await yieldTurn();
      for (const p of listed.slice(i, i + STAT_SLICE)) if (this.stat(p) === undefined) gone.push(p);
    }
    return gone;
  }

  /**
   * The changes no run sent since they were made, less those `skip` leaves out before any
   * lstat. A rename's halves are judged apart (the new name may have been sent while the
   * removal of the old one was not): it stays a rename only while neither was sent. `restart`: the changes of a
   * History Crawl, judged against the journal of the last run (see covered()).
   */
  async unsent(changes: readonly ChangeEvent[], o: { skip?: (e: ChangeEvent) => boolean; restart?: boolean } = {}): Promise<ChangeEvent[]> {
    const out: ChangeEvent[] = [];
    const unsent = (e: ChangeEvent): boolean => !(o.skip?.(e) ?? false) && !this.covered(e, o.restart === true);
    let n = 0;
    for (const e of changes) {
      if (++n % STAT_SLICE === 0) await yieldTurn();
      if (e.kind !== 'rename') {
        if (unsent(e)) out.push(e);
        continue;
      }
      // A rename stays one while neither half went out since; else what is left of it.
      const halves = withoutRename(e);
      const left: ChangeEvent[] = [];
      for (const h of halves) if (unsent(h)) left.push(h);
      out.push(...(left.length === halves.length ? [e] : left));
    }
    return out;
  }

  /**
   * Whether a run that started after the change listed its path. A path that exists changed
   * at its ctime; a directory's ctime moves with each entry made or removed in it, and a run
   * that listed any path below it sent the directory too (see SentSince). A path that is gone
   * went with the directories above it up to the nearest
   * one still there, and a run that listed any of them removed it from the slave too (a
   * deleted directory's files are no misses of their own). Live, any such run counts (the
   * delete event is what queued it). At a restart that is not enough: the last run may have
   * sent the file and stopped before its deletion went out. A deletion changes the directory
   * that held the path, so the ctime of the nearest directory still there bounds when it
   * happened: only a run that started after that covers it.
   */
  private covered(e: ChangeEvent, restart: boolean): boolean {
    const st = this.stat(e.path);
    if (st !== undefined) return this.sentSince.covers(e.path, st.ctimeMs, st.isDirectory());
    const gone = [e.path];
    let keptAt: number | undefined;
    for (const dir of ancestorsOf(e.path)) {
      keptAt = this.stat(dir)?.ctimeMs;
      if (keptAt !== undefined) break;
      gone.push(dir);
    }
    if (restart && keptAt === undefined) return false;
    return gone.some((p) => this.sentSince.covers(p, restart ? keptAt : undefined));
  }

  /**
   * Synchronous: callers take a slice of paths between turns of the event loop (STAT_SLICE).
   * Any error (gone, a directory above gone or unreadable) counts as gone, as with lstat(1).
   */
  private stat(rel: string): Stats | undefined {
    try {
      return lstatSync(encodeName(path.join(this.d.master, rel)), { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
  }

  /** The last confirmed snapshot, else the tree as the Full Crawl found it. */
  private async base(): Promise<string | undefined> {
    if (await this.d.saved.has(this.d.saved.snapshotFile)) return this.d.saved.snapshotFile;
    await this.baselineWritten;
    return (await this.d.saved.has(this.d.saved.baselineFile)) ? this.d.saved.baselineFile : undefined;
  }

  /**
   * A fresh listing of the tree against the last snapshot finds every change
   * since; those never sent are changes whose events the watcher dropped. They are queued.
   */
  async reconcile(): Promise<number> {
    const against = await this.base();
    if (against === undefined) return 0;
    try {
      const changes = await changesSinceSnapshot(this.d.master, against, this.d.matcher.ignoredDirNames, { signal: this.halting.signal, follow: this.follow });
      return await this.queueUnsent([...changes, ...(await this.baselineSuspects(against))]);
    } finally {
      releaseHeap();
    }
  }

  /**
   * Against the baseline, also what changed while it was being listed: it ran beside the Full
   * Crawl, and an entry changed before find reached it is in it as it became, so no
   * comparison with it shows the change, sent or not (an event dropped, a directory past the
   * inotify limit). Those are the entries it holds with an mtime since it began, and a ctime
   * too (an mtime set ahead is no change). Measured need: on two busy cores (the baseline at
   * nice 19 then), one still listing when 2,000 files were rewritten hid every one of them.
   */
  private async baselineSuspects(against: string): Promise<ChangeEvent[]> {
    const from = this.baselineFrom;
    if (against !== this.d.saved.baselineFile || from === undefined) return [];
    const recent = await modifiedSince(against, Math.floor((from - 1000) / 1000), this.halting.signal);
    const out: ChangeEvent[] = [];
    for (let i = 0; i < recent.length; i += STAT_SLICE) {
      if (i > 0) await yieldTurn();
      for (const e of recent.slice(i, i + STAT_SLICE)) if ((this.stat(e.path)?.ctimeMs ?? Infinity) >= from - 1000) out.push(e);
    }
    return out;
  }

  /**
   * The candidate snapshot against the last one: a change it holds that was never sent
   * would be taken for sent if it were kept. Those are queued (the candidate is then not kept).
   */
  private async checkCandidate(): Promise<number> {
    const against = await this.base();
    if (against === undefined) return 0;
    try {
      const changes = await changesBetween(against, this.d.saved.candidateFile, this.halting.signal);
      return await this.queueUnsent([...changes, ...(await this.baselineSuspects(against))]);
    } finally {
      releaseHeap();
    }
  }

  /** Queues the changes that no run sent since they were made: events the watcher dropped. */
  private async queueUnsent(changes: readonly ChangeEvent[]): Promise<number> {
    // Queued paths are on their way. Excluded paths are never sent (their directory's own
    // change is an event of its own). Failed paths are known and listed: they wait for a
    // change of their own.
    const skip = (e: ChangeEvent): boolean => this.d.queue.has(e.path) || this.d.failed.has(e.path) || this.d.matcher.verdictUntyped(e.path) === 'exclude';
    let unsent = await this.unsent(changes.flatMap(withoutRename), { skip });
    if (unsent.length === 0) return 0;
    // An event comes up to SETTLE_MS after its change: one made as the listing ran may have
    // its event on the way. What it queued or sent meanwhile is no miss.
    await sleep(SETTLE_MS + 100, this.halting.signal);
    unsent = await this.unsent(unsent, { skip });
    if (unsent.length === 0) return 0;
    if (this.unwatchedReferents) this.d.logger.info('the rescan found changes (a link out of the tree points at them, or the watcher missed them); sending them', { paths: unsent.length, first: unsent[0]?.path });
    else this.d.logger.warn('watcher missed changes; sending them', { paths: unsent.length, first: unsent[0]?.path });
    for (const e of unsent) this.d.queueEvent(e, 0);
    this.d.queue.kick();
    return unsent.length;
  }

  /**
   * What a link points at out of the tree (-L) has no watch: the tree is rescanned every
   * --poll-interval instead, its listings following links, as for the inotify limit.
   */
  rescanUnwatched(reason: string): void {
    this.unwatchedReferents = true;
    if (!this.rescanEvery()) return;
    this.d.logger.info('part of what is mirrored is not watched; rescanning the tree for it', { rescan_every_s: this.d.options.pollInterval, reason });
  }

  /** Rescans every --poll-interval from now; false when they were already on. */
  private rescanEvery(): boolean {
    if (this.rescanEveryMs !== undefined) return false;
    this.rescanEveryMs = this.d.options.pollInterval * 1000;
    this.snapshotter?.rescanEvery(this.rescanEveryMs);
    return true;
  }

  /**
   * The kernel's inotify limit is reached: what goes unwatched is found by the reconciliation,
   * run as a rescan every --poll-interval busy or not (history.ts). Returns false when it was
   * known already; the caller resyncs the whole tree once for what was missed before.
   */
  async coverByRescans(reason: string): Promise<boolean> {
    if (this.limitReached) return false;
    this.limitReached = true;
    this.rescanEvery();
    const o = this.d.options;
    const limit = await readTrimmed('/proc/sys/fs/inotify/max_user_watches');
    // In a container's user namespace, a lower limit of its own may be the one reached.
    const nsLimit = await readTrimmed('/proc/sys/user/max_inotify_watches');
    this.d.logger.warn('inotify watch limit reached: changes in unwatched directories are found by rescanning the tree instead', {
      'fs.inotify.max_user_watches': limit,
      ...(nsLimit !== limit && nsLimit !== 'unknown' ? { 'user.max_inotify_watches': nsLimit } : {}),
      rescan_every_s: o.pollInterval,
      fix: 'raise it (sysctl -w fs.inotify.max_user_watches=1048576, and a file in /etc/sysctl.d/ to keep it), then restart the session',
      reason,
    });
    return true;
  }

  /**
   * A clean stop, once the watcher is stopped and the batches are drained: the pending set is
   * saved beside the snapshot and the journal of what was sent since it, which is all the
   * next start needs (a change it finds in the snapshot diff is sent unless a journalled run
   * covers it). No listing: a stop takes the same time on any tree. Right after a Full Crawl,
   * with no snapshot saved yet, the baseline becomes the snapshot.
   */
  async saveFinal(pending: () => readonly Entry[]): Promise<void> {
    if (!this.snapshotter) return;
    this.haltScans();
    // A periodic save past its last check would confirm its snapshot with an empty pending
    // set, over the one saved here.
    await this.snapshotter.settled();
    try {
      if (!(await this.d.saved.has(this.d.saved.snapshotFile))) {
        // A stop soon after the Full Crawl: its baseline may still be being listed.
        await this.baselineWritten;
        if (!(await this.d.saved.has(this.d.saved.baselineFile))) {
          this.d.logger.info('no snapshot or baseline to restart from; the next start runs a Full Crawl');
          return;
        }
        await this.d.saved.promoteBaseline(this.d.marker, new Date(this.baselineFrom ?? 0));
      }
      const entries = pending();
      await this.d.saved.savePending(entries);
      await this.journal.flushed();
      this.d.logger.info('session state saved', { pending: entries.length });
    } catch (e) {
      this.d.logger.warn('could not save the session state', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
