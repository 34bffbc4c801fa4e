/**
 * A moment after a recursive run, what it sent must still exist on the master, or its delete
 * is queued: the watcher may have coalesced a create and delete into nothing while rsync
 * copied the file. The moment outlasts the watcher's own batching of events (≤ 0.5 s).
 */
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { statePathOf } from '../sync/batch.js';
import { MAX_SENT, type SentList } from '../sync/sent-paths.js';

export const RECHECK_DELAY_MS = 1000;

export interface RecheckDeps {
  readonly masterRoot: string;
  readonly logger: Logger;
  readonly pending: (path: string) => boolean;
  /** Queues the deletes found; called once, with all of them. */
  readonly queueDeletes: (paths: readonly string[]) => void;
  /** Called once the recheck has run (or was not needed). */
  readonly done: () => void;
}

export function scheduleRecheck(sent: SentList, d: RecheckDeps, delayMs = RECHECK_DELAY_MS): void {
  if (sent === undefined) {
    d.logger.debug('too many paths sent to recheck them', { max: MAX_SENT });
    d.done();
    return;
  }
  if (sent.paths.length === 0) {
    d.done();
    return;
  }
  const timer = setTimeout(() => {
    void (async () => {
      const gone: string[] = [];
      for (const p of sent.paths) {
        if (!d.pending(p) && (await statePathOf(path.join(d.masterRoot, p))) === 'missing') gone.push(p);
      }
      if (gone.length > 0) {
        d.logger.info('sent paths gone from the master since; deleting them on the slave', { paths: gone.length });
        d.queueDeletes(gone);
      }
    })().finally(d.done);
  }, delayMs);
  timer.unref();
}
