/** src/sync/change-set.ts: the bounded, coalescing queue of changed paths (DESIGN.md invariant 4). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import { isWithin } from '../../src/sync/paths.js';

/** `a/**` for a recursive entry, `.` for the root. */
const show = (e: Entry): string => `${e.path || '.'}${e.recursive ? '/**' : ''}`;
const shown = (cs: ChangeSet): string[] => cs.snapshot().map(show).sort();
const none = (): boolean => false;
const F = false;
const T = true;

/** Every path is queued itself, or lies inside a queued recursive entry. */
const covered = (cs: ChangeSet, path: string): boolean =>
  cs.snapshot().some((e) => e.path === path || (e.recursive && isWithin(path, e.path)));

describe('ChangeSet: coalescing', () => {
  it('keeps one entry per path, however many events, with the age of the first', () => {
    const cs = new ChangeSet(100);
    assert.equal(cs.add('a', F, 1), undefined);
    assert.equal(cs.add('a', F, 2), undefined);
    assert.equal(cs.add('a', F, 3), undefined);
    assert.equal(cs.size, 1);
    assert.ok(cs.has('a'));
    assert.ok(!cs.has('b'));
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: false, since: 1, origin: 1, attempts: 0, notBefore: 0 }]);
  });
});

describe('ChangeSet: recursive entries', () => {
  // [adds, in order, as [path, recursive]; expected entries]
  const CASES: readonly (readonly [string, readonly (readonly [string, boolean])[], readonly string[]])[] = [
    ['a recursive entry absorbs the entries beneath it', [['a/b', F], ['a/c/d', F], ['x', F], ['a', T]], ['a/**', 'x']],
    ['a recursive ancestor absorbs new paths', [['a', T], ['a/b', F], ['a/b/c', T]], ['a/**']],
    ['a recursive entry stays recursive', [['a', T], ['a', F]], ['a/**']],
    ['a path becomes recursive', [['a', F], ['a', T]], ['a/**']],
    ['a sibling with a longer name is not inside', [['a', T], ['ab', F], ['ab/c', F]], ['a/**', 'ab', 'ab/c']],
    ['a recursive entry absorbs a recursive one', [['a/b', T], ['a/b/c', F], ['a', T]], ['a/**']],
    ['the recursive root absorbs everything', [['a', F], ['b/c', T], ['', T], ['d', F], ['e/f', T]], ['./**']],
    ['the root itself is just a path', [['a', F], ['', F], ['b', F]], ['.', 'a', 'b']],
    ['siblings stay apart', [['a/b', T], ['a/c', T], ['a', F]], ['a', 'a/b/**', 'a/c/**']],
  ];
  for (const [what, adds, expected] of CASES) {
    it(what, () => {
      const cs = new ChangeSet(100);
      for (const [path, recursive] of adds) assert.equal(cs.add(path, recursive, 0), undefined);
      assert.deepEqual(shown(cs), expected);
    });
  }

  it('keeps the age of a path that becomes recursive', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 1);
    cs.add('a', T, 5);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: true, since: 1, origin: 1, attempts: 0, notBefore: 0 }]);
  });

  // An absorbed change has waited since it was queued: the batch-delay bound counts from then.
  it('keeps the oldest age of the entries a new recursive entry absorbs', () => {
    const cs = new ChangeSet(100);
    cs.add('a/b', F, 1);
    cs.add('a', T, 5);
    assert.equal(cs.snapshot()[0]?.since, 1);
    assert.equal(cs.oldestSince(), 1);
  });

  // Checkpoints wait for the oldest change an entry stands for, however it was merged.
  it('keeps the earliest origin through merges, absorption, requeues and folds', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 10, 9);
    cs.add('a', F, 11, 3);
    assert.equal(cs.snapshot()[0]?.origin, 3);
    cs.add('d', T, 12, 12);
    cs.add('d/e', F, 13, 2);
    assert.deepEqual(cs.snapshot().map((e) => [e.path, e.origin]), [['a', 3], ['d', 2]]);
    const taken = cs.take(10, 20, none);
    cs.add('a', F, 21);
    cs.requeue(taken, 0, 22);
    assert.deepEqual(cs.snapshot().map((e) => [e.path, e.origin]).sort(), [['a', 3], ['d', 2]]);
    assert.equal(cs.oldestOrigin(), 2);
    const small = new ChangeSet(2);
    small.add('x/1', F, 30, 1);
    small.add('x/2', F, 31);
    small.add('x/3', F, 32);
    assert.deepEqual(small.snapshot().map((e) => [e.path, e.recursive, e.origin]), [['x', true, 1]]);
  });

  it('forgets a recursive entry once it is taken: paths beneath it queue again', () => {
    const cs = new ChangeSet(100);
    cs.add('a', T, 0);
    cs.add('a/b', T, 0);
    assert.deepEqual(cs.take(10, 0, none).map(show), ['a/**']);
    cs.add('a/b/c', F, 1);
    cs.add('a/d', F, 1);
    assert.deepEqual(shown(cs), ['a/b/c', 'a/d']);
  });
});

