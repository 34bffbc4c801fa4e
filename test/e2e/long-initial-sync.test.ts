// A long Full Crawl (20k small files, slowed further with --bwlimit): SIGTERM in the middle
// of it is a clean exit locally and over SSH, and changes made while it runs are not lost
// (DESIGN invariant 2: watch before crawl).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import {
  remoteGsyncdArgs,
  startGsyncd,
  stopAndAssertClean,
  waitForRsyncChild,
  type GsyncdProcess,
} from '../helpers/gsyncd.js';
import { makeLayout, Scope, scopeFor, type Layout } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { dirName, makeWideTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

const FILES = 20_000;
const DIRS = 200;
// KiB/s: 20k files of 256 bytes take about 6 s at 1000 and half a minute at 200.
const SLOW = '1000';
const CRAWL = '200';

function assertStillCrawling(g: GsyncdProcess, when: string): void {
  assert.equal(
    g.findLog('Full Crawl finished'),
    -1,
    `precondition: the Full Crawl was already finished ${when}; the tree is too small for this machine`,
  );
}

describe('a long initial sync', () => {
  const scope = new Scope();
  let sshd: Sshd;
  let layout: Layout;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
    layout = await makeLayout(scope, 'wide');
    makeWideTree(layout.master, FILES, DIRS);
  });
  after(() => scope.close());

  it('SIGTERM during the Full Crawl to a local slave: exit 0, no rsync left', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const slave = path.join(await scope.tempDir('wide-term-local'), 'slave');
    const g = await startGsyncd(['--bwlimit', CRAWL, layout.master, slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
    await waitForRsyncChild(g, 30_000);
    assertStillCrawling(g, 'when SIGTERM was about to be sent');
    await stopAndAssertClean(g, 'SIGTERM');
  });

  it('SIGTERM during the Full Crawl over SSH: exit 0, no ssh or rsync left', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const slave = path.join(await scope.tempDir('wide-term-ssh'), 'slave');
    const g = await startGsyncd([
      '--bwlimit',
      CRAWL,
      '-e',
      sshd.rsh,
      ...remoteGsyncdArgs(),
      layout.master,
      sshd.slaveSpec(slave),
    ]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
    await waitForRsyncChild(g, 30_000);
    assertStillCrawling(g, 'when SIGTERM was about to be sent');
    await stopAndAssertClean(g, 'SIGTERM');
  });

  // Runs last: it changes the shared master tree.
  it('changes made during the Full Crawl reach the slave', { timeout: 180_000 }, async (t) => {
    const scope = scopeFor(t);
    const slave = path.join(await scope.tempDir('wide-changes'), 'slave');
    const { master } = layout;
    const g = await startGsyncd(['--bwlimit', SLOW, '--batch-delay', '0.2', master, slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
    await waitForRsyncChild(g, 30_000);
    // rsync sends the directories in order: once d0002 is on the slave, d0000 and d0001
    // are behind it, and only the queued watcher events can carry changes made there.
    await pollUntil(
      () => (existsSync(path.join(slave, dirName(2))) ? true : undefined),
      () => `the Full Crawl to reach ${dirName(2)} on the slave; output:\n${g.tail()}`,
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    const first = path.join(master, dirName(0));
    const last = path.join(master, dirName(DIRS - 1));
    writeFileSync(path.join(first, 'created-during-crawl'), 'new\n');
    writeFileSync(path.join(first, 'f000000'), 'changed during the crawl, longer than before\n');
    rmSync(path.join(first, `f${String(DIRS).padStart(6, '0')}`));
    mkdirSync(path.join(master, 'new-dir-during-crawl/sub'), { recursive: true });
    writeFileSync(path.join(master, 'new-dir-during-crawl/sub/file'), 'in a new dir\n');
    writeFileSync(path.join(last, 'created-late'), 'late\n');
    rmSync(path.join(master, dirName(1)), { recursive: true });
    assertStillCrawling(g, 'when the changes were made');

    await g.waitForLog('Full Crawl finished', 120_000);
    await waitForMirror(master, slave, 60_000, { hardLinks: false });
    assert.ok(existsSync(path.join(slave, dirName(0), 'created-during-crawl')));
    await stopAndAssertClean(g, 'SIGTERM');
  });
});
