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
import { ancestorsOf, isWithin, overlaps, parentOf } from './paths.js';

export interface Move {
  readonly from: string;
  readonly to: string;
}

/** One rename to replay, and the move of the master it is part of. */
export interface Step extends Move {
  readonly origin: Move;
}


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

/**
 * Past this many moves that depend on one another, no order is looked for (the search is
 * cubic: 300 take about 0.1 s): they are sent as data instead.
 */
export const MAX_ENTANGLED = 300;

/** Each path and its proper ancestors (the root aside), with how many of `paths` lie at or under it. */
function countUnder(paths: readonly string[]): Map<string, number> {
  const under = new Map<string, number>();
  for (const p of paths) for (let a = p; a !== ''; a = parentOf(a)) under.set(a, (under.get(a) ?? 0) + 1);
  return under;
}
/** The directories above `p`, the root left out. */
const properAncestors = (p: string): string[] => [...ancestorsOf(p)].filter((a) => a !== '');

export function orderMoves(moves: readonly Move[], token: string): Ordered {
  const real = moves.filter((m) => m.from !== m.to);
  // Most renames made at once touch no other's places: those go first, in any order, in a
  // pass that looks each path's ancestors up (a million of them take seconds, not hours).
  const froms = new Set(real.map((m) => m.from));
  const tos = new Set(real.map((m) => m.to));
  const fromsUnder = countUnder([...froms]);
  const free = real.filter(
    (m) =>
      (fromsUnder.get(m.to) ?? 0) - (isWithin(m.from, m.to) ? 1 : 0) === 0 &&
      !properAncestors(m.to).some((a) => froms.has(a) || tos.has(a)) &&
      !properAncestors(m.from).some((a) => froms.has(a)),
  );
  const freed = new Set(free);
  const steps: Step[] = free.map((m) => ({ from: m.from, to: m.to, origin: m }));
  const movedDirs = new Map(free.map((m) => [m.from, m.to]));
  // What lies inside an entry moved already moved with it.
  const now = (p: string): string => {
    for (const a of properAncestors(p)) {
      const to = movedDirs.get(a);
      if (to !== undefined) return to + p.slice(a.length);
    }
    return p;
  };
  const rest = real.filter((m) => !freed.has(m));
  if (rest.length > MAX_ENTANGLED) return { steps, unordered: rest };
  const ordered = orderEntangled(
    rest.map((m) => ({ cur: now(m.from), to: m.to, origin: m })),
    token,
  );
  return { steps: [...steps, ...ordered.steps], unordered: ordered.unordered };
}

/** Moves that wait on one another, one placed (or stepped aside) per round. */
function orderEntangled(pending: { cur: string; to: string; origin: Move }[], token: string): Ordered {
  const steps: Step[] = [];
  const total = pending.length;
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
  const waits = (m: (typeof pending)[number]): boolean => pending.some((p) => p !== m && (overlaps(p.cur, m.to) || (p.to !== m.to && isWithin(m.to, p.to))));
  const clear = (name: string): boolean => !pending.some((p) => overlaps(name, p.to));
  // Each round places a move or steps one aside to a name no target overlaps: bounded.
  for (let round = 0; pending.length > 0 && round <= 2 * total; round++) {
    const ready = pending.findIndex((m) => !waits(m));
    if (ready >= 0) {
      const m = pending[ready];
      if (m !== undefined) apply(ready, m.to);
      pending.splice(ready, 1);
      continue;
    }
    // Every move waits: one whose entry stands where another must go steps aside.
    const blocker = pending.findIndex((m) => pending.some((p) => p !== m && overlaps(m.cur, p.to)));
    const i = blocker >= 0 ? blocker : 0;
    const m = pending[i];
    if (m === undefined) break;
    const beside = asideName(m.cur, token, asides++);
    // Beside it stays on its filesystem; at the root when a target holds that place too.
    apply(i, clear(beside) ? beside : asideName(beside.slice(beside.lastIndexOf('/') + 1), token, asides++));
  }
  return { steps, unordered: pending.map((m) => m.origin) };
}
