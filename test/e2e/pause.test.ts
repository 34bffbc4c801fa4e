// `gsyncd pause|resume SESSION`: while paused nothing reaches the slave, changes are still
// watched and queued, a checkpoint does not complete and status says Paused; resume sends
// what gathered. A pause survives a restart, and a pause during the Full Crawl stops its rsync.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { waitForMirror } from '../helpers/compare.js';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { heldRsync } from '../helpers/held-rsync.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree, makeWideTree } from '../helpers/tree.js';

interface Row {
  status: string;
  crawl_status: string;
  pending: number;
}

describe('pause and resume', () => {
  it('pauses sending but not watching, keeps the pause across a restart, and resumes', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'pause');
    const state = path.join(layout.outside, 'state');
    // Plain runs: the helper's leftover sweep would take the live session for a leftover.
    const gsyncd = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, ...args], { timeoutMs: 60_000 });
    const row = async (): Promise<Row> => {
      const r = await gsyncd('status', '--json', '--state-dir', state, 'pw');
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as Row[];
      assert.ok(rows[0]);
      return rows[0];
    };
    makeSmallTree(layout.master);
    const g = await startGsyncd(['--session', 'pw', layout.master, layout.slave], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);

    const pause = await gsyncd('pause', '--state-dir', state, 'pw');
    assert.equal(pause.code, 0, `pause: exit ${pause.code}\n${pause.stderr}`);
    assert.equal(pause.stdout, 'session pw paused\n');
    await g.waitForLog('session paused', 5_000);
    const shown = await row();
    assert.deepEqual([shown.status, shown.crawl_status], ['Paused', 'Changelog Crawl']);

    writeFileSync(path.join(layout.master, 'while-paused.txt'), 'queued\n');
    mkdirSync(path.join(layout.master, 'new-dir'));
    writeFileSync(path.join(layout.master, 'new-dir', 'inside.txt'), 'inside\n');
    const victim = readdirSync(layout.master).find((n) => n !== 'while-paused.txt' && n !== 'new-dir') ?? '';
    rmSync(path.join(layout.master, victim), { recursive: true });
    await delay(2500);
    assert.ok(!existsSync(path.join(layout.slave, 'while-paused.txt')), 'a file was sent while paused');
    assert.ok(!existsSync(path.join(layout.slave, 'new-dir')), 'a directory was sent while paused');
    assert.ok(existsSync(path.join(layout.slave, victim)), 'a delete was sent while paused');
    const paused = await row();
    assert.equal(paused.status, 'Paused');
    assert.ok(paused.pending >= 3, `pending ${paused.pending}: the changes are queued`);

    const again = await gsyncd('pause', '--state-dir', state, 'pw');
    assert.equal(again.stdout, 'session pw is already paused\n');
    const cp = await gsyncd('checkpoint', '--state-dir', state, 'pw', 'now', '--wait', '--timeout', '3');
    assert.equal(cp.code, 1, `a checkpoint completed while paused\n${cp.stdout}`);

    // A restart keeps the pause: nothing is sent, status says Paused.
    await stopAndAssertClean(g);
    writeFileSync(path.join(layout.master, 'while-stopped.txt'), 'stopped\n');
    const g2 = await startGsyncd(['--session', 'pw', layout.master, layout.slave], { stateDir: state });
    t.after(() => g2.dispose());
    await g2.waitForLog('History Crawl started', 30_000);
    await delay(2000);
    assert.equal((await row()).status, 'Paused');
    assert.ok(!existsSync(path.join(layout.slave, 'while-stopped.txt')), 'sent after a restart while paused');

    const resume = await gsyncd('resume', '--state-dir', state, 'pw');
    assert.equal(resume.code, 0, `resume: exit ${resume.code}\n${resume.stderr}`);
    assert.equal(resume.stdout, 'session pw resumed\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    await g2.waitForLog('Changelog Crawl started', 10_000);
    assert.equal((await row()).status, 'Active');
    const notPaused = await gsyncd('resume', '--state-dir', state, 'pw');
    assert.equal(notPaused.stdout, 'session pw is not paused\n');
    await stopAndAssertClean(g2);

    const missing = await gsyncd('pause', '--state-dir', state, 'nosuch');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^gsyncd: pause: no session "nosuch" in /m);
  });

  it('stops the Full Crawl\'s rsync on pause and completes it on resume', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'pause-full');
    const state = path.join(layout.outside, 'state');
    const gsyncd = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, ...args], { timeoutMs: 60_000 });
    makeWideTree(layout.master, 300, 30, 1024);
    // The crawl's rsync is held until the test lets it go: the pause surely finds it running.
    const rsync = await heldRsync(layout.outside);
    const g = await startGsyncd(['--session', 'pf', '--rsync-command', rsync.command, layout.master, layout.slave], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
    const pause = await gsyncd('pause', '--state-dir', state, 'pf');
    assert.equal(pause.code, 0, pause.stderr);
    await g.waitForLog('Full Crawl paused', 10_000);
    // Later runs are not held: a crawl started while paused would copy files now.
    await rsync.release();
    const count = (): number => readdirSync(layout.slave, { recursive: true }).length;
    const before = count();
    await delay(1500);
    assert.equal(count(), before, 'files arrived while paused');
    assert.ok(g.exit === undefined);
    const resume = await gsyncd('resume', '--state-dir', state, 'pf');
    assert.equal(resume.code, 0, resume.stderr);
    await g.waitForLog('Full Crawl finished', 60_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    await stopAndAssertClean(g);
  });
});
