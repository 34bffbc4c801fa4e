/**
 * Children that die with gsyncd. execa's cleanup kills them when gsyncd exits, but not when
 * gsyncd is killed with SIGKILL: an rsync would go on writing into the slave while the next
 * gsyncd crawls it, and an `ssh -M` would hold its connection forever. Linux's parent-death
 * signal covers that case; util-linux's setpriv (essential on Debian) sets it, then execs the
 * program in the same process.
 */
import { accessSync, constants } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

let available: boolean | undefined;
const hasSetpriv = (): boolean => {
  if (available === undefined) {
    try {
      accessSync(SETPRIV, constants.X_OK);
      available = process.platform === 'linux';
    } catch {
      available = false;
    }
  }
  return available;
};

/** [program, args] that run `program args` and receive SIGTERM when gsyncd dies. */
export function dieWithParent(program: string, args: readonly string[]): [string, string[]] {
  return hasSetpriv() ? [SETPRIV, ['--pdeathsig', 'TERM', '--', program, ...args]] : [program, [...args]];
}
