/**
 * src/sync/move-order.ts: renames made at once, put in an order in which each is a valid
 * rename(2) of the tree the ones before it left. Checked on a model of a tree: random
 * renames made one after another (swaps, rotations, moves into and out of directories that
 * move too), seen as the comparison of two listings sees them, replayed in the order given,
 * end with the same tree.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_ENTANGLED, orderMoves, type Move } from '../../src/sync/move-order.js';
import { isWithin, parentOf } from '../../src/sync/paths.js';
import { prng } from '../helpers/prng.js';

/** path → [entry id, is a directory]; the root '' is implied. */
type Tree = Map<string, { id: number; dir: boolean }>;

/** rename(2) on the model: what the kernel would refuse is an assertion failure. */
function rename(t: Tree, from: string, to: string): void {
  const e = t.get(from);
  assert.ok(e, `rename ${from} → ${to}: no ${from}`);
  assert.ok(!isWithin(to, from), `rename ${from} → ${to}: into itself`);
  const parent = parentOf(to);
  assert.ok(parent === '' || t.get(parent)?.dir === true, `rename ${from} → ${to}: no directory ${parent}`);
  const there = t.get(to);
  if (there) {
    assert.equal(there.dir, e.dir, `rename ${from} → ${to}: another type there`);
    assert.ok(!there.dir || ![...t.keys()].some((p) => p !== to && isWithin(p, to)), `rename ${from} → ${to}: a non-empty directory there`);
    t.delete(to);
  }
  for (const [p, v] of [...t]) {
    if (!isWithin(p, from)) continue;
    t.delete(p);
    t.set(to + p.slice(from.length), v);
  }
}

const byId = (t: Tree): Map<number, string> => new Map([...t].map(([p, v]) => [v.id, p]));

/** The renames the comparison of the two trees shows: an entry at a new path, unless its directory took it there. */
function seenAtOnce(before: Tree, after: Tree): Move[] {
  const was = byId(before);
  const moves: Move[] = [];
  const dirs = new Map<string, string>();
  for (const [to, v] of after) {
    const from = was.get(v.id);
    if (from === undefined || from === to) continue;
    moves.push({ from, to });
    if (v.dir) dirs.set(from, to);
  }
  return moves.filter(({ from, to }) => {
    for (let i = from.lastIndexOf('/'); i > 0; i = from.lastIndexOf('/', i - 1)) {
      const parentTo = dirs.get(from.slice(0, i));
      if (parentTo !== undefined) return to !== parentTo + from.slice(i);
    }
    return true;
  });
}

/** Whether an entry is at the same path in both trees below a directory that is not the same. */
const stayed = (before: Tree, after: Tree): boolean =>
  [...after].some(([p, v]) => before.get(p)?.id === v.id && [...after].some(([q, w]) => p.startsWith(`${q}/`) && before.get(q)?.id !== w.id));

const show = (t: Tree): string[] => [...t].map(([p, v]) => `${p}=${String(v.id)}`).sort();

function replay(before: Tree, moves: readonly Move[]): Tree {
  const t = new Tree(before);
  const { steps, unordered } = orderMoves(moves, 't');
  assert.deepEqual(unordered, []);
  for (const s of steps) rename(t, s.from, s.to);
  return t;
}
const Tree = Map as unknown as new (t?: Tree) => Tree;

function tree(entries: Record<string, boolean>): Tree {
  let id = 1;
  return new Tree(new Map(Object.entries(entries).map(([p, dir]) => [p, { id: id++, dir }])));
}

