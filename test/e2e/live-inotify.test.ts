// Live mirroring with --watcher inotify (a watch per directory, renames paired): the same
// steps as live-local.test.ts, odd names, renames, moves out of and into the tree included.
import { after, before, describe, it } from 'node:test';
import { assertMirrored } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { defineLiveSteps } from '../helpers/live-suite.js';
import { makeLiveTree } from '../helpers/live-steps.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';

describe('live mirroring with --watcher inotify', () => {
  const scope = new Scope();
  let layout: Layout;
  let g: GsyncdProcess;

  before(async () => {
    layout = await makeLayout(scope, 'live-inotify');
    makeLiveTree(layout.master, layout.outside);
    g = await startGsyncd(['--watcher', 'inotify', '--batch-delay', '0.2', layout.master, layout.slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
  });
  after(() => scope.close());

  it('mirrors the starting tree before going live', async () => {
    await assertMirrored(layout.master, layout.slave);
  });

  defineLiveSteps(() => layout);

  it('exits 0 on SIGTERM and leaves no child behind', { timeout: 30_000 }, async () => {
    await stopAndAssertClean(g, 'SIGTERM');
  });
});
