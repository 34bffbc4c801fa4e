// What the slave's gsyncd reports: `gsyncd verify` against an SSH slave, the per-batch
// confirmation (a slave copy that differs is counted and sent again), and the handshake's
// refusal of an incompatible protocol or a too-old rsync (through stand-in slaves).
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeExit, remoteGsyncdArgs, runGsyncd, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

describe('the slave reports', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd.stop();
  });

  it('gsyncd verify over SSH: nothing on identical trees; a byte, a mode, a missing and an extra file otherwise', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'verify-remote');
    makeSmallTree(layout.master);
    writeFileSync(path.join(layout.master, 'same-size.txt'), 'aaaa\n');
    const sync = await runGsyncd(['--once', '-e', sshd.rsh, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(layout.slave)]);
    assert.equal(sync.code, 0, `sync: ${describeExit(sync)}\n${sync.stderr}`);
    const verify = (...extra: string[]): Promise<Awaited<ReturnType<typeof runGsyncd>>> =>
      runGsyncd(['verify', ...extra, '-e', sshd.rsh, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(layout.slave)], { noStateDir: true });

    const same = await verify('--checksum');
    assert.equal(same.code, 0, `identical trees: ${describeExit(same)}\n${same.stdout}${same.stderr}`);
    assert.equal(same.stdout, '');

    // A changed byte with the same size and mtime: only the checksum sees it.
    const slaveFile = path.join(layout.slave, 'same-size.txt');
    const { atime, mtime } = statSync(slaveFile);
    writeFileSync(slaveFile, 'abaa\n');
    utimesSync(slaveFile, atime, mtime);
    chmodSync(path.join(layout.slave, 'README'), 0o600);
    rmSync(path.join(layout.slave, 'docs'), { recursive: true });
    writeFileSync(path.join(layout.slave, 'extra.txt'), 'extra\n');

    const diff = await verify('--checksum');
    assert.equal(diff.code, 1, `different trees: ${describeExit(diff)}\n${diff.stdout}${diff.stderr}`);
    const lines = diff.stdout.split('\n').filter((l) => l !== '');
    assert.ok(lines.includes('>fc........ same-size.txt'), lines.join('\n'));
    assert.ok(lines.includes('.f...p..... README'), lines.join('\n'));
    assert.ok(lines.some((l) => /^cd\+{9} docs\/$/.test(l)), lines.join('\n'));
    assert.ok(lines.includes('*deleting   extra.txt'), lines.join('\n'));
  });

  it('a slave copy that differs after a batch is counted and sent again', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'confirm');
    makeSmallTree(layout.master);
    // rsync's --chmod makes every sent file differ from the master's mode: the confirmation sees it.
    const g = await startGsyncd([
      '-e', sshd.rsh, ...remoteGsyncdArgs(), '--verify', 'all', '--rsync-options', '--chmod=F600',
      '--state-dir', layout.outside, '--session', 'confirm', layout.master, sshd.slaveSpec(layout.slave),
    ]);
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
    writeFileSync(path.join(layout.master, 'new.txt'), 'new\n');
    await g.waitForLog(/slave copy differs from the master; sending it again path=new\.txt/, 30_000);
    await g.waitForLog(/slave copy still differs after sending it again/, 30_000);
    const status = await pollUntil(
      () => {
        const s = JSON.parse(readFileSync(path.join(layout.outside, 'confirm', 'status.json'), 'utf8')) as { failures: number };
        return s.failures >= 2 ? s : undefined;
      },
      () => 'failures >= 2 in status.json',
      { timeoutMs: 10_000 },
    );
    assert.ok(status.failures >= 2);
    await stopAndAssertClean(g);
  });

  for (const [what, reply, pattern] of [
    ['another protocol version', { protocol: 99, rsync_version: '3.5.0' }, /protocol mismatch/],
    ['a too-old rsync', { protocol: 1, rsync_version: '3.1.3' }, /rsync 3\.1\.3 on the slave is too old; gsyncd needs 3\.2\.3/],
  ] as const) {
    it(`the handshake refuses ${what}: exit 3`, { timeout: 60_000 }, async (t) => {
      const layout = await makeLayout(scopeFor(t), 'versions');
      makeSmallTree(layout.master);
      // A stand-in slave that answers the handshake with what the test wants.
      const fake = path.join(layout.outside, 'fake-gsyncd');
      const hello = JSON.stringify({ type: 'hello', version: '9.9.9', root: layout.slave, exists: true, writable: true, free_bytes: 1, empty: true, ...reply });
      writeFileSync(fake, `#!/bin/sh\nread line\nprintf '%s\\n' '${hello}'\nread line\n`, { mode: 0o755 });
      const run = await runGsyncd(['--once', '-e', sshd.rsh, '--remote-gsyncd', fake, layout.master, sshd.slaveSpec(layout.slave)]);
      assert.equal(run.code, 3, `${describeExit(run)}\n${run.stderr}`);
      assert.match(run.stderr, pattern);
      assert.deepEqual(readdirSync(layout.slave), [], 'nothing may be sent');
    });
  }
});
