/** src/status/status.ts: totals survive restarts through the status file. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ZERO_TOTALS, totalsFrom, type Totals } from '../../src/status/status.js';

describe('totalsFrom', () => {
  // [what, earlier status file's JSON, expected totals]
  const CASES: readonly (readonly [string, unknown, Totals])[] = [
    ['a full record', { session: 'web', totals: { files: 1234, bytes: 567890, batches: 17, full_syncs: 1, renames: 3, renames_sent: 1 } }, { files: 1234, bytes: 567890, batches: 17, full_syncs: 1, renames: 3, renames_sent: 1 }],
    ['nothing', undefined, ZERO_TOTALS],
    ['null', null, ZERO_TOTALS],
    ['a string', 'totals', ZERO_TOTALS],
    ['a number', 42, ZERO_TOTALS],
    ['no totals', { session: 'web' }, ZERO_TOTALS],
    ['null totals', { totals: null }, ZERO_TOTALS],
    ['string totals', { totals: 'many' }, ZERO_TOTALS],
    ['some totals', { totals: { files: 3 } }, { files: 3, bytes: 0, batches: 0, full_syncs: 0, renames: 0, renames_sent: 0 }],
    [
      'bad numbers become 0',
      { totals: { files: -1, bytes: '12', batches: Infinity, full_syncs: NaN } },
      { files: 0, bytes: 0, batches: 0, full_syncs: 0, renames: 0, renames_sent: 0 },
    ],
    ['extra fields are dropped', { totals: { files: 1, bytes: 2, batches: 3, full_syncs: 4, other: 5 } }, { files: 1, bytes: 2, batches: 3, full_syncs: 4, renames: 0, renames_sent: 0 }],
  ];
  for (const [what, json, expected] of CASES) {
    it(what, () => {
      assert.deepEqual(totalsFrom(json), expected);
    });
  }

  it('reads what JSON.stringify wrote', () => {
    const totals = { files: 7, bytes: 8, batches: 9, full_syncs: 2, renames: 5, renames_sent: 6 };
    assert.deepEqual(totalsFrom(JSON.parse(JSON.stringify({ session: 'web', totals }))), totals);
  });

  it('starts from zero', () => {
    assert.deepEqual(ZERO_TOTALS, { files: 0, bytes: 0, batches: 0, full_syncs: 0, renames: 0, renames_sent: 0 });
  });
});
