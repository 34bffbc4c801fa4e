/**
 * When a daemon's slave equals the master, for the step benches (churn-npm.ts, rename.ts):
 * rsync's itemized dry run, polled until it lists nothing, then confirmed by contents.
 */
import { performance } from 'node:perf_hooks';
import { describeExit, run, sleep } from './proc.js';

export interface CompareOptions {
  /** Contents compared too (-c), not only rsync's quick check. */
  readonly checksum: boolean;
  /** Directory times compared (default); false leaves them out (-O). */
  readonly dirTimes?: boolean;
}

/**
 * rsync's itemized list of what the slave lacks to equal the master (`*deleting` for extra
 * paths): nothing when they match. Without `checksum` it is rsync's quick check (type, size,
 * mtime, permissions, link targets); with it, contents are compared too.
 */
export async function treeDifferences(master: string, slave: string, o: CompareOptions): Promise<string[]> {
  const flags = `-ani${o.checksum ? 'c' : ''}${o.dirTimes === false ? 'O' : ''}`;
  const r = await run('rsync', [flags, '--delete', `${master}/`, `${slave}/`], { timeoutMs: 60_000 });
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  // 24: a file vanished while rsync listed it, as it does while a daemon's rsync renames its
  // temporaries into place. Not converged, whatever else it printed.
  if (r.code === 24 || r.code === 23) return [...lines, `(rsync ${describeExit(r)}: ${r.stderr.trim().split('\n')[0] ?? ''})`];
  if (r.code !== 0) throw new Error(`rsync dry run ${master}/ ${slave}/: ${describeExit(r)}\n${r.stderr.trim()}`);
  return lines;
}

export interface WaitOptions {
  readonly since: number;
  readonly timeoutMs: number;
  readonly alive: () => boolean;
  readonly pollMs: number;
  /** Directory times compared (default true). */
  readonly dirTimes?: boolean;
  /** A cheaper quick check than rsync's, where the bench has one. */
  readonly quick?: () => boolean;
}

/**
 * Polls until the slave equals the master; resolves with the end of the first clean quick
 * check (an upper bound by one poll), once a comparison of contents agrees.
 */
export async function waitMirrored(master: string, slave: string, o: WaitOptions): Promise<number> {
  const compare = (checksum: boolean): Promise<string[]> => treeDifferences(master, slave, { checksum, ...(o.dirTimes === undefined ? {} : { dirTimes: o.dirTimes }) });
  for (;;) {
    const quick = o.quick ? o.quick() : (await compare(false)).length === 0;
    const at = performance.now();
    if (quick && (await compare(true)).length === 0) return at;
    const waited = performance.now() - o.since;
    if (waited > o.timeoutMs || !o.alive()) {
      const diff = await compare(false);
      const why = o.alive() ? `not equal to the master after ${(waited / 1000).toFixed(1)} s` : 'daemon exited';
      throw new Error(`slave ${why}; ${diff.length} differences, e.g.\n${diff.slice(0, 8).map((l) => `  | ${l}`).join('\n')}`);
    }
    await sleep(o.pollMs);
  }
}
