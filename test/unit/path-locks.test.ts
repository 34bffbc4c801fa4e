/** src/sync/path-locks.ts: which paths may start while others are in flight. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PathLocks } from '../../src/sync/path-locks.js';

describe('PathLocks.conflicts', () => {
  // [held paths, path, conflicts]
  const CASES: readonly (readonly [readonly string[], string, boolean])[] = [
    [[], 'a', false],
    [[], '', false],
    // the same path
    [['a/b'], 'a/b', true],
    // an ancestor of a held path
    [['a/b'], 'a', true],
    [['a/b'], '', true],
    // inside a held path
    [['a/b'], 'a/b/c', true],
    [['a/b'], 'a/b/c/d', true],
    // in the same directory: both runs would set its times
    [['a/b'], 'a/c', true],
    [['a/b'], 'a/bb', true],
    [['x'], 'y', true],
    // elsewhere
    [['a/b'], 'c/d', false],
    [['a/b'], 'ab', false],
    [['a/b'], 'b', false],
    [['a/b/c'], 'a/x/y', false],
    [['a/b', 'c/d'], 'c/e', true],
    [['a/b', 'c/d'], 'e/f', false],
    // the root conflicts with everything
    [[''], 'a', true],
    [[''], 'a/b/c', true],
  ];
  for (const [held, path, expected] of CASES) {
    it(`${JSON.stringify(path)} while ${JSON.stringify(held)} run: ${expected ? 'conflict' : 'free'}`, () => {
      const locks = new PathLocks();
      locks.lock(held);
      assert.equal(locks.conflicts(path), expected);
    });
  }
});

describe('PathLocks: lock and unlock', () => {
  it('is idle with nothing held, and after everything is unlocked', () => {
    const locks = new PathLocks();
    assert.ok(locks.idle);
    locks.lock(['a/b', 'c']);
    assert.ok(!locks.idle);
    locks.unlock(['a/b', 'c']);
    assert.ok(locks.idle);
    assert.ok(!locks.conflicts('a/b'));
    assert.ok(!locks.conflicts('a'));
    assert.ok(!locks.conflicts('c'));
  });

  it('counts: a path locked by two batches stays held until both unlock', () => {
    const locks = new PathLocks();
    locks.lock(['a/b']);
    locks.lock(['a/b']);
    locks.unlock(['a/b']);
    assert.ok(locks.conflicts('a/b'));
    assert.ok(locks.conflicts('a'));
    assert.ok(locks.conflicts('a/c'));
    locks.unlock(['a/b']);
    assert.ok(!locks.conflicts('a/b'));
    assert.ok(!locks.conflicts('a'));
    assert.ok(!locks.conflicts('a/c'));
    assert.ok(locks.idle);
  });

  it('releases only what was unlocked', () => {
    const locks = new PathLocks();
    locks.lock(['a/b']);
    locks.lock(['a/c/d']);
    locks.unlock(['a/b']);
    assert.ok(!locks.conflicts('a/b'));
    assert.ok(locks.conflicts('a/c'));
    assert.ok(locks.conflicts('a'));
    assert.ok(locks.conflicts('a/c/e'));
  });
});
