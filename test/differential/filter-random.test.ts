// Random rule sets over random trees, against real rsync: for each seed, gsyncd's matcher
// must let through exactly what `rsync -a RULES` copies into an empty directory, and it must
// refuse exactly the rule sets rsync refuses. A mismatch names its seed: rerun one with
// GSYNCD_FILTER_SEED=N (and GSYNCD_FILTER_RUNS=1).
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { listTree, makeTree } from '../helpers/filter-cases.js';
import { matcherFor, predictedTree, prepareCase } from '../helpers/filter-oracle.js';
import { exec } from '../helpers/exec.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { prng } from '../helpers/prng.js';

const RUNS = Number(process.env['GSYNCD_FILTER_RUNS'] ?? 300);
const FIRST_SEED = Number(process.env['GSYNCD_FILTER_SEED'] ?? 1);


const NAMES = ['a', 'b', 'ab', 'x.tmp', 'y.o', 'core', '.h', 'keep', 'c1', 'z z', 'd[1]', 'q?', 'sub', 'deep'];
const PATTERNS = [
  'a', 'b', '*.tmp', '*.o', 'core', '.*', '*', '*/', 'a/', '/a', '/b/', 'sub/a', 'a/*/b', '/a/**', '**/b', 'sub/***', 'a*', '[ab]', '[!a]*',
  '?', 'c[[:digit:]]', 'x.tmp', 'keep', 'z z', 'd\\[1\\]', 'deep/', '/sub/deep/*', '**/deep/**', 'q\\?', 'ab/', '*b', 'sub', '/*.o',
];
/** Rules rsync refuses: gsyncd must refuse them too. */
const BROKEN = ['-z a', 'Hs a', '! a', 'nonsense', '- ', '+e a', 'PC', ':! .x', 'merge /nonexistent/rules'];
const KINDS = ['-', '+', '-', '+', 'H', 'S', 'P', 'R', '-!', '+!', '-p', '-s', '+s', '-r', 'exclude', 'include', '-/', 'hide', 'show'];

interface Generated {
  readonly paths: string[];
  readonly args: string[];
  readonly masterFiles: Record<string, string>;
}

function generate(seed: number): Generated {
  const r = prng(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  // A tree of up to 3 levels: directories and files named from a small pool, so rules hit.
  const paths = new Set<string>();
  const grow = (dir: string, depth: number): void => {
    const n = 2 + Math.floor(r() * 4);
    for (let i = 0; i < n; i++) {
      const name = pick(NAMES);
      const p = dir === '' ? name : `${dir}/${name}`;
      if ([...paths].some((q) => q === p || q === `${p}/`)) continue;
      if (depth < 3 && r() < 0.4) {
        paths.add(`${p}/`);
        grow(p, depth + 1);
      } else paths.add(p);
    }
  };
  grow('', 0);
  const rule = (): string => {
    const kind = pick(KINDS);
    const pattern = pick(PATTERNS);
    return `${kind} ${pattern}`;
  };
  const args: string[] = [];
  const masterFiles: Record<string, string> = {};
  const count = 1 + Math.floor(r() * 6);
  for (let i = 0; i < count; i++) {
    const roll = r();
    if (roll < 0.55) args.push('-f', rule());
    else if (roll < 0.7) args.push(`--exclude=${pick(PATTERNS)}`);
    else if (roll < 0.8) args.push(`--include=${pick(PATTERNS)}`);
    else if (roll < 0.84) args.push('-f', '!');
    else if (roll < 0.86) args.push('-f', pick(BROKEN));
    else if (roll < 0.93 && !args.includes('-F')) {
      // Per-directory rules: -F, with .rsync-filter files in a few directories.
      args.push('-F');
      const dirs = ['', ...[...paths].filter((p) => p.endsWith('/')).map((p) => p.slice(0, -1))];
      for (let j = 0; j < 2; j++) {
        const d = pick(dirs);
        masterFiles[d === '' ? '.rsync-filter' : `${d}/.rsync-filter`] = `${rule()}\n${r() < 0.3 ? '!\n' : ''}${rule()}\n`;
      }
    } else args.push('-C');
  }
  return { paths: [...paths], args, masterFiles };
}

describe('filter rules: random rule sets and trees against rsync', () => {
  it(`${RUNS} seeds from ${FIRST_SEED}`, { timeout: 600_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'filter-random');
    const mismatches: string[] = [];
    let refusedBoth = 0;
    for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
      const g = generate(seed);
      const dir = path.join(layout.outside, `seed-${seed}`);
      mkdirSync(dir);
      const p = prepareCase(dir, { name: `seed ${seed}`, args: g.args, masterFiles: g.masterFiles }, (root) => {
        makeTree(root, g.paths, {});
      });
      const fresh = path.join(dir, 'fresh');
      mkdirSync(fresh);
      const copied = await exec('rsync', ['-a', ...p.args, `${p.master}/`, `${fresh}/`], { env: p.env });
      const m = await matcherFor(p).catch((e: unknown) => ({ thrown: e instanceof Error ? e.message : String(e) }));
      const refused = 'thrown' in m || m.problems.length > 0;
      if (copied.code !== 0 || refused) {
        if (copied.code !== 0 && refused) refusedBoth++;
        else mismatches.push(`seed ${seed} (${g.args.join(' ')}): rsync exit ${String(copied.code)} ${copied.stderr.trim()}; gsyncd ${'thrown' in m ? m.thrown : m.problems.join('; ') || 'accepts'}`);
      } else {
        const want = listTree(fresh);
        const got = predictedTree(p.master, m);
        if (JSON.stringify(want) !== JSON.stringify(got)) {
          const extra = got.filter((x) => !want.includes(x));
          const missing = want.filter((x) => !got.includes(x));
          mismatches.push(`seed ${seed} (${g.args.join(' ')} ${JSON.stringify(g.masterFiles)}): gsyncd would also send ${JSON.stringify(extra)}, would not send ${JSON.stringify(missing)}`);
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
    writeFileSync(path.join(layout.outside, 'done'), `${RUNS} ${refusedBoth}\n`);
    t.diagnostic(`${RUNS} comparisons; ${refusedBoth} rule sets refused by both`);
    assert.deepEqual(mismatches, [], mismatches.slice(0, 10).join('\n'));
  });
});
