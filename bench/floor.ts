// What no daemon can beat and what cron pays: plain rsync over the same loopback sshd.
// - one `rsync --files-from` of exactly the new files over a warm SSH master connection,
//   the floor for gsyncd's own design (that is what a batch runs);
// - a cron-style no-change `rsync -a --delete` of the whole tree, paid on every cycle;
// - the same after N changes: what cron pays to catch up, against a daemon's restart.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { applyChanges, undoChanges, unmet, type ChangeCounts, type Journal } from './changes.js';
import { runOk } from './proc.js';
import { startMasterConnection, type Sshd } from './sshd.js';
import { median } from './stats.js';
import { mismatches, planBurst, removePaths, writeBurst, type NewFile, type Tree } from './tree.js';

export interface Timed {
  readonly median: number;
  readonly runs: readonly number[]; // seconds
}

export interface FloorResult {
  readonly cronInitialCopy: number; // seconds, empty slave, fresh connection
  readonly cronNoChangeWarm: Timed;
  readonly cronNoChangeCold: Timed;
  readonly cronChangesCold?: Timed & { readonly changes: ChangeCounts }; // absent with --restart-changes 0
  readonly filesFromBurstWarm: Timed & { readonly files: number };
  readonly filesFromOneWarm: Timed;
  readonly filesFromOneCold: Timed;
  /** One file to a local directory: the floor of issue 14's latency target (×2, + 50 ms). */
  readonly filesFromOneLocal: Timed;
}

const timed = (runs: number[]): Timed => ({ median: median(runs), runs: runs.map((s) => Math.round(s * 1000) / 1000) });

type Cron = (rsh: string) => Promise<{ seconds: number }>;

/**
 * What cron pays to catch up after N changes: the same kind of changes as the daemons'
 * restart figure, then one whole-tree `rsync -a --delete` over a new connection, as cron
 * opens one. Each repetition then puts the master back and brings the slave back in sync
 * (untimed), so the next one starts where this one did.
 */
async function cronAfterChanges(
  tree: Tree,
  slave: string,
  opts: { changes: number; reps: number; cron: Cron; rsh: string },
): Promise<Timed & { readonly changes: ChangeCounts }> {
  const runs: number[] = [];
  const journal: Journal = [];
  let counts: ChangeCounts | undefined;
  try {
    for (let i = 0; i < opts.reps; i++) {
      const applied = applyChanges(tree, `cron${i}`, opts.changes, journal);
      counts = applied.counts;
      runs.push((await opts.cron(opts.rsh)).seconds);
      const wrong = unmet(slave, applied.expected);
      if (wrong.length > 0) throw new Error(`floor: cron rsync after changes left ${wrong.length} paths wrong, e.g. ${wrong[0]?.rel ?? ''}`);
      undoChanges(tree.root, journal);
      await opts.cron(opts.rsh);
    }
  } finally {
    undoChanges(tree.root, journal);
  }
  if (counts === undefined) throw new Error('floor: no repetition of the changes ran');
  return { ...timed(runs), changes: counts };
}

