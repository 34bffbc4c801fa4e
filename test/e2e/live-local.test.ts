// Live mirroring to a local slave: every kind of change made after the Changelog Crawl
// starts reaches the slave, and SIGTERM then ends gsyncd cleanly; with the default watcher
// (inotify: renames paired, a watch per directory) and with @parcel/watcher.
import { after, before, describe, it } from 'node:test';
import { assertMirrored } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { defineLiveSteps } from '../helpers/live-suite.js';
import { makeLiveTree } from '../helpers/live-steps.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';

for (const watcher of ['inotify', 'native']) {
  describe(`live mirroring to a local slave, --watcher ${watcher}`, () => {
    const scope = new Scope();
    let layout: Layout;
    let g: GsyncdProcess;

    before(async () => {
      layout = await makeLayout(scope, `live-local-${watcher}`);
      makeLiveTree(layout.master, layout.outside);
      g = await startGsyncd(['--watcher', watcher, '--batch-delay', '0.2', layout.master, layout.slave]);
      scope.defer(() => g.dispose());
      // As with any watcher: touch nothing before it is live.
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
}
