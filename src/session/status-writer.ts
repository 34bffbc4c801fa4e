/**
 * Keeps the session's status file current: at once on a change of state, at most once a
 * second for counters, always by atomic replacement so readers never see half a file.
 */
import { readFile } from 'node:fs/promises';
import { writeAtomic } from './atomic-write.js';
import { failedPathsFrom, lastSyncedFrom, totalsFrom, type FailedPath, type CrawlStatus, type SessionStatus, type StatusRecord, type Totals } from '../status/status.js';

interface State {
  readonly status: SessionStatus;
  readonly crawl: CrawlStatus;
  readonly reason: string | undefined;
}

export class StatusWriter {
  private record: StatusRecord;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  /** The state the session is in underneath a pause, shown again on resume. */
  private underlying: State;
  private paused = false;

  private constructor(
    private readonly file: string,
    initial: StatusRecord,
  ) {
    this.record = initial;
    this.underlying = { status: initial.status, crawl: initial.crawl_status, reason: initial.reason };
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

  /** A change of state: written at once. While paused, Paused is shown (Stopped still shows). */
  async state(status: SessionStatus, crawl: CrawlStatus, reason?: string): Promise<void> {
    this.underlying = { status, crawl, reason };
    await this.show();
  }

  /** Pause or resume: Paused over the crawl status, or the state underneath again. */
  async setPaused(paused: boolean): Promise<void> {
    this.paused = paused;
    await this.show();
  }

  private async show(): Promise<void> {
    const { status, crawl, reason } = this.underlying;
    const shown = this.paused && status !== 'Stopped' ? { status: 'Paused' as const, reason: undefined } : { status, reason };
    const next: StatusRecord = { ...this.record, status: shown.status, crawl_status: crawl, reason: shown.reason };
    if (shown.reason === undefined) delete (next as { reason?: string }).reason;
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