describe('ChangeSet: take', () => {
  const four = (): ChangeSet => {
    const cs = new ChangeSet(100);
    for (const p of ['a', 'b', 'c', 'd']) cs.add(p, F, 0);
    return cs;
  };

  it('takes in queue order, up to the limit', () => {
    const cs = four();
    assert.deepEqual(cs.take(2, 0, none).map(show), ['a', 'b']);
    assert.equal(cs.size, 2);
    assert.deepEqual(cs.take(10, 0, none).map(show), ['c', 'd']);
    assert.equal(cs.size, 0);
    assert.deepEqual(cs.take(10, 0, none), []);
  });

  it('takes nothing with a limit of 0', () => {
    const cs = four();
    assert.deepEqual(cs.take(0, 0, none), []);
    assert.equal(cs.size, 4);
  });

  it('leaves the entries that blocked holds back', () => {
    const cs = four();
    assert.deepEqual(cs.take(10, 0, (e) => e.path === 'b' || e.path === 'd').map(show), ['a', 'c']);
    assert.deepEqual(shown(cs), ['b', 'd']);
  });

  it('does not count held-back entries against the limit', () => {
    const cs = four();
    assert.deepEqual(cs.take(2, 0, (e) => e.path === 'a').map(show), ['b', 'c']);
  });

  it('leaves entries that are backing off until their time', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 0);
    cs.requeue(cs.take(1, 0, none), 100, 0);
    cs.add('b', F, 1);
    assert.deepEqual(cs.take(10, 99, none).map(show), ['b']);
    assert.deepEqual(cs.take(10, 100, none).map(show), ['a']);
  });
});

describe('ChangeSet: requeue', () => {
  it('puts a failed entry back with its age, one more attempt and its backoff', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 1);
    cs.requeue(cs.take(1, 10, none), 500, 0);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: false, since: 1, origin: 1, attempts: 1, notBefore: 500 }]);
    cs.requeue(cs.take(1, 500, none), 2000, 0);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: false, since: 1, origin: 1, attempts: 2, notBefore: 2000 }]);
  });

  it('lets a newer change win: the path is due now, with no attempt counted, and the older origin', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 1);
    const batch = cs.take(1, 1, none);
    cs.add('a', F, 10);
    cs.requeue(batch, 500, 0);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: false, since: 10, origin: 1, attempts: 0, notBefore: 0 }]);
  });

  it('makes a newer change recursive when the failed entry was', () => {
    const cs = new ChangeSet(100);
    cs.add('a', T, 1);
    const batch = cs.take(1, 1, none);
    cs.add('a', F, 10);
    cs.add('a/b', F, 11);
    cs.requeue(batch, 500, 0);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: true, since: 10, origin: 1, attempts: 0, notBefore: 0 }]);
  });

  it('drops an entry that a queued recursive ancestor covers', () => {
    const cs = new ChangeSet(100);
    cs.add('a/b', F, 1);
    const batch = cs.take(1, 1, none);
    cs.add('a', T, 10);
    cs.requeue(batch, 500, 0);
    assert.deepEqual(shown(cs), ['a/**']);
  });

  it('lets a failed recursive entry absorb what was queued beneath it meanwhile', () => {
    const cs = new ChangeSet(100);
    cs.add('a', T, 1);
    const batch = cs.take(1, 1, none);
    cs.add('a/x', F, 10);
    cs.add('a/y/z', T, 10);
    cs.requeue(batch, 500, 0);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: true, since: 1, origin: 1, attempts: 1, notBefore: 500 }]);
  });

  it('makes a path that is backing off due again when it changes, keeping its attempts', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 1);
    cs.requeue(cs.take(1, 1, none), 500, 0);
    cs.add('a', F, 10);
    assert.deepEqual(cs.snapshot(), [{ path: 'a', recursive: false, since: 1, origin: 1, attempts: 1, notBefore: 0 }]);
  });

  it('keeps the bound', () => {
    const cs = new ChangeSet(4);
    for (const p of ['a/1', 'a/2', 'b/1', 'b/2']) cs.add(p, F, 0);
    const batch = cs.take(4, 0, none);
    for (const p of ['c/1', 'c/2', 'd/1', 'd/2']) cs.add(p, F, 1);
    cs.requeue(batch, 0, 0);
    assert.ok(cs.size <= 4, `${cs.size} entries with a bound of 4: ${shown(cs).join(' ')}`);
    for (const p of ['a/1', 'a/2', 'b/1', 'b/2', 'c/1', 'c/2', 'd/1', 'd/2']) assert.ok(covered(cs, p), p);
  });
});

