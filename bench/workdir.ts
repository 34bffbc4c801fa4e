// A bench's work directory: a fresh one under --work, a note when it is not on tmpfs, and on
// SIGINT or SIGTERM everything the bench started is stopped and the directory removed
// (unless kept). Shared by run.ts, scale.ts and churn-npm.ts.
import { mkdirSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { killAll } from './proc.js';
import type { Sshd } from './sshd.js';

const TMPFS_MAGIC = 0x01021994;

export interface WorkDir {
  readonly path: string;
  /** The bench's sshd once started: a signal stops it first. */
  sshd: Sshd | undefined;
}

export function makeWorkDir(base: string, prefix: string, keep: boolean, log: (msg: string) => void): WorkDir {
  mkdirSync(base, { recursive: true });
  const work: WorkDir = { path: mkdtempSync(join(resolve(base), prefix)), sshd: undefined };
  const onSignal = (sig: NodeJS.Signals): void => {
    log(`${sig}: stopping everything the bench started`);
    // Stopping sshd also ends its per-connection processes, and with them any ssh master
    // (it lists them before its first await, so before killAll takes the listener).
    const stopping = work.sshd?.stop() ?? Promise.resolve();
    killAll();
    void stopping.finally(() => {
      if (!keep) rmSync(work.path, { recursive: true, force: true });
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  if (statfsSync(work.path).type !== TMPFS_MAGIC) {
    log(`note: ${work.path} is not on tmpfs; file creation on disk can dominate and vary (see bench/README.md)`);
  }
  return work;
}
