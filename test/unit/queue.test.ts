/** src/session/queue.ts: queueing forgives a failed path, shows what is pending, and warns when the bound folds a subtree. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SessionQueue } from '../../src/session/queue.js';
import { FailedPaths } from '../../src/session/failed-paths.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import type { StatusRecord } from '../../src/status/status.js';
import { RecordingLogger, statusBase } from '../helpers/session-fakes.js';

const BASE = statusBase();

const FOLDED = 'queue bound reached; resyncing a subtree as a whole';
const MAX_QUEUE = 10;

describe('SessionQueue', () => {
  let dir: string;
  let file: string;
  let status: StatusWriter;
  let logger: RecordingLogger;
  let changes: ChangeSet;
  let failed: FailedPaths;
  let kicks: number;
  let queue: SessionQueue;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-queue-'));
    file = path.join(dir, 'status.json');
    status = await StatusWriter.open(file, BASE);
    logger = new RecordingLogger();
    changes = new ChangeSet(MAX_QUEUE);
    failed = new FailedPaths();
    kicks = 0;
    queue = new SessionQueue({
      changes,
      failed,
      status,
      logger,
      maxQueue: MAX_QUEUE,
      kick: () => {
        kicks++;
      },
    });
  });

  afterEach(async () => {
    await status.flush();
    await rm(dir, { recursive: true, force: true });
  });

  /** The status file once the counters have been written out. */
  const onDisk = async (): Promise<StatusRecord> => {
    await status.flush();
    return JSON.parse(await readFile(file, 'utf8')) as StatusRecord;
  };
  const queued = (): [string, boolean][] => changes.snapshot().map((e) => [e.path, e.recursive]);
  const giveUp = (p: string): void => {
    failed.record(p, 'send_files failed to open: Permission denied (13)', 6, new Date(0));
  };

  it('queues a path and shows the count as pending', async () => {
    queue.add('a/x', false);
    queue.add('b', true);
    queue.add('a/x', false);
    assert.equal(queue.size, 2, 'events on one path coalesce');
    assert.ok(queue.has('a/x'));
    assert.ok(queue.has('b'));
    assert.ok(!queue.has('a'));
    assert.deepEqual(queued(), [['a/x', false], ['b', true]]);
    assert.equal((await onDisk()).pending, 2);
  });

  it('passes the origin on, for checkpoints', () => {
    queue.add('a', false, 1234);
    queue.add('b', false, 99);
    assert.equal(changes.oldestOrigin(), 99);
  });

  it('lets a batch start on push, not on add', () => {
    queue.add('a', false);
    assert.equal(kicks, 0);
    queue.push('b', false);
    assert.equal(kicks, 1);
    queue.kick();
    assert.equal(kicks, 2);
    assert.equal(queue.size, 2);
  });

  it('forgives a failed path when it is queued again, and shows the shorter list', async () => {
    giveUp('a/x');
    giveUp('b');
    queue.publishFailed();
    assert.deepEqual((await onDisk()).failed_paths?.map((f) => f.path), ['a/x', 'b']);

    queue.add('a/x', false);
    assert.equal(failed.has('a/x'), false);
    assert.equal(failed.has('b'), true);
    assert.deepEqual((await onDisk()).failed_paths?.map((f) => f.path), ['b']);
  });

  it('forgives what lies inside a directory queued recursively, and nothing beside it', async () => {
    for (const p of ['d/x', 'd/sub/y', 'dd', 'e']) giveUp(p);
    queue.publishFailed();
    queue.add('d', true);
    assert.deepEqual(failed.list().map((f) => f.path), ['dd', 'e']);
    assert.deepEqual((await onDisk()).failed_paths?.map((f) => f.path), ['dd', 'e']);
  });

  it('leaves the failed list alone when the queued path was not on it', async () => {
    giveUp('b');
    queue.publishFailed();
    queue.add('d', false);
    queue.add('bb', true);
    assert.equal(failed.has('b'), true);
    assert.deepEqual((await onDisk()).failed_paths?.map((f) => f.path), ['b']);
  });

  it('warns once when the bound folds a subtree, with what it folded', () => {
    for (let i = 0; i < MAX_QUEUE; i++) queue.add(`d/f${i}`, false);
    assert.equal(logger.said(FOLDED).length, 0, 'at the bound, not past it');
    queue.add('d/one-more', false);
    assert.deepEqual(
      logger.said(FOLDED).map((l) => [l.level, l.fields]),
      [['warn', { subtree: 'd', folded_paths: MAX_QUEUE, max_queue: MAX_QUEUE }]],
    );
    assert.deepEqual(queued(), [['d', true]]);
    // Later changes inside the folded subtree are covered by it: no new warning.
    queue.add('d/later', false);
    assert.equal(logger.said(FOLDED).length, 1);
    assert.equal(queue.size, 1);
  });

  it('names the whole tree "." when every queued path is a top-level name of its own', async () => {
    for (let i = 0; i <= MAX_QUEUE; i++) queue.add(`f${i}`, false);
    assert.deepEqual(logger.said(FOLDED).map((l) => l.fields['subtree']), ['.']);
    assert.deepEqual(queued(), [['', true]]);
    assert.equal((await onDisk()).pending, 1);
  });

  it('requeues failed entries with their backoff, counts the attempt, and shows pending', async () => {
    const entry: Entry = { path: 'a', recursive: false, since: 5, origin: 5, attempts: 1, notBefore: 0 };
    queue.requeue([entry], 10_000);
    const [again] = changes.snapshot();
    assert.deepEqual(again, { ...entry, attempts: 2, notBefore: 10_000 });
    assert.equal(kicks, 0, 'a requeue waits for the scheduler');
    assert.equal((await onDisk()).pending, 1);
  });

  it('requeues without counting an attempt, and alone, when asked', () => {
    const entry: Entry = { path: 'a', recursive: false, since: 5, origin: 5, attempts: 1, notBefore: 0 };
    queue.requeue([entry], 0, false, true);
    assert.deepEqual(changes.snapshot(), [{ ...entry, attempts: 1, notBefore: 0, alone: true }]);
  });

  it('does not forgive a failed path on a requeue: only a change does', () => {
    giveUp('a');
    queue.requeue([{ path: 'a', recursive: false, since: 0, origin: 0, attempts: 0, notBefore: 0 }], 0);
    assert.equal(failed.has('a'), true);
  });
});