describe('ChangeSet: nextDue and oldestSince', () => {
  it('answers undefined when empty', () => {
    const cs = new ChangeSet(100);
    assert.equal(cs.oldestSince(), undefined);
    assert.equal(cs.nextDue(0), undefined);
  });

  it('gives the oldest age', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 5);
    cs.add('b', F, 3);
    cs.add('c', F, 9);
    assert.equal(cs.oldestSince(), 3);
    cs.take(10, 10, (e) => e.path !== 'b');
    assert.equal(cs.oldestSince(), 5);
  });

  it('gives the earliest time a backing-off entry is due, after now', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 0);
    cs.add('b', F, 0);
    cs.add('c', F, 0);
    const [a, b] = cs.take(2, 0, none);
    assert.ok(a && b);
    cs.requeue([a], 500, 0);
    cs.requeue([b], 300, 0);
    assert.equal(cs.nextDue(0), 300);
    assert.equal(cs.nextDue(299), 300);
    assert.equal(cs.nextDue(300), 500);
    assert.equal(cs.nextDue(500), undefined);
  });
});

describe('ChangeSet: the bound', () => {
  it('folds the top-level subtree with the most entries into one recursive entry', () => {
    const cs = new ChangeSet(5);
    for (const p of ['a/1', 'b/1', 'b/2', 'b/x/3', 'c/1']) assert.equal(cs.add(p, F, 0), undefined);
    assert.deepEqual(cs.add('c/2', F, 1), { folded: 'b', removed: 2 });
    assert.deepEqual(shown(cs), ['a/1', 'b/**', 'c/1', 'c/2']);
  });

  it('counts a top-level path itself with its subtree', () => {
    const cs = new ChangeSet(3);
    for (const p of ['a', 'b', 'b/1']) cs.add(p, F, 0);
    assert.deepEqual(cs.add('c', F, 0), { folded: 'b', removed: 1 });
    assert.deepEqual(shown(cs), ['a', 'b/**', 'c']);
  });

  it('folds the first of equally busy subtrees', () => {
    const cs = new ChangeSet(3);
    for (const p of ['a/1', 'a/2', 'b/1']) cs.add(p, F, 0);
    assert.deepEqual(cs.add('b/2', F, 0), { folded: 'a', removed: 1 });
    assert.deepEqual(shown(cs), ['a/**', 'b/1', 'b/2']);
  });

  it('folds everything into the root when every entry is its own top-level name', () => {
    const cs = new ChangeSet(3);
    for (const p of ['a', 'b', 'c']) cs.add(p, F, 0);
    assert.deepEqual(cs.add('d', F, 0), { folded: '', removed: 3 });
    assert.deepEqual(shown(cs), ['./**']);
    assert.equal(cs.add('e/f', F, 1), undefined);
    assert.equal(cs.size, 1);
  });

  it('gives the folded entry the oldest age, no attempts and no backoff', () => {
    const cs = new ChangeSet(4);
    cs.add('x', F, 2);
    cs.add('a/1', F, 7);
    cs.requeue(cs.take(1, 7, (e) => e.path !== 'a/1'), 900, 0);
    cs.add('a/2', F, 8);
    cs.add('b', F, 9);
    assert.deepEqual(cs.add('c', F, 10), { folded: 'a', removed: 1 });
    const folded = cs.snapshot().find((e) => e.path === 'a');
    assert.deepEqual(folded, { path: 'a', recursive: true, since: 2, origin: 2, attempts: 0, notBefore: 0 });
  });

  it('takes a new path beneath a folded subtree without growing', () => {
    const cs = new ChangeSet(2);
    cs.add('a/1', F, 0);
    cs.add('a/2', F, 0);
    cs.add('b', F, 0);
    assert.equal(cs.add('a/3', F, 0), undefined);
    assert.deepEqual(shown(cs), ['a/**', 'b']);
  });

  it('never holds more than the bound after an add, and never loses a path', () => {
    const cs = new ChangeSet(10);
    const added: string[] = [];
    for (let i = 0; i < 500; i++) {
      // a deterministic spread over a few subtrees, some deep
      const path = `d${i % 7}/s${(i * 13) % 5}/f${i}`;
      cs.add(path, i % 50 === 0, i);
      added.push(path);
      assert.ok(cs.size <= 10, `size ${cs.size} after adding ${path}`);
      for (const p of added) assert.ok(covered(cs, p), `${p} lost after adding ${path}`);
    }
  });
});

