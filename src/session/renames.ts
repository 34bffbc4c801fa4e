/**
 * Which renames the master reports are replayed on the slave, and how they are queued: the
 * changes queued under an old name move to the new one (they go after the replay), and
 * renames made at once (a History Crawl's) are put in an order that can be replayed. The
 * rest go as before, as the delete of the old name and the new name sent whole.
 */
import type { Options } from '../config/options.js';
import type { Matcher } from '../filter/matcher.js';
import type { ChangeSet } from '../sync/change-set.js';
import type { EntryQueue } from '../sync/entry-queue.js';
import { orderMoves, type Move } from '../sync/move-order.js';
import { overlaps } from '../sync/paths.js';
import { selectingFlag } from '../config/rsync-flags.js';

export interface RenamesDeps {
  readonly options: Options;
  readonly matcher: Matcher;
  readonly changes: ChangeSet;
  readonly steps: EntryQueue;
  /** Whether the slave replays renames now (a local slave, or a slave gsyncd that says so). */
  readonly replayable: () => boolean;
  /** Whether a running batch holds the path: the slave's copy there may lag. */
  readonly inFlight: (path: string) => boolean;
  /** Told of the renames queued for replay (what else keeps paths follows them). */
  readonly moved?: (moves: readonly Move[]) => void;
}

/** Why a rename is sent as data rather than replayed, or undefined. Pure. */
export function notReplayed(m: Move, o: { options: Options; matcher: Matcher; changes: ChangeSet }): string | undefined {
  if (o.options.rsyncFlags.has('dry-run')) return 'dry run';
  // rsync would not have made the same of the two names (a backup of the old one, a new name
  // it does not create, a file it does not send): the rename goes as rsync would send it.
  const selecting = selectingFlag(o.options);
  if (selecting !== undefined) return `--${selecting} is set`;
  // Without deletes the slave keeps the old name, as rsync would.
  if (o.options.ignoreDeletes) return 'deletes are not propagated';
  for (const p of [m.from, m.to]) {
    if (p === '') return 'the root';
    // A name another watcher gave lossy (U+FFFD) is sent by its directory.
    if (p.includes('\uFFFD')) return 'a name not valid UTF-8';
    if (o.matcher.mergeFileNames.has(p.slice(p.lastIndexOf('/') + 1))) return 'a filter file';
    if (o.matcher.verdictUntyped(p) !== 'include') return 'filtered';
  }
  // Queued whole, itself or a directory above it: new and not sent yet (a create is queued
  // whole), or what the slave holds there may lag and nothing queued names the entry to
  // send it again. A round trip to the slave would only come back with a fallback.
  if (o.changes.covers(m.from)) return 'it is queued whole';
  // Above the new name: that run sends it whole anyway.
  if (o.changes.covers(m.to)) return 'its new place is queued whole';
  return undefined;
}

/**
 * The renames whose slave copy may lag the master's: a batch sends the old name (it may have
 * read the master after the rename), or the old name is where an earlier lagging rename of
 * the same set put its copy (a swap through a temporary name passes the lag on). In the
 * order made. Across events, what follows a lagging rename sent as data is queued whole, or
 * in flight, and so not replayed either (notReplayed, inFlight). Pure.
 */
export function laggingMoves(moves: readonly Move[], inFlight: (path: string) => boolean): Set<Move> {
  const targets: string[] = [];
  const out = new Set<Move>();
  for (const m of moves) {
    if (!inFlight(m.from) && !targets.some((t) => overlaps(t, m.from))) continue;
    out.add(m);
    targets.push(m.to);
  }
  return out;
}

export class Renames {
  private seq = 0;

  constructor(private readonly d: RenamesDeps) {}

  /**
   * Queues renames made at once (`origin`: when, at the earliest). Returns those that are
   * not replayed: the caller sends each as a delete and a new entry.
   */
  queue(moves: readonly Move[], origin: number): Move[] {
    if (moves.length === 0) return [];
    if (!this.d.replayable()) return [...moves];
    const replayed: Move[] = [];
    const rest: Move[] = [];
    for (const m of moves) (notReplayed(m, this.d) === undefined ? replayed : rest).push(m);
    // A copy a batch may be writing as it moves (or one that came from such a copy) goes as
    // data: rsync may have read the master after the rename, and a quick check after a replay
    // cannot tell a swapped file of the same size and time. Measured under load by the churn
    // test: about once in 200 bursts a swapped file kept the other's content when replayed.
    const lagging = laggingMoves(replayed, (p) => this.d.inFlight(p));
    if (lagging.size > 0) {
      replayed.splice(0, replayed.length, ...replayed.filter((m) => !lagging.has(m)));
      rest.push(...lagging);
    }
    if (replayed.length === 0) return rest;
    // Renames waiting are bounded as the queue is (invariant 4): past --max-queue they go as
    // data, which the queue folds into subtrees. Each is a step at least: no need to order
    // them to know they will not fit.
    const bound = this.d.options.maxQueue - this.d.steps.size;
    if (replayed.length > bound) return [...moves];
    const { steps, unordered } = orderMoves(replayed, `${String(process.pid)}-${String(this.seq++)}`);
    if (steps.length > bound) return [...moves];
    this.d.changes.retarget(replayed);
    this.d.moved?.(replayed);
    this.d.steps.add(steps.map((s) => ({ ...s, origin_ms: origin, verify: false })));
    return [...rest, ...unordered];
  }
}
