/** src/session/backoff.ts: capped exponential backoff with jitter. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs } from '../../src/session/backoff.js';

const fixed = (r: number) => (): number => r;

describe('backoffMs', () => {
  // [attempt, ceiling with the defaults (1 s base, 60 s cap)]
  const CASES: readonly (readonly [number, number])[] = [
    [0, 1000],
    [1, 2000],
    [2, 4000],
    [5, 32000],
    [6, 60000],
    [10, 60000],
    [1000, 60000],
    // a negative attempt counts as the first
    [-3, 1000],
  ];
  for (const [attempt, ceiling] of CASES) {
    it(`attempt ${attempt}: from ${ceiling / 2} to ${ceiling} ms`, () => {
      assert.equal(backoffMs(attempt, undefined, undefined, fixed(0)), ceiling / 2);
      assert.equal(backoffMs(attempt, undefined, undefined, fixed(0.5)), (ceiling * 3) / 4);
      assert.equal(backoffMs(attempt, undefined, undefined, fixed(1)), ceiling);
    });
  }

  it('takes its base and cap', () => {
    assert.equal(backoffMs(3, 100, 10_000, fixed(1)), 800);
    assert.equal(backoffMs(20, 100, 10_000, fixed(1)), 10_000);
    assert.equal(backoffMs(20, 100, 10_000, fixed(0)), 5_000);
  });

  it('stays within half and all of the ceiling with real randomness', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      const ceiling = Math.min(60_000, 1000 * 2 ** attempt);
      for (let i = 0; i < 50; i++) {
        const ms = backoffMs(attempt);
        assert.ok(Number.isInteger(ms), `${ms}`);
        assert.ok(ms >= ceiling / 2 && ms <= ceiling, `attempt ${attempt}: ${ms}`);
      }
    }
  });
});