describe('ChangeSet: retries apart', () => {
  it('a batch holds fresh changes or retries, never both; an alone entry goes by itself', () => {
    const c = new ChangeSet(100);
    c.add('fresh1', false, 0);
    c.add('fresh2', false, 0);
    const [failing] = c.take(1, 0, () => false);
    assert.ok(failing);
    c.requeue([failing], 0, 0);
    c.add('fresh3', false, 0);
    const first = c.take(10, 0, () => false).map((e) => e.path);
    assert.deepEqual(first, ['fresh2', 'fresh3']);
    assert.deepEqual(c.take(10, 0, () => false).map((e) => [e.path, e.attempts]), [['fresh1', 1]]);
    c.add('a', false, 0);
    c.add('b', false, 0);
    const both = c.take(10, 0, () => false);
    c.requeue(both, 0, 0, true, true);
    assert.deepEqual(c.take(10, 0, () => false).map((e) => e.path), ['a']);
    assert.deepEqual(c.take(10, 0, () => false).map((e) => e.path), ['b']);
  });
});

describe('ChangeSet: retarget (renames)', () => {
  it('moves what is queued at and below an old name to the new one, the deepest move first', () => {
    const cs = new ChangeSet(100);
    cs.add('d/a', F, 1);
    cs.add('d/x/y', T, 2);
    cs.add('d/keep', F, 3);
    cs.add('other', F, 4);
    cs.add('d', F, 5);
    cs.retarget([
      { from: 'd', to: 'e' },
      { from: 'd/keep', to: 'kept' },
    ]);
    assert.deepEqual(shown(cs), ['e', 'e/a', 'e/x/y/**', 'kept', 'other']);
  });

  it('swaps what is queued under two names renamed at once', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 1);
    cs.add('b/f', F, 2);
    cs.retarget([
      { from: 'a', to: 'b' },
      { from: 'b', to: 'a' },
    ]);
    assert.deepEqual(shown(cs), ['a/f', 'b']);
  });

  it('merges an entry moved onto a queued one, and one moved under a recursive entry', () => {
    const cs = new ChangeSet(100);
    cs.add('a', F, 5, 5);
    cs.add('b', F, 1, 1);
    cs.add('r', T, 3);
    cs.add('c', F, 2, 2);
    cs.retarget([
      { from: 'a', to: 'b' },
      { from: 'c', to: 'r/c' },
    ]);
    assert.deepEqual(shown(cs), ['b', 'r/**']);
    assert.equal(cs.snapshot().find((e) => e.path === 'b')?.origin, 1);
    assert.equal(cs.snapshot().find((e) => e.path === 'r')?.origin, 2);
    assert.ok(cs.covers('r/c') && !cs.covers('b'));
  });
});
