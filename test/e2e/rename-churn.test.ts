// Random churn with renames, seeded: files and directories renamed over each other, swapped
// through temporary names, moved out of the tree and back in, edited right after a rename,
// while batches run. After each burst the slave must equal the master, and nothing may
// appear beside the slave root. A failure names its seed; GSYNCD_CHURN_RUNS sets how many
// bursts (default 25; 100 for a longer run by hand).
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { prng } from '../helpers/prng.js';
import { makeLayout, Scope, type Layout } from '../helpers/scope.js';

const RUNS = Number(process.env['GSYNCD_CHURN_RUNS'] ?? '25');
const NAMES = ['a', 'b', 'c', 'd', 'new\nline', 'sp ace'];

/** Every path under `root`, relative, parents first. */
function walk(root: string, rel = ''): { path: string; dir: boolean }[] {
  const out: { path: string; dir: boolean }[] = [];
  for (const name of readdirSync(path.join(root, rel))) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const dir = lstatSync(path.join(root, p)).isDirectory();
    out.push({ path: p, dir });
    if (dir) out.push(...walk(root, p));
  }
  return out;
}

/** One burst of changes, the same for the same seed. */
function burst(layout: Layout, seed: number): void {
  const rnd = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const m = (p: string): string => path.join(layout.master, p);
  for (let i = 0; i < 12; i++) {
    const all = walk(layout.master);
    const dirs = ['', ...all.filter((e) => e.dir).map((e) => e.path)];
    const place = (): string => {
      const dir = pick(dirs);
      return dir === '' ? pick(NAMES) : `${dir}/${pick(NAMES)}`;
    };
    const some = all.length > 0 ? pick(all) : undefined;
    const op = rnd();
    try {
      if (op < 0.15 || some === undefined) {
        const p = place();
        if (existsSync(m(p))) continue;
        if (rnd() < 0.3) mkdirSync(m(p));
        else writeFileSync(m(p), `${String(seed)}:${String(i)}\n`);
      } else if (op < 0.45) {
        // A rename, over a file or an empty directory when one is there (rename(2) decides).
        const to = place();
        if (!`${to}/`.startsWith(`${some.path}/`)) renameSync(m(some.path), m(to));
        if (!some.dir && rnd() < 0.5 && existsSync(m(to)) && !lstatSync(m(to)).isDirectory()) appendFileSync(m(to), 'edited after the rename\n');
      } else if (op < 0.6) {
        // A swap through a temporary name.
        const other = pick(all);
        if (other.path !== some.path && !`${other.path}/`.startsWith(`${some.path}/`) && !`${some.path}/`.startsWith(`${other.path}/`)) {
          renameSync(m(some.path), m('swap.tmp'));
          renameSync(m(other.path), m(some.path));
          renameSync(m('swap.tmp'), m(other.path));
        }
      } else if (op < 0.7) {
        renameSync(m(some.path), path.join(layout.outside, `out-${String(seed)}-${String(i)}`));
      } else if (op < 0.8) {
        const out = readdirSync(layout.outside).filter((n) => n.startsWith('out-'));
        const p = place();
        if (out.length > 0 && !existsSync(m(p))) renameSync(path.join(layout.outside, pick(out)), m(p));
      } else if (op < 0.9) {
        if (!some.dir) appendFileSync(m(some.path), 'appended\n');
      } else {
        rmSync(m(some.path), { recursive: true });
      }
    } catch (e) {
      // What rename(2) refuses (a non-empty directory, another type in the way) is no change.
      const code = (e as NodeJS.ErrnoException).code;
      if (!['ENOTEMPTY', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EINVAL'].includes(code ?? '')) throw e;
    }
  }
}

describe('random churn with renames', () => {
  const scope = new Scope();
  let layout: Layout;
  let slave: string;
  let g: GsyncdProcess;

  before(async () => {
    layout = await makeLayout(scope, 'rename-churn');
    slave = path.join(layout.slave, 'root');
    mkdirSync(slave);
    for (const n of ['a', 'b']) {
      mkdirSync(path.join(layout.master, n));
      for (const f of NAMES.slice(2)) writeFileSync(path.join(layout.master, n, f), `${n}/${f}\n`);
    }
    g = await startGsyncd(['--batch-delay', '0.1', layout.master, slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
  });
  after(() => scope.close());

  it(`ends identical to the master after each of ${String(RUNS)} seeded bursts`, { timeout: 30_000 + RUNS * 15_000 }, async () => {
    for (let seed = 1; seed <= RUNS; seed++) {
      burst(layout, seed);
      try {
        await waitForMirror(layout.master, slave, 15_000);
      } catch (e) {
        assert.fail(`seed ${String(seed)}: ${e instanceof Error ? e.message : String(e)}\n${g.tail(40)}`);
      }
      assert.deepEqual(readdirSync(layout.slave), ['root'], `seed ${String(seed)}: something appeared beside the slave root`);
    }
    assert.ok(g.stderrLines.some((l) => l.includes('renamed on the slave')), 'no rename was replayed');
    assert.deepEqual(
      g.stderrLines.filter((l) => /WARNING|ERROR/.test(l) && !l.includes('watcher missed changes')),
      [],
    );
    await stopAndAssertClean(g);
  });
});
