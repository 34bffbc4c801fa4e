/**
 * The reconciliation and a directory whose ctime moved because entries were made in it after
 * it was sent whole (npm extracting a package, .package-lock.json renamed into node_modules at
 * the end): the new entries go out as paths of their own, and rsync sends their directories
 * with them (--relative's implied directories, attributes included). Such a directory is no
 * watcher miss (the churn bench logged `watcher missed changes` for 181 of them after npm install).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Options } from '../../src/config/options.js';
import { compileMatcher } from '../../src/filter/matcher.js';
import type { FailedPaths } from '../../src/session/failed-paths.js';
import type { SessionQueue } from '../../src/session/queue.js';
import { SavedState } from '../../src/session/saved-state.js';
import { SentSince } from '../../src/session/sent-since.js';
import { Snapshots } from '../../src/session/snapshots.js';
import type { ChangeEvent } from '../../src/watch/change-source.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

describe('SentSince: directories sent with the paths below them', () => {
  it('covers a directory changed before a run that listed a path below it', () => {
    const s = new SentSince();
    s.add(['node_modules'], 1000, true);
    s.add(['node_modules/.package-lock.json'], 3000);
    s.add(['node_modules/a/b/c.js'], 4000);
    assert.equal(s.covers('node_modules', 2000, true), true);
    assert.equal(s.covers('node_modules/a', 3500, true), true, 'deeper: every directory on the path is implied');
    assert.equal(s.covers('node_modules', 4000, true), false, 'changed as the run started: not known to be sent');
    assert.equal(s.covers('node_modules/x', 500, true), true, 'inside a subtree sent whole after it, as before');
    assert.equal(s.covers('node_modules/x', 2000, true), false, 'nothing listed below it since');
  });

  it('a later run below an earlier-sent directory does not lower its time', () => {
    const s = new SentSince();
    s.add(['d/new'], 5000);
    s.add(['d/old'], 2000);
    assert.equal(s.covers('d', 4000, true), true);
  });

  it('covers no file by what was listed below its name, nor a directory under --no-implied-dirs', () => {
    const s = new SentSince();
    s.add(['x/y'], 3000);
    assert.equal(s.covers('x', 2000), false, 'x is a file now: nothing below it went out after its change');
    const bare = new SentSince(false);
    bare.add(['d/f'], 3000);
    assert.equal(bare.covers('d', 2000, true), false);
  });

  it('forgets what was sent below at clear', () => {
    const s = new SentSince();
    s.add(['d/f'], 3000);
    s.clear();
    assert.equal(s.covers('d', 2000, true), false);
  });
});

function snapshotsOn(master: string, state: string): Snapshots {
  return new Snapshots({
    saved: new SavedState(state),
    master,
    matcher: compileMatcher([], new Map(), { root: master }),
    options: { snapshotInterval: 300, rsyncOptions: '', rsyncFlags: new Set<string>() } as unknown as Options,
    logger: new RecordingLogger(),
    queue: { has: () => false, kick: () => undefined } as unknown as SessionQueue,
    failed: { has: () => false } as unknown as FailedPaths,
    queueEvent: () => undefined,
    idle: () => true,
    lastEventAt: () => 0,
    marker: (at) => ({ version: 1, master, slave: '/s', slaveId: null, snapshotAt: at.toISOString() }),
  });
}

/** Past the file-time clock's tick (coarser than Date.now()): the next ctime is later than now. */
const tick = (): Promise<void> => delay(30);

describe('the reconciliation and a directory filled after it was sent whole', () => {
  it('finds nothing unsent when what came later in it was sent', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-recdirs-'));
    try {
      const master = path.join(dir, 'master');
      const state = path.join(dir, 'state');
      mkdirSync(path.join(master, 'pkg', 'lib'), { recursive: true });
      mkdirSync(state);
      writeFileSync(path.join(master, 'pkg', 'a.js'), 'a\n');
      const snapshots = snapshotsOn(master, state);
      await tick();
      // The new directory is sent whole, as its watch's second report asks.
      snapshots.sent(['pkg'], Date.now(), true);
      await tick();
      // npm goes on writing in it: pkg's and pkg/lib's ctimes move past that run.
      writeFileSync(path.join(master, 'pkg', 'package.json'), '{}\n');
      writeFileSync(path.join(master, 'pkg', 'lib', 'index.js'), 'x\n');
      await tick();
      snapshots.sent(['pkg/package.json', 'pkg/lib/index.js'], Date.now());
      const changes: ChangeEvent[] = ['pkg', 'pkg/a.js', 'pkg/lib', 'pkg/lib/index.js', 'pkg/package.json'].map((p) => ({ path: p, kind: 'create' }));
      assert.deepEqual(await snapshots.unsent(changes), []);

      // Its mode changed after every run, and no event said so: a miss, found.
      await tick();
      chmodSync(path.join(master, 'pkg'), 0o700);
      assert.deepEqual((await snapshots.unsent(changes)).map((e) => e.path), ['pkg']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
