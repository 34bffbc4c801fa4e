/**
 * A batch that did not fully succeed → which of its entries went through and which failed,
 * and why (DESIGN.md invariant 6: retry just the failed paths). Pure.
 *
 * An entry failed when an error line of a run it was in names it or a directory above it.
 * A path named inside an entry that was sent whole (a recursive entry, the root's one-level
 * run) fails on its own: the entry went through but for it. When a failed run's
 * errors cannot all be pinned on its entries, none of them is known to have gone through:
 * they all failed, and each is retried alone, so that one bad path stops holding back the rest.
 */
import type { Entry } from './change-set.js';
import type { BatchRun } from './batch.js';
import type { RsyncOutcome } from './exit-codes.js';
import { parseRsyncErrors, type PathError, type Side } from './rsync-errors.js';
import { isWithin } from './paths.js';

/**
 * `sender`: the master path could not be read; `receiver`: the slave refused the write;
 * `run`: rsync itself failed (killed, refused its options, an unknown status), or its
 * errors named no path, so the whole run is in doubt.
 */
export type FailureSide = Side | 'run';

export interface FailedEntry {
  readonly entry: Entry;
  readonly side: FailureSide;
  readonly reason: string;
  /** Retry it in a batch of its own. */
  readonly alone: boolean;
}

export interface BatchVerdict {
  readonly done: readonly Entry[];
  readonly failed: readonly FailedEntry[];
}

const GOOD: readonly RsyncOutcome[] = ['ok', 'vanished', 'max-delete'];

/** Whether the run dealt with the entry: listed it, or listed a directory holding it. */
const inRun = (e: Entry, run: BatchRun): boolean => run.paths.some((p) => isWithin(e.path, p));

/** Whether an error on `failed` concerns the entry, as the run sent it. */
function concerns(e: Entry, failed: string, run: BatchRun): boolean {
  if (isWithin(e.path, failed)) return true; // the entry itself, or a directory above it
  // Something inside it: it was sent recursively, or it is the root of the one-level run.
  return isWithin(failed, e.path) && (run.recursive || e.path === '');
}

/**
 * A listed master path whose directory became a file after the batch looked at it: gone, as
 * --ignore-missing-args takes a path that is missing (rsync ignores ENOENT alone). The change
 * that made the file is an event of its own, which sends it.
 */
const goneSince = (e: PathError): boolean => e.side === 'sender' && /^link_stat ".*" failed: Not a directory \(20\)$/.test(e.message);

const firstLine = (text: string): string => text.split('\n').find((l) => l.trim() !== '')?.trim() ?? '';

export function judgeBatch(entries: readonly Entry[], runs: readonly BatchRun[], masterRoot: string, slaveRoot: string): BatchVerdict {
  const failed = new Map<string, FailedEntry>();
  for (const run of runs) {
    const outcome = run.result.exit.outcome;
    if (GOOD.includes(outcome)) continue;
    const mine = entries.filter((e) => inRun(e, run));
    const all = parseRsyncErrors(run.result.stderr, masterRoot, slaveRoot);
    const errors = { paths: all.paths.filter((e) => !goneSince(e)), unattributed: all.unattributed };
    // Nothing but such paths: the run did all there was to do.
    if (outcome === 'partial' && all.paths.length > 0 && errors.paths.length === 0 && errors.unattributed.length === 0) continue;
    const pinned = new Map<string, { entry: Entry; side: Side; reason: string }>();
    let unpinned = errors.unattributed.length > 0 || errors.paths.length === 0 || outcome !== 'partial';
    for (const err of errors.paths) {
      const hit = mine.filter((e) => concerns(e, err.path, run));
      if (hit.length === 0) unpinned = true;
      for (const e of hit) {
        // Inside an entry sent whole: that path is what failed, to retry (file or directory) and to list.
        const inside = err.path !== e.path && isWithin(err.path, e.path);
        const failedEntry: Entry = inside ? { ...e, path: err.path, recursive: true } : e;
        if (!pinned.has(failedEntry.path)) pinned.set(failedEntry.path, { entry: failedEntry, side: err.side, reason: err.message });
      }
    }
    if (unpinned) {
      const reason = firstLine(run.result.stderr) || `rsync exit ${run.result.exit.code} (${run.result.exit.meaning})`;
      const receiver = errors.paths.some((p) => p.side === 'receiver');
      for (const e of mine) {
        // A partial transfer whose errors name no slave path is taken for the master's doing.
        const side: FailureSide = outcome === 'partial' ? (receiver ? 'receiver' : 'sender') : 'run';
        failed.set(e.path, { entry: e, side, reason, alone: mine.length > 1 });
      }
      continue;
    }
    for (const [p, { entry, side, reason }] of pinned) if (!failed.has(p)) failed.set(p, { entry, side, reason, alone: false });
  }
  return { done: entries.filter((e) => !failed.has(e.path)), failed: [...failed.values()] };
}