describe('orderMoves', () => {
  const CASES: readonly (readonly [string, Record<string, boolean>, readonly [string, string][]])[] = [
    ['a swap', { a: false, b: false }, [['a', 'b'], ['b', 'a']]],
    ['a rotation', { a: false, b: false, c: false }, [['a', 'b'], ['b', 'c'], ['c', 'a']]],
    ['a chain', { a: false, b: false }, [['b', 'c'], ['a', 'b']]],
    ['a swap of directories', { d: true, 'd/x': false, e: true, 'e/y': false }, [['d', 'e'], ['e', 'd']]],
    ['into a directory that moved', { d: true, x: false }, [['d', 'e'], ['x', 'e/x']]],
    ['out of a directory that moved', { d: true, 'd/x': false }, [['d', 'e'], ['d/x', 'x']]],
    ['a directory under its old name\'s child', { d: true, 'd/x': true }, [['d', 'd2'], ['d/x', 'd']]],
  ];
  for (const [name, entries, moves] of CASES) {
    it(name, () => {
      const before = tree(entries);
      const after = new Tree(before);
      // The same renames, made at once: each entry where its move takes it.
      const ms = moves.map(([from, to]) => ({ from, to }));
      const moved = new Tree();
      const was = byId(before);
      for (const [p, v] of before) {
        const m = [...ms].filter((x) => isWithin(p, x.from)).sort((x, y) => y.from.length - x.from.length)[0];
        moved.set(m ? m.to + p.slice(m.from.length) : p, v);
      }
      after.clear();
      for (const [p, v] of moved) after.set(p, v);
      assert.ok(was.size > 0);
      assert.deepEqual(show(replay(before, ms)), show(after));
    });
  }

  it('replays 100 seeded series of renames made while nobody looked', () => {
    let series = 0;
    for (let seed = 1; series < 100; seed++) {
      const rnd = prng(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
      const before = new Tree();
      let id = 1;
      const names = ['a', 'b', 'c', 'd', 'e'];
      for (const n of names) before.set(n, { id: id++, dir: rnd() < 0.5 });
      for (const [p, v] of [...before]) if (v.dir) for (const n of names.slice(0, 3)) before.set(`${p}/${n}`, { id: id++, dir: rnd() < 0.3 });
      const after = new Tree(before);
      for (let i = 0; i < 12; i++) {
        const from = pick([...after.keys()]);
        const dirs = ['', ...[...after].filter(([p, v]) => v.dir && !isWithin(p, from)).map(([p]) => p)];
        const parent = pick(dirs);
        const to = `${parent === '' ? '' : `${parent}/`}${pick([...names, 'f', 'g', 'h'])}`;
        if (after.has(to) || isWithin(to, from)) continue;
        rename(after, from, to);
      }
      // An entry moved out of a directory and back into its replacement is sent as data, not
      // as a rename (listing-diff.test.ts): no series of renames alone stands for it.
      if (stayed(before, after)) continue;
      series++;
      const moves = seenAtOnce(before, after);
      const what = `seed ${String(seed)}: ${JSON.stringify(moves)} on ${JSON.stringify(show(before))}`;
      let replayed: Tree;
      try {
        replayed = replay(before, moves);
      } catch (e) {
        assert.fail(`${what}: ${e instanceof Error ? e.message : String(e)}; steps ${JSON.stringify(orderMoves(moves, 't').steps)}`);
      }
      assert.deepEqual(show(replayed), show(after), what);
    }
  });

  it('orders renames that touch no other at once, and leaves a tangle past its bound to data', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => ({ from: `d${String(i % 50)}/f${String(i)}`, to: `e${String(i % 50)}/g${String(i)}` }));
    const { steps, unordered } = orderMoves(many, 't');
    assert.deepEqual(
      steps.map((x) => x.origin),
      many,
    );
    assert.deepEqual(unordered, []);
    const n = MAX_ENTANGLED + 1;
    const rotation = Array.from({ length: n }, (_, i) => ({ from: `f${String(i)}`, to: `f${String((i + 1) % n)}` }));
    const tangled = orderMoves([...rotation, { from: 'alone', to: 'elsewhere' }], 't');
    assert.deepEqual(
      tangled.steps.map((x) => x.from),
      ['alone'],
    );
    assert.equal(tangled.unordered.length, n);
  });
});
