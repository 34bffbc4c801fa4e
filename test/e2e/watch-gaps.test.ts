// Changes the watcher itself would not report: files written later into directories made
// with `mkdir -p` or moved in whole (their inner directories get no watch from
// @parcel/watcher), and a change whose event is dropped, repaired by the reconciliation
// before a snapshot (a fresh scan against the last snapshot).
import assert from 'node:assert/strict';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('what the watcher does not report', () => {
  it('mirrors files written later into nested directories made at once or moved in', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'watch-gaps');
    makeSmallTree(layout.master);
    const g = await startGsyncd([layout.master, layout.slave]);
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    mkdirSync(path.join(layout.master, 'p', 'q', 'r', 's'), { recursive: true });
    const outside = path.join(layout.outside, 'tree');
    mkdirSync(path.join(outside, 'x', 'y'), { recursive: true });
    writeFileSync(path.join(outside, 'x', 'y', 'old.txt'), 'old\n');
    renameSync(outside, path.join(layout.master, 'moved'));
    await waitForMirror(layout.master, layout.slave, 30_000);
    // Later: nothing else happens in these directories but these writes.
    await delay(500);
    writeFileSync(path.join(layout.master, 'p', 'q', 'r', 's', 'late.txt'), 'late\n');
    writeFileSync(path.join(layout.master, 'moved', 'x', 'y', 'late.txt'), 'late too\n');
    await waitForMirror(layout.master, layout.slave, 15_000);
    await stopAndAssertClean(g);
  });

  it('sends, before the next snapshot, a change whose event never came', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'watch-missed');
    makeSmallTree(layout.master);
    // The poll watcher with a long interval stands for a watcher that dropped an event.
    const g = await startGsyncd(['--watcher', 'poll', '--poll-interval', '3600', '--snapshot-interval', '1', layout.master, layout.slave]);
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    await g.waitForLog('snapshot saved', 30_000);
    writeFileSync(path.join(layout.master, 'unseen.txt'), 'no event for this\n');
    await g.waitForLog('watcher missed changes; sending them', 30_000);
    await waitForMirror(layout.master, layout.slave, 15_000);
    assert.ok(g.findLog(/watcher missed changes; sending them paths=1 first=unseen.txt/) >= 0, g.tail());
    await stopAndAssertClean(g);
  });
});
