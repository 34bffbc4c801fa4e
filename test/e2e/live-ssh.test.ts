// Live mirroring over SSH (a loopback sshd, the rsync-style `root@127.0.0.1:/path` slave
// and the built gsyncd as the remote gsyncd): the same changes as the local suite, then
// SIGTERM, after which no ssh (ControlMaster included) or rsync may survive.
import { after, before, describe, it } from 'node:test';
import { assertMirrored } from '../helpers/compare.js';
import { remoteGsyncdArgs, startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { defineLiveSteps } from '../helpers/live-suite.js';
import { makeLiveTree } from '../helpers/live-steps.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';

describe('live mirroring to a slave over SSH', () => {
  const scope = new Scope();
  let sshd: Sshd;
  let layout: Layout;
  let g: GsyncdProcess;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
    layout = await makeLayout(scope, 'live-ssh');
    makeLiveTree(layout.master, layout.outside);
    g = await startGsyncd([
      '-e',
      sshd.rsh,
      ...remoteGsyncdArgs(),
      '--batch-delay',
      '0.2',
      layout.master,
      sshd.slaveSpec(layout.slave),
    ]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
  });
  after(() => scope.close());

  it('mirrors the starting tree before going live', async () => {
    await assertMirrored(layout.master, layout.slave);
  });

  defineLiveSteps(() => layout);

  it('exits 0 on SIGTERM and leaves no ssh or rsync behind', { timeout: 30_000 }, async () => {
    await stopAndAssertClean(g, 'SIGTERM');
  });
});