export async function runFloor(
  tree: Tree,
  sshd: Sshd,
  opts: { work: string; reps: number; burstFiles: number; restartChanges: number; socket: string; log: (msg: string) => void },
): Promise<FloorResult> {
  const slave = join(opts.work, 'slave-floor');
  mkdirSync(slave);
  const added: string[] = [];
  const master = await startMasterConnection(sshd, opts.socket);
  try {
    const cron = (rsh: string): Promise<{ seconds: number }> =>
      runOk('rsync', ['-a', '--delete', '-e', rsh, `${tree.root}/`, `${sshd.host}:${slave}/`]);
    // `./` keeps entries that start with `#` or `;` from being read as comments.
    const filesFrom = async (rsh: string, files: readonly NewFile[], tag: string): Promise<number> => {
      const list = join(opts.work, `files-from-${tag}`);
      writeFileSync(list, files.map((f) => `./${f.rel}\0`).join(''));
      const r = await runOk('rsync', ['-a', '--from0', `--files-from=${list}`, '-e', rsh, `${tree.root}/`, `${sshd.host}:${slave}/`]);
      const wrong = mismatches(slave, files);
      if (wrong.length > 0) throw new Error(`floor ${tag}: ${wrong.length} files not transferred`);
      return r.seconds;
    };

    opts.log('floor: cron-style initial copy to an empty slave');
    const cronInitialCopy = (await cron(sshd.rsh)).seconds;

    const warm: number[] = [];
    const cold: number[] = [];
    for (let i = 0; i < opts.reps; i++) {
      warm.push((await cron(master.rsh)).seconds);
      cold.push((await cron(sshd.rsh)).seconds);
    }
    opts.log(`floor: cron no-change rsync, warm ${median(warm).toFixed(2)} s, cold ${median(cold).toFixed(2)} s`);

    const cronChangesCold =
      opts.restartChanges > 0 ? await cronAfterChanges(tree, slave, { changes: opts.restartChanges, reps: opts.reps, cron, rsh: sshd.rsh }) : undefined;
    if (cronChangesCold !== undefined) {
      opts.log(`floor: cron rsync after ${opts.restartChanges} changes, new connection: ${cronChangesCold.median.toFixed(2)} s`);
    }

    const oneWarm: number[] = [];
    const oneCold: number[] = [];
    for (let i = 0; i < opts.reps * 2; i++) {
      const rel = `${tree.dirs[(i * 53 + 7) % tree.dirs.length]!}/floor-one-${i}.txt`;
      const file = { rel, content: `floor ${i} ${randomUUID()}\n` };
      writeFileSync(join(tree.root, rel), file.content);
      added.push(rel);
      (i % 2 === 0 ? oneWarm : oneCold).push(await filesFrom(i % 2 === 0 ? master.rsh : sshd.rsh, [file], `one-${i}`));
    }

    // One local rsync of one file: what a change costs with no network and no ssh at all.
    const local = join(opts.work, 'slave-floor-local');
    mkdirSync(local);
    const oneLocal: number[] = [];
    for (let i = 0; i < opts.reps; i++) {
      const rel = `${tree.dirs[(i * 31 + 3) % tree.dirs.length]!}/floor-local-${i}.txt`;
      writeFileSync(join(tree.root, rel), `floor local ${i} ${randomUUID()}\n`);
      added.push(rel);
      const list = join(opts.work, `files-from-local-${i}`);
      writeFileSync(list, `./${rel}\0`);
      oneLocal.push((await runOk('rsync', ['-a', '--from0', `--files-from=${list}`, `${tree.root}/`, `${local}/`])).seconds);
    }
    rmSync(local, { recursive: true, force: true });

    const burstRuns: number[] = [];
    for (let i = 0; i < opts.reps; i++) {
      const burst = writeBurst(tree.root, planBurst(tree.shape, `floor${i}`, opts.burstFiles));
      added.push(...burst.dirs);
      burstRuns.push(await filesFrom(master.rsh, burst.files, `burst-${i}`));
    }
    opts.log(`floor: rsync --files-from of ${opts.burstFiles} new files, warm: ${median(burstRuns).toFixed(2)} s`);

    return {
      cronInitialCopy,
      cronNoChangeWarm: timed(warm),
      cronNoChangeCold: timed(cold),
      ...(cronChangesCold === undefined ? {} : { cronChangesCold }),
      filesFromBurstWarm: { ...timed(burstRuns), files: opts.burstFiles },
      filesFromOneWarm: timed(oneWarm),
      filesFromOneCold: timed(oneCold),
      filesFromOneLocal: timed(oneLocal),
    };
  } finally {
    await master.stop();
    removePaths(tree.root, added);
    rmSync(slave, { recursive: true, force: true });
  }
}
