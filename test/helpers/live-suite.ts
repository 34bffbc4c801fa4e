// Registers one test per live step against a running gsyncd, so the local and the SSH
// live suites run the very same changes, then one test that the whole tree mirrors.
import path from 'node:path';
import { it } from 'node:test';
import { waitForMirror } from './compare.js';
import { LIVE_STEPS, stepDirName, type LiveContext } from './live-steps.js';

export const LIVE_MIRROR_TIMEOUT_MS = 30_000;

export interface LiveTarget {
  master: string;
  slave: string;
  outside: string;
}

/** `target()` is read when each step runs (after the suite's `before` has set it up). */
export function defineLiveSteps(target: () => LiveTarget): void {
  const failed: string[] = [];
  for (const [index, step] of LIVE_STEPS.entries()) {
    it(step.name, { timeout: 4 * LIVE_MIRROR_TIMEOUT_MS }, async () => {
      const { master, slave, outside } = target();
      const name = stepDirName(index);
      const dir = path.join(master, name);
      const ctx: LiveContext = {
        dir,
        outside: path.join(outside, name),
        settle: () => waitForMirror(dir, path.join(slave, name), LIVE_MIRROR_TIMEOUT_MS),
      };
      try {
        await step.run(ctx);
        await ctx.settle();
      } catch (error: unknown) {
        failed.push(name);
        throw error;
      }
    });
  }

  // The roots and everything between the steps' directories; a failed step has already
  // been reported and is left out.
  it('the whole tree mirrors after all the steps', { timeout: 2 * LIVE_MIRROR_TIMEOUT_MS }, async () => {
    const { master, slave } = target();
    await waitForMirror(master, slave, LIVE_MIRROR_TIMEOUT_MS, { exclude: failed.map((name) => `/${name}`) });
  });
}
