/**
 * Restarts without resending the tree (DESIGN.md invariant 1, gluster's stime marker):
 * which crawl a start needs, and when the saved snapshot may move forward.
 *
 * A snapshot may only be saved at a moment T when everything seen before T is on the slave:
 * the queue is empty, no batch or recheck runs, and the watcher has delivered every event of
 * a change made before T. The watcher batches events for up to half a second, so a candidate
 * is written at T and kept only if no event arrives in the second after T, and if nothing it
 * holds differs from the last snapshot without having been sent since (a dropped event).
 * A clean stop saves no snapshot: the last one stands, with the journal of what was sent
 * since and the pending set (snapshots.ts, sent-journal.ts).
 */
import type { Logger } from '../log/logger.js';
import type { Marker, SavedState } from './saved-state.js';
import { sleep } from './wait.js';

export type CrawlDecision = { readonly kind: 'history'; readonly marker: Marker } | { readonly kind: 'full'; readonly reason: string };

/** Pure: the saved marker against what this run mirrors. */
export function decideCrawl(marker: Marker | undefined, hasSnapshot: boolean, master: string, slave: string, slaveId: string | null): CrawlDecision {
  if (marker === undefined || !hasSnapshot) return { kind: 'full', reason: 'no saved state for this session' };
  if (marker.master !== master || marker.slave !== slave) {
    return { kind: 'full', reason: `the saved state is for ${marker.master} → ${marker.slave}` };
  }
  if (marker.slaveId !== null && slaveId !== null && marker.slaveId !== slaveId) {
    return { kind: 'full', reason: 'the slave root is not the one the saved state was made for (replaced or re-created)' };
  }
  return { kind: 'history', marker };
}

/** How long after writing a candidate no event may arrive for it to be kept. */
export const SETTLE_MS = 1000;

export interface SnapshotterDeps {
  readonly saved: SavedState;
  readonly logger: Logger;
  /** Queue empty, nothing running, no recheck pending. */
  readonly idle: () => boolean;
  /** When the watcher last delivered an event (ms). */
  readonly lastEventAt: () => number;
  readonly write: (file: string) => Promise<void>;
  readonly marker: (at: Date, listedFrom: Date) => Marker;
  readonly intervalMs: number;
  readonly now?: () => number;
  /**
   * Between snapshots: a fresh listing against the last one queues what changed since and
   * was never sent (a dropped watcher event); returns how many paths.
   */
  readonly reconcile?: () => Promise<number>;
  /**
   * The same for the candidate, without listing the tree again: what it holds that was never
   * sent is queued; the candidate is kept only when that is nothing.
   */
  readonly checkCandidate?: () => Promise<number>;
  /** A snapshot was saved: everything before it is on the slave. */
  readonly onSaved?: () => void;
}

/**
 * After activity, the next reconciliation comes this long after the last one at the soonest,
 * and at least 20 scans' time later: a 0.3 s scan (100k files) every 10 s of quiet at most.
 */
const RECONCILE_AFTER_ACTIVITY_MS = 10_000;
/**
 * Under changes that never pause, the reconciliation runs anyway this long after the last
 * (and at least 20 scans' time later): events the kernel dropped wait a minute, not for quiet.
 */
const RECONCILE_WHILE_BUSY_MS = 60_000;

export class Snapshotter {
  private busy = false;
  /** A clean stop began: a save under way gives way at once. */
  private readonly stopping = new AbortController();
  private lastSavedAt = 0;
  /** Changes were sent since the last saved snapshot. */
  private dirty = true;
  private reconciledAt: number | undefined;
  /** Something was sent since the last reconciliation. */
  private activity = false;
  private lastScanMs = 0;
  /** Set when part of the tree goes unwatched: reconcile this often, busy or quiet. */
  private forcedGapMs: number | undefined;
  private readonly startedAt: number;

  constructor(private readonly d: SnapshotterDeps) {
    this.startedAt = this.now();
  }

  /**
   * The watcher cannot cover the whole tree (the inotify limit): the reconciliation becomes
   * a rescan every `ms`, busy or quiet, and at least 20 scans' time apart (at most 5% of a core).
   */
  rescanEvery(ms: number): void {
    this.forcedGapMs = ms;
  }

