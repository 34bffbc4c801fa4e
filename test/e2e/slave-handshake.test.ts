// The slave channel's handshake, over a loopback sshd: every refusal ends the master with
// exit 3 and one `gsyncd: …` line that says why (gsyncd missing on the slave, an allowed
// root that does not exist, a read-only root, a root outside the allowed roots), and
// nothing is written; the happy paths (a plain key, a forced command with two roots,
// `--remote-gsyncd none`) report `slave channel up` (or, for none, no channel at all).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import {
  assertNoChildrenLeft,
  describeExit,
  gsyncdBin,
  runGsyncd,
  startGsyncd,
  stopAndAssertClean,
  type RunResult,
} from '../helpers/gsyncd.js';
import { makeLayout, Scope, scopeFor } from '../helpers/scope.js';
import { fileSize, forcedCommandOptions, mountReadOnly, shellQuote, waitForFileLine } from '../helpers/slave.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';

/** `--remote-gsyncd '<bin> --log-file F'`: the remote slave logs into the test's temp dir. */
function remoteGsyncdLogging(logFile: string): string[] {
  return ['--remote-gsyncd', `${gsyncdBin} --log-file ${shellQuote(logFile)}`];
}

/** The `gsyncd: …` lines of a finished run (log lines start with a timestamp). */
function messageLines(run: RunResult): string[] {
  return run.stderr.split('\n').filter((line) => line.startsWith('gsyncd: '));
}

/** Asserts exit 3 and exactly one `gsyncd: ` line matching every pattern; returns it. */
function assertRefused(run: RunResult, patterns: readonly RegExp[], what: string): string {
  assert.equal(run.code, 3, `${what}: gsyncd exited ${describeExit(run)}, not 3:\n${run.stderr}`);
  const lines = messageLines(run);
  assert.equal(lines.length, 1, `${what}: expected one "gsyncd: " line on stderr, got:\n${run.stderr}`);
  const line = lines[0] ?? '';
  for (const pattern of patterns) {
    assert.match(line, pattern, `${what}: the message does not match ${String(pattern)}`);
  }
  return line;
}

