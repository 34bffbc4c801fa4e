/** src/sync/paths.ts: relative path helpers; '' is the master root. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ancestorsOf, isWithin, parentOf, topOf } from '../../src/sync/paths.js';

describe('parentOf', () => {
  const CASES: readonly (readonly [string, string])[] = [
    ['a', ''],
    ['a/b', 'a'],
    ['a/b/c', 'a/b'],
    ['', ''],
  ];
  for (const [path, expected] of CASES) {
    it(`${JSON.stringify(path)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(parentOf(path), expected);
    });
  }
});

describe('ancestorsOf', () => {
  const CASES: readonly (readonly [string, readonly string[]])[] = [
    ['', []],
    ['a', ['']],
    ['a/b/c', ['a/b', 'a', '']],
  ];
  for (const [path, expected] of CASES) {
    it(`${JSON.stringify(path)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual([...ancestorsOf(path)], expected);
    });
  }
});

describe('isWithin', () => {
  // [a, b, a is b or inside b]
  const CASES: readonly (readonly [string, string, boolean])[] = [
    ['a', 'a', true],
    ['a/b', 'a', true],
    ['a/b/c', 'a', true],
    ['a', '', true],
    ['', '', true],
    ['ab', 'a', false],
    ['a', 'a/b', false],
    ['', 'a', false],
    ['b/a', 'a', false],
  ];
  for (const [a, b, expected] of CASES) {
    it(`${JSON.stringify(a)} within ${JSON.stringify(b)}: ${expected}`, () => {
      assert.equal(isWithin(a, b), expected);
    });
  }
});

describe('topOf', () => {
  const CASES: readonly (readonly [string, string])[] = [
    ['a', 'a'],
    ['a/b/c', 'a'],
    ['', ''],
  ];
  for (const [path, expected] of CASES) {
    it(`${JSON.stringify(path)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(topOf(path), expected);
    });
  }
});
