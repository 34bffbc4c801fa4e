/** src/session/checkpoints.ts: a checkpoint completes once everything changed before it is on the slave. */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Checkpoints } from '../../src/session/checkpoints.js';
import { writeCheckpoint } from '../../src/session/checkpoint.js';
import { SETTLE_MS } from '../../src/session/history.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import type { StatusRecord } from '../../src/status/status.js';
import { RecordingLogger, statusBase } from '../helpers/session-fakes.js';

const BASE = statusBase();

/** The checkpoint's time; the clock (Date only) starts well past it. */
const T = 1_700_000_000_000;
const iso = (ms: number): string => new Date(ms).toISOString();

describe('Checkpoints', () => {
  let dir: string;
  let file: string;
  let status: StatusWriter;
  let logger: RecordingLogger;
  let live: boolean;
  let oldestQueued: number | undefined;
  let cps: Checkpoints;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['Date'], now: T + 60_000 });
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-checkpoints-'));
    file = path.join(dir, 'status.json');
    status = await StatusWriter.open(file, BASE);
    logger = new RecordingLogger();
    live = true;
    oldestQueued = undefined;
    cps = new Checkpoints({ sessionDir: dir, status, logger, live: () => live, oldestQueued: () => oldestQueued });
  });

  afterEach(async () => {
    mock.timers.reset();
    await status.flush();
    await rm(dir, { recursive: true, force: true });
  });

  describe('doneBefore', () => {
    it('is true when live, settled, and nothing queued or running is that old', () => {
      assert.equal(cps.doneBefore(T), true);
    });

    it('is false while not live (a crawl is still to come)', () => {
      live = false;
      assert.equal(cps.doneBefore(T), false);
    });

    it('waits SETTLE_MS past the time, for the watcher to deliver the events of changes before it', () => {
      mock.timers.setTime(T + SETTLE_MS - 1);
      assert.equal(cps.doneBefore(T), false);
      mock.timers.setTime(T + SETTLE_MS);
      assert.equal(cps.doneBefore(T), true);
    });

    it('is false while a queued change may be from before the time (its origin at or before it)', () => {
      oldestQueued = T - 1;
      assert.equal(cps.doneBefore(T), false);
      oldestQueued = T;
      assert.equal(cps.doneBefore(T), false);
      oldestQueued = T + 1;
      assert.equal(cps.doneBefore(T), true, 'only newer changes are queued');
    });

    it('is false while held by work in flight that carries an older change, until each hold is released', () => {
      const batch = cps.hold(T - 500);
      const recheck = cps.hold(0);
      const newer = cps.hold(T + 1);
      assert.equal(cps.doneBefore(T), false);
      batch();
      assert.equal(cps.doneBefore(T), false, 'the recheck still holds it');
      recheck();
      assert.equal(cps.doneBefore(T), true, 'a hold on newer changes does not count');
      recheck();
      newer();
      assert.equal(cps.doneBefore(T), true, 'releasing twice is harmless');
    });

    it('counts holds at the very time as older', () => {
      const release = cps.hold(T);
      assert.equal(cps.doneBefore(T), false);
      release();
      assert.equal(cps.doneBefore(T), true);
    });
  });

  describe('follow', () => {
    const onDisk = async (): Promise<StatusRecord> => JSON.parse(await readFile(file, 'utf8')) as StatusRecord;

    it('does nothing without a checkpoint', async () => {
      await cps.follow();
      assert.deepEqual(status.current.checkpoint, BASE.checkpoint);
      assert.deepEqual(logger.lines, []);
    });

    it('takes a new time up first, then completes it on a later call, written out at once', async () => {
      await writeCheckpoint(dir, new Date(T));
      await cps.follow();
      assert.deepEqual(status.current.checkpoint, { time: iso(T), completed: false, completion_time: null });
      assert.deepEqual(logger.said('checkpoint set').map((l) => [l.level, l.fields]), [['info', { time: iso(T) }]]);

      mock.timers.setTime(T + 61_000);
      await cps.follow();
      const done = { time: iso(T), completed: true, completion_time: iso(T + 61_000) };
      assert.deepEqual(status.current.checkpoint, done);
      assert.deepEqual((await onDisk()).checkpoint, done, 'flushed, not left for the counters\' timer');
      assert.deepEqual(logger.said('checkpoint completed').map((l) => [l.level, l.fields]), [['info', { time: iso(T), completion_time: iso(T + 61_000) }]]);

      mock.timers.setTime(T + 62_000);
      await cps.follow();
      assert.deepEqual(status.current.checkpoint, done, 'completed once');
      assert.equal(logger.said('checkpoint completed').length, 1);
      assert.equal(logger.said('checkpoint set').length, 1);
    });

    it('does not complete while an older change is queued or in flight, and does once it is not', async () => {
      await writeCheckpoint(dir, new Date(T));
      await cps.follow();
      oldestQueued = T - 10;
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, false);
      oldestQueued = undefined;
      const release = cps.hold(T - 10);
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, false);
      release();
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, true);
    });

    it('does not complete while not live', async () => {
      await writeCheckpoint(dir, new Date(T));
      live = false;
      await cps.follow();
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, false);
      live = true;
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, true);
    });

    it('starts over when a new time is set after one completed', async () => {
      await writeCheckpoint(dir, new Date(T));
      await cps.follow();
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, true);

      const later = T + 30_000;
      await writeCheckpoint(dir, new Date(later));
      oldestQueued = later - 1;
      await cps.follow();
      assert.deepEqual(status.current.checkpoint, { time: iso(later), completed: false, completion_time: null });
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, false, 'a change from before it is still queued');
      oldestQueued = undefined;
      await cps.follow();
      assert.equal(status.current.checkpoint.completed, true);
      assert.equal(logger.said('checkpoint set').length, 2);
    });
  });
});
