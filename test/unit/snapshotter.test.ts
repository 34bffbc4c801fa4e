/** src/session/history.ts: when the Snapshotter reconciles, and which candidates it keeps. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Snapshotter, type SnapshotterDeps } from '../../src/session/history.js';
import { SavedState } from '../../src/session/saved-state.js';
import type { Logger } from '../../src/log/logger.js';

const silent = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined } as unknown as Logger;

function make(now: () => number, idle: () => boolean): { s: Snapshotter; reconciles: () => number; writes: () => number } {
  let reconciles = 0;
  let writes = 0;
  const deps: SnapshotterDeps = {
    // Never touched: no snapshot is saved in these tests.
    saved: new SavedState('/nonexistent'),
    logger: silent,
    idle,
    lastEventAt: () => 0,
    write: () => {
      writes++;
      return Promise.resolve();
    },
    marker: () => ({ version: 1, master: '/m', slave: '/s', slaveId: null, snapshotAt: new Date(0).toISOString() }),
    intervalMs: 300_000,
    now,
    reconcile: () => {
      reconciles++;
      return Promise.resolve(0);
    },
  };
  return { s: new Snapshotter(deps), reconciles: () => reconciles, writes: () => writes };
}

describe('Snapshotter under changes that never pause', () => {
  it('reconciles once a minute while never idle, and saves no snapshot', async () => {
    let t = 1_000_000;
    const { s, reconciles, writes } = make(() => t, () => false);
    for (const at of [0, 30_000, 59_000]) {
      t = 1_000_000 + at;
      await s.tick();
    }
    assert.equal(reconciles(), 0, 'not before a minute');
    t = 1_000_000 + 61_000;
    await s.tick();
    assert.equal(reconciles(), 1);
    t += 1_000;
    await s.tick();
    assert.equal(reconciles(), 1, 'not again at once');
    t += 61_000;
    await s.tick();
    assert.equal(reconciles(), 2);
    assert.equal(writes(), 0, 'a snapshot needs quiet');
  });
});

/** A quiet session with a state directory of its own; `unsent` is what the candidate's check finds. */
function quiet(unsent: number): { s: Snapshotter; saved: SavedState; counts: { writes: number; reconciles: number; checks: number }; done: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-snapshotter-'));
  const saved = new SavedState(dir);
  const counts = { writes: 0, reconciles: 0, checks: 0 };
  const s = new Snapshotter({
    saved,
    logger: silent,
    idle: () => true,
    lastEventAt: () => 0,
    write: (file) => {
      counts.writes++;
      writeFileSync(file, 'listing');
      return Promise.resolve();
    },
    marker: () => ({ version: 1, master: '/m', slave: '/s', slaveId: null, snapshotAt: new Date(0).toISOString() }),
    intervalMs: 300_000,
    now: () => 1_000_000,
    reconcile: () => {
      counts.reconciles++;
      return Promise.resolve(0);
    },
    checkCandidate: () => {
      counts.checks++;
      return Promise.resolve(unsent);
    },
  });
  return { s, saved, counts, done: () => { rmSync(dir, { recursive: true, force: true }); } };
}

describe('Snapshotter when quiet', () => {
  it('keeps a candidate whose check finds nothing unsent, listing the tree once for it', async () => {
    const q = quiet(0);
    try {
      await q.s.tick();
      assert.equal(q.counts.writes, 1, 'one listing: the candidate');
      assert.equal(q.counts.checks, 1, 'the candidate is checked against the last snapshot');
      assert.equal(q.counts.reconciles, 1, 'the first tick reconciles; the save lists nothing more');
      assert.ok(existsSync(q.saved.snapshotFile), 'the candidate became the snapshot');
      assert.ok(!existsSync(q.saved.candidateFile));
    } finally {
      q.done();
    }
  });

  it('drops a candidate holding a change that was never sent', async () => {
    const q = quiet(2);
    try {
      await q.s.tick();
      assert.equal(q.counts.checks, 1);
      assert.ok(!existsSync(q.saved.snapshotFile), 'no snapshot saved');
      assert.ok(!existsSync(q.saved.candidateFile), 'the candidate is gone');
    } finally {
      q.done();
    }
  });
});
