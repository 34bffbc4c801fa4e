/** One process per session: a pid file taken with O_EXCL, and taken over when its holder is gone. */
import { open, readFile, rm } from 'node:fs/promises';
import { isGsyncd } from '../status/read.js';


export type LockResult = { readonly ok: true; release(): Promise<void> } | { readonly ok: false; readonly holder: number };

export async function acquirePidLock(file: string): Promise<LockResult> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(file, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return {
        ok: true,
        release: async () => {
          // Only remove it if it is still ours.
          const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
          if (pid === process.pid) await rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && (await isGsyncd(holder))) return { ok: false, holder };
      // A stale pid file from a process that died: take it over.
      await rm(file, { force: true });
    }
  }
  throw new Error(`cannot take the lock ${file}`);
}