describe('the slave channel handshake', () => {
  const scope = new Scope();
  let sshd: Sshd;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
  });
  after(() => scope.close());

  it('a plain key and --remote-gsyncd bin/gsyncd: "slave channel up", then a live mirror', { timeout: 90_000 }, async (t) => {
    await sshd.setAuthorizedKeyOptions(undefined);
    const scope = scopeFor(t);
    const { base, master, slave } = await makeLayout(scope, 'hs-plain');
    makeSmallTree(master);
    const g = await startGsyncd([
      '-e',
      sshd.rsh,
      ...remoteGsyncdLogging(path.join(base, 'slave.log')),
      '--batch-delay',
      '0.2',
      master,
      sshd.slaveSpec(slave),
    ]);
    scope.defer(() => g.dispose());
    await g.waitForLog('slave channel up', 60_000);
    await g.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(master, slave);
    writeFileSync(path.join(master, 'live.txt'), 'live\n');
    await waitForMirror(master, slave, 30_000);
    await stopAndAssertClean(g);
  });

  it('a forced command with two roots: a slave in the second root works (--once)', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-two-roots');
    const [first, second] = [path.join(base, 'root-a'), path.join(base, 'root-b')];
    mkdirSync(first);
    mkdirSync(second);
    await sshd.setAuthorizedKeyOptions(forcedCommandOptions({ roots: [first, second], logFile: path.join(base, 'slave.log') }));
    scope.defer(() => sshd.setAuthorizedKeyOptions(undefined));
    makeSmallTree(master);
    const slave = path.join(second, 'mirror');
    const run = await runGsyncd(['--once', '-e', sshd.rsh, '--remote-gsyncd', gsyncdBin, master, sshd.slaveSpec(slave)]);
    assert.equal(run.code, 0, `gsyncd --once into the second root exited ${describeExit(run)}:\n${run.stderr}`);
    assert.match(run.stderr, /slave channel up/, `no "slave channel up" line:\n${run.stderr}`);
    await assertMirrored(master, slave);
    assert.deepEqual(readdirSync(first), [], 'the first root was written to');
    await assertNoChildrenLeft(run);
  });

  it('--remote-gsyncd none with a plain key: plain rsync, no channel (--once)', { timeout: 90_000 }, async (t) => {
    await sshd.setAuthorizedKeyOptions(undefined);
    const scope = scopeFor(t);
    const { master, slave } = await makeLayout(scope, 'hs-none');
    makeSmallTree(master);
    const run = await runGsyncd(['--once', '-e', sshd.rsh, '--remote-gsyncd', 'none', master, sshd.slaveSpec(slave)]);
    assert.equal(run.code, 0, `gsyncd --once --remote-gsyncd none exited ${describeExit(run)}:\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /slave channel up/, 'a slave channel was opened with --remote-gsyncd none');
    await assertMirrored(master, slave);
    await assertNoChildrenLeft(run);
  });

  it('gsyncd missing on the slave: exit 3, the message names --remote-gsyncd and none', { timeout: 90_000 }, async (t) => {
    await sshd.setAuthorizedKeyOptions(undefined);
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-absent');
    makeSmallTree(master);
    const slave = path.join(base, 'never-created');
    const run = await runGsyncd(['-e', sshd.rsh, '--remote-gsyncd', '/nonexistent/gsyncd', master, sshd.slaveSpec(slave)], {
      timeoutMs: 60_000,
    });
    t.diagnostic(assertRefused(run, [/--remote-gsyncd/, /\bnone\b/], '--remote-gsyncd /nonexistent/gsyncd'));
    assert.equal(existsSync(slave), false, `${slave} was created`);
    await assertNoChildrenLeft(run);
  });

  it('an allowed root that does not exist: exit 3, "does not exist", nothing created', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-missing-root');
    makeSmallTree(master);
    const root = path.join(base, 'no-such-root');
    await sshd.setAuthorizedKeyOptions(forcedCommandOptions({ roots: [root], logFile: path.join(base, 'slave.log') }));
    scope.defer(() => sshd.setAuthorizedKeyOptions(undefined));
    for (const slave of [root, path.join(root, 'sub')]) {
      const run = await runGsyncd(['-e', sshd.rsh, '--remote-gsyncd', gsyncdBin, master, sshd.slaveSpec(slave)], { timeoutMs: 60_000 });
      t.diagnostic(assertRefused(run, [/does not exist/], `slave ${slave} in a missing allowed root`));
      assert.equal(existsSync(root), false, `the missing root ${root} was created`);
      await assertNoChildrenLeft(run);
    }
  });

  it('a read-only root (forced command): exit 3, "not writable", nothing written', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-ro-root');
    makeSmallTree(master);
    const root = path.join(base, 'ro-root');
    await mountReadOnly(scope, root);
    await sshd.setAuthorizedKeyOptions(forcedCommandOptions({ roots: [root], logFile: path.join(base, 'slave.log') }));
    scope.defer(() => sshd.setAuthorizedKeyOptions(undefined));
    for (const slave of [root, path.join(root, 'sub')]) {
      const run = await runGsyncd(['-e', sshd.rsh, '--remote-gsyncd', gsyncdBin, master, sshd.slaveSpec(slave)], { timeoutMs: 60_000 });
      t.diagnostic(assertRefused(run, [/not writable/], `slave ${slave} on a read-only mount`));
      assert.deepEqual(readdirSync(root), [], `${root} is read-only, yet holds something`);
      await assertNoChildrenLeft(run);
    }
  });

  it('a read-only slave through a plain key: exit 3, "not writable"', { timeout: 90_000 }, async (t) => {
    await sshd.setAuthorizedKeyOptions(undefined);
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-ro-plain');
    makeSmallTree(master);
    const root = path.join(base, 'ro');
    await mountReadOnly(scope, root);
    const run = await runGsyncd(
      ['-e', sshd.rsh, ...remoteGsyncdLogging(path.join(base, 'slave.log')), master, sshd.slaveSpec(root)],
      { timeoutMs: 60_000 },
    );
    t.diagnostic(assertRefused(run, [/not writable/], `slave ${root} on a read-only mount`));
    await assertNoChildrenLeft(run);
  });

  it('a requested root outside the allowed roots (by path, .., symlink): exit 3, refused, nothing written', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const { base, master } = await makeLayout(scope, 'hs-outside');
    makeSmallTree(master);
    const allowed = path.join(base, 'allowed');
    const target = path.join(base, 'elsewhere');
    mkdirSync(allowed);
    mkdirSync(target);
    writeFileSync(path.join(target, 'canary.txt'), 'stays alone\n');
    symlinkSync(target, path.join(allowed, 'link-out'));
    const slaveLog = path.join(base, 'slave.log');
    await sshd.setAuthorizedKeyOptions(forcedCommandOptions({ roots: [allowed], logFile: slaveLog }));
    scope.defer(() => sshd.setAuthorizedKeyOptions(undefined));
    const requests = [
      target,
      path.join(base, 'fresh-elsewhere'),
      `${allowed}/../elsewhere`,
      `${allowed}/../fresh-dotdot`,
      path.join(allowed, 'link-out'),
      path.join(allowed, 'link-out/sub'),
    ];
    for (const slave of requests) {
      const logStart = await fileSize(slaveLog);
      const run = await runGsyncd(['-e', sshd.rsh, '--remote-gsyncd', gsyncdBin, master, sshd.slaveSpec(slave)], { timeoutMs: 60_000 });
      t.diagnostic(assertRefused(run, [/refused|outside/i], `slave ${slave} outside the allowed root ${allowed}`));
      assert.deepEqual(readdirSync(target), ['canary.txt'], `slave ${slave}: ${target} was written to`);
      assert.deepEqual(readdirSync(allowed), ['link-out'], `slave ${slave}: the allowed root was written to`);
      for (const fresh of ['fresh-elsewhere', 'fresh-dotdot']) {
        assert.equal(existsSync(path.join(base, fresh)), false, `slave ${slave}: ${fresh} was created`);
      }
      await assert.doesNotReject(
        waitForFileLine(slaveLog, logStart, /WARNING.*refused/i, 5_000),
        `slave ${slave}: no WARNING … refused line in the slave log`,
      );
      await assertNoChildrenLeft(run);
    }
  });
});
