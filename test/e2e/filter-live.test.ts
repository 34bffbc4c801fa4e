// Filter rules around the live mirror: an excluded directory is not watched (the inotify
// watches are counted in /proc, for both watchers), a changed .rsync-filter file applies to its directory at once,
// and every malformed rule stops gsyncd with exit 2 and rsync's reason, changing nothing.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { exec } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { descendantsOf } from '../helpers/proc.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { pollUntil } from '../helpers/wait.js';

/**
 * inotify watches held by a process and its descendants (the default watcher's helper holds
 * them): one "inotify wd:" line per watch in their fdinfo.
 */
function inotifyWatches(pid: number): number {
  let n = 0;
  for (const p of [pid, ...descendantsOf(pid).map((r) => r.pid)]) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fdinfo`);
    } catch {
      continue; // exited meanwhile
    }
    for (const fd of fds) {
      try {
        n += readFileSync(`/proc/${p}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify wd:')).length;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return n;
}

describe('filter rules, live', () => {
  for (const watcher of ['inotify', 'native']) {
    it(`--watcher ${watcher}: does not watch an excluded directory`, { timeout: 90_000 }, async (t) => {
      const layout = await makeLayout(scopeFor(t), `filter-watches-${watcher}`);
      for (let i = 0; i < 300; i++) mkdirSync(path.join(layout.master, 'node_modules', `p${i}`, 'lib'), { recursive: true });
      mkdirSync(path.join(layout.master, 'src', 'a'), { recursive: true });
      writeFileSync(path.join(layout.master, 'src', 'a', 'f.txt'), 'f\n');
      const count = async (args: string[], slave: string): Promise<number> => {
        const g = await startGsyncd(['--watcher', watcher, ...args, layout.master, slave]);
        try {
          await g.waitForLog('Changelog Crawl started', 30_000);
          return inotifyWatches(g.pid);
        } finally {
          await stopAndAssertClean(g);
        }
      };
      const all = await count([], layout.slave);
      const excluded = await count(['--exclude=node_modules'], path.join(layout.outside, 'slave2'));
      t.diagnostic(`inotify watches: ${all} with node_modules, ${excluded} without`);
      assert.ok(all >= 600, `every directory watched: ${all}`);
      assert.ok(excluded < 20, `node_modules not watched: ${excluded}`);
    });
  }

  it('applies a changed .rsync-filter to its directory at once (-F)', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'filter-merge-live');
    mkdirSync(path.join(layout.master, 'logs'));
    writeFileSync(path.join(layout.master, 'logs', 'a.log'), 'a\n');
    writeFileSync(path.join(layout.master, 'logs', 'keep.txt'), 'keep\n');
    const g = await startGsyncd(['-F', layout.master, layout.slave]);
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    // From now on *.log is excluded in logs/: new ones stay on the master. The old one goes
    // from the slave, as with `rsync -a --delete -F`: the receiver judges deletes before the
    // new .rsync-filter has reached it.
    writeFileSync(path.join(layout.master, 'logs', '.rsync-filter'), '- *.log\n');
    await g.waitForLog('filter file changed; resyncing its directory', 10_000);
    writeFileSync(path.join(layout.master, 'logs', 'b.log'), 'b\n');
    writeFileSync(path.join(layout.master, 'logs', 'new.txt'), 'new\n');
    await pollUntil(() => (existsSync(path.join(layout.slave, 'logs', 'new.txt')) ? true : undefined), () => 'logs/new.txt on the slave', { timeoutMs: 15_000 });
    // rsync -a --delete -F deletes it once the new .rsync-filter is on the slave; so does
    // gsyncd, in the run after the one that brought the filter file.
    await pollUntil(() => (existsSync(path.join(layout.slave, 'logs', 'a.log')) ? undefined : true), () => `logs/a.log deleted from the slave; gsyncd:\n${g.tail()}`, { timeoutMs: 15_000 });
    assert.ok(existsSync(path.join(layout.slave, 'logs', '.rsync-filter')));
    assert.ok(!existsSync(path.join(layout.slave, 'logs', 'b.log')), 'an excluded file was sent');
    await stopAndAssertClean(g);
  });

  // [arguments, the message after "gsyncd: "]
  const MALFORMED: readonly (readonly [readonly string[], string])[] = [
    [['-f', '- '], 'filter rule "- ": unexpected end of filter rule "- "'],
    [['-f', 'nonsense'], 'filter rule "nonsense": unknown filter rule "nonsense"'],
    [['-f', '-z x'], 'filter rule "-z x": invalid modifier "z" at position 1 in filter rule "-z x"'],
    [['-f', '! x'], 'filter rule "! x": "!" rule has trailing characters: "! x"'],
    [['-f', 'Hs x'], 'filter rule "Hs x": invalid modifier "s" at position 1 in filter rule "Hs x"'],
    [['-f', 'merge /nonexistent/rules'], 'filter rule "merge /nonexistent/rules": merge file /nonexistent/rules cannot be read'],
    [['-f', '. -'], 'filter rule ". -": merge from standard input ("merge -") cannot be used: gsyncd runs rsync many times'],
    [['--exclude-from=/nonexistent/list'], '--exclude-from /nonexistent/list: cannot read (ENOENT)'],
    [['--delete-excluded', '--ignore-deletes'], '--delete-excluded: deletes excluded files from the slave, and --ignore-deletes forbids deletes; choose one'],
  ];
  for (const [args, message] of MALFORMED) {
    it(`refuses ${args.join(' ')}: exit 2, nothing written`, { timeout: 30_000 }, async (t) => {
      const layout = await makeLayout(scopeFor(t), 'filter-bad');
      writeFileSync(path.join(layout.master, 'f'), 'f\n');
      const state = path.join(layout.outside, 'state');
      const r = await exec(process.execPath, [gsyncdBin, '--state-dir', state, ...args, layout.master, layout.slave]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, `gsyncd: ${message}\n`);
      assert.deepEqual(readdirSync(layout.slave), []);
      assert.ok(!existsSync(state), 'no session state was created');
    });
  }
});
