/** src/session/pause.ts: the pause request file, the gate rsync runs consult, and followPause applying a request. */
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PauseGate, followPause, pauseRequested, requestPause, type PauseFollowerDeps } from '../../src/session/pause.js';
import type { SessionEvent } from '../../src/session/machine.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

describe('pause requests', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-pause-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are a file in the session directory, set and cleared', async () => {
    assert.equal(await pauseRequested(dir), false);
    await requestPause(dir, true);
    assert.equal(await pauseRequested(dir), true);
    await requestPause(dir, true);
    assert.equal(await pauseRequested(dir), true);
    await requestPause(dir, false);
    assert.equal(await pauseRequested(dir), false);
    await requestPause(dir, false);
    assert.equal(await pauseRequested(dir), false, 'resuming a running session is fine');
    assert.deepEqual(await readdir(dir), [], 'nothing left behind');
  });

  it('read as not paused when the session directory is missing', async () => {
    assert.equal(await pauseRequested(path.join(dir, 'no-such-session')), false);
  });
});

describe('PauseGate', () => {
  it('starts running, and says whether a set changed anything', () => {
    const gate = new PauseGate();
    assert.equal(gate.isPaused, false);
    assert.equal(gate.set(false), false);
    assert.equal(gate.set(true), true);
    assert.equal(gate.isPaused, true);
    assert.equal(gate.set(true), false);
    assert.equal(gate.set(false), true);
    assert.equal(gate.isPaused, false);
  });

  it('stops the runs in progress on a pause, and gives fresh signals after a resume', () => {
    const gate = new PauseGate();
    const kill = new AbortController();
    const before = gate.runSignal(kill.signal);
    assert.equal(before.aborted, false);
    gate.set(true);
    assert.equal(before.aborted, true);
    gate.set(false);
    const after = gate.runSignal(kill.signal);
    assert.equal(after.aborted, false);
    kill.abort();
    assert.equal(after.aborted, true, 'the kill signal stops a run too');
  });

  it('gives an aborted signal to a run started while paused', () => {
    const gate = new PauseGate();
    gate.set(true);
    assert.equal(gate.runSignal(new AbortController().signal).aborted, true);
  });

  it('lets waiters go at once when running, or when stopping', async () => {
    const gate = new PauseGate();
    await gate.whenRunning(new AbortController().signal);
    gate.set(true);
    await gate.whenRunning(AbortSignal.abort());
  });

  it('holds waiters while paused and lets them all go on resume', async () => {
    const gate = new PauseGate();
    gate.set(true);
    const stop = new AbortController();
    let released = 0;
    const waits = [gate.whenRunning(stop.signal), gate.whenRunning(stop.signal)].map((p) =>
      p.then(() => {
        released++;
      }),
    );
    // Let anything that would have resolved them already run.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(released, 0);
    gate.set(false);
    await Promise.all(waits);
    assert.equal(released, 2);
  });

  it('lets a paused waiter go when the stop signal aborts', async () => {
    const gate = new PauseGate();
    gate.set(true);
    const stop = new AbortController();
    const waiting = gate.whenRunning(stop.signal);
    stop.abort();
    await waiting;
    assert.equal(gate.isPaused, true);
  });
});

describe('followPause', () => {
  let dir: string;
  /** Every call on the batches and every fired event, in order. */
  let calls: string[];
  let fired: SessionEvent[];
  let logger: RecordingLogger;
  let gate: PauseGate;
  let stop: boolean;
  let sending: boolean;
  let deps: PauseFollowerDeps;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-follow-pause-'));
    calls = [];
    fired = [];
    logger = new RecordingLogger();
    gate = new PauseGate();
    stop = false;
    sending = true;
    deps = {
      sessionDir: dir,
      session: 'web',
      gate,
      logger,
      fire: (e) => {
        calls.push(`fire ${e.type}`);
        fired.push(e);
        return Promise.resolve();
      },
      stopRequested: () => stop,
      batches: {
        pause: () => {
          calls.push('batches.pause');
        },
        resume: () => {
          calls.push('batches.resume');
        },
        active: 2,
      },
      sending: () => sending,
      pending: () => 17,
    };
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('changes nothing without a request', async () => {
    await followPause(deps);
    assert.equal(gate.isPaused, false);
    assert.deepEqual(calls, []);
    assert.deepEqual(logger.lines, []);
  });

  it('pauses: the gate closes, the batches stop first, then the session shows it', async () => {
    const run = gate.runSignal(new AbortController().signal);
    await requestPause(dir, true);
    await followPause(deps);
    assert.equal(gate.isPaused, true);
    assert.equal(run.aborted, true, 'the running rsync is stopped');
    assert.deepEqual(calls, ['batches.pause', 'fire pause']);
    assert.deepEqual(
      logger.said('session paused').map((l) => [l.level, l.fields]),
      [['info', { session: 'web', pending: 17, stopping_rsync: 2 }]],
    );
  });

  it('applies a request once: later calls with the same request do nothing', async () => {
    await requestPause(dir, true);
    await followPause(deps);
    await followPause(deps);
    await followPause(deps);
    assert.deepEqual(calls, ['batches.pause', 'fire pause']);
    assert.equal(logger.said('session paused').length, 1);
  });

  it('resumes: the gate opens, the session shows it, then the batches go', async () => {
    await requestPause(dir, true);
    await followPause(deps);
    const waiting = gate.whenRunning(new AbortController().signal);
    await requestPause(dir, false);
    await followPause(deps);
    await waiting;
    assert.equal(gate.isPaused, false);
    assert.deepEqual(calls, ['batches.pause', 'fire pause', 'fire resume', 'batches.resume']);
    assert.deepEqual(fired, [{ type: 'pause' }, { type: 'resume' }]);
    assert.deepEqual(
      logger.said('session resumed').map((l) => [l.level, l.fields]),
      [['info', { session: 'web', pending: 17 }]],
    );
  });

  it('keeps the batches held on resume while sending has not begun (the initial sync is under way)', async () => {
    sending = false;
    await requestPause(dir, true);
    await followPause(deps);
    await requestPause(dir, false);
    await followPause(deps);
    assert.equal(gate.isPaused, false);
    assert.deepEqual(calls, ['batches.pause', 'fire pause', 'fire resume']);
  });

  it('changes nothing once a stop was asked', async () => {
    await requestPause(dir, true);
    stop = true;
    await followPause(deps);
    assert.equal(gate.isPaused, false);
    assert.deepEqual(calls, []);
    assert.deepEqual(logger.lines, []);
  });
});
