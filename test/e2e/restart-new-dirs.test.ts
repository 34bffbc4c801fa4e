// Restarts after what was made while live is deleted while gsyncd was stopped: files written
// into brand-new directories (the saved snapshot must hold them: written in a process of its
// own, the watching process's tree missed some), and paths made after the last snapshot (only
// the journal of what was sent knows them), or their deletes never reach the slave.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('restart after deletes in new directories', () => {
  it('deletes on the slave what was deleted while stopped, in directories made while live', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-newdirs');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const args = ['--session', 'nd', layout.master, layout.slave];
    const g = await startGsyncd(args, { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    // As fast as one process can: files land in each directory before its watch does.
    for (let d = 0; d < 100; d++) {
      mkdirSync(path.join(layout.master, `new-${d}`));
      for (let f = 0; f < 10; f++) writeFileSync(path.join(layout.master, `new-${d}`, `f${f}`), `${d}/${f}\n`);
    }
    await waitForMirror(layout.master, layout.slave, 60_000);
    await stopAndAssertClean(g);
    assert.ok(g.findLog('session state saved') >= 0, 'a clean stop saves the session state');

    for (let d = 0; d < 100; d++) for (let f = 0; f < 10; f++) rmSync(path.join(layout.master, `new-${d}`, `f${f}`));
    const g2 = await startGsyncd(args, { stateDir: state });
    t.after(() => g2.dispose());
    await g2.waitForLog('History Crawl started', 30_000);
    await waitForMirror(layout.master, layout.slave, 60_000);
    await stopAndAssertClean(g2);
  });

  it('deletes on the slave what was made live after the last snapshot and removed or renamed away while stopped', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'restart-sentgone');
    const state = path.join(layout.outside, 'state');
    makeSmallTree(layout.master);
    const args = ['--session', 'sg', layout.master, layout.slave];
    const g = await startGsyncd(args, { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    // Made and sent live; no snapshot holds them (the next one is an interval away).
    mkdirSync(path.join(layout.master, 'made-live'));
    writeFileSync(path.join(layout.master, 'made-live', 'f'), 'x\n');
    writeFileSync(path.join(layout.master, 'file-live'), 'y\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    await stopAndAssertClean(g);

    renameSync(path.join(layout.master, 'made-live'), path.join(layout.master, 'renamed-away'));
    rmSync(path.join(layout.master, 'file-live'));
    const g2 = await startGsyncd(args, { stateDir: state });
    t.after(() => g2.dispose());
    await g2.waitForLog('History Crawl started', 30_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    assert.ok(!existsSync(path.join(layout.slave, 'made-live')) && !existsSync(path.join(layout.slave, 'file-live')));
    await stopAndAssertClean(g2);
  });
});
