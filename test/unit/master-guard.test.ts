/** src/session/master-guard.ts: the master root known by identity; lost (gone, replaced, not a directory) and back again. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { MasterGuard } from '../../src/session/master-guard.js';
import type { SessionEvent } from '../../src/session/machine.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

const LOST = 'master root lost; nothing is sent until it is back';
const BACK = 'master root is back; watching it afresh and resyncing the tree';
const REWATCH_FAILED = 'could not watch the master root again; retrying';

describe('MasterGuard', () => {
  let dir: string;
  let root: string;
  /** Where the real root is moved while the test replaces it. */
  let away: string;
  let logger: RecordingLogger;
  let fired: SessionEvent[];
  let stop: boolean;
  let rewatches: number;
  let resyncs: number;
  /** What the next rewatch does; by default it succeeds. */
  let rewatch: () => Promise<void>;
  let guard: MasterGuard;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-master-guard-'));
    root = path.join(dir, 'master');
    away = path.join(dir, 'master.away');
    await mkdir(root);
    await writeFile(path.join(root, 'file'), 'x');
    logger = new RecordingLogger();
    fired = [];
    stop = false;
    rewatches = 0;
    resyncs = 0;
    rewatch = () => Promise.resolve();
    guard = new MasterGuard({
      root,
      logger,
      fire: (e) => {
        fired.push(e);
        return Promise.resolve();
      },
      stopRequested: () => stop,
      rewatch: () => {
        rewatches++;
        return rewatch();
      },
      resyncAll: () => {
        resyncs++;
      },
    });
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const faults = (): string[] => fired.map((e) => (e.type === 'fault' ? e.reason : e.type));
  const gone = (): string => `master root ${root} is gone; no change is sent until it is back`;
  const replaced = (): string => `master root ${root} is not the directory it was (unmounted, or replaced); no change is sent until it is back`;
  const notDir = (): string => `master root ${root} is no longer a directory; no change is sent until it is back`;

  it('finds nothing wrong with the root it recorded, and does nothing on a check', async () => {
    await guard.record();
    assert.equal(await guard.problem(), undefined);
    await guard.check();
    await guard.check();
    assert.deepEqual(fired, []);
    assert.deepEqual([rewatches, resyncs], [0, 0]);
    assert.deepEqual(logger.lines, []);
  });

  it('detects a root replaced by another directory at the same path, and takes the old one back', async () => {
    await guard.record();
    await rename(root, away);
    await mkdir(root);
    assert.equal(await guard.problem(), replaced());
    await guard.check();
    await guard.check();
    assert.deepEqual(faults(), [replaced(), replaced()], 'each check fires; the state machine keeps one');
    assert.deepEqual(
      logger.said(LOST).map((l) => [l.level, l.fields]),
      [['error', { master: root, problem: replaced() }]],
      'logged once while lost',
    );
    assert.deepEqual([rewatches, resyncs], [0, 0]);

    // The original directory comes back (a remount).
    await rmdir(root);
    await rename(away, root);
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 1]);
    assert.deepEqual(logger.said(BACK).map((l) => [l.level, l.fields]), [['info', { master: root }]]);
    await guard.check();
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 1], 'once per return');
    assert.equal(fired.length, 2, 'no fault once back');
  });

  it('detects a gone root, and a root that is back', async () => {
    await guard.record();
    await rename(root, away);
    assert.equal(await guard.problem(), gone());
    await guard.check();
    assert.deepEqual(faults(), [gone()]);
    await rename(away, root);
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 1]);
  });

  it('detects a root that is a file now, and follows the problem as it changes', async () => {
    await guard.record();
    await rename(root, away);
    await writeFile(root, 'not a directory');
    assert.equal(await guard.problem(), notDir());
    await guard.check();
    await rm(root);
    await guard.check();
    assert.deepEqual(faults(), [notDir(), gone()], 'each problem is fired as it is');
    assert.equal(logger.said(LOST).length, 1);
    await rename(away, root);
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 1]);
  });

  it('does not let a new directory at the path pass for the root', async () => {
    await guard.record();
    await rename(root, away);
    await guard.check();
    await mkdir(root);
    await guard.check();
    assert.deepEqual(faults(), [gone(), replaced()]);
    assert.deepEqual([rewatches, resyncs], [0, 0]);
  });

  it('checks nothing before the root is recorded', async () => {
    await rename(root, away);
    await guard.check();
    assert.deepEqual(fired, []);
    assert.equal(await guard.problem(), gone(), 'problem() itself still answers');
  });

  it('checks nothing once a stop was asked', async () => {
    await guard.record();
    await rename(root, away);
    stop = true;
    await guard.check();
    assert.deepEqual(fired, []);
    assert.deepEqual(logger.lines, []);
  });

  it('takes a loss reported by others (a batch), and resyncs when a check finds the root fine', async () => {
    await guard.record();
    await guard.lost('master root vanished under a batch');
    await guard.lost('master root vanished under a batch');
    assert.deepEqual(faults(), ['master root vanished under a batch', 'master root vanished under a batch']);
    assert.equal(logger.said(LOST).length, 1);
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 1]);
  });

  it('retries a watch that could not be placed again, and resyncs only once it is', async () => {
    await guard.record();
    await rename(root, away);
    await guard.check();
    await rename(away, root);
    rewatch = () => Promise.reject(new Error('inotify_add_watch: No space left on device'));
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 0]);
    assert.deepEqual(logger.said(REWATCH_FAILED).map((l) => [l.level, l.fields]), [['warn', { error: 'inotify_add_watch: No space left on device' }]]);
    rewatch = () => Promise.resolve();
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [2, 1]);
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [2, 1]);
  });

  it('does not resync when a stop is asked while the watch is placed again', async () => {
    await guard.record();
    await rename(root, away);
    await guard.check();
    await rename(away, root);
    rewatch = () => {
      stop = true;
      return Promise.resolve();
    };
    await guard.check();
    assert.deepEqual([rewatches, resyncs], [1, 0]);
  });

  it('runs one check at a time: a check during another does nothing', async () => {
    await guard.record();
    await rename(root, away);
    await guard.check();
    await rename(away, root);
    let release = (): void => undefined;
    let started = (): void => undefined;
    const rewatchStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    rewatch = () =>
      new Promise<void>((resolve) => {
        release = resolve;
        started();
      });
    const first = guard.check();
    await rewatchStarted;
    await guard.check();
    assert.equal(rewatches, 1, 'the second check did not place the watch again');
    release();
    await first;
    assert.deepEqual([rewatches, resyncs], [1, 1]);
  });
});
