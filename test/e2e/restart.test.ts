// Sessions that survive restarts: after kill -9 (at rest, mid-batch, during the Full Crawl)
// or a clean stop, a restart replays what changed (History Crawl) and converges without a
// whole-tree transfer; a replaced slave root gets a Full Crawl, and the log says why.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, waitForRsyncChild, type GsyncdProcess } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor, type Layout } from '../helpers/scope.js';
import { makeSmallTree, makeWideTree } from '../helpers/tree.js';

const totals = (state: string, session: string): { full_syncs: number; batches: number } =>
  (JSON.parse(readFileSync(path.join(state, session, 'status.json'), 'utf8')) as { totals: { full_syncs: number; batches: number } }).totals;

/** Changes of every kind, made while gsyncd is down. */
function changeWhileDown(master: string): void {
  writeFileSync(path.join(master, 'created.txt'), 'created while down\n');
  writeFileSync(path.join(master, 'README'), 'rewritten while down, longer than before\n');
  rmSync(path.join(master, 'src'), { recursive: true });
  renameSync(path.join(master, 'docs'), path.join(master, 'documentation'));
  mkdirSync(path.join(master, 'newdir/deeper'), { recursive: true });
  writeFileSync(path.join(master, 'newdir/deeper/f'), 'f\n');
}

describe('restarts', () => {
  const start = async (layout: Layout, state: string, extra: string[] = []): Promise<GsyncdProcess> =>
    startGsyncd(['--session', 's', '--snapshot-interval', '1', ...extra, layout.master, layout.slave], { stateDir: state });

  it('kill -9 at rest, changes while down: History Crawl converges without a Full Crawl, and no miss is reported after it', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-rest');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const g1 = await start(layout, state);
    t.after(() => g1.dispose());
    await g1.waitForLog('snapshot saved', 30_000);
    await g1.stop('SIGKILL');
    changeWhileDown(layout.master);
    const g2 = await start(layout, state);
    t.after(() => g2.dispose());
    await g2.waitForLog(/History Crawl started .*changes=[1-9]/, 30_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    assert.ok(!g2.stderrLines.some((l) => l.includes('Full Crawl started')), 'a Full Crawl ran');
    // A snapshot is saved only after a scan against the old one: what the History Crawl sent
    // (a deleted directory's files, a renamed one's) is no miss.
    await g2.waitForLog('snapshot saved', 30_000);
    assert.deepEqual(g2.stderrLines.filter((l) => l.includes('watcher missed changes')), []);
    await stopAndAssertClean(g2);
    assert.equal(totals(state, 's').full_syncs, 1);
  });

  it('a clean stop and a restart with nothing changed sends nothing', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-clean');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const g1 = await start(layout, state);
    t.after(() => g1.dispose());
    await g1.waitForLog('Changelog Crawl started', 30_000);
    await stopAndAssertClean(g1);
    const before = totals(state, 's');
    const g2 = await start(layout, state);
    t.after(() => g2.dispose());
    await g2.waitForLog(/History Crawl started .*changes=0 pending=0 queued=0/, 30_000);
    await g2.waitForLog('Changelog Crawl started', 10_000);
    await delay(1500);
    await stopAndAssertClean(g2);
    assert.ok(!g2.stderrLines.some((l) => /Full Crawl started|batch done/.test(l)), g2.stderrLines.join('\n'));
    assert.deepEqual(totals(state, 's'), before);
    await assertMirrored(layout.master, layout.slave);
  });

  it('the slave root replaced by an empty directory: a Full Crawl, and the log says why', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-replaced');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const g1 = await start(layout, state);
    t.after(() => g1.dispose());
    await g1.waitForLog('Changelog Crawl started', 30_000);
    await stopAndAssertClean(g1);
    rmSync(layout.slave, { recursive: true });
    mkdirSync(layout.slave);
    const g2 = await start(layout, state);
    t.after(() => g2.dispose());
    await g2.waitForLog(/Full Crawl needed reason="the slave root is not the one the saved state was made for/, 30_000);
    await g2.waitForLog('Changelog Crawl started', 30_000);
    await assertMirrored(layout.master, layout.slave);
    await stopAndAssertClean(g2);
    assert.equal(totals(state, 's').full_syncs, 2);
  });

  it('kill -9 mid-batch and during the Full Crawl: the restart converges', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-midbatch');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const g1 = await start(layout, state, ['--bwlimit', '1000']);
    t.after(() => g1.dispose());
    await g1.waitForLog('snapshot saved', 30_000);
    writeFileSync(path.join(layout.master, 'big.bin'), Buffer.alloc(3 << 20, 7));
    await waitForRsyncChild(g1, 10_000);
    await delay(300);
    await g1.stop('SIGKILL');
    // Even after SIGKILL, its rsync must not go on writing into the slave (parent-death signal).
    const left = await g1.leftoversAfterGrace();
    assert.deepEqual(left.map((p) => p.comm), [], 'processes outlived gsyncd after SIGKILL');
    changeWhileDown(layout.master);
    const g2 = await start(layout, state);
    t.after(() => g2.dispose());
    await g2.waitForLog('History Crawl started', 30_000);
    await waitForMirror(layout.master, layout.slave, 60_000);
    await stopAndAssertClean(g2);

    // Killed during a Full Crawl: no state was saved for it, so the restart crawls again.
    rmSync(state, { recursive: true });
    makeWideTree(path.join(layout.master, 'wide'), 3000, 30);
    const g3 = await start(layout, state, ['--bwlimit', '300']);
    t.after(() => g3.dispose());
    await g3.waitForLog('Full Crawl started', 30_000);
    await delay(800);
    await g3.stop('SIGKILL');
    const g4 = await start(layout, state);
    t.after(() => g4.dispose());
    await g4.waitForLog(/Full Crawl needed reason="no saved state/, 30_000);
    await g4.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(layout.master, layout.slave);
    await stopAndAssertClean(g4);
  });
});
