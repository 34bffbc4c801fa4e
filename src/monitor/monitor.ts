/**
 * `gsyncd monitor`: one worker per runnable `[session NAME]`, kept running; a reload
 * (SIGHUP) starts added sessions, stops removed ones and restarts changed ones. A session
 * that nothing changed keeps running, with its queue.
 */
import type { Logger } from '../log/logger.js';
import { reconcile, type WorkerSpec } from './plan.js';
import { Worker, type WorkerDeps } from './worker.js';

export interface MonitorDeps {
  /** Reads the config afresh; throws with the problems when it is broken. */
  load(): Promise<WorkerSpec[]>;
  readonly worker: WorkerDeps;
  readonly logger: Logger;
}

export class Monitor {
  private readonly workers = new Map<string, Worker>();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly d: MonitorDeps) {}

  /** Starts every session; a broken config here is the caller's to report (exit 2). */
  async start(): Promise<number> {
    const specs = await this.d.load();
    await this.apply(specs);
    return specs.length;
  }

  /** SIGHUP: a broken config is logged and changes nothing. Reloads run one at a time. */
  reload(): Promise<void> {
    this.queue = this.queue.then(async () => {
      let specs: WorkerSpec[];
      try {
        specs = await this.d.load();
      } catch (e) {
        this.d.logger.error('reload refused; the sessions keep running as they were', { error: e instanceof Error ? e.message : String(e) });
        return;
      }
      await this.apply(specs);
    });
    return this.queue;
  }

  private async apply(specs: readonly WorkerSpec[]): Promise<void> {
    const running = new Map([...this.workers].map(([name, w]) => [name, w.spec] as const));
    const plan = reconcile(running, specs);
    await Promise.all(
      plan.stop.map(async (name) => {
        await this.workers.get(name)?.stop();
        this.workers.delete(name);
      }),
    );
    await Promise.all(
      plan.restart.map(async (spec) => {
        // A clean stop saves the queue; the new worker picks it up (History Crawl).
        await this.workers.get(spec.name)?.stop();
        this.launch(spec);
      }),
    );
    for (const spec of plan.start) this.launch(spec);
    // A session stopped by request (gsyncd stop) runs again after a reload.
    // The others reopen their log files, as after logrotate (SIGHUP to a session does that).
    for (const name of plan.keep) {
      const w = this.workers.get(name);
      if (w && !w.alive) w.start();
      else w?.hangup();
    }
    this.d.logger.info('monitor sessions', {
      started: plan.start.map((s) => s.name).join(',') || undefined,
      stopped: plan.stop.join(',') || undefined,
      restarted: plan.restart.map((s) => s.name).join(',') || undefined,
      kept: plan.keep.join(',') || undefined,
    });
  }

  private launch(spec: WorkerSpec): void {
    const w = new Worker(spec, this.d.worker);
    this.workers.set(spec.name, w);
    w.start();
  }

  /** Stops every worker (each saves its state), then resolves. */
  async stop(): Promise<void> {
    await this.queue;
    await Promise.all([...this.workers.values()].map((w) => w.stop()));
    this.workers.clear();
  }
}
