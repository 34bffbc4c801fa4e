/** src/session/checkpoint.ts: the checkpoint time as users write it. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCheckpointTime } from '../../src/session/checkpoint.js';

describe('parseCheckpointTime', () => {
  const now = new Date('2026-11-27T06:00:00.000Z');
  it('now is now', () => {
    assert.equal(parseCheckpointTime('now', now), now);
  });
  it('reads ISO times, with or without a zone', () => {
    assert.equal(parseCheckpointTime('2026-11-27T05:00:00Z', now)?.toISOString(), '2026-11-27T05:00:00.000Z');
    assert.equal(parseCheckpointTime('2026-11-27T05:00:00+01:00', now)?.toISOString(), '2026-11-27T04:00:00.000Z');
  });
  it('refuses what is not a time', () => {
    for (const bad of ['yesterday', '', 'now-1h', '2026-13-45']) assert.equal(parseCheckpointTime(bad, now), undefined, bad);
  });
});
