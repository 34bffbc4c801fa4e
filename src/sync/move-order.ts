/**
 * Renames made at once (what the comparison of two listings finds: swaps, rotations, a
 * directory moved into one that moved too) as renames made one after another, each valid on
 * the tree the ones before it left. Pure.
 *
 * A move's `from` is where the entry was before any of them, its `to` where it is after all
 * of them. A move waits while its target is the place of an entry still to move (or holds
 * one, or lies inside one), and while the directory that will hold it is still to be put in
 * place; a move whose source lies inside a directory moved before it follows its directory.
 * When every move waits on another (a swap, a rotation), one entry steps aside to a
 * temporary name beside it, as `mv a t; mv b a; mv t b` would.
 */
import { isWithin, parentOf } from './paths.js';

export interface Move {
  readonly from: string;
  readonly to: string;
}

/** One rename to replay, and the move of the master it is part of. */
export interface Step extends Move {
  readonly origin: Move;
}

const overlap = (a: string, b: string): boolean => isWithin(a, b) || isWithin(b, a);

/** The temporary name for a step aside: hidden, beside the entry, unlike any name of the moves. */
export const asideName = (path: string, token: string, n: number): string => {
  const dir = parentOf(path);
  const name = `.gsyncd-mv-${token}-${String(n)}`;
  return dir === '' ? name : `${dir}/${name}`;
};

/** `steps` in order; `unordered`: moves no order was found for (sent as data instead). */
export interface Ordered {
  readonly steps: Step[];
  readonly unordered: Move[];
}

export function orderMoves(moves: readonly Move[], token: string): Ordered {
  const pending = moves.filter((m) => m.from !== m.to).map((m) => ({ cur: m.from, to: m.to, origin: m }));
  const steps: Step[] = [];
  let asides = 0;
  const apply = (i: number, to: string): void => {
    const m = pending[i];
    if (m === undefined) return;
    steps.push({ from: m.cur, to, origin: m.origin });
    const from = m.cur;
    // What lies inside the entry moved with it.
    for (const other of pending) if (other !== m && isWithin(other.cur, from)) other.cur = to + other.cur.slice(from.length);
    m.cur = to;
  };
  // Waits on an entry still to move that stands at, in or above its target, or on the move
  // that puts its target's directory in place.
  const waits = (m: (typeof pending)[number]): boolean => pending.some((p) => p !== m && (overlap(p.cur, m.to) || (p.to !== m.to && isWithin(m.to, p.to))));
  const clear = (name: string): boolean => !pending.some((p) => overlap(name, p.to));
  // Each round places a move or steps one aside to a name no target overlaps: bounded.
  for (let round = 0; pending.length > 0 && round <= 2 * moves.length; round++) {
    const ready = pending.findIndex((m) => !waits(m));
    if (ready >= 0) {
      const m = pending[ready];
      if (m !== undefined) apply(ready, m.to);
      pending.splice(ready, 1);
      continue;
    }
    // Every move waits: one whose entry stands where another must go steps aside.
    const blocker = pending.findIndex((m) => pending.some((p) => p !== m && overlap(m.cur, p.to)));
    const i = blocker >= 0 ? blocker : 0;
    const m = pending[i];
    if (m === undefined) break;
    const beside = asideName(m.cur, token, asides++);
    // Beside it stays on its filesystem; at the root when a target holds that place too.
    apply(i, clear(beside) ? beside : asideName(beside.slice(beside.lastIndexOf('/') + 1), token, asides++));
  }
  return { steps, unordered: pending.map((m) => m.origin) };
}
