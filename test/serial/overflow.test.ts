// The kernel's inotify event queue overflowing: events are dropped, and gsyncd's
// reconciliation finds and sends them. The queue's length is a machine-wide limit
// (fs.inotify.max_queued_events, taken by an inotify instance when it is made), lowered
// only while this test's gsyncd starts watching, then restored: this file runs on its own,
// before the parallel suites, so that no other test's watcher is made in that moment.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor, type Layout } from '../helpers/scope.js';
import { writeFiles } from '../helpers/tree.js';

const NEEDS_ROOT = process.getuid?.() === 0 ? false : 'needs root (a machine-wide inotify limit)';
const CONVERGE_MS = 90_000;

/**
 * gsyncd with `watcher` on a tree of 2,000 files, its inotify instance made with a queue of
 * 16 events (an instance takes the limit when it is made: lowered only while gsyncd starts
 * watching, then restored), live; then far more events than 16 at once, on files that exist
 * (no new directory to resend whole): the kernel drops most.
 */
async function overflowed(t: TestContext, watcher: string): Promise<{ g: GsyncdProcess; layout: Layout }> {
  const scope = scopeFor(t);
  const layout = await makeLayout(scope, `overflow-${watcher}`);
  writeFiles(path.join(layout.master, 'flat'), 'f', 2000, 10);
  const knob = '/proc/sys/fs/inotify/max_queued_events';
  const saved = (await readFile(knob, 'utf8')).trim();
  let g: GsyncdProcess;
  try {
    await writeFile(knob, '16\n');
    g = await startGsyncd(['--watcher', watcher, '--batch-delay', '0.2', layout.master, layout.slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
  } finally {
    await writeFile(knob, `${saved}\n`);
  }
  await g.waitForLog('Changelog Crawl started', 60_000);
  for (let i = 0; i < 2000; i++) writeFileSync(path.join(layout.master, 'flat', `f-${i}.txt`), `rewritten ${i}\n`);
  return { g, layout };
}

/** The slave catches up, gsyncd still runs, and stops clean. */
async function converges(g: GsyncdProcess, layout: Layout): Promise<void> {
  await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
  assert.equal(g.exit, undefined, `gsyncd exited:\n${g.tail()}`);
  await stopAndAssertClean(g);
  await assertMirrored(layout.master, layout.slave);
}

describe('the kernel event queue overflowing', () => {
  it('--watcher native: events dropped by the kernel are found and sent', { skip: NEEDS_ROOT, timeout: 150_000 }, async (t) => {
    const { g, layout } = await overflowed(t, 'native');
    // @parcel/watcher says nothing of the overflow: the reconciliation finds what was dropped.
    const found = await g.waitForLog('watcher missed changes', 60_000);
    assert.match(found.line, /paths=\d+/);
    await converges(g, layout);
  });

  it('--watcher inotify: the overflow is reported, and the tree resynced', { skip: NEEDS_ROOT, timeout: 150_000 }, async (t) => {
    const { g, layout } = await overflowed(t, 'inotify');
    // The kernel's overflow record reaches gsyncd: no reconciliation needed to know.
    const lost = await g.waitForLog('watcher lost events; resyncing the subtree', 60_000);
    assert.match(lost.line, /overflowed/);
    await converges(g, layout);
  });
});
