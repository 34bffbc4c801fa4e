// Filter rules, differential against real rsync, live: for every rule set of the corpus,
// gsyncd started on a master holding only its merge files, then the whole tree created and
// part of it deleted and renamed, converges on what `rsync -a --delete RULES` gives.
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CORPUS, makeFixedTree, makeTree, SLAVE_EXTRAS, treeDifferences, type FilterCase } from '../helpers/filter-cases.js';
import { converge, prepareCase } from '../helpers/filter-oracle.js';
import { looksAlike } from '../helpers/compare.js';
import { exec } from '../helpers/exec.js';
import { startGsyncd } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { pollUntil } from '../helpers/wait.js';

const LIVE_CONCURRENCY = 4;

/** Runs `work` over `items`, `n` at a time. */
async function inParallel<T>(items: readonly T[], n: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: n }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
    }),
  );
}

describe('filter rules: live, gsyncd converges on what rsync gives', () => {
  it(`every rule set of the corpus, ${LIVE_CONCURRENCY} sessions at a time`, { timeout: 600_000 }, async (t) => {
    const failures: string[] = [];
    await inParallel(CORPUS, LIVE_CONCURRENCY, async (k: FilterCase) => {
      const layout = await makeLayout(scopeFor(t), 'filter-live');
      // The master holds its merge files and one file (an empty master would be refused);
      // the tree comes while gsyncd watches.
      const p = prepareCase(layout.outside, k, (root) => {
        makeTree(root, ['seed.txt'], {});
      });
      makeTree(layout.slave, SLAVE_EXTRAS, {});
      const g = await startGsyncd([...p.args, '--batch-delay', '0.2', '--snapshot-interval', '1', '--log-level', 'DEBUG', p.master, layout.slave], { env: p.env, stateDir: path.join(p.dir, 'state') });
      try {
        await g.waitForLog('Changelog Crawl started', 30_000);
        // No batch running for a second (a run that brought a merge file is followed by one more).
        let quietSince = Date.now();
        let seen = -1;
        // Batches started and ended, counted over the lines that came since the last look.
        let started = 0;
        let ended = 0;
        let read = 0;
        await pollUntil(
          () => {
            for (; read < g.stderrLines.length; read++) {
              const line = g.stderrLines[read] ?? '';
              if (line.includes('batch starting')) started++;
              else if (line.includes('batch done') || line.includes('batch failed')) ended++;
            }
            if (started !== ended || started !== seen) {
              seen = started;
              quietSince = Date.now();
            }
            return started === ended && Date.now() - quietSince >= 1000 ? true : undefined;
          },
          () => `${k.name}: gsyncd quiet after its Full Crawl`,
          { timeoutMs: 30_000 },
        );
        // The oracle goes through the same states as the slave: what rsync protects or deletes
        // depends on what the slave held before (protect and perishable rules, merge files
        // the receiver reads). It starts from the slave after the Full Crawl, which is rsync's
        // own run (checked by the --once test above).
        const oracle = path.join(p.dir, 'oracle');
        mkdirSync(oracle);
        assert.equal((await exec('cp', ['-a', `${layout.slave}/.`, `${oracle}/`])).code, 0);
        // rsync -rlc compares names, types, content and link targets: the walk checks all but content.
        const sameShape = (): boolean => looksAlike(oracle, layout.slave, false);
        const step = async (): Promise<void> => {
          const r = await exec('rsync', ['-a', '--delete', ...p.args, `${p.master}/`, `${oracle}/`], { env: p.env });
          assert.equal(r.code, 0, r.stderr);
        };
        makeFixedTree(p.master);
        await step();
        await converge(() => treeDifferences(oracle, layout.slave), `${k.name}: the created tree`, 30_000, sameShape);
        // Deletes, a renamed directory, a removed directory.
        for (const gone of ['b.txt', 'a/b/c/d.txt', 'cache/blob', 'src/util.o', 'x/y/zzz.txt']) rmSync(path.join(p.master, gone), { force: true });
        renameSync(path.join(p.master, 'foo'), path.join(p.master, 'foo-renamed'));
        rmSync(path.join(p.master, 'nums'), { recursive: true });
        await step();
        await converge(() => treeDifferences(oracle, layout.slave), `${k.name}: after deletes and a rename`, 30_000, sameShape);
      } catch (e) {
        const log = g.stderrLines.filter((l) => /WARN|ERROR|batch|Crawl|lost|events|rsync run/.test(l)).slice(-30).join('\n');
        failures.push(`${k.name} (${k.args.join(' ')}): ${e instanceof Error ? e.message : String(e)}\n-- gsyncd's log:\n${log}`);
      } finally {
        await g.stop('SIGTERM').catch(() => undefined);
      }
    });
    assert.deepEqual(failures, [], failures.join('\n\n'));
  });
});
