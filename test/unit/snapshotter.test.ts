/** src/session/history.ts: when the Snapshotter reconciles while batches never stop. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
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
