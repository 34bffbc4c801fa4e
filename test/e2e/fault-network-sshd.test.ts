// A network fault over SSH, injected for real while changes keep coming: the sshd dies and
// comes back on the same port. Status shows Faulty with the reason meanwhile, gsyncd keeps
// running, the slave ends up mirroring the master, and SIGTERM still ends gsyncd cleanly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import {
  assertRunning,
  faultRsh,
  startChanges,
  startSession,
  waitForSlaveStep,
  waitForStatusOf,
} from '../helpers/fault-session.js';
import { stopAndAssertClean } from '../helpers/gsyncd.js';
import { scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { pollUntil } from '../helpers/wait.js';
import { statusOf } from '../helpers/status.js';

describe('network faults: the sshd dies', () => {
  it(
    'the sshd dies and comes back on the same port: Faulty with the reason meanwhile, no exit, converges',
    { timeout: 120_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const session = await startSession(scope, sshd, 'fault-sshd-down', faultRsh(sshd, sshd.port));
      const { g } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 10, 30_000);

      // A dead host: the listener and every established session go, the port stops answering.
      const logMark = g.stderrLines.length;
      await sshd.halt();
      const downAt = changes.count;
      const faulty = await waitForStatusOf(g, 'Faulty', 60_000);
      assert.match(
        faulty.reason ?? '',
        /^(slave unreachable|connection to the slave lost): \S/,
        `the Faulty reason should say the slave cannot be reached, and why: ${JSON.stringify(faulty)}`,
      );
      t.diagnostic(`while the sshd was down: ${faulty.reason ?? ''}`);
      // Changes keep coming while the slave is away (a few seconds, so that gsyncd retries
      // more than once): they must be queued, not lost.
      await pollUntil(
        () => (changes.count >= downAt + 60 ? true : undefined),
        () => `the change stream to go on while the sshd is down (at ${changes.count})`,
        { timeoutMs: 30_000 },
      );
      assertRunning(g, 'while the sshd was down');
      assert.equal((await statusOf(g.stateDir)).status, 'Faulty', 'the session left Faulty while the sshd was still down');

      await sshd.restart();
      await g.waitForLog('ssh connection up again', 60_000, logMark);
      const upAt = changes.count;
      await waitForSlaveStep(session, upAt + 10, 60_000);
      await changes.stop();
      await waitForMirror(session.layout.master, session.layout.slave, 60_000);
      await waitForStatusOf(g, 'Active', 30_000);
      assertRunning(g, 'after the sshd came back');
      await stopAndAssertClean(g);
    },
  );
});
