// Processes killed under gsyncd over SSH while changes keep coming: a running rsync and the
// ssh ControlMaster are SIGKILLed mid-batch, and the ControlMaster alone (a stale socket must
// not keep the shared connection from coming back). gsyncd keeps running and converges.
import assert from 'node:assert/strict';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import {
  assertControlMasterAnswers,
  assertRunning,
  controlPathOf,
  dropBigFile,
  faultRsh,
  isControlMaster,
  rsyncSending,
  startChanges,
  startSession,
  waitForDescendant,
  waitForSlaveStep,
  waitForStatusOf,
} from '../helpers/fault-session.js';
import { stopAndAssertClean } from '../helpers/gsyncd.js';
import { isAlive } from '../helpers/proc.js';
import { scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { pollUntil } from '../helpers/wait.js';

describe('network faults: rsync and the ControlMaster killed', () => {
  it('SIGKILL of an rsync mid-batch: the batch fails, is retried, no exit, converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    // A bandwidth limit keeps the big file's batch in flight for seconds, long enough to be hit.
    const session = await startSession(scope, sshd, 'fault-kill-rsync', faultRsh(sshd, sshd.port), ['--bwlimit', '4000']);
    const { g, layout } = session;
    const changes = startChanges(scope, session);
    await waitForSlaveStep(session, 5, 30_000);

    const logMark = g.stderrLines.length;
    const big = dropBigFile(layout, 'big-1.bin', 16 * 1024 * 1024);
    const victim = await rsyncSending(g, big);
    process.kill(victim.pid, 'SIGKILL');
    await g.waitForLog(/batch failed/, 30_000, logMark);
    assertRunning(g, 'after its rsync was killed');
    await pollUntil(
      () => (isAlive(victim) ? undefined : true),
      () => `the killed rsync ${victim.pid} to be gone`,
      { timeoutMs: 10_000 },
    );

    const killedAt = changes.count;
    await waitForSlaveStep(session, killedAt + 10, 60_000);
    await changes.stop();
    await waitForMirror(layout.master, layout.slave, 60_000);
    assertRunning(g, 'after the retried batch');
    await stopAndAssertClean(g);
  });

  it('SIGKILL of the ssh ControlMaster mid-batch: the batch fails, no exit, converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    const session = await startSession(scope, sshd, 'fault-kill-master', faultRsh(sshd, sshd.port), ['--bwlimit', '4000']);
    const { g, layout } = session;
    const changes = startChanges(scope, session);
    await waitForSlaveStep(session, 5, 30_000);

    const logMark = g.stderrLines.length;
    const big = dropBigFile(layout, 'big-2.bin', 16 * 1024 * 1024);
    const sending = await rsyncSending(g, big);
    const master = await waitForDescendant(g, 'the ssh ControlMaster', isControlMaster, 10_000);
    process.kill(master.pid, 'SIGKILL');
    // The rsync in flight spoke through the killed connection: it fails, and so does its batch.
    await pollUntil(
      () => (isAlive(sending) ? undefined : true),
      () => `the rsync ${sending.pid} that used the killed ControlMaster to end`,
      { timeoutMs: 30_000 },
    );
    await g.waitForLog(/batch failed/, 30_000, logMark);
    assertRunning(g, 'after its ControlMaster was killed');

    const killedAt = changes.count;
    await waitForSlaveStep(session, killedAt + 10, 60_000);
    await changes.stop();
    await waitForMirror(layout.master, layout.slave, 60_000);
    assertRunning(g, 'after the ControlMaster was killed');
    await stopAndAssertClean(g);
  });

  it(
    'SIGKILL of the ssh ControlMaster: a new shared connection is opened and the session is Active again',
    { timeout: 120_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const session = await startSession(scope, sshd, 'fault-master-back', faultRsh(sshd, sshd.port));
      const { g, layout } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 5, 30_000);

      const logMark = g.stderrLines.length;
      const master = await waitForDescendant(g, 'the ssh ControlMaster', isControlMaster, 10_000);
      // gsyncd removes its ControlPath directory when it stops cleanly, not when disposed of.
      const controlDir = path.dirname(controlPathOf(master));
      scope.defer(() => rm(controlDir, { recursive: true, force: true }));
      process.kill(master.pid, 'SIGKILL');
      // On loopback a new connection is up in a second or two; gsyncd gives one 20 s.
      const outcome = await g.waitForLog(/ssh connection up again|ssh connection to .* not up after/, 60_000, logMark);
      assert.match(
        outcome.line,
        /ssh connection up again/,
        `gsyncd could not open a new ControlMaster after the old one was killed:\n${g.tail()}`,
      );
      const again = await waitForDescendant(g, 'a new ssh ControlMaster', (r) => r.pid !== master.pid && isControlMaster(r), 30_000);
      await assertControlMasterAnswers(sshd, again);

      await changes.stop();
      await waitForMirror(layout.master, layout.slave, 60_000);
      await waitForStatusOf(g, 'Active', 30_000);
      assertRunning(g, 'after the ControlMaster came back');
      await stopAndAssertClean(g);
    },
  );
});
