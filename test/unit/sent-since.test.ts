/** src/session/sent-since.ts: which changes since the last snapshot were sent, for the reconciliation. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SentSince } from '../../src/session/sent-since.js';

describe('SentSince', () => {
  it('covers a path listed by a run that started after its change, not before', () => {
    const s = new SentSince();
    s.add(['a/f'], 1000);
    assert.equal(s.covers('a/f', 999), true);
    assert.equal(s.covers('a/f', 1000), false, 'changed as the run started: not known to be sent');
    assert.equal(s.covers('a/g', 10), false);
  });

  it('covers what lies in a subtree sent whole, and a later listing replaces the time', () => {
    const s = new SentSince();
    s.add(['a'], 1000, true);
    assert.equal(s.covers('a/b/c', 500), true);
    assert.equal(s.covers('a/b/c', 1500), false);
    assert.equal(s.covers('ab/c', 500), false, 'a sibling with a longer name is not inside');
    s.add(['a/b/c'], 2000);
    assert.equal(s.covers('a/b/c', 1500), true);
  });

  it('counts a delete as sent only when a run listed the path itself', () => {
    const s = new SentSince();
    s.add(['gone'], 1000);
    s.add(['dir'], 1000, true);
    assert.equal(s.covers('gone', undefined), true);
    assert.equal(s.covers('dir/inside', undefined), false);
  });

  it('a directory listed for its attributes does not cover its content', () => {
    const s = new SentSince();
    s.add([''], 1000);
    assert.equal(s.covers('f', 10), false);
    assert.equal(s.covers('', 10), true);
  });

  it('a directory listed for its attributes, then sent whole, is covered from the later run', () => {
    // npm: node_modules sent for its time early on, then whole after more changes in it. Taking
    // the first run's time made every reconciliation find it unsent again, forever.
    const s = new SentSince();
    s.add(['node_modules'], 1000);
    s.add(['node_modules'], 3000, true);
    assert.equal(s.covers('node_modules', 2000), true);
    s.add(['later'], 3000, true);
    s.add(['later'], 4000);
    assert.equal(s.covers('later', 3500), true);
    assert.equal(s.covers('later/inside', 3500), false);
  });

  it('covers nothing once past its bound, or after clear', () => {
    const s = new SentSince();
    s.add(Array.from({ length: 200_001 }, (_, i) => `f${i}`), 1000);
    assert.equal(s.covers('f1', 10), false);
    s.clear();
    s.add(['x'], 1000);
    assert.equal(s.covers('x', 10), true);
    s.clear();
    assert.equal(s.covers('x', 10), false);
  });
});
