/** src/session/lifecycle.ts: each event goes through the table, is shown in the status file at once and logged once. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Lifecycle } from '../../src/session/lifecycle.js';
import { IllegalTransition, type SessionEvent } from '../../src/session/machine.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import type { StatusRecord } from '../../src/status/status.js';
import { RecordingLogger, statusBase } from '../helpers/session-fakes.js';

const BASE = statusBase({ slave: 'backup:/srv/slave', status: 'Created', crawl_status: 'N/A' });

const PHASE_CHANGED = 'session phase changed';
const FAULTY = 'session Faulty';
const HEALTHY = 'session healthy again';

describe('Lifecycle', () => {
  let dir: string;
  let file: string;
  let status: StatusWriter;
  let logger: RecordingLogger;
  let life: Lifecycle;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-lifecycle-'));
    file = path.join(dir, 'status.json');
    status = await StatusWriter.open(file, BASE);
    logger = new RecordingLogger();
    life = new Lifecycle(status, logger, 'web');
  });

  afterEach(async () => {
    await status.flush();
    await rm(dir, { recursive: true, force: true });
  });

  /** The status file as `gsyncd status` reads it. */
  const onDisk = async (): Promise<StatusRecord> => JSON.parse(await readFile(file, 'utf8')) as StatusRecord;
  /** What the file shows: status, crawl, and the reason when there is one. */
  const shownOnDisk = async (): Promise<[string, string, string | undefined]> => {
    const r = await onDisk();
    return [r.status, r.crawl_status, r.reason];
  };
  const fireAll = async (...events: SessionEvent[]): Promise<void> => {
    for (const e of events) await life.fire(e);
  };

  it('starts Created, not live, not Faulty', () => {
    assert.equal(life.phase(), 'Created');
    assert.equal(life.live(), false);
    assert.equal(life.faultyReason(), undefined);
    assert.deepEqual(life.state, { phase: 'Created', faulty: undefined, paused: false });
  });

  it('writes each phase to the status file as it is entered (Full Crawl path)', async () => {
    await life.fire({ type: 'start' });
    assert.deepEqual(await shownOnDisk(), ['Initializing', 'N/A', undefined]);
    await life.fire({ type: 'full' });
    assert.deepEqual(await shownOnDisk(), ['Initializing', 'Full Crawl', undefined]);
    assert.equal(life.live(), false, 'a Full Crawl sends no batches');
    await life.fire({ type: 'crawled' });
    assert.deepEqual(await shownOnDisk(), ['Active', 'Changelog Crawl', undefined]);
    assert.equal(life.live(), true);
  });

  it('writes the History Crawl as Active, and it is live', async () => {
    await fireAll({ type: 'start' }, { type: 'history' });
    assert.deepEqual(await shownOnDisk(), ['Active', 'History Crawl', undefined]);
    assert.equal(life.phase(), 'HistoryCrawl');
    assert.equal(life.live(), true);
  });

  it('logs "session phase changed" once per phase change, with from, to and the event', async () => {
    await fireAll({ type: 'start' }, { type: 'full' }, { type: 'crawled' });
    assert.deepEqual(
      logger.said(PHASE_CHANGED).map((l) => [l.level, l.fields]),
      [
        ['info', { session: 'web', from: 'Created', to: 'Initializing', event: 'start' }],
        ['info', { session: 'web', from: 'Initializing', to: 'Full Crawl', event: 'full' }],
        ['info', { session: 'web', from: 'Full Crawl', to: 'Changelog Crawl', event: 'crawled' }],
      ],
    );
  });

  it('applies an event at once, before the status file is written', async () => {
    const written = life.fire({ type: 'start' });
    assert.equal(life.phase(), 'Initializing', 'a caller that checked the phase cannot be overtaken');
    await written;
    assert.deepEqual(await shownOnDisk(), ['Initializing', 'N/A', undefined]);
  });

  it('leaves the file showing the last of several events fired without waiting', async () => {
    const writes = [life.fire({ type: 'start' }), life.fire({ type: 'full' }), life.fire({ type: 'crawled' })];
    await Promise.all(writes);
    assert.deepEqual(await shownOnDisk(), ['Active', 'Changelog Crawl', undefined]);
  });

  it('shows Faulty with its reason, and logs "session Faulty" once per reason', async () => {
    await fireAll({ type: 'start' }, { type: 'history' }, { type: 'crawled' });
    await life.fire({ type: 'fault', reason: 'the slave refused writes: No space left on device (28)' });
    assert.deepEqual(await shownOnDisk(), ['Faulty', 'Changelog Crawl', 'the slave refused writes: No space left on device (28)']);
    assert.equal(life.faultyReason(), 'the slave refused writes: No space left on device (28)');

    // The same reason again changes nothing: no second line.
    await life.fire({ type: 'fault', reason: 'the slave refused writes: No space left on device (28)' });
    assert.equal(logger.said(FAULTY).length, 1);

    // Another reason is news.
    await life.fire({ type: 'fault', reason: 'rsync failed (exit 12): protocol data stream' });
    assert.deepEqual(await shownOnDisk(), ['Faulty', 'Changelog Crawl', 'rsync failed (exit 12): protocol data stream']);
    assert.deepEqual(
      logger.said(FAULTY).map((l) => [l.level, l.fields]),
      [
        ['warn', { session: 'web', reason: 'the slave refused writes: No space left on device (28)' }],
        ['warn', { session: 'web', reason: 'rsync failed (exit 12): protocol data stream' }],
      ],
    );
    assert.equal(logger.said(PHASE_CHANGED).length, 3, 'a fault is no phase change');
  });

  it('clears Faulty on healthy: the reason leaves the file, "session healthy again" is logged once', async () => {
    await fireAll({ type: 'start' }, { type: 'full' }, { type: 'fault', reason: 'connection lost during Full Crawl: EOF' });
    await life.fire({ type: 'healthy' });
    const r = await onDisk();
    assert.deepEqual([r.status, r.crawl_status], ['Initializing', 'Full Crawl']);
    assert.equal('reason' in r, false, 'no reason key once healthy');
    await life.fire({ type: 'healthy' });
    assert.deepEqual(
      logger.said(HEALTHY).map((l) => [l.level, l.fields]),
      [['info', { session: 'web' }]],
    );
  });

  it('clears on linkBack a fault the link caused, and no other', async () => {
    await fireAll({ type: 'start' }, { type: 'history' });
    await life.fire({ type: 'fault', reason: 'slave unreachable: Connection refused' });
    await life.fire({ type: 'linkBack' });
    assert.equal(life.faultyReason(), undefined);
    assert.deepEqual(await shownOnDisk(), ['Active', 'History Crawl', undefined]);
    assert.equal(logger.said(HEALTHY).length, 1);

    await life.fire({ type: 'fault', reason: 'the slave refused writes: Read-only file system (30)' });
    await life.fire({ type: 'linkBack' });
    assert.equal(life.faultyReason(), 'the slave refused writes: Read-only file system (30)');
    assert.deepEqual(await shownOnDisk(), ['Faulty', 'History Crawl', 'the slave refused writes: Read-only file system (30)']);
    assert.equal(logger.said(HEALTHY).length, 1, 'still Faulty: nothing to log');
  });

  it('shows Paused over Faulty, and Faulty again on resume', async () => {
    await fireAll({ type: 'start' }, { type: 'history' }, { type: 'crawled' }, { type: 'fault', reason: 'slave unreachable: timeout' });
    await life.fire({ type: 'pause' });
    assert.deepEqual(await shownOnDisk(), ['Paused', 'Changelog Crawl', undefined]);
    assert.equal(life.state.paused, true);
    await life.fire({ type: 'resume' });
    assert.deepEqual(await shownOnDisk(), ['Faulty', 'Changelog Crawl', 'slave unreachable: timeout']);
    assert.equal(logger.said(PHASE_CHANGED).length, 3, 'pause and resume are no phase changes');
    assert.equal(logger.said(FAULTY).length, 1, 'the fault was not new');
  });

  it('shows the phase it stopped from while Stopping, then Stopped', async () => {
    await fireAll({ type: 'start' }, { type: 'history' }, { type: 'crawled' });
    await life.fire({ type: 'stop' });
    assert.equal(life.phase(), 'Stopping');
    assert.equal(life.live(), false);
    assert.deepEqual(await shownOnDisk(), ['Active', 'Changelog Crawl', undefined]);
    await life.fire({ type: 'stopped' });
    assert.deepEqual(await shownOnDisk(), ['Stopped', 'N/A', undefined]);
    assert.deepEqual(
      logger.said(PHASE_CHANGED).slice(-2).map((l) => [l.fields['from'], l.fields['to'], l.fields['event']]),
      [
        ['Changelog Crawl', 'Stopping', 'stop'],
        ['Stopping', 'Stopped', 'stopped'],
      ],
    );
  });

  it('shows a failed stop as Faulty with the reason it had, without logging a new fault', async () => {
    await fireAll({ type: 'start' }, { type: 'full' }, { type: 'fault', reason: 'rsync failed (exit 23): x' }, { type: 'stop' });
    await life.fire({ type: 'failed' });
    assert.equal(life.phase(), 'Failed');
    assert.deepEqual(await shownOnDisk(), ['Faulty', 'N/A', 'rsync failed (exit 23): x']);
    assert.equal(logger.said(FAULTY).length, 1);
    assert.equal(logger.said(HEALTHY).length, 0);
  });

  it('takes late reports once stopping without a change, a write or a line', async () => {
    await fireAll({ type: 'start' }, { type: 'stop' });
    const linesBefore = logger.lines.length;
    const recordBefore = status.current;
    for (const e of [{ type: 'fault', reason: 'slave unreachable: gone' }, { type: 'linkBack' }, { type: 'healthy' }, { type: 'pause' }, { type: 'stop' }] as const) {
      await life.fire(e);
    }
    assert.equal(life.phase(), 'Stopping');
    assert.equal(life.faultyReason(), undefined);
    assert.equal(status.current, recordBefore, 'nothing shown');
    assert.equal(logger.lines.length, linesBefore, 'nothing logged');
    await life.fire({ type: 'stopped' });
    await life.fire({ type: 'fault', reason: 'slave unreachable: gone' });
    assert.deepEqual(await shownOnDisk(), ['Stopped', 'N/A', undefined]);
  });

  it('throws IllegalTransition on an event its phase has no row for, and changes nothing', async () => {
    await life.fire({ type: 'start' });
    const recordBefore = status.current;
    const linesBefore = logger.lines.length;
    assert.throws(
      () => life.fire({ type: 'crawled' }),
      (e: unknown) => e instanceof IllegalTransition && e.from === 'Initializing' && e.event === 'crawled',
    );
    assert.throws(() => new Lifecycle(status, logger, 'web').fire({ type: 'fault', reason: 'x' }), IllegalTransition);
    assert.equal(life.phase(), 'Initializing');
    assert.equal(status.current, recordBefore);
    assert.equal(logger.lines.length, linesBefore);
    assert.deepEqual(await shownOnDisk(), ['Initializing', 'N/A', undefined]);
  });

  it('keeps the rest of the status record when it writes a state', async () => {
    status.update((s) => ({ ...s, pending: 7, failures: 2 }));
    await life.fire({ type: 'start' });
    const r = await onDisk();
    assert.deepEqual([r.session, r.master, r.slave, r.pending, r.failures], ['web', '/srv/master', 'backup:/srv/slave', 7, 2]);
  });
});
