/** src/session/failures.ts: what a failed batch means for its paths: retried with capped backoff, given up on, or Faulty. */
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Failures, errorsOf } from '../../src/session/failures.js';
import { SessionQueue } from '../../src/session/queue.js';
import { FailedPaths } from '../../src/session/failed-paths.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import type { SessionEvent } from '../../src/session/machine.js';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import { judgeBatch, type BatchVerdict } from '../../src/sync/batch-failures.js';
import type { BatchResult } from '../../src/sync/batch.js';
import { rsyncExit } from '../../src/sync/exit-codes.js';
import { parseRsyncStats } from '../../src/sync/rsync-stats.js';
import type { RsyncResult } from '../../src/sync/rsync-runner.js';
import { layer, toOptions } from '../../src/config/options.js';
import { RecordingLogger, statusBase } from '../helpers/session-fakes.js';

const MASTER = '/srv/master';
const SLAVE = '/srv/slave';

const BASE = statusBase({ master: MASTER, slave: SLAVE });

/** Time stands still at NOW while a test runs (Date only: the status writer's timer stays real). */
const NOW = 1_700_000_000_000;
const RETRY_ATTEMPTS = 3;
const RETRY_MAX_DELAY_S = 2;

const entry = (p: string, attempts = 0, recursive = false): Entry => ({ path: p, recursive, since: NOW - 5000, origin: NOW - 6000, attempts, notBefore: 0 });

const rsyncResult = (code: number, stderr: string): RsyncResult => ({ exit: rsyncExit(code), stats: parseRsyncStats(''), stderr, output: '', sent: undefined, seconds: 0.1 });

/** One flat rsync run of these entries that ended with `code` and said `stderr`, and what the session makes of it. */
function batch(entries: readonly Entry[], code: number, stderr: string): { verdict: BatchVerdict; result: BatchResult; fields: Record<string, unknown> } {
  const result: BatchResult = {
    entries,
    runs: [{ recursive: false, paths: entries.map((e) => e.path), result: rsyncResult(code, stderr) }],
    outcome: rsyncExit(code).outcome,
    files: 0,
    bytes: 0,
    literal: 0,
    seconds: 0.1,
    skippedDeletes: 0,
  };
  return { verdict: judgeBatch(entries, result.runs, MASTER, SLAVE), result, fields: { files: 0, rsync_exit: code } };
}

const unreadable = (p: string): string =>
  `rsync: [sender] send_files failed to open "${MASTER}/${p}": Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]`;
const diskFull = (p: string): string => `rsync: [receiver] write failed on "${SLAVE}/${p}": No space left on device (28)\nrsync error: error in file IO (code 11) at receiver.c(657) [receiver=3.5.0]`;

