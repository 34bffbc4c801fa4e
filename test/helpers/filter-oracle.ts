// Running one filter case three ways: real rsync (the oracle), gsyncd's own matcher over the
// same tree (what it would let through from events), and the built gsyncd.
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { normaliseArgv } from '../../src/cli/flags.js';
import { parseMirrorArgs } from '../../src/cli/mirror.js';
import { readFilterFiles } from '../../src/cli/prepare.js';
import { compileMatcher, type Matcher } from '../../src/filter/matcher.js';
import { exec, type ExecResult } from './exec.js';
import { SLAVE_EXTRAS, listTree, makeFixedTree, makeTree, type FilterCase } from './filter-cases.js';
import { pollUntil } from './wait.js';

export interface Prepared {
  readonly dir: string;
  readonly master: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
}

/** The case's directory: the master tree with its merge files, the outside files, the arguments. */
export function prepareCase(dir: string, k: FilterCase, tree: (root: string) => void = makeFixedTree): Prepared {
  const master = path.join(dir, 'master');
  tree(master);
  for (const [p, text] of Object.entries(k.masterFiles ?? {})) {
    mkdirSync(path.dirname(path.join(master, p)), { recursive: true });
    writeFileSync(path.join(master, p), text.replaceAll('@', dir));
  }
  for (const [p, text] of Object.entries(k.outsideFiles ?? {})) writeFileSync(path.join(dir, p), text.replaceAll('@', dir));
  // No ~/.cvsignore of whoever runs the tests: HOME is the case's directory.
  return { dir, master, args: k.args.map((a) => a.replaceAll('@', dir)), env: { ...process.env, HOME: dir, ...k.env } };
}

/** `rsync -a --delete ARGS master/ dest/` into a fresh dest, with the slave extras first when asked. */
export async function rsyncInto(p: Prepared, dest: string, withExtras: boolean): Promise<ExecResult> {
  if (withExtras) makeTree(dest, SLAVE_EXTRAS, {});
  else mkdirSync(dest, { recursive: true });
  return exec('rsync', ['-a', '--delete', ...p.args, `${p.master}/`, `${dest}/`], { env: p.env });
}

/** gsyncd's matcher for the case, built the way `gsyncd` builds it from the same arguments. */
export async function matcherFor(p: Prepared): Promise<Matcher> {
  const { options } = await parseMirrorArgs(normaliseArgv([...p.args, p.master, `${p.dir}/unused`]), { ...p.env, GSYNCD_CONFIG: '' });
  const files = await readFilterFiles(options.filters);
  return compileMatcher(options.filters, files, {
    read: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    },
    root: realpathSync(p.master),
    cwd: process.cwd(),
    env: p.env,
    deleteExcluded: options.rsyncFlags.has('delete-excluded'),
    cvsExclude: options.rsyncFlags.has('cvs-exclude'),
  });
}

/** The tree the matcher lets through: every path it includes (directories with a trailing /). */
export function predictedTree(master: string, m: Matcher): string[] {
  return listTree(master).filter((p) => m.verdict(p.replace(/\/$/, ''), p.endsWith('/')) === 'include');
}

/**
 * Polls `differences` until empty. `looksDone`, when given, is a cheap test that must pass
 * before `differences` runs (compare.ts looksAlike); at the deadline `differences` decides.
 */
export async function converge(differences: () => Promise<string>, what: string, timeoutMs: number, looksDone?: () => boolean): Promise<void> {
  let last = '';
  try {
    await pollUntil(
      async () => {
        if (looksDone && !looksDone()) return undefined;
        last = await differences();
        return last === '' ? true : undefined;
      },
      () => what,
      { timeoutMs, intervalMs: 250 },
    );
  } catch (e) {
    last = await differences();
    if (last !== '') throw new Error(`${e instanceof Error ? e.message : String(e)}; last differences:\n${last}`);
  }
}
