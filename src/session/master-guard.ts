/**
 * The master root guard (invariant 5): the root is known by device and inode from the start;
 * while it is gone, not a directory, or another filesystem (an unmount, a swap), the session
 * is Faulty and nothing is sent, deleted or snapshotted. Once it is back, the watch is placed
 * afresh (an unmount removes it) and the whole tree is resynced.
 */
import { stat } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import type { SessionEvent } from './machine.js';

export interface MasterGuardDeps {
  readonly root: string;
  readonly logger: Logger;
  readonly fire: (e: SessionEvent) => Promise<void>;
  readonly stopRequested: () => boolean;
  /** Stops and starts the watch again; throws when it cannot be placed. */
  readonly rewatch: () => Promise<void>;
  /** The root is back: the whole tree goes again, as a change just seen. */
  readonly resyncAll: () => void;
}

export class MasterGuard {
  private id: { dev: number; ino: number } | undefined;
  /** Set while the root is lost: what is wrong with it. */
  private gone: string | undefined;
  private checking = false;

  constructor(private readonly d: MasterGuardDeps) {}

  /** Takes the root's identity; every later check compares with it. */
  async record(): Promise<void> {
    const root = await stat(this.d.root);
    this.id = { dev: root.dev, ino: root.ino };
  }

  /** Why batches and crawls must not run now, or undefined. */
  async problem(): Promise<string | undefined> {
    const root = this.d.root;
    try {
      const s = await stat(root);
      if (!s.isDirectory()) return `master root ${root} is no longer a directory; no change is sent until it is back`;
      if (this.id !== undefined && (s.dev !== this.id.dev || s.ino !== this.id.ino)) {
        return `master root ${root} is not the directory it was (unmounted, or replaced); no change is sent until it is back`;
      }
      return undefined;
    } catch {
      return `master root ${root} is gone; no change is sent until it is back`;
    }
  }

  /** The root was found lost (by the check, a batch or the Full Crawl). */
  async lost(problem: string): Promise<void> {
    if (this.gone === undefined) this.d.logger.error('master root lost; nothing is sent until it is back', { master: this.d.root, problem });
    this.gone = problem;
    await this.d.fire({ type: 'fault', reason: problem });
  }

  /** Every second: lost, or back again. */
  async check(): Promise<void> {
    if (this.checking || this.d.stopRequested() || this.id === undefined) return;
    this.checking = true;
    try {
      const problem = await this.problem();
      if (problem !== undefined) {
        await this.lost(problem);
        return;
      }
      if (this.gone === undefined) return;
      this.d.logger.info('master root is back; watching it afresh and resyncing the tree', { master: this.d.root });
      await this.d.rewatch();
      if (this.d.stopRequested()) return;
      this.gone = undefined;
      this.d.resyncAll();
    } catch (e) {
      this.d.logger.warn('could not watch the master root again; retrying', { error: e instanceof Error ? e.message : String(e) });
    } finally {
      this.checking = false;
    }
  }
}
