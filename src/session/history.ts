/**
 * Restarts without resending the tree (DESIGN.md invariant 1, gluster's stime marker):
 * which crawl a start needs, and when the saved snapshot may move forward.
 *
 * A snapshot may only be saved at a moment T when everything seen before T is on the slave:
 * the queue is empty, no batch or recheck runs, and the watcher has delivered every event of
 * a change made before T. The watcher batches events for up to half a second, so a candidate
 * is written at T and kept only if no event arrives in the second after T.
 */
import type { Logger } from '../log/logger.js';
import type { Marker, SavedState } from './saved-state.js';

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
  readonly marker: (at: Date) => Marker;
  readonly intervalMs: number;
  readonly now?: () => number;
  /**
   * Before a snapshot: queues what changed since the last one and was never sent (a dropped
   * watcher event); returns how many paths. The snapshot then waits until they are sent.
   */
  readonly reconcile?: () => Promise<number>;
  /** A snapshot was saved: everything before it is on the slave. */
  readonly onSaved?: () => void;
}

/** A reconciliation stays good for the snapshot that follows within this long. */
const RECONCILED_FOR_MS = 60_000;

export class Snapshotter {
  private busy = false;
  private lastSavedAt = 0;
  /** Changes were sent since the last saved snapshot. */
  private dirty = true;
  private reconciledAt: number | undefined;

  constructor(private readonly d: SnapshotterDeps) {}

  sent(): void {
    this.dirty = true;
  }

  private now(): number {
    return (this.d.now ?? Date.now)();
  }

  /**
   * Called every second while live. Once per interval, when quiet: the reconciliation (what
   * changed and was never sent is sent first), then a snapshot if anything was sent since the
   * last one.
   */
  async tick(): Promise<void> {
    if (this.busy || !this.d.idle()) return;
    const t = this.now();
    if (t - this.lastSavedAt < this.d.intervalMs && this.lastSavedAt !== 0) return;
    if (t - this.d.lastEventAt() < SETTLE_MS) return;
    if (!this.dirty && !this.d.reconcile) return;
    this.busy = true;
    try {
      if (this.d.reconcile && (this.reconciledAt === undefined || t - this.reconciledAt > RECONCILED_FOR_MS)) {
        this.reconciledAt = t;
        // What it found is sent first; the snapshot waits for the next quiet moment.
        if ((await this.d.reconcile()) > 0) return;
      }
      if (!this.dirty) {
        // Nothing sent, nothing missed: the snapshot on disk still holds; look again next interval.
        this.lastSavedAt = t;
        return;
      }
      if (await this.save(t)) this.reconciledAt = undefined;
    } finally {
      this.busy = false;
    }
  }

  private async save(t: number): Promise<boolean> {
    const started = performance.now();
    await this.d.write(this.d.saved.candidateFile);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    if (this.d.lastEventAt() >= t - 100 || !this.d.idle()) {
      await this.d.saved.discardCandidate();
      return false;
    }
    await this.d.saved.confirm(this.d.marker(new Date(t)));
    await this.d.saved.savePending([]);
    this.lastSavedAt = t;
    this.dirty = false;
    this.d.onSaved?.();
    this.d.logger.info('snapshot saved', { seconds: ((performance.now() - started) / 1000 - SETTLE_MS / 1000).toFixed(2) });
    return true;
  }

  /**
   * At a clean stop, while still watching: writes a candidate at T; the caller then keeps
   * watching long enough for events of changes before T to arrive, queues them, and saves
   * the queue as the pending set before calling `confirmFinal`.
   */
  async beginFinal(): Promise<Date> {
    while (this.busy) await new Promise((r) => setTimeout(r, 50));
    this.busy = true;
    const at = new Date(this.now());
    await this.d.write(this.d.saved.candidateFile);
    return at;
  }

  async confirmFinal(at: Date): Promise<void> {
    await this.d.saved.confirm(this.d.marker(at));
    this.d.logger.info('snapshot saved', { at: at.toISOString() });
  }
}
