// -L and -k live, differential against rsync with the same flags: a link is sent as what it
// points at, and a change to that, made at its own path, reaches every copy of it on the
// slave: through a link to a file, to a directory, a chain of links, a link retargeted, a link
// out of the tree (found by the rescan), and across a restart.
import assert from 'node:assert/strict';
import { appendFileSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { converge } from '../helpers/filter-oracle.js';
import { flagDifferences, type FlagCase } from '../helpers/flag-cases.js';
import { exec } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';

/** A new link replacing `link` at once, as `ln -sfn` does. */
function retarget(link: string, target: string): void {
  symlinkSync(target, `${link}.new`);
  renameSync(`${link}.new`, link);
}

for (const flag of ['-L', '-k'] as const) {
  const k: FlagCase = { args: ['-a', flag] };
  describe(`${flag}: what links point at is mirrored, and follows its changes`, () => {
    it('--once, live, and across a restart', { timeout: 120_000 }, async (t) => {
      const scope = scopeFor(t);
      const layout = await makeLayout(scope, `copy-links${flag}`);
      const { master, slave } = layout;
      mkdirSync(path.join(master, 'd/sub'), { recursive: true });
      writeFileSync(path.join(master, 'd/f'), 'first\n');
      writeFileSync(path.join(master, 'd/g'), 'other\n');
      writeFileSync(path.join(master, 'd/sub/deep'), 'deep\n');
      const outside = path.join(layout.outside, 'referent');
      mkdirSync(outside);
      writeFileSync(path.join(outside, 'out.txt'), 'out of the tree\n');
      symlinkSync('d/f', path.join(master, 'to-file'));
      symlinkSync('d', path.join(master, 'to-dir'));
      symlinkSync('to-dir', path.join(master, 'chain'));
      symlinkSync('../g', path.join(master, 'd/sub/up-link'));
      const oracle = path.join(layout.base, 'oracle');
      mkdirSync(oracle, { recursive: true });
      const rsync = async (): Promise<void> => {
        const r = await exec('rsync', [...k.args, '--delete', `${master}/`, `${oracle}/`]);
        assert.equal(r.code, 0, r.stderr);
      };
      const same = (what: string): Promise<void> => converge(() => flagDifferences(oracle, slave, k), what, 30_000);

      await rsync();
      const state = path.join(layout.base, 'state');
      const once = await exec(process.execPath, [gsyncdBin, '--once', '--state-dir', state, ...k.args, master, slave], { env: { ...process.env, GSYNCD_STATE_DIR: state } });
      assert.equal(once.code, 0, once.stderr);
      assert.equal(await flagDifferences(oracle, slave, k), '', `gsyncd --once ${flag} leaves what rsync ${flag} leaves`);
      assert.equal(lstatSync(path.join(slave, 'to-dir')).isDirectory(), true, 'a link to a directory is a directory on the slave');
      assert.equal(lstatSync(path.join(slave, 'to-file')).isFile(), flag === '-L', '-L copies a link to a file as the file, -k keeps it a link');

      const args = [...k.args, '--batch-delay', '0.1', '--poll-interval', '1', '--log-level', 'DEBUG', master, slave];
      let g = await startGsyncd(args, { stateDir: state });
      try {
        await g.waitForLog('Changelog Crawl started', 30_000);
        // Changes made at the referents' own paths, never at the links.
        appendFileSync(path.join(master, 'd/f'), 'appended live\n');
        writeFileSync(path.join(master, 'd/new'), 'new in the linked directory\n');
        writeFileSync(path.join(master, 'd/sub/deep'), 'rewritten through nothing\n');
        writeFileSync(path.join(master, 'd/g'), 'the chain up and back\n');
        mkdirSync(path.join(master, 'd/made'));
        writeFileSync(path.join(master, 'd/made/inside'), 'a directory made live\n');
        await rsync();
        await same(`live ${flag}: edits under linked paths`);
        assert.equal(readFileSync(path.join(slave, 'chain/made/inside'), 'utf8'), 'a directory made live\n');

        rmSync(path.join(master, 'd/new'));
        retarget(path.join(master, 'to-file'), 'd/g');
        symlinkSync('d/sub', path.join(master, 'made-live'));
        writeFileSync(path.join(master, 'd/sub/later'), 'under a link made live\n');
        await rsync();
        await same(`live ${flag}: a delete, a retargeted link, a link made live`);

        // Out of the tree no watch sees it: from the first such link on (none so far, so the
        // steps above were the watch's alone), a rescan every --poll-interval does.
        symlinkSync(outside, path.join(master, 'to-outside'));
        await rsync();
        await same(`live ${flag}: a link out of the tree made live`);
        await g.waitForLog('rescanning the tree for it', 10_000);
        writeFileSync(path.join(outside, 'out.txt'), 'changed out of the tree\n');
        writeFileSync(path.join(outside, 'added.txt'), 'added out of the tree\n');
        await rsync();
        await same(`live ${flag}: a change out of the tree, through a link`);
        await g.stop();
        assert.ok(!g.stderrLines.some((l) => /WARNING|ERROR/.test(l)), g.tail());

        // While stopped: the History Crawl's listing follows links too.
        writeFileSync(path.join(master, 'd/f'), 'rewritten while stopped\n');
        writeFileSync(path.join(master, 'd/sub/while-stopped'), 'new while stopped\n');
        g = await startGsyncd(args, { stateDir: state });
        await g.waitForLog('Changelog Crawl started', 30_000);
        await rsync();
        await same(`restart ${flag}: changes made while stopped`);
        await g.stop();
      } finally {
        await g.dispose();
      }
    });
  });
}
