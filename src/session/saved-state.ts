/**
 * What a session keeps between runs, in its state directory (crash-safe writes):
 * - `snapshot`: the master tree as the watcher saw it at a moment when everything seen before
 *   it was on the slave; `marker.json`: that moment, and for which master and which slave;
 * - `pending.json`: changes seen but not yet sent at a clean stop.
 * A restart replays the changes since the snapshot plus the pending set (History Crawl).
 */
import { access, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from './atomic-write.js';
import type { SessionParts } from './parts.js';

export interface Marker {
  readonly version: 1;
  readonly master: string;
  readonly slave: string;
  /** The slave root's identity (device and inode, as `dev:ino`), when it can be known. */
  readonly slaveId: string | null;
  readonly snapshotAt: string;
  /**
   * When the snapshot's listing began (at or after snapshotAt, or the baseline's start), and
   * the directories it left out whole: a restart takes its directories to watch from the
   * snapshot when the filters still leave out the same ones, and lists again those changed
   * since then. Absent in an older marker.
   */
  readonly listedFrom?: string;
  readonly pruned?: readonly string[];
}

/** This session's marker for a snapshot stamped `at`, whose listing began at `listedFrom`. */
export function sessionMarker(p: SessionParts, slaveId: string | null, at: Date, listedFrom: Date): Marker {
  const { master, status, matcher } = p;
  return {
    version: 1,
    master: master.path,
    slave: status.current.slave,
    slaveId,
    snapshotAt: at.toISOString(),
    listedFrom: listedFrom.toISOString(),
    pruned: matcher.ignoredDirNames,
  };
}

export interface PendingEntry {
  readonly path: string;
  readonly recursive: boolean;
}

export class SavedState {
  constructor(private readonly dir: string) {}

  get snapshotFile(): string {
    return path.join(this.dir, 'snapshot');
  }

  /**
   * The tree as it was when a Full Crawl started: not state to restart from, only what the
   * first reconciliation compares with, until a snapshot is confirmed.
   */
  get baselineFile(): string {
    return path.join(this.dir, 'snapshot.baseline');
  }

  get candidateFile(): string {
    return path.join(this.dir, 'snapshot.new');
  }

  /** What was sent since the snapshot (sent-journal.ts). */
  get journalFile(): string {
    return path.join(this.dir, 'sent.journal');
  }

  /** Whether `file` (one of the files above) is there. */
  async has(file: string): Promise<boolean> {
    return access(file).then(
      () => true,
      () => false,
    );
  }

  async marker(): Promise<Marker | undefined> {
    try {
      const m = JSON.parse(await readFile(path.join(this.dir, 'marker.json'), 'utf8')) as Partial<Marker>;
      if (m.version !== 1 || typeof m.master !== 'string' || typeof m.slave !== 'string' || typeof m.snapshotAt !== 'string') return undefined;
      const pruned = Array.isArray(m.pruned) && m.pruned.every((n) => typeof n === 'string') ? { pruned: m.pruned } : {};
      const listedFrom = typeof m.listedFrom === 'string' ? { listedFrom: m.listedFrom } : {};
      return { version: 1, master: m.master, slave: m.slave, slaveId: typeof m.slaveId === 'string' ? m.slaveId : null, snapshotAt: m.snapshotAt, ...listedFrom, ...pruned };
    } catch {
      return undefined;
    }
  }

  /** Makes the candidate snapshot the saved one, then the marker: the marker never names a snapshot that is not there. */
  async confirm(marker: Marker): Promise<void> {
    await rename(this.candidateFile, this.snapshotFile);
    await writeAtomic(path.join(this.dir, 'marker.json'), `${JSON.stringify(marker, null, 2)}\n`);
  }

  /**
   * No snapshot was saved yet: the baseline becomes the snapshot, stamped with the time its
   * listing ended, for a clean stop that follows a Full Crawl closely. Everything changed
   * since is either sent by a journalled run (the crawl's own, whose sent paths count from
   * its start) or pending.
   */
  /**
   * The baseline becomes the snapshot, of the moment its listing began: what changed while
   * find walked may be in it or not, so the journal read back at a restart starts there. Dated
   * when it was written, a path made and sent while find walked, then removed while stopped,
   * was in neither the snapshot nor the journal read back, and stayed on the slave (seen on
   * two busy cores, where the listing ends late).
   */
  async promoteBaseline(marker: (at: Date, listedFrom: Date) => Marker, listedFrom: Date): Promise<void> {
    await rename(this.baselineFile, this.snapshotFile);
    await writeAtomic(path.join(this.dir, 'marker.json'), `${JSON.stringify(marker(listedFrom, listedFrom), null, 2)}\n`);
  }

  async discardCandidate(): Promise<void> {
    await rm(this.candidateFile, { force: true });
  }

  async forget(): Promise<void> {
    await rm(path.join(this.dir, 'marker.json'), { force: true });
    await rm(this.snapshotFile, { force: true });
    await rm(this.candidateFile, { force: true });
    await rm(this.baselineFile, { force: true });
    await rm(this.journalFile, { force: true });
  }

  async pending(): Promise<PendingEntry[]> {
    try {
      const v = JSON.parse(await readFile(path.join(this.dir, 'pending.json'), 'utf8')) as unknown;
      if (!Array.isArray(v)) return [];
      return v.filter(
        (e): e is PendingEntry => typeof e === 'object' && e !== null && typeof (e as PendingEntry).path === 'string' && typeof (e as PendingEntry).recursive === 'boolean',
      );
    } catch {
      return [];
    }
  }

  async savePending(entries: readonly PendingEntry[]): Promise<void> {
    const file = path.join(this.dir, 'pending.json');
    if (entries.length === 0) await rm(file, { force: true });
    else await writeAtomic(file, JSON.stringify(entries.map((e) => ({ path: e.path, recursive: e.recursive }))));
  }
}
