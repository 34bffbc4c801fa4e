/**
 * The guard of invariant 5: an empty master root (an unmounted disk, a wrong path) must
 * never wipe the slave. Asks whether the master is empty and the slave is not.
 */
import { readdir } from 'node:fs/promises';
import { listSlaveArgv, type RsyncPlan } from './rsync-argv.js';
import type { RunRsync } from './rsync-runner.js';

export const isEmptyDir = async (dir: string): Promise<boolean> => {
  try {
    return (await readdir(dir)).length === 0;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw e;
  }
};

/** Entries of `rsync --list-only --dirs` output other than the root itself. */
export const listedEntries = (output: string): number =>
  output.split('\n').filter((l) => l.trim() !== '' && !/ \.$/.test(l) && /^[-dlcbps]/.test(l)).length;

export async function slaveHasFiles(plan: RsyncPlan, localSlave: string | undefined, rsync: string, run: RunRsync): Promise<boolean> {
  if (localSlave !== undefined) return !(await isEmptyDir(localSlave));
  const r = await run(rsync, listSlaveArgv(plan), {});
  // 23: the slave root does not exist yet, so it holds nothing.
  if (r.exit.code === 23 && /No such file or directory/.test(r.stderr)) return false;
  if (r.exit.code !== 0) throw new Error(`cannot list the slave: ${r.stderr.trim() || r.exit.meaning}`);
  return listedEntries(r.output) > 0;
}
