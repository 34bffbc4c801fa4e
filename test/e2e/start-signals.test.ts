// SIGINT and SIGTERM at any moment of start-up stop gsyncd cleanly: exit 0, no ERROR, no
// process left behind, locally and over SSH. The signal is sent at each step the log names
// (the session set up, the watch, the SSH connection, the slave channel, the Full Crawl, live)
// and at moments spread from when it has read its config and taken its lock (its pid file;
// its handlers are in place before it reads anything; before them Node.js itself is still
// starting, and a signal ends it as it ends any program). A second signal exits at once with 1.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeExit, remoteGsyncdArgs, startGsyncd, type GsyncdProcess } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { makeWideTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

/** Whether the session's pid file is there: gsyncd has read its config and taken its lock. */
function locked(stateDir: string): boolean {
  try {
    return readdirSync(stateDir).some((d) => existsSync(path.join(stateDir, d, 'gsyncd.pid')));
  } catch {
    return false;
  }
}

type Moment = { readonly after: string } | { readonly ms: number };
const LOCAL_STEPS = ['gsyncd starting', 'session phase changed', 'watch in place', 'Full Crawl started', 'Changelog Crawl started'];
const SSH_STEPS = ['gsyncd starting', 'watch in place', 'ssh connection up', 'slave channel up', 'Full Crawl started', 'Changelog Crawl started'];
const DELAYS = [0, 20, 50, 100, 200, 400, 800];
const moments = (steps: readonly string[]): Moment[] => [...DELAYS.map((ms) => ({ ms })), ...steps.map((s) => ({ after: s }))];
const describeMoment = (m: Moment): string => ('ms' in m ? `${String(m.ms)} ms after it took its lock` : `at "${m.after}"`);

async function signalAt(g: GsyncdProcess, m: Moment, signal: NodeJS.Signals): Promise<void> {
  if ('after' in m) {
    await g.waitForLog(m.after, 60_000);
  } else {
    await pollUntil(
      () => (locked(g.stateDir) || g.exit !== undefined ? true : undefined),
      () => `gsyncd (pid ${String(g.pid)}) to take its lock`,
      { timeoutMs: 30_000, intervalMs: 2 },
    );
    await sleep(m.ms);
  }
  g.child.kill(signal);
}

describe('a stop signal at any moment of start-up', { concurrency: 4 }, () => {

  for (const over of ['local', 'ssh'] as const) {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      it(`${signal}, ${over} slave: exit 0 at every step, nothing left running`, { timeout: 240_000 }, async (t) => {
        const scope = scopeFor(t);
        // An sshd of its own: the leftover check takes any process naming this run's key for its own.
        const sshd = over === 'ssh' ? await startSshd() : undefined;
        if (sshd) scope.defer(() => sshd.stop());
        const layout = await makeLayout(scope, `start-${signal}-${over}`);
        makeWideTree(layout.master, 2000, 20);
        const points = moments(over === 'ssh' ? SSH_STEPS : LOCAL_STEPS);
        for (const [i, m] of points.entries()) {
          const slave = `${layout.slave}-${String(i)}`;
          const remote = sshd ? ['-e', sshd.rsh, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(slave)] : [layout.master, slave];
          const g = await startGsyncd(['--log-level', 'DEBUG', ...remote]);
          try {
            await signalAt(g, m, signal);
            const exit = await g.waitForExit(60_000);
            const where = `${signal} ${describeMoment(m)}: gsyncd exited ${describeExit(exit)}\n${g.tail(40)}`;
            assert.deepEqual(exit, { code: 0, signal: null }, where);
            assert.ok(!g.stderrLines.some((l) => / ERROR /.test(l)), where);
            await g.assertNoChildrenLeft();
          } finally {
            await g.dispose();
          }
        }
      });
    }
  }

  it('a second signal exits at once with 1', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'start-second-signal');
    makeWideTree(layout.master, 20, 4, 2 * 1024 * 1024);
    // A Full Crawl far slower than the shutdown bound: only the second signal ends it early.
    const g = await startGsyncd(['--bwlimit', '100', '--shutdown-timeout', '60', layout.master, layout.slave]);
    try {
      await g.waitForLog('Full Crawl started', 30_000);
      g.child.kill('SIGINT');
      await g.waitForLog('signal received', 10_000);
      g.child.kill('SIGINT');
      const exit = await g.waitForExit(10_000);
      assert.deepEqual(exit, { code: 1, signal: null }, g.tail());
    } finally {
      await g.dispose();
    }
  });
});
