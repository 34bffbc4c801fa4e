/**
 * `gsyncd pause|resume SESSION`: the request is a file in the session's directory, so that it
 * survives restarts (a paused session starts paused) and needs no signal the process might
 * not be ready for. The running session looks at it every second.
 *
 * While paused nothing is sent: running rsyncs are stopped (their paths stay queued) and no
 * batch starts; watching and queueing go on, so resume sends what gathered.
 */
import { access, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { writeAtomic } from './atomic-write.js';
import type { SessionEvent } from './machine.js';

const FILE = 'paused';

export async function pauseRequested(sessionDir: string): Promise<boolean> {
  try {
    await access(path.join(sessionDir, FILE));
    return true;
  } catch {
    return false;
  }
}

export async function requestPause(sessionDir: string, paused: boolean): Promise<void> {
  const file = path.join(sessionDir, FILE);
  if (paused) await writeAtomic(file, `${new Date().toISOString()}\n`);
  else await rm(file, { force: true });
}

/** What rsync runs and waits consult: whether sending may go on. */
export class PauseGate {
  private paused = false;
  private runs = new AbortController();
  private waiters: (() => void)[] = [];

  get isPaused(): boolean {
    return this.paused;
  }

  /** Sets the state; returns whether it changed. A pause stops the runs in progress. */
  set(paused: boolean): boolean {
    if (paused === this.paused) return false;
    this.paused = paused;
    if (paused) {
      this.runs.abort();
    } else {
      this.runs = new AbortController();
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
    }
    return true;
  }

  /** The signal for an rsync starting now: aborted by `kill` or by a pause. */
  runSignal(kill: AbortSignal): AbortSignal {
    return AbortSignal.any([kill, this.runs.signal]);
  }

  /** Resolves when not paused, or when `stop` aborts. */
  whenRunning(stop: AbortSignal): Promise<void> {
    if (!this.paused || stop.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        stop.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      stop.addEventListener('abort', done, { once: true });
    });
  }
}

export interface PauseFollowerDeps {
  readonly sessionDir: string;
  readonly session: string;
  readonly gate: PauseGate;
  readonly logger: Logger;
  readonly fire: (e: SessionEvent) => Promise<void>;
  readonly stopRequested: () => boolean;
  /** The batches' scheduler; `sending`: whether batches may go at all yet. */
  readonly batches: { pause(): void; resume(): void; readonly active: number };
  readonly sending: () => boolean;
  readonly pending: () => number;
}

/** Applies a pause or resume asked by `gsyncd pause|resume`; called at start and every second. */
export async function followPause(d: PauseFollowerDeps): Promise<void> {
  const paused = await pauseRequested(d.sessionDir);
  if (d.stopRequested() || !d.gate.set(paused)) return;
  const fields = { session: d.session, pending: d.pending() };
  if (paused) {
    d.batches.pause();
    await d.fire({ type: 'pause' });
    d.logger.info('session paused', { ...fields, stopping_rsync: d.batches.active });
  } else {
    await d.fire({ type: 'resume' });
    d.logger.info('session resumed', fields);
    if (d.sending()) d.batches.resume();
  }
}