describe('Failures', () => {
  let dir: string;
  let status: StatusWriter;
  let logger: RecordingLogger;
  let changes: ChangeSet;
  let failed: FailedPaths;
  let fired: SessionEvent[];
  let failures: Failures;

  beforeEach(async () => {
    mock.timers.enable({ apis: ['Date'], now: NOW });
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-failures-'));
    status = await StatusWriter.open(path.join(dir, 'status.json'), BASE);
    logger = new RecordingLogger();
    const options = toOptions(layer({ 'retry-attempts': RETRY_ATTEMPTS, 'retry-max-delay': RETRY_MAX_DELAY_S }));
    changes = new ChangeSet(options.maxQueue);
    failed = new FailedPaths();
    const queue = new SessionQueue({ changes, failed, status, logger, maxQueue: options.maxQueue, kick: () => undefined });
    fired = [];
    failures = new Failures({
      options,
      logger,
      status,
      metrics: undefined,
      queue,
      failed,
      fire: (e) => {
        fired.push(e);
        return Promise.resolve();
      },
    });
  });

  afterEach(async () => {
    mock.timers.reset();
    await status.flush();
    await rm(dir, { recursive: true, force: true });
  });

  /** Everything queued, as the next batches would take it. */
  const takeAll = (): Entry[] => changes.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => false);
  /** The ceiling of the backoff before attempt `a`'s retry. */
  const ceiling = (a: number): number => Math.min(RETRY_MAX_DELAY_S * 1000, 1000 * 2 ** a);
  const assertBackoff = (e: Entry | undefined, attemptsBefore: number): void => {
    assert.ok(e);
    const delay = e.notBefore - NOW;
    assert.ok(delay >= ceiling(attemptsBefore) / 2 && delay <= ceiling(attemptsBefore), `${e.path}: a backoff of ${delay} ms after attempt ${attemptsBefore}`);
  };

  it('keeps each backoff between half and all of its ceiling, and never past --retry-max-delay', () => {
    for (let a = 0; a <= 40; a++) {
      for (let i = 0; i < 20; i++) {
        const ms = failures.backoff(a);
        assert.ok(ms >= ceiling(a) / 2 && ms <= ceiling(a), `attempt ${a}: ${ms} ms`);
        assert.ok(ms <= RETRY_MAX_DELAY_S * 1000);
      }
    }
  });

  it('requeues an unreadable master path with backoff, and gives up on it after --retry-attempts', async () => {
    let current: Entry = entry('a/secret');
    for (let attempt = 1; attempt < RETRY_ATTEMPTS; attempt++) {
      const { verdict, result, fields } = batch([current], 23, unreadable('a/secret'));
      await failures.afterBatch(verdict, result, fields);
      const [again, ...more] = takeAll();
      assert.deepEqual(more, []);
      assert.equal(again?.attempts, attempt);
      assertBackoff(again, attempt - 1);
      assert.ok(again);
      current = again;
      assert.equal(failed.size, 0, `attempt ${attempt} is no give-up`);
    }
    const { verdict, result, fields } = batch([current], 23, unreadable('a/secret'));
    await failures.afterBatch(verdict, result, fields);
    assert.deepEqual(takeAll(), [], 'given up: not queued again');
    assert.deepEqual(failed.list(), [
      { path: 'a/secret', reason: `send_files failed to open "${MASTER}/a/secret": Permission denied (13)`, attempts: RETRY_ATTEMPTS, since: new Date(NOW).toISOString() },
    ]);
    assert.equal(status.current.failures, 1);
    assert.deepEqual(status.current.failed_paths?.map((f) => f.path), ['a/secret']);
    assert.deepEqual(
      logger.said('giving up on a path until it changes again').map((l) => [l.level, l.fields['path'], l.fields['attempts']]),
      [['error', 'a/secret', RETRY_ATTEMPTS]],
    );
    assert.deepEqual(fired, [], 'the master side never makes the session Faulty');
  });

  it('requeues the failed paths only; the others went through', async () => {
    const { verdict, result, fields } = batch([entry('a/ok'), entry('a/secret'), entry('b')], 23, unreadable('a/secret'));
    assert.deepEqual(verdict.done.map((e) => e.path), ['a/ok', 'b']);
    await failures.afterBatch(verdict, result, fields);
    assert.deepEqual(changes.snapshot().map((e) => [e.path, e.attempts]), [['a/secret', 1]]);
  });

  it('logs the batch failure at its outcome\'s level, with counts, rsync\'s words and when it retries', async () => {
    const { verdict, result, fields } = batch([entry('a/ok'), entry('a/secret')], 23, unreadable('a/secret'));
    await failures.afterBatch(verdict, result, fields);
    const [queued] = changes.snapshot();
    assert.ok(queued);
    const lines = logger.said('batch failed');
    assert.deepEqual(
      lines.map((l) => [l.level, l.fields['failed'], l.fields['sent'], l.fields['rsync_exit'], l.fields['retry_in_s'], l.fields['error']]),
      [['error', 1, 1, 23, ((queued.notBefore - NOW) / 1000).toFixed(1), errorsOf(result)]],
    );
  });

  it('leaves retry_in_s out when every failed path was given up on', async () => {
    const { verdict, result, fields } = batch([entry('x', RETRY_ATTEMPTS - 1)], 23, unreadable('x'));
    await failures.afterBatch(verdict, result, fields);
    const lines = logger.said('batch failed');
    assert.equal(lines.length, 1);
    assert.equal('retry_in_s' in (lines[0]?.fields ?? {}), false);
  });

  it('counts several give-ups of one batch at once', async () => {
    const stderr = [unreadable('p'), unreadable('q')].join('\n');
    const { verdict, result, fields } = batch([entry('p', RETRY_ATTEMPTS - 1), entry('q', RETRY_ATTEMPTS - 1)], 23, stderr);
    await failures.afterBatch(verdict, result, fields);
    assert.equal(status.current.failures, 2);
    assert.deepEqual(status.current.failed_paths?.map((f) => f.path), ['p', 'q']);
  });

  it('makes the session Faulty when the slave refuses writes, and never gives up on those paths', async () => {
    const { verdict, result, fields } = batch([entry('big', 50)], 11, diskFull('big'));
    assert.equal(Failures.healthy(verdict), false);
    await failures.afterBatch(verdict, result, fields);
    assert.deepEqual(fired, [{ type: 'fault', reason: `the slave refused writes: write failed on "${SLAVE}/big": No space left on device (28)` }]);
    assert.equal(failed.size, 0);
    const [again] = takeAll();
    assert.equal(again?.attempts, 51);
    assertBackoff(again, 50);
  });

  it('makes the session Faulty when rsync fails as a whole, naming its exit status', async () => {
    const { verdict, result, fields } = batch([entry('a'), entry('b')], 1, 'rsync: --bogus-option: unknown option\nrsync error: syntax or usage error (code 1) at main.c(1795) [client=3.5.0]');
    assert.deepEqual(verdict.failed.map((f) => [f.entry.path, f.side, f.alone]), [['a', 'run', true], ['b', 'run', true]]);
    assert.equal(Failures.healthy(verdict), false);
    await failures.afterBatch(verdict, result, fields);
    assert.deepEqual(fired, [{ type: 'fault', reason: 'rsync failed (exit 1): rsync: --bogus-option: unknown option' }]);
    assert.deepEqual(changes.snapshot().map((e) => [e.path, e.attempts, e.alone]), [['a', 1, true], ['b', 1, true]], 'each retried in a batch of its own');
  });

  it('names the slave in the fault when a batch has both kinds of trouble', async () => {
    const verdict: BatchVerdict = {
      done: [],
      failed: [
        { entry: entry('a'), side: 'run', reason: 'killed', alone: false },
        { entry: entry('b'), side: 'receiver', reason: 'Read-only file system (30)', alone: false },
      ],
    };
    const { result } = batch([entry('a'), entry('b')], 23, '');
    await failures.afterBatch(verdict, result, { rsync_exit: 23 });
    assert.deepEqual(fired, [{ type: 'fault', reason: 'the slave refused writes: Read-only file system (30)' }]);
  });

  it('takes a batch whose failures were all on the master side as healthy', () => {
    const { verdict } = batch([entry('a/ok'), entry('a/secret')], 23, unreadable('a/secret'));
    assert.equal(Failures.healthy(verdict), true);
  });

  it('requeues every path of a batch that lost its connection, after the backoff of its most tried path', () => {
    failures.connectionLost([entry('a', 0), entry('b', 1), entry('c', 0)]);
    const queued = takeAll();
    assert.deepEqual(queued.map((e) => [e.path, e.attempts]), [['a', 1], ['b', 2], ['c', 1]]);
    for (const e of queued) assertBackoff(e, 1);
    assert.equal(new Set(queued.map((e) => e.notBefore)).size, 1, 'one backoff for the batch');
    assert.deepEqual(fired, [], 'the dispatcher and the reconnector decide about Faulty');
  });

  it('retries the master paths a Full Crawl could not send, each as a subtree', () => {
    failures.retryMasterPaths([
      { path: 'a/secret', side: 'sender', message: 'opendir "/srv/master/a/secret" failed: Permission denied (13)' },
      { path: '', side: 'sender', message: 'x' },
    ]);
    const queued = takeAll();
    assert.deepEqual(queued.map((e) => [e.path, e.recursive, e.attempts, e.origin]), [['', true, 1, 0]], 'the root covers the other');
    assertBackoff(queued[0], 0);
    assert.deepEqual(
      logger.said('could not send a path; retrying it').map((l) => [l.level, l.fields['path'], l.fields['reason']]),
      [
        ['error', 'a/secret', 'opendir "/srv/master/a/secret" failed: Permission denied (13)'],
        ['error', '.', 'x'],
      ],
    );
  });

  it('retries a Full Crawl\'s unreadable paths apart', () => {
    failures.retryMasterPaths([
      { path: 'a', side: 'sender', message: 'm1' },
      { path: 'b/c', side: 'sender', message: 'm2' },
    ]);
    assert.deepEqual(takeAll().map((e) => [e.path, e.recursive, e.attempts]), [['a', true, 1], ['b/c', true, 1]]);
  });

  it('counts failures in the status', () => {
    failures.count(3);
    failures.count(1);
    assert.equal(status.current.failures, 4);
  });

  it('requeues a batch of any size that lost its connection (batch-size allows a million)', () => {
    const many = Array.from({ length: 200_000 }, (_, i) => entry(`f${i}`));
    failures.connectionLost(many);
    assert.equal(changes.size > 0, true);
  });
});

