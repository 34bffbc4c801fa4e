/** src/config/suggest.ts: "did you mean …?" for mistyped option names. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { didYouMean, suggest } from '../../src/config/suggest.js';
import { allNames } from '../../src/config/tunables.js';

describe('suggest', () => {
  // [typed, expected suggestion]
  const CASES: readonly (readonly [string, string | undefined])[] = [
    ['sync-jbos', 'sync-jobs'], // a swapped pair costs one
    ['excldue', 'exclude'],
    ['delte', 'delete'],
    ['logfile', 'log-file'],
    ['log-lvl', 'log-level'],
    ['verbos', 'verbose'],
    ['onse', 'once'],
    ['batchdelay', 'batch-delay'],
    ['sync-jobs', 'sync-jobs'],
    ['frobnicate', undefined],
    ['jobs', undefined],
    ['x', undefined],
  ];
  for (const [typed, expected] of CASES) {
    it(`${typed} → ${expected ?? 'nothing'}`, () => {
      assert.equal(suggest(typed, allNames()), expected);
    });
  }

  it('allows two edits for short names and a third of the length for long ones', () => {
    assert.equal(suggest('abxy', ['abcd']), 'abcd');
    assert.equal(suggest('axyz', ['abcd']), undefined);
    // 12 letters: up to 4 edits
    assert.equal(suggest('abcdefghWXYZ', ['abcdefghijkl']), 'abcdefghijkl');
    assert.equal(suggest('abcdefgVWXYZ', ['abcdefghijkl']), undefined);
  });

  it('prefers the closest name, and the first of equally close ones', () => {
    assert.equal(suggest('abcd', ['abxy', 'abcx']), 'abcx');
    assert.equal(suggest('cat', ['hat', 'cart', 'cats']), 'hat');
    assert.equal(suggest('cat', ['cart', 'cats']), 'cart');
  });

  it('suggests nothing from an empty list', () => {
    assert.equal(suggest('x', []), undefined);
  });
});

describe('didYouMean', () => {
  it('renders the suggestion, or nothing', () => {
    assert.equal(didYouMean('sync-jbos', allNames()), '; did you mean sync-jobs?');
    assert.equal(didYouMean('frobnicate', allNames()), '');
  });
});
