/**
 * The session's Prometheus metrics (prom-client), every one named `gsyncd_…` and labelled
 * with the session. Counters move as batches end; gauges are read from the status record
 * when scraped, so they are never stale.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatusRecord } from './status.js';

const STATUSES = ['Created', 'Initializing', 'Active', 'Faulty', 'Paused', 'Stopped'] as const;
const CRAWLS = ['Full Crawl', 'History Crawl', 'Changelog Crawl', 'N/A'] as const;

export interface BatchFigures {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly exitCodes: readonly number[];
}

export class SessionMetrics {
  readonly registry = new Registry();
  private readonly files: Counter;
  private readonly bytes: Counter;
  private readonly batches: Counter;
  private readonly failuresCounter: Counter;
  private readonly exits: Counter<'code'>;
  private readonly entryOps: Counter<'op' | 'result'>;
  private readonly duration: Histogram;

  constructor(session: string, current: () => StatusRecord, now: () => number = Date.now) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ session });
    collectDefaultMetrics({ register: this.registry, prefix: 'gsyncd_' });
    this.files = new Counter({ name: 'gsyncd_files_total', help: 'Paths sent or deleted by batches since the process started', registers });
    this.bytes = new Counter({ name: 'gsyncd_bytes_total', help: 'Bytes of file data sent by batches since the process started', registers });
    this.batches = new Counter({ name: 'gsyncd_batches_total', help: 'Batches that went through since the process started', registers });
    this.failuresCounter = new Counter({ name: 'gsyncd_failures_total', help: 'Failures counted since the process started (paths given up on, slave copies that differ)', registers });
    this.entryOps = new Counter({
      name: 'gsyncd_entry_ops_total',
      help: 'Entry operations (renames) by result: done on the slave, sent by rsync instead (fallback), refused by the slave',
      labelNames: ['op', 'result'],
      registers,
    });
    this.exits = new Counter({ name: 'gsyncd_rsync_exits_total', help: 'rsync runs by exit status', labelNames: ['code'], registers });
    this.duration = new Histogram({
      name: 'gsyncd_batch_duration_seconds',
      help: 'How long a batch took, all its rsync runs together',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    new Gauge({
      name: 'gsyncd_pending',
      help: 'Paths queued and not yet sent',
      registers,
      collect() {
        this.set(current().pending);
      },
    });
    new Gauge({
      name: 'gsyncd_failed_paths',
      help: 'Paths given up on until they change again (status --detail lists them)',
      registers,
      collect() {
        this.set(current().failed_paths?.length ?? 0);
      },
    });
    new Gauge({
      name: 'gsyncd_seconds_since_last_sync',
      help: 'Seconds since a batch or a crawl last went through (-1: never)',
      registers,
      collect() {
        const last = current().last_synced;
        this.set(last === null ? -1 : Math.max(0, (now() - Date.parse(last)) / 1000));
      },
    });
    new Gauge({
      name: 'gsyncd_status',
      help: 'The session status: 1 for the current one',
      labelNames: ['status'],
      registers,
      collect() {
        const s = current().status;
        for (const status of STATUSES) this.set({ status }, status === s ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gsyncd_crawl_status',
      help: 'The crawl status: 1 for the current one',
      labelNames: ['crawl'],
      registers,
      collect() {
        const c = current().crawl_status;
        for (const crawl of CRAWLS) this.set({ crawl }, crawl === c ? 1 : 0);
      },
    });
  }

  /** A batch ended (whatever its outcome): its rsync exit codes; its figures when it went through. */
  batch(figures: BatchFigures, wentThrough: boolean): void {
    for (const code of figures.exitCodes) this.exits.inc({ code: String(code) });
    this.duration.observe(figures.seconds);
    if (!wentThrough) return;
    this.batches.inc();
    this.files.inc(figures.files);
    this.bytes.inc(figures.bytes);
  }

  /** A crawl's rsync ended. */
  crawl(exitCode: number, files: number, bytes: number): void {
    this.exits.inc({ code: String(exitCode) });
    this.files.inc(files);
    this.bytes.inc(bytes);
  }

  entryOp(op: string, result: 'done' | 'fallback' | 'refused'): void {
    this.entryOps.inc({ op, result });
  }

  failures(n: number): void {
    this.failuresCounter.inc(n);
  }
}
