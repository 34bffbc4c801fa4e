// Races between the watcher and a running transfer: files created and deleted inside a
// directory while rsync is sending that directory. The watcher may coalesce such a create
// and delete into nothing after rsync has already copied the file; the slave must converge.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { waitForMirror } from '../helpers/compare.js';
import { remoteGsyncdArgs, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('watcher and transfer races', () => {
  let sshd: Sshd;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd.stop();
  });

  for (const where of ['local', 'ssh'] as const) {
    it(`${where}: files created and deleted in a new directory while it is being sent`, { timeout: 120_000 }, async (t) => {
      const layout = await makeLayout(scopeFor(t), `races-${where}`);
      makeSmallTree(layout.master);
      const slave = where === 'ssh' ? sshd.slaveSpec(layout.slave) : layout.slave;
      const args = where === 'ssh' ? ['-e', sshd.rsh, ...remoteGsyncdArgs()] : [];
      const g = await startGsyncd([...args, '--batch-delay', '0.2', layout.master, slave]);
      t.after(() => g.dispose());
      await g.waitForLog('Changelog Crawl started', 60_000);
      for (let round = 0; round < 3; round++) {
        const dir = path.join(layout.master, `stream${round}`);
        mkdirSync(dir);
        for (let step = 1; step <= 40; step++) {
          writeFileSync(path.join(dir, `f-${String(step).padStart(5, '0')}.txt`), `${round}/${step}\n`);
          if (step % 5 === 0) rmSync(path.join(dir, `f-${String(step - 3).padStart(5, '0')}.txt`));
          await delay(15);
        }
        await waitForMirror(layout.master, layout.slave, 30_000);
      }
      await stopAndAssertClean(g);
    });
  }
});
