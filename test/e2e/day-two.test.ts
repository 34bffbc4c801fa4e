// What a service needs on day two, run for real: the Full Crawl's progress line on a
// terminal (a pty made by script(1)); the log file reopened on SIGHUP after logrotate moved
// it; `gsyncd health` for a HEALTHCHECK; MASTER and SLAVE from GSYNCD_MASTER and
// GSYNCD_SLAVE; an SSH key mounted readable by others (as a secret often is) and a
// known_hosts file given by --ssh-key and --ssh-known-hosts.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { exec } from '../helpers/exec.js';
import { describeExit, gsyncdBin, remoteGsyncdArgs, runGsyncd, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

const health = (stateDir: string, ...args: string[]): ReturnType<typeof exec> => exec(process.execPath, [gsyncdBin, 'health', '--state-dir', stateDir, ...args]);

describe('day-two operations', () => {
  it('on a terminal, the Full Crawl shows rsync\'s progress line', { timeout: 90_000 }, async (t) => {
    const which = await exec('sh', ['-c', 'command -v script']);
    if (which.code !== 0) {
      t.skip('script(1) is not installed');
      return;
    }
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'progress');
    writeFileSync(path.join(layout.master, 'big.bin'), Buffer.alloc(4 * 1024 * 1024, 1));
    const state = await scope.tempDir('progress-state');
    // script(1) gives gsyncd a terminal and copies what it draws to its own stdout.
    const command = [process.execPath, gsyncdBin, '--once', '--state-dir', state, '--bwlimit', '2000', layout.master, layout.slave].map((w) => `'${w}'`).join(' ');
    const r = await exec('script', ['-qefc', command, '/dev/null'], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `${describeExit({ code: r.code, signal: null })}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /\r\d+ bytes \(\d+%\), [\d.]+[kMG]?B\/s/, `no progress line on the terminal:\n${JSON.stringify(r.stdout.slice(0, 2000))}`);
    await assertMirrored(layout.master, layout.slave);
  });

  it('SIGHUP reopens the log file that logrotate moved away', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'logrotate');
    makeSmallTree(layout.master);
    const log = path.join(layout.outside, 'gsyncd.log');
    const g = await startGsyncd(['--log-file', log, '--batch-delay', '0.2', layout.master, layout.slave]);
    scope.defer(() => g.dispose());
    await pollUntil(() => (existsSync(log) && readFileSync(log, 'utf8').includes('Changelog Crawl started') ? true : undefined), () => `Changelog Crawl in ${log}`, { timeoutMs: 60_000 });
    renameSync(log, `${log}.1`);
    process.kill(g.pid, 'SIGHUP');
    await pollUntil(() => (existsSync(log) && readFileSync(log, 'utf8').includes('log file reopened') ? true : undefined), () => `a new ${log}`, { timeoutMs: 30_000 });
    writeFileSync(path.join(layout.master, 'after-rotation.txt'), 'after\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    await pollUntil(() => (readFileSync(log, 'utf8').includes('batch done') ? true : undefined), () => `the batch logged in the new ${log}`, { timeoutMs: 30_000 });
    assert.doesNotMatch(readFileSync(`${log}.1`, 'utf8'), /log file reopened/, 'the old file got the lines after the reopen');
    await stopAndAssertClean(g);
  });

  it('gsyncd health: 0 while a session runs, 1 once it is gone or unknown; GSYNCD_MASTER and GSYNCD_SLAVE name the ends', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'health');
    makeSmallTree(layout.master);
    const g = await startGsyncd(['--session', 'web', '--batch-delay', '0.2'], { env: { GSYNCD_MASTER: layout.master, GSYNCD_SLAVE: layout.slave } });
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(layout.master, layout.slave);
    const ok = await health(g.stateDir);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^web: Active \(Changelog Crawl\)$/m);
    const unknown = await health(g.stateDir, 'nosuch');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /gsyncd: health: no session "nosuch"/);
    await stopAndAssertClean(g);
    const gone = await health(g.stateDir);
    assert.equal(gone.code, 1);
    assert.match(gone.stdout, /^web: Stopped/m);

    const half = await runGsyncd([], { env: { GSYNCD_MASTER: layout.master } });
    assert.equal(half.code, 2, half.stderr);
    assert.match(half.stderr, /GSYNCD_MASTER is set but GSYNCD_SLAVE is not/);
  });

  it('--ssh-key readable by others is used through a private copy; --ssh-known-hosts checks the host key', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'ssh-key');
    makeSmallTree(layout.master);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    // As a Kubernetes secret is mounted by default: readable by all.
    const key = path.join(layout.outside, 'id_mounted');
    writeFileSync(key, readFileSync(sshd.userKey));
    chmodSync(key, 0o644);
    const knownHosts = path.join(layout.outside, 'known_hosts');
    const hostKey = readFileSync(path.join(sshd.dir, 'hostkey.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${hostKey}\n`);
    const rsh = `ssh -p ${sshd.port} -o BatchMode=yes -o LogLevel=ERROR`;
    const run = await runGsyncd(['--once', '-e', rsh, '--ssh-key', key, '--ssh-known-hosts', knownHosts, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(layout.slave)]);
    assert.equal(run.code, 0, `${describeExit(run)}\n${run.stderr}`);
    await assertMirrored(layout.master, layout.slave);

    // A known_hosts file without this host's key: ssh refuses, exit 3, nothing written.
    const wrong = path.join(layout.outside, 'known_hosts.other');
    writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n`);
    const refused = await runGsyncd(['--once', '-e', rsh, '--ssh-key', key, '--ssh-known-hosts', wrong, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(`${layout.slave}-2`)]);
    assert.equal(refused.code, 3, `${describeExit(refused)}\n${refused.stderr}`);
    assert.match(refused.stderr, /unreachable.*(Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED)/s);
    assert.equal(existsSync(`${layout.slave}-2`), false);

    const missing = await runGsyncd(['--once', '--ssh-key', path.join(layout.outside, 'nokey'), layout.master, sshd.slaveSpec(layout.slave)]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /gsyncd: --ssh-key .*nokey: cannot read \(ENOENT\)/);
  });
});
