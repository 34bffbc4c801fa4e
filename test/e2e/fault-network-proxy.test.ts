// Network faults over SSH through a proxy of the test's own while changes keep coming:
// latency, stalls, random cuts, refused connections. gsyncd keeps running, shows Faulty
// with the reason while refused, and the slave ends up mirroring the master.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import {
  SEED,
  assertRunning,
  faultRsh,
  startChanges,
  startSession,
  waitForSlaveStep,
} from '../helpers/fault-session.js';
import { stopAndAssertClean } from '../helpers/gsyncd.js';
import { scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { pollUntil } from '../helpers/wait.js';
import { statusOf } from '../helpers/status.js';

describe('network faults: a bad network between gsyncd and an SSH slave', () => {
  it(
    'through a proxy: 200 ms latency each way, stalls and random cuts while changes keep coming; converges',
    { timeout: 180_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const proxy = await FaultProxy.start(sshd.port, { latencyMs: 200, seed: SEED });
      scope.defer(() => proxy.close());
      const session = await startSession(scope, sshd, 'fault-proxy', faultRsh(sshd, proxy.port));
      const { g } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 5, 60_000);
      const logMark = g.stderrLines.length;

      // Shorter than the keepalive's 6 s: the connection must live through it, no new one.
      const acceptedBefore = proxy.accepted;
      await proxy.stall(3000);
      assert.equal(proxy.accepted, acceptedBefore, `a 3 s stall made gsyncd connect again:\n${g.tail()}`);
      // Lifetimes long enough for an ssh login at 400 ms round trips, short enough to hit
      // connections in use.
      // Cuts go on until gsyncd has reopened its ssh connection through them at least once:
      // how many cuts that takes depends on how fast a login is, here and now.
      proxy.randomCuts({ minMs: 2500, maxMs: 7000 });
      await pollUntil(
        () => (proxy.cuts >= 3 && g.findLog('ssh connection up again', logMark) !== -1 ? true : undefined),
        () => `3 connections cut by the proxy and the ssh connection reopened (cut ${proxy.cuts}, accepted ${proxy.accepted}); gsyncd:\n${g.tail()}`,
        { timeoutMs: 90_000, intervalMs: 100 },
      );
      await proxy.stall(3000);
      proxy.randomCuts(undefined);

      // A host that answers with resets: what is open is cut, what comes is refused.
      proxy.refuse(true);
      proxy.cutAll();
      await pollUntil(
        () => (proxy.refused >= 2 ? true : undefined),
        () => `gsyncd to try the refusing proxy twice (refused ${proxy.refused}); gsyncd:\n${g.tail()}`,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const refused = await statusOf(g.stateDir);
      assert.equal(refused.status, 'Faulty', `status while every connection is refused: ${JSON.stringify(refused)}`);
      assert.match(refused.reason ?? '', /^slave unreachable: \S/, `the reason while refused: ${JSON.stringify(refused)}`);
      proxy.refuse(false);
      assertRunning(g, 'during the network faults');

      // Still behind 200 ms each way: the changes made since must arrive, then all of them.
      const calmAt = changes.count;
      await waitForSlaveStep(session, calmAt + 5, 60_000);
      await changes.stop();
      await waitForMirror(session.layout.master, session.layout.slave, 60_000);
      assertRunning(g, 'after the network faults');
      t.diagnostic(
        `proxy: ${proxy.accepted} connections, ${proxy.cuts} cut, ${proxy.refused} refused; ` +
          `gsyncd reopened its ssh connection ${g.countLog('ssh connection up again')} times`,
      );
      await stopAndAssertClean(g);
    },
  );
});
