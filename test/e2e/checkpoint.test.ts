// `gsyncd checkpoint SESSION now --wait`: completes once the writes made before it are on
// the slave (recorded in status), and times out with exit 1 while the slave is unreachable.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, remoteGsyncdArgs, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';

// Plain runs: the helper's leftover sweep would take the live session for a leftover.
const gsyncd = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, ...args], { timeoutMs: 60_000 });

describe('checkpoints', () => {
  it('now --wait completes after the writes before it are on the slave', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'checkpoint');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const g = await startGsyncd(['--session', 'cp', layout.master, layout.slave], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    for (let i = 0; i < 20; i++) writeFileSync(path.join(layout.master, `before-${i}.txt`), `${i}\n`);
    const cp = await gsyncd('checkpoint', '--state-dir', state, 'cp', 'now', '--wait', '--timeout', '30');
    assert.equal(cp.code, 0, `checkpoint: exit ${cp.code}\n${cp.stdout}${cp.stderr}`);
    assert.match(cp.stdout, /^checkpoint \S+ completed at \S+/);
    for (let i = 0; i < 20; i++) assert.ok(existsSync(path.join(layout.slave, `before-${i}.txt`)), `before-${i}.txt not on the slave`);
    const status = JSON.parse(readFileSync(path.join(state, 'cp', 'status.json'), 'utf8')) as { checkpoint: { time: string; completed: boolean; completion_time: string } };
    assert.equal(status.checkpoint.completed, true);
    assert.ok(Date.parse(status.checkpoint.completion_time) >= Date.parse(status.checkpoint.time));
    await g.waitForLog('checkpoint completed', 5_000);
    await stopAndAssertClean(g);

    const bad = await gsyncd('checkpoint', '--state-dir', state, 'cp', 'not-a-time');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^gsyncd: checkpoint: TIME "not-a-time"/m);
  });

  it('--wait --timeout exits 1 while the slave is unreachable', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'checkpoint-down');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const sshd = await startSshd();
    t.after(() => sshd.stop());
    const g = await startGsyncd(['--session', 'cpd', '-e', sshd.rsh, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(layout.slave)], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    await sshd.stop();
    writeFileSync(path.join(layout.master, 'while-down.txt'), 'down\n');
    const cp = await gsyncd('checkpoint', '--state-dir', state, 'cpd', 'now', '--wait', '--timeout', '4');
    assert.equal(cp.code, 1, `checkpoint: exit ${cp.code}\n${cp.stdout}${cp.stderr}`);
    assert.match(cp.stderr, /^gsyncd: checkpoint \S+ of session cpd not completed after 4 s/m);
    assert.ok(!existsSync(path.join(layout.slave, 'while-down.txt')));
    await g.stop('SIGTERM');
  });
});
