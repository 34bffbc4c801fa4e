/**
 * src/session/snapshots.ts saveFinal: a clean stop's last snapshot, taken once the watcher is
 * stopped, on a real tree with real find and sort. What the listing holds that no run sent
 * joins the pending set; what was sent after its change does not.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { Options } from '../../src/config/options.js';
import { compileMatcher } from '../../src/filter/matcher.js';
import type { FailedPaths } from '../../src/session/failed-paths.js';
import type { SessionQueue } from '../../src/session/queue.js';
import { SavedState } from '../../src/session/saved-state.js';
import { Snapshots } from '../../src/session/snapshots.js';
import type { ChangeEvent } from '../../src/watch/change-source.js';
import { changesBetween } from '../../src/watch/snapshot.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

function session(): { dir: string; master: string; saved: SavedState; snapshots: Snapshots; queued: ChangeEvent[]; logger: RecordingLogger } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-final-'));
  const master = path.join(dir, 'master');
  mkdirSync(path.join(master, 'd'), { recursive: true });
  writeFileSync(path.join(master, 'a'), 'a\n');
  writeFileSync(path.join(master, 'd', 'b'), 'b\n');
  mkdirSync(path.join(dir, 'state'));
  const saved = new SavedState(path.join(dir, 'state'));
  const queued: ChangeEvent[] = [];
  const logger = new RecordingLogger();
  const snapshots = new Snapshots({
    saved,
    master,
    matcher: compileMatcher([], new Map(), { root: master }),
    options: { snapshotInterval: 300 } as Options,
    logger,
    queue: { has: (p: string) => queued.some((e) => e.path === p), kick: () => undefined } as unknown as SessionQueue,
    failed: { has: () => false } as unknown as FailedPaths,
    queueEvent: (e) => {
      queued.push(e);
    },
    idle: () => true,
    lastEventAt: () => 0,
    marker: (at) => ({ version: 1, master, slave: '/s', slaveId: null, snapshotAt: at.toISOString() }),
  });
  return { dir, master, saved, snapshots, queued, logger };
}

describe('the final snapshot of a clean stop', () => {
  it('keeps what no run sent as pending, and saves the tree as it is', async () => {
    const s = session();
    try {
      await s.snapshots.writeBaseline();
      s.snapshots.start();
      // Sent after its change: not pending.
      writeFileSync(path.join(s.master, 'a'), 'a, changed\n');
      s.snapshots.sent(['a'], Date.now() + 1);
      // Changed and made after the watcher stopped, never sent: pending.
      writeFileSync(path.join(s.master, 'd', 'b'), 'b, changed\n');
      writeFileSync(path.join(s.master, 'late'), 'late\n');
      await s.snapshots.saveFinal(() => s.queued.map((e) => ({ path: e.path, recursive: false, since: 0, origin: 0, attempts: 0, notBefore: 0 })));

      assert.deepEqual(s.queued.map((e) => e.path).sort(), ['d/b', 'late']);
      assert.deepEqual((await s.saved.pending()).map((e) => e.path).sort(), ['d/b', 'late']);
      const said = s.logger.said('changes made as the session stopped are saved for the next start');
      assert.equal(said.length, 1);
      assert.equal(said[0]?.fields['paths'], 2);
      assert.equal(s.logger.said('watcher missed changes; sending them').length, 0, 'a stop is no missed event');
      assert.equal(s.logger.said('snapshot saved').length, 1);
      assert.ok((await s.saved.marker()) !== undefined, 'the marker moved to the new snapshot');
      // The saved snapshot is the tree as it is now: against a fresh baseline, nothing differs.
      await s.snapshots.writeBaseline();
      assert.deepEqual(await changesBetween(s.saved.snapshotFile, s.saved.baselineFile), []);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('saves none without an earlier snapshot to check it against (the next start runs a Full Crawl)', async () => {
    const s = session();
    try {
      s.snapshots.start();
      await s.snapshots.saveFinal(() => []);
      assert.equal(await s.saved.has(s.saved.snapshotFile), false);
      assert.equal(s.logger.said('no earlier snapshot to check the final one against; the next start runs a Full Crawl').length, 1);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
});
