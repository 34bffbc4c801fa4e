// Unmounting the master under a running gsyncd: a listing of gsyncd's (the Full Crawl's
// baseline, at a low priority, or a reconciliation) may be walking the tree and keep it
// busy until it is done, longer on a loaded machine. umount is retried, as an administrator
// would, until it goes through; any other failure is the test's.
import { exec } from './exec.js';
import { pollUntil } from './wait.js';

export async function umountWhenFree(dir: string, timeoutMs = 60_000): Promise<void> {
  let busy = '';
  await pollUntil(
    async () => {
      const r = await exec('umount', [dir]);
      if (r.code === 0) return true;
      if (!/target is busy/.test(r.stderr)) throw new Error(`umount ${dir} exited ${String(r.code)}: ${r.stderr}`);
      busy = r.stderr;
      return undefined;
    },
    () => `${dir} to be unmounted (${busy.trim()})`,
    { timeoutMs, intervalMs: 100 },
  );
}
