// Filter rules, differential against real rsync: for every rule set of the corpus,
//  1. gsyncd's matcher lets through exactly what `rsync -a RULES` copies into an empty slave;
//  2. `gsyncd --once RULES` leaves a slave that already held extra files exactly as
//     `rsync -a --delete RULES` leaves a copy of it (deletes, protects, --delete-excluded).
// The live half is filter-diff-live.test.ts.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CORPUS, listTree, treeDifferences } from '../helpers/filter-cases.js';
import { matcherFor, predictedTree, prepareCase, rsyncInto } from '../helpers/filter-oracle.js';
import { exec } from '../helpers/exec.js';
import { gsyncdBin } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeTree, SLAVE_EXTRAS } from '../helpers/filter-cases.js';

// Each case has directories of its own: four at a time (they wait on rsync and gsyncd more
// than on the CPU).
describe('filter rules: the matcher and gsyncd --once agree with rsync', { concurrency: 4 }, () => {
  it(`has at least 60 rule sets (${CORPUS.length})`, () => {
    assert.ok(CORPUS.length >= 60);
  });
  for (const k of CORPUS) {
    it(`${k.name}: ${k.args.join(' ')}`, { timeout: 60_000 }, async (t) => {
      const layout = await makeLayout(scopeFor(t), 'filter');
      const p = prepareCase(layout.outside, k);

      const fresh = path.join(p.dir, 'fresh');
      const copied = await rsyncInto(p, fresh, false);
      assert.equal(copied.code, 0, `rsync refused the case: ${copied.stderr}`);
      const m = await matcherFor(p);
      assert.deepEqual(m.problems, []);
      assert.deepEqual(predictedTree(p.master, m), listTree(fresh), 'the matcher lets through what rsync copies');

      const oracle = path.join(p.dir, 'oracle');
      assert.equal((await rsyncInto(p, oracle, true)).code, 0);
      makeTree(layout.slave, SLAVE_EXTRAS, {});
      const once = await exec(process.execPath, [gsyncdBin, '--once', '--state-dir', path.join(p.dir, 'state'), ...p.args, p.master, layout.slave], { env: p.env });
      assert.equal(once.code, 0, `gsyncd --once: exit ${String(once.code)}\n${once.stderr}`);
      assert.equal(await treeDifferences(oracle, layout.slave), '', 'gsyncd --once leaves what rsync leaves');
    });
  }
});
