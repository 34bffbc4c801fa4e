// The two live scenarios, the same for every daemon: one file's latency, and a burst of
// new files' time to converge. Both watch the slave directory directly, as a user would.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { sleep } from './proc.js';
import { countFiles, mismatches, planBurst, readOrUndefined, writeBurst, type Tree } from './tree.js';

/** Sample i's file, relative: a different directory each time, walking every top-level folder. */
export function latencyPath(tree: Tree, tag: string, i: number): string {
  // 37 is coprime with 1,000 directories and 50 top-level folders: no repeats for 50 samples.
  const stride = tree.dirs.length > 37 ? 37 : 1;
  const dir = tree.dirs[(i * stride + 11) % tree.dirs.length]!;
  return `${dir}/latency-${tag}-${String(i).padStart(3, '0')}.txt`;
}

/**
 * Writes one new file with unique content in a different directory each time and polls
 * the slave copy every `pollMs` until the content matches.
 */
export async function measureLatency(
  tree: Tree,
  slave: string,
  opts: {
    tag: string;
    samples: number;
    pollMs: number;
    timeoutMs: number;
    onSample?: (i: number, ms: number) => void;
    isAlive?: () => boolean;
  },
): Promise<number[]> {
  const samplesMs: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    const rel = latencyPath(tree, opts.tag, i);
    const content = `latency ${opts.tag} ${i} ${randomUUID()}\n`;
    const target = join(slave, rel);
    const t0 = performance.now();
    writeFileSync(join(tree.root, rel), content);
    for (;;) {
      if (readOrUndefined(target) === content) break;
      const waited = performance.now() - t0;
      if (waited > opts.timeoutMs || (opts.isAlive !== undefined && !opts.isAlive())) {
        throw new Error(`latency sample ${i}: ${rel} not on the slave after ${Math.round(waited)} ms`);
      }
      await sleep(opts.pollMs);
    }
    const ms = performance.now() - t0;
    samplesMs.push(ms);
    opts.onSample?.(i, ms);
    // Let the daemon go idle again, at an irregular gap so as not to lock onto its timers.
    await sleep(150 + Math.random() * 100);
  }
  return samplesMs;
}

export interface BurstRun {
  readonly files: number;
  readonly writeSeconds: number; // creating them on the master
  readonly seconds: number; // first write to every file on the slave with the right content
  readonly contentRetries: number; // content checks that failed after the count was complete
}

export async function measureBurst(
  tree: Tree,
  slave: string,
  opts: { tag: string; files: number; pollMs: number; timeoutMs: number; isAlive?: () => boolean },
): Promise<BurstRun> {
  const plan = planBurst(tree.shape, opts.tag, opts.files);
  const t0 = performance.now();
  const burst = writeBurst(tree.root, plan);
  let contentRetries = 0;
  let pending = burst.files;
  let countDone = false;
  for (;;) {
    // Counting directory entries is cheap; read contents only once all names are there.
    // rsync renames a complete temporary into place, so a present name has full content
    // unless the daemon sent the file while it was still being written.
    if (!countDone) countDone = countFiles(slave, burst.dirs) >= burst.files.length;
    if (countDone) {
      const now = performance.now();
      pending = mismatches(slave, pending);
      if (pending.length === 0) {
        // The count completed at `now`; the content check itself does not count.
        return {
          files: burst.files.length,
          writeSeconds: burst.writeSeconds,
          seconds: (now - t0) / 1000,
          contentRetries,
        };
      }
      contentRetries++;
    }
    const waited = performance.now() - t0;
    if (waited > opts.timeoutMs || (opts.isAlive !== undefined && !opts.isAlive())) {
      const have = countFiles(slave, burst.dirs);
      throw new Error(
        `burst: ${have}/${burst.files.length} files on the slave after ${Math.round(waited)} ms` +
          (countDone ? `, ${pending.length} with wrong content` : ''),
      );
    }
    await sleep(opts.pollMs);
  }
}
