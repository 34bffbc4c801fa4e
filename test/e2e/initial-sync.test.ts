// The Full Crawl of the hard tree (odd names, invalid UTF-8, links of every kind, modes,
// owners, times), locally and over SSH, long-running and with --once: the slave must be
// identical, hard links included.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertMirrored } from '../helpers/compare.js';
import {
  assertNoChildrenLeft,
  describeExit,
  remoteGsyncdArgs,
  runGsyncd,
  startGsyncd,
  stopAndAssertClean,
} from '../helpers/gsyncd.js';
import { makeLayout, Scope, scopeFor } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeHardTree } from '../helpers/tree.js';

describe('initial sync (Full Crawl) of the hard tree', () => {
  const scope = new Scope();
  let sshd: Sshd;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
  });
  after(() => scope.close());

  it('local slave: Full Crawl mirrors it, then gsyncd goes live', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hard-local');
    makeHardTree(master);
    const g = await startGsyncd(['-H', master, slave]);
    scope.defer(() => g.dispose());
    const started = await g.waitForLog('Full Crawl started', 30_000);
    const finished = await g.waitForLog('Full Crawl finished', 60_000, started.index);
    await g.waitForLog('Changelog Crawl started', 30_000, finished.index);
    await assertMirrored(master, slave, { hardLinks: true });
    await stopAndAssertClean(g);
  });

  it('local slave, --once, file:// forms: exits 0 with the slave identical', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hard-once');
    makeHardTree(master);
    const run = await runGsyncd(['--once', '-H', `file://${master}`, `file://${slave}/`]);
    assert.equal(run.code, 0, `gsyncd --once exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(master, slave, { hardLinks: true });
    await assertNoChildrenLeft(run);
  });

  it('local slave holding stale and extra files: updated, extras deleted', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hard-stale');
    makeHardTree(master);
    // A stale copy (other size, older mtime), extras, and types swapped both ways.
    writeFileSync(path.join(slave, 'plain.txt'), 'stale, and longer than the master copy\n');
    utimesSync(path.join(slave, 'plain.txt'), new Date('2000-01-01'), new Date('2000-01-01'));
    writeFileSync(path.join(slave, 'only-on-slave'), 'extra\n');
    mkdirSync(path.join(slave, 'extra-dir/deep'), { recursive: true });
    writeFileSync(path.join(slave, 'extra-dir/deep/x'), 'x\n');
    mkdirSync(path.join(slave, 'nested'));
    writeFileSync(path.join(slave, 'nested/stray'), 'stray\n');
    symlinkSync('plain.txt', path.join(slave, 'empty-was-a-link'));
    writeFileSync(path.join(slave, 'empty'), 'was a file\n');
    mkdirSync(path.join(slave, 'zero-length'));
    const run = await runGsyncd(['--once', '-H', master, slave]);
    assert.equal(run.code, 0, `gsyncd --once exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(master, slave, { hardLinks: true });
  });

  it('SSH slave host:/path, --once -H: exits 0 with the slave identical', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hard-ssh-once');
    makeHardTree(master);
    const run = await runGsyncd([
      '--once',
      '-H',
      '-e',
      sshd.rsh,
      ...remoteGsyncdArgs(),
      master,
      sshd.slaveSpec(slave),
    ]);
    assert.equal(run.code, 0, `gsyncd --once exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(master, slave, { hardLinks: true });
    await assertNoChildrenLeft(run);
  });

  it('SSH slave ssh://user@host:port/path, long-running: mirrors, then SIGTERM is clean', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hard-ssh-url');
    makeHardTree(master);
    const g = await startGsyncd(['-H', '--rsh', sshd.rshNoPort, ...remoteGsyncdArgs(), master, sshd.slaveUrl(slave)]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(master, slave, { hardLinks: true });
    await stopAndAssertClean(g);
  });
});
