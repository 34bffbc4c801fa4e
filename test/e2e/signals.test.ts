// Shutdown on SIGTERM and SIGINT during live mirroring (DESIGN invariant 7): exit 0 within
// the bound, even with a transfer in flight, and no rsync child outlives gsyncd.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, waitForRsyncChild } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('signals during live mirroring', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} after a change has been mirrored: exit 0, no child left`, { timeout: 60_000 }, async (t) => {
      const scope = scopeFor(t);
      const { master, slave } = await makeLayout(scope, `signal-${signal}`);
      makeSmallTree(master);
      const g = await startGsyncd(['--batch-delay', '0.2', master, slave]);
      scope.defer(() => g.dispose());
      await g.waitForLog('Changelog Crawl started', 60_000);
      writeFileSync(path.join(master, 'after-start.txt'), 'live\n');
      await waitForMirror(master, slave, 30_000);
      await stopAndAssertClean(g, signal);
    });
  }

  it('SIGTERM while a live batch is transferring: exit 0, no rsync left', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'signal-busy');
    makeSmallTree(master);
    // 20 MB at 500 KiB/s: the batch takes about 40 s, far longer than the shutdown bound.
    const g = await startGsyncd(['--batch-delay', '0.2', '--bwlimit', '500', master, slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
    writeFileSync(path.join(master, 'big.bin'), Buffer.alloc(20 * 1024 * 1024, 7));
    await waitForRsyncChild(g, 30_000);
    await stopAndAssertClean(g, 'SIGTERM');
  });
});
