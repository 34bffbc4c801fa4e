/**
 * Keeps the session's status file current: at once on a change of state, at most once a
 * second for counters, always by atomic replacement so readers never see half a file.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from './atomic-write.js';
import { failedPathsFrom, lastSyncedFrom, totalsFrom, type FailedPath, type StatusRecord, type Totals } from '../status/status.js';
import type { Shown } from './machine.js';

export class StatusWriter {
  private record: StatusRecord;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: string,
    initial: StatusRecord,
  ) {
    this.record = initial;
  }

  static async open(file: string, base: Omit<StatusRecord, 'totals'>): Promise<StatusWriter> {
    let totals: Totals;
    let lastSynced: string | null = null;
    let failed: FailedPath[] = [];
    try {
      const before: unknown = JSON.parse(await readFile(file, 'utf8'));
      totals = totalsFrom(before);
      lastSynced = lastSyncedFrom(before);
      failed = failedPathsFrom(before);
    } catch {
      totals = totalsFrom(undefined);
    }
    // Like the totals, the time of the last sync survives a restart: nothing was lost since.
    // So do the failed paths: the session retries them when it starts.
    const w = new StatusWriter(file, { ...base, last_synced: base.last_synced ?? lastSynced, failed_paths: failed, totals });
    await w.flush();
    return w;
  }

  get current(): StatusRecord {
    return this.record;
  }

  /** A change of state (Lifecycle decides what is shown): written at once. */
  async show({ status, crawl, reason }: Shown): Promise<void> {
    const next: StatusRecord = { ...this.record, status, crawl_status: crawl, reason };
    if (reason === undefined) delete (next as { reason?: string }).reason;
    this.record = next;
    await this.flush();
  }

  /** Counters: written within a second. */
  update(change: (r: StatusRecord) => StatusRecord): void {
    this.record = change(this.record);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, 1000);
  }

  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const snapshot = this.record;
    // Writes are serialised: a slow earlier write must not land after a newer one.
    this.writing = this.writing.then(() => writeAtomic(this.file, `${JSON.stringify(snapshot, null, 2)}\n`));
    await this.writing;
  }
}