  sent(): void {
    this.dirty = true;
    this.activity = true;
  }

  /** Soon after activity (dropped events come with activity), else once an interval. */
  private reconcileDue(t: number): boolean {
    if (this.reconciledAt === undefined) return true;
    const gap =
      this.forcedGapMs !== undefined
        ? Math.max(this.forcedGapMs, 20 * this.lastScanMs)
        : this.activity
          ? Math.max(RECONCILE_AFTER_ACTIVITY_MS, 20 * this.lastScanMs)
          : this.d.intervalMs;
    return t - this.reconciledAt >= gap;
  }

  private async runReconcile(t: number, reconcile: () => Promise<number>): Promise<number> {
    const started = performance.now();
    this.reconciledAt = t;
    this.activity = false;
    const found = await reconcile();
    this.lastScanMs = performance.now() - started;
    return found;
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /**
   * Called every second while live. The reconciliation (what changed and was never sent is
   * sent first) runs soon after activity and once an interval when quiet, and once a minute
   * (or at the forced cadence) while busy; a snapshot is saved once an interval when something
   * was sent, and kept only if a scan made after writing it finds nothing unsent.
   */
  async tick(): Promise<void> {
    if (this.busy || this.stopped()) return;
    const t = this.now();
    if (!this.d.idle() || t - this.d.lastEventAt() < SETTLE_MS) {
      await this.reconcileWhileBusy(t);
      return;
    }
    const reconcile = this.d.reconcile;
    const snapshotDue = this.dirty && (this.lastSavedAt === 0 || t - this.lastSavedAt >= this.d.intervalMs);
    if (!snapshotDue && !(reconcile && this.reconcileDue(t))) return;
    this.busy = true;
    try {
      if (reconcile && this.reconcileDue(t)) {
        // What it found is sent first; the snapshot waits for the next quiet moment.
        if ((await this.runReconcile(t, reconcile)) > 0) return;
      }
      if (snapshotDue) await this.save(t);
    } finally {
      this.busy = false;
    }
  }

  private async reconcileWhileBusy(t: number): Promise<void> {
    const reconcile = this.d.reconcile;
    const last = this.reconciledAt ?? this.startedAt;
    if (!reconcile || t - last < Math.max(this.forcedGapMs ?? RECONCILE_WHILE_BUSY_MS, 20 * this.lastScanMs)) return;
    this.busy = true;
    try {
      await this.runReconcile(t, reconcile);
    } finally {
      this.busy = false;
    }
  }

  private async save(t: number): Promise<boolean> {
    const started = performance.now();
    await this.d.write(this.d.saved.candidateFile);
    await sleep(SETTLE_MS, this.stopping.signal);
    if (this.stopped() || this.d.lastEventAt() >= t - 100 || !this.d.idle()) {
      await this.d.saved.discardCandidate();
      return false;
    }
    // A change that raised no event (a dropped one, a directory past the inotify limit) made
    // before the candidate was written would be in it as if sent: the candidate against the
    // last confirmed snapshot must show nothing unsent. (It serves as this moment's
    // reconciliation: what changed after the candidate is found against it next time.)
    const check = this.d.checkCandidate;
    if (check && (await this.runReconcile(this.now(), check)) > 0) {
      await this.d.saved.discardCandidate();
      return false;
    }
    // A stop came while the check ran: the stop saves the state as it stands (snapshots.ts).
    if (this.stopped()) {
      await this.d.saved.discardCandidate();
      return false;
    }
    await this.d.saved.confirm(this.d.marker(new Date(t), new Date(t)));
    await this.d.saved.savePending([]);
    this.lastSavedAt = t;
    this.dirty = false;
    this.d.onSaved?.();
    this.d.logger.info('snapshot saved', { seconds: ((performance.now() - started) / 1000 - SETTLE_MS / 1000).toFixed(2) });
    return true;
  }

  /** A stop: no snapshot is saved from now on; one waiting out its settle time gives way at once. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * Resolves once no save or reconciliation runs. After stop() that is soon: their scans are
   * stopped with it, and a save past its check only has its files to rename.
   */
  async settled(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 20));
  }

  /** A method, not the signal's field: it changes while a save awaits. */
  private stopped(): boolean {
    return this.stopping.signal.aborted;
  }
}
