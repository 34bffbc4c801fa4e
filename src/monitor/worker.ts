/**
 * One session run by `gsyncd monitor`: a `gsyncd --session NAME` child process, restarted
 * with backoff when it dies, and restarted when it has been Faulty for `faulty-restart`.
 *
 *   starting ──▶ running ──exit≠0 / signal──▶ waiting (backoff) ──▶ starting
 *                  │  └──Faulty too long──▶ stopping ──▶ starting
 *                  └──exit 0 (gsyncd stop)──▶ stopped by request (until a reload)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../log/logger.js';
import { backoffMs } from '../session/backoff.js';
import type { WorkerSpec } from './plan.js';

/** A worker that ran this long was healthy: its next failure starts the backoff afresh. */
const HEALTHY_MS = 60_000;
const FAULTY_POLL_MS = 2000;

export interface WorkerDeps {
  /** The program and its first arguments (node and gsyncd's script). */
  readonly command: readonly [string, ...string[]];
  readonly env: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** How long a stopping worker may take before SIGKILL. */
  readonly stopTimeoutMs: number;
}

export class Worker {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private attempt = 0;
  private startedAt = 0;
  private retry: NodeJS.Timeout | undefined;
  private faultyPoll: NodeJS.Timeout | undefined;
  private faultySince: number | undefined;
  /** Set once stop() is called: no more restarts. */
  private stopping = false;
  /** Set while a Faulty worker is ended to be started again: its exit is no death. */
  private restarting = false;

  constructor(
    public spec: WorkerSpec,
    private readonly d: WorkerDeps,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.stopping || this.child) return;
    const [program, ...first] = this.d.command;
    const child = spawn(program, [...first, ...this.spec.args], { env: this.d.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.startedAt = Date.now();
    this.faultySince = undefined;
    const name = this.spec.name;
    this.d.logger.info('worker started', { session: name, pid: child.pid, restarts: this.attempt });
    // A worker's stdout is its log when it logs there (log-file: -, as in a container): its
    // lines pass through as they are, already formatted. What it prints on stderr (a refused
    // config, a crash) joins the monitor's log.
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.trim() !== '') process.stdout.write(`${line}\n`);
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (line.trim() !== '') this.d.logger.warn('worker says', { session: name, line });
    });
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.child = undefined;
        this.stopFaultyWatch();
        resolve();
        this.onExit(code, signal);
      });
      child.on('error', (e) => {
        this.d.logger.error('worker could not start', { session: name, error: e.message });
      });
    });
    this.faultyPoll = setInterval(() => {
      void this.checkFaulty();
    }, FAULTY_POLL_MS);
    this.faultyPoll.unref();
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const name = this.spec.name;
    if (this.stopping || this.restarting) {
      this.d.logger.info('worker stopped', { session: name, exit: code ?? signal ?? '?' });
      return;
    }
    if (code === 0) {
      // Only a stop asked for (gsyncd stop, a SIGTERM) ends a worker with 0: respect it.
      this.d.logger.info('worker stopped by request; not restarted until the monitor reloads (SIGHUP) or restarts', { session: name });
      return;
    }
    if (Date.now() - this.startedAt > HEALTHY_MS) this.attempt = 0;
    const delay = backoffMs(this.attempt);
    this.d.logger.warn('worker died; restarting', {
      session: name,
      exit: code ?? undefined,
      signal: signal ?? undefined,
      restart_in_s: (delay / 1000).toFixed(1),
      log: `${this.spec.sessionDir}/gsyncd.log`,
    });
    this.attempt++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.start();
    }, delay);
  }

  /** A session Faulty for longer than faulty-restart is restarted: a fresh connection and crawl. */
  private async checkFaulty(): Promise<void> {
    const child = this.child;
    if (!child) return;
    let status: string | undefined;
    try {
      const r = JSON.parse(await readFile(path.join(this.spec.sessionDir, 'status.json'), 'utf8')) as { status?: unknown; pid?: unknown };
      status = r.pid === child.pid && typeof r.status === 'string' ? r.status : undefined;
    } catch {
      return;
    }
    if (status !== 'Faulty') {
      this.faultySince = undefined;
      return;
    }
    this.faultySince ??= Date.now();
    if (Date.now() - this.faultySince < this.spec.faultyRestartS * 1000 || this.stopping) return;
    this.d.logger.warn('worker Faulty too long; restarting', { session: this.spec.name, faulty_s: this.spec.faultyRestartS });
    this.stopFaultyWatch();
    await this.terminate();
    // The exit is not a death: start again at once, but count it for the backoff.
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.attempt++;
    // stop() may have been called meanwhile: start() then does nothing.
    this.start();
  }

  private stopFaultyWatch(): void {
    if (this.faultyPoll) clearInterval(this.faultyPoll);
    this.faultyPoll = undefined;
  }

  /** Ends the worker to start it again: SIGTERM (it saves its queue), SIGKILL after the bound. */
  private async terminate(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.restarting = true;
    try {
      await this.end(child);
    } finally {
      this.restarting = false;
    }
  }

  /** Asks the session to reopen its log file. */
  hangup(): void {
    this.child?.kill('SIGHUP');
  }

  private async end(child: ChildProcess): Promise<void> {
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), this.d.stopTimeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** Ends the worker for good (a reload removed it, or the monitor stops). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.stopFaultyWatch();
    if (this.child) await this.end(this.child);
  }

  /** Whether it is running or about to be restarted (not stopped by request). */
  get alive(): boolean {
    return this.child !== undefined || this.retry !== undefined;
  }
}