describe('errorsOf', () => {
  it('gives the first ten lines of what rsync said, on one line', () => {
    const stderr = Array.from({ length: 12 }, (_, i) => `line ${i}\r`).join('\n');
    const { result } = batch([entry('a')], 23, stderr);
    assert.equal(errorsOf(result), Array.from({ length: 10 }, (_, i) => `line ${i}`).join(' | '));
  });

  it("gives the outcome's name when rsync said nothing", () => {
    const { result } = batch([entry('a')], 20, '');
    assert.equal(errorsOf(result), 'fatal');
  });
});

describe('judgeBatch: a listed path whose directory became a file meanwhile', () => {
  const notDir = (p: string): string =>
    `rsync: [sender] link_stat "${MASTER}/${p}" failed: Not a directory (20)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]`;

  it('is gone, as a missing one is: the run did all there was to do', () => {
    const { verdict } = batch([entry('d/c'), entry('e')], 23, notDir('d/c'));
    assert.deepEqual(verdict.failed, []);
  });

  it('beside another error, only the other fails', () => {
    const { verdict } = batch([entry('d/c'), entry('e')], 23, `${notDir('d/c')}\n${unreadable('e')}`);
    assert.deepEqual(
      verdict.failed.map((f) => f.entry.path),
      ['e'],
    );
  });
});
