// Hard links under -H while live (issue 13), locally and over the loopback sshd: an append
// to a linked file, a new link to a file that had one name, and a link to a file that was
// just renamed all end with the slave's names linked as the master's are (rsync -anicH shows
// no `hf` line), and stay so once the reconciliation has run.
import assert from 'node:assert/strict';
import { appendFileSync, linkSync, lstatSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mirrorDifferences, waitForMirror } from '../helpers/compare.js';
import { remoteGsyncdArgs, startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';

/** The names' inode numbers on the slave, and whether they are one. */
const linked = (root: string, names: readonly string[]): boolean => new Set(names.map((n) => lstatSync(path.join(root, n)).ino)).size === 1;

for (const mode of ['local', 'ssh'] as const) {
  describe(`hard links kept live on a ${mode} slave (-H)`, () => {
    const scope = new Scope();
    let layout: Layout;
    let g: GsyncdProcess;
    const m = (p: string): string => path.join(layout.master, p);

    before(async () => {
      layout = await makeLayout(scope, `hard-links-${mode}`);
      writeFileSync(m('a'), 'one\n');
      linkSync(m('a'), m('b'));
      mkdirSync(m('d'));
      linkSync(m('a'), m('d/c'));
      writeFileSync(m('single'), 'single\n');
      let extra: string[] = [];
      let slave = layout.slave;
      if (mode === 'ssh') {
        const sshd = await startSshd();
        scope.defer(() => sshd.stop());
        extra = ['-e', sshd.rsh, ...remoteGsyncdArgs()];
        slave = sshd.slaveSpec(layout.slave);
      }
      g = await startGsyncd([...extra, '-H', '--batch-delay', '0.2', '--snapshot-interval', '1', layout.master, slave]);
      scope.defer(() => g.dispose());
      await g.waitForLog('Changelog Crawl started', 60_000);
      await waitForMirror(layout.master, layout.slave, 30_000);
      assert.ok(linked(layout.slave, ['a', 'b', 'd/c']));
    });
    after(() => scope.close());

    it('an append to a linked file keeps its names linked on the slave', { timeout: 60_000 }, async () => {
      appendFileSync(m('a'), 'two\n');
      await waitForMirror(layout.master, layout.slave, 30_000);
      assert.ok(linked(layout.slave, ['a', 'b', 'd/c']), g.tail());
    });

    it('a new link to a file of one name is a link on the slave', { timeout: 60_000 }, async () => {
      linkSync(m('single'), m('d/new-link'));
      await waitForMirror(layout.master, layout.slave, 30_000);
      assert.ok(linked(layout.slave, ['single', 'd/new-link']), g.tail());
    });

    it('a link to a file just renamed is a link, and an edit after it keeps all linked', { timeout: 60_000 }, async () => {
      renameSync(m('a'), m('d/a2'));
      linkSync(m('d/a2'), m('e'));
      appendFileSync(m('b'), 'three\n');
      await waitForMirror(layout.master, layout.slave, 30_000);
      assert.ok(linked(layout.slave, ['d/a2', 'b', 'd/c', 'e']), g.tail());
    });

    it('stays linked once the reconciliation has run', { timeout: 60_000 }, async () => {
      const mark = g.stderrLines.length;
      await g.waitForLog('snapshot saved', 30_000, mark);
      assert.equal(await mirrorDifferences(layout.master, layout.slave), '');
      assert.ok(linked(layout.slave, ['d/a2', 'b', 'd/c', 'e']) && linked(layout.slave, ['single', 'd/new-link']));
      assert.deepEqual(g.stderrLines.filter((l) => /WARNING|ERROR/.test(l)), []);
      await stopAndAssertClean(g);
    });
  });
}
