// -x (--one-file-system), differential against rsync -ax: a tmpfs mounted inside the master
// tree is sent as its mount point alone, its contents never, and what the slave holds below
// it is left alone, by gsyncd --once and live alike. Mounts need root: skipped otherwise.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { converge } from '../helpers/filter-oracle.js';
import { flagDifferences } from '../helpers/flag-cases.js';
import { exec } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

const isRoot = process.getuid?.() === 0;
const ax = { args: ['-a', '-x'] } as const;

describe('-x: filesystems mounted inside the master are left out, as rsync -ax leaves them', { skip: isRoot ? false : 'needs root (mount)' }, () => {
  it('--once, then live', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'one-fs');
    const { master, slave } = layout;
    makeSmallTree(master);
    const mnt = path.join(master, 'mnt');
    mkdirSync(mnt);
    const mount = await exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
    assert.equal(mount.code, 0, `mount tmpfs on ${mnt}: ${mount.stderr}`);
    scope.defer(async () => {
      await exec('umount', ['-l', mnt]);
    });
    writeFileSync(path.join(mnt, 'inside.txt'), 'on another filesystem\n');
    mkdirSync(path.join(mnt, 'sub'));
    writeFileSync(path.join(mnt, 'sub/deeper.txt'), 'deeper\n');
    // The slave holds something where the mount point is: rsync -ax --delete keeps it.
    mkdirSync(path.join(slave, 'mnt'));
    writeFileSync(path.join(slave, 'mnt/kept-on-slave.txt'), 'the slave\'s own\n');
    const oracle = path.join(layout.base, 'oracle');
    assert.equal((await exec('cp', ['-a', `${slave}/.`, `${oracle}/`])).code, 0);
    const rsync = async (): Promise<void> => {
      const r = await exec('rsync', ['-ax', '--delete', `${master}/`, `${oracle}/`]);
      assert.equal(r.code, 0, r.stderr);
    };

    await rsync();
    const state = path.join(layout.base, 'state');
    const once = await exec(process.execPath, [gsyncdBin, '--once', '--state-dir', state, '-ax', master, slave], { env: { ...process.env, GSYNCD_STATE_DIR: state } });
    assert.equal(once.code, 0, once.stderr);
    assert.equal(await flagDifferences(oracle, slave, ax), '', 'gsyncd --once -ax leaves what rsync -ax leaves');
    assert.ok(!existsSync(path.join(slave, 'mnt/inside.txt')));

    const g = await startGsyncd(['-ax', '--batch-delay', '0.2', '--log-level', 'DEBUG', master, slave], { stateDir: state });
    try {
      await g.waitForLog('Changelog Crawl started', 30_000);
      // Changes on both filesystems: only the master's own reach the slave.
      writeFileSync(path.join(master, 'new-here.txt'), 'same filesystem\n');
      writeFileSync(path.join(mnt, 'new-in-mount.txt'), 'other filesystem\n');
      mkdirSync(path.join(mnt, 'new-dir'));
      writeFileSync(path.join(mnt, 'sub/deeper.txt'), 'rewritten\n');
      await rsync();
      // The mount point's own time is the mounted root's, which its new entries move with no
      // event in the master's filesystem (the next reconciliation sends it): its contents are checked below.
      await converge(() => flagDifferences(oracle, slave, { args: ['-a', '-x'], compare: ['--exclude=/mnt/'] }), 'live -ax', 30_000);
      for (const p of ['mnt/inside.txt', 'mnt/new-in-mount.txt', 'mnt/new-dir', 'mnt/sub']) assert.ok(!existsSync(path.join(slave, p)), `${p} stays off the slave`);
      assert.ok(existsSync(path.join(slave, 'mnt/kept-on-slave.txt')), "the slave's own file under the mount point is kept");
      await g.stop();
    } finally {
      await g.dispose();
    }
  });
});
