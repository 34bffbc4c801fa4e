/** src/sync/batch.ts: the pure parts, planRuns and worst. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planRuns, worst, type PathState } from '../../src/sync/batch.js';
import type { Entry } from '../../src/sync/change-set.js';
import type { RsyncOutcome } from '../../src/sync/exit-codes.js';

const entry = (path: string, recursive = false): Entry => ({ path, recursive, since: 0, origin: 0, attempts: 0, notBefore: 0 });

describe('planRuns', () => {
  type Plan = ReturnType<typeof planRuns>;
  const plan = (p: { subtrees?: string[]; files?: string[]; deletes?: string[]; dirAttrs?: string[]; skipped?: number }): Plan => ({
    subtrees: p.subtrees ?? [],
    files: p.files ?? [],
    deletes: p.deletes ?? [],
    dirAttrs: p.dirAttrs ?? [],
    skippedDeletes: p.skipped ?? 0,
  });
  // [what, entries as [path, recursive, state on the master], ignoreDeletes, expected]
  type Row = readonly [string, boolean, PathState];
  const CASES: readonly (readonly [string, readonly Row[], boolean, Plan])[] = [
    ['nothing', [], false, plan({})],
    ['files go in the files run', [['a', false, 'other'], ['b/c', false, 'other']], false, plan({ files: ['a', 'b/c'] })],
    ['a directory without recursion is its attributes only: a run of its own, without -r', [['d', false, 'dir']], false, plan({ dirAttrs: ['d'] })],
    ['a recursive directory goes in the subtrees run', [['d', true, 'dir']], false, plan({ subtrees: ['d'] })],
    ['files and subtrees go in their own runs', [['a', false, 'other'], ['d', true, 'dir']], false, plan({ subtrees: ['d'], files: ['a'] })],
    ['a recursive entry that is now a file is a file', [['d', true, 'other']], false, plan({ files: ['d'] })],
    ['a missing path is a delete', [['gone', false, 'missing']], false, plan({ deletes: ['gone'] })],
    ['a missing recursive path too', [['gone', true, 'missing']], false, plan({ deletes: ['gone'] })],
    ['a path under what is now a file is a delete', [['f/x', false, 'notdir']], false, plan({ deletes: ['f/x'] })],
    ['a path that another entry covers is dropped', [['f/x', false, 'gone-with-parent'], ['f', false, 'other']], false, plan({ files: ['f'] })],
    [
      'the children of a missing directory are dropped: deleting it deletes them',
      [['m/x', false, 'missing'], ['m', false, 'missing'], ['m/y/z', true, 'missing'], ['mm', false, 'missing']],
      false,
      plan({ deletes: ['m', 'mm'] }),
    ],
    ['a missing path whose parent is not listed stays', [['p/x', false, 'missing']], false, plan({ deletes: ['p/x'] })],
    [
      'with ignoreDeletes, missing paths are counted, not sent',
      [['a', false, 'other'], ['m', false, 'missing'], ['m/x', false, 'missing'], ['f/x', false, 'notdir'], ['g/y', false, 'gone-with-parent']],
      true,
      plan({ files: ['a'], skipped: 3 }),
    ],
    [
      'a mix keeps the order of the entries within each run',
      [['f1', false, 'other'], ['d1', true, 'dir'], ['m', false, 'missing'], ['d2', false, 'dir'], ['d3', true, 'dir'], ['f2', false, 'other'], ['d4', false, 'dir']],
      false,
      plan({ subtrees: ['d1', 'd3'], files: ['f1', 'f2'], deletes: ['m'], dirAttrs: ['d2', 'd4'] }),
    ],
    ['the root, recursive', [['', true, 'dir']], false, plan({ subtrees: [''] })],
    ['the root, its attributes', [['', false, 'dir']], false, plan({ dirAttrs: [''] })],
  ];
  for (const [what, rows, ignoreDeletes, expected] of CASES) {
    it(what, () => {
      const entries = rows.map(([p, r]) => entry(p, r));
      const states = rows.map(([, , s]) => s);
      assert.deepEqual(planRuns(entries, states, ignoreDeletes), expected);
    });
  }

  it('reads a path without a state as missing', () => {
    assert.deepEqual(planRuns([entry('a'), entry('b')], ['other'], false), plan({ files: ['a'], deletes: ['b'] }));
    assert.deepEqual(planRuns([entry('a'), entry('b')], ['other'], true), plan({ files: ['a'], skipped: 1 }));
  });
});

describe('worst', () => {
  const ORDER: readonly RsyncOutcome[] = ['ok', 'vanished', 'max-delete', 'partial', 'fatal', 'usage', 'connection'];

  for (const [i, a] of ORDER.entries()) {
    it(`${a} against every outcome, in the order ${ORDER.join(' < ')}`, () => {
      for (const [j, b] of ORDER.entries()) assert.equal(worst(a, b), i >= j ? a : b, `${a} and ${b}`);
    });
  }
});
