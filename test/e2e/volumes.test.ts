// Named volumes: `:NAME` as MASTER from this host's config file, `host::NAME` as SLAVE
// resolved by the slave's own gsyncd from its config, and an unknown name refused with the
// names that exist.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertMirrored } from '../helpers/compare.js';
import { describeExit, gsyncdBin, runGsyncd } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { shellQuote } from '../helpers/slave.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('named volumes', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd.stop();
  });

  it(':NAME as MASTER is the [volume NAME] path of the config file', { timeout: 60_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'volume-master');
    makeSmallTree(layout.master);
    const conf = path.join(layout.outside, 'gsyncd.conf');
    writeFileSync(conf, `[volume www]\npath: ${layout.master}\n`);
    const run = await runGsyncd(['--once', '-c', conf, ':www', layout.slave]);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(layout.master, layout.slave);
  });

  it('host::NAME as SLAVE is resolved by the slave from its own config', { timeout: 60_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'volume-slave');
    makeSmallTree(layout.master);
    const conf = path.join(layout.outside, 'slave.conf');
    writeFileSync(conf, `[volume backup]\npath: ${layout.slave}\n\n[volume other]\npath: /nonexistent\n`);
    const remote = `${gsyncdBin} -c ${shellQuote(conf)} --log-file /dev/null`;
    const run = await runGsyncd(['--once', '-e', sshd.rsh, '--remote-gsyncd', remote, layout.master, 'root@127.0.0.1::backup']);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(layout.master, layout.slave);

    const unknown = await runGsyncd(['--once', '-e', sshd.rsh, '--remote-gsyncd', remote, layout.master, 'root@127.0.0.1::nosuch']);
    assert.equal(unknown.code, 3, `unknown volume: gsyncd exited ${describeExit(unknown)}:\n${unknown.stderr}`);
    assert.match(unknown.stderr, /^gsyncd: .*unknown volume "nosuch".*backup, other/m);
  });
});
