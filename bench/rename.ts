// Renames in a mirrored tree, gsyncd against lsyncd in the same run, each with a fresh master
// and an empty slave: a directory of 100 files of 1 MB renamed at the root, a 50 MB file
// renamed, a directory of 20 files of 1 MB moved to another parent. For each step and daemon:
// the seconds from the rename until the slave equals the master, the bytes rsync sent, and
// whether the slave's files kept their inode numbers (renamed there, not sent again).
// Over the loopback sshd, where lsyncd's default.rsyncssh replays a move with `mv` over ssh;
// with --local to a local slave, where lsyncd's peer is default.rsync (rsyncssh needs a host),
// which has no move action and sends a move as a delete and a create.
// Usage: node dist/bench/rename.js [--work DIR] [--only gsyncd,lsyncd] [--local] [--timeout S] [--keep] [--verbose]
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseStepOptions, type StepOptions } from './step-options.js';
import { gsyncdBin, gsyncdPeer, parseBatch, repoRoot } from './gsyncd.js';
import { lsyncdPeer } from './lsyncd.js';
import type { PeerSpec } from './peer.js';
import { runBench } from './entry.js';
import { treeDifferences, waitMirrored } from './converge.js';
import { describeExit, killAll, runOk, sleep, type Daemon, type LogLine } from './proc.js';
import { table } from './report.js';
import { ratio } from './stats.js';
import { makeWorkDir } from './workdir.js';
import { startSshd, type Sshd } from './sshd.js';

const NAMES = ['gsyncd', 'lsyncd'] as const;
type Name = (typeof NAMES)[number];
const USAGE = `usage: node dist/bench/rename.js [options]
  --work DIR        where the masters, slaves and logs go (default /dev/shm)
  --only LIST       comma list of: ${NAMES.join(', ')} (default both)
  --local           a local slave, not the loopback sshd (lsyncd is then default.rsync,
                    which sends a move as a delete and a create)
  --timeout S       longest wait for the slave to converge after one step (default 60; live: at least 60)
  --keep            keep the work directory afterwards
  --verbose         echo the daemons' log lines`;

type Options = StepOptions<Name> & { readonly local: boolean };

function parse(argv: readonly string[]): Options | 'help' {
  const o = parseStepOptions(argv, NAMES, { only: NAMES.join(','), timeoutS: 60, flags: ['local'] });
  return o === 'help' ? o : { ...o, local: o.flags.has('local') };
}

const log = (msg: string): void => {
  console.error(`[rename ${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

const MB = 1024 * 1024;
const pad = (i: number, width: number): string => String(i).padStart(width, '0');

/**
 * The master before step 1, path and size. Random contents: nothing compresses, and no file
 * matches another, so a renamed file resent by rsync is resent whole. The notes keep `sub`
 * and `other` from being empty directories, as in a real tree.
 */
const MASTER: readonly (readonly [string, number])[] = [
  ...Array.from({ length: 100 }, (_, i) => [`big/file-${pad(i, 3)}`, MB] as const),
  ['file50', 50 * MB],
  ...Array.from({ length: 20 }, (_, i) => [`sub/deep/file-${pad(i, 2)}`, MB] as const),
  ['sub/notes.txt', 100],
  ['other/notes.txt', 100],
];

interface Step {
  readonly name: string;
  readonly command: string; // as a user would type it, for the legend
  readonly from: string;
  readonly to: string;
}

const STEPS: readonly Step[] = [
  { name: '1 directory of 100 × 1 MB renamed', command: 'mv big big2', from: 'big', to: 'big2' },
  { name: '2 file of 50 MB renamed', command: 'mv file50 file51', from: 'file50', to: 'file51' },
  { name: '3 directory of 20 × 1 MB to another parent', command: 'mv sub/deep other/deep', from: 'sub/deep', to: 'other/deep' },
];

/**
 * After live, and between steps. gsyncd's reconciliation (a listing of the master against its
 * snapshot, which resends what the watcher missed) runs once the tree is quiet, at the soonest
 * 10 s after the previous one: the gap lets it run inside the step's window, so that anything
 * it resends is counted against the step that caused it.
 */
const STEP_GAP_MS = 12_000;
/** Between two polls of the slave. One poll is an lstat walk of both trees, about 1 ms here. */
const POLL_GAP_MS = 2;

function writeRandomFile(path: string, size: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const buf = Buffer.alloc(Math.min(size, MB));
  const fd = openSync(path, 'w');
  try {
    for (let left = size; left > 0; left -= buf.length) {
      const chunk = buf.subarray(0, Math.min(left, buf.length));
      writeSync(fd, randomFillSync(chunk));
    }
  } finally {
    closeSync(fd);
  }
}

function writeMaster(root: string): void {
  for (const [rel, size] of MASTER) writeRandomFile(join(root, rel), size);
}

type Listing = Map<string, string>;

/**
 * What the quick check compares, path by path: the type and mode, a file's size and mtime, a
 * link's target. A file with its final name, size and time is complete: rsync sets the time
 * on its temporary before renaming it into place. Times in whole seconds, as rsync compares
 * them: it leaves a directory's time alone when only the fraction differs, so the daemons'
 * copies differ from the master below the second from the start. Directory times are left
 * out: lsyncd's `mv` over ssh gives the slave's parent directories the time of the move, and
 * nothing of lsyncd sets them back, so counting them would leave it never converged whenever
 * the move crosses a second. They are reported on their own, once the step has settled.
 */
function listing(root: string, rel = '', out: Listing = new Map()): Listing {
  for (const name of readdirSync(join(root, rel))) {
    const path = rel === '' ? name : `${rel}/${name}`;
    const st = lstatSync(join(root, path), { bigint: true });
    const mode = (st.mode & 0o7777n).toString(8);
    if (st.isDirectory()) {
      out.set(path, `d ${mode}`);
      listing(root, path, out);
    } else if (st.isSymbolicLink()) {
      out.set(path, `l ${readlinkSync(join(root, path))}`);
    } else {
      out.set(path, `${st.isFile() ? 'f' : 'o'} ${mode} ${st.size.toString()} ${(st.mtimeNs / 1_000_000_000n).toString()}`);
    }
  }
  return out;
}

/** The quick check. A path that vanishes under the walk (a daemon's rsync renaming its temporary) means not yet. */
function sameTree(master: string, slave: string): boolean {
  try {
    const a = listing(master);
    const b = listing(slave);
    return a.size === b.size && [...a].every(([path, what]) => b.get(path) === what);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/** Inode numbers of `rel` on the slave and of everything under it, by path relative to it. */
function inodes(root: string, rel: string): Map<string, bigint> {
  const top = lstatSync(join(root, rel), { bigint: true });
  const out = new Map([['', top.ino]]);
  if (top.isDirectory()) {
    for (const path of listing(join(root, rel)).keys()) out.set(path, lstatSync(join(root, rel, path), { bigint: true }).ino);
  }
  return out;
}

interface Kept {
  readonly kept: number;
  readonly of: number;
}

/** How many of the moved entries kept their inode: renamed on the slave, not written again. */
function keptInodes(before: ReadonlyMap<string, bigint>, after: ReadonlyMap<string, bigint>): Kept {
  return { kept: [...before].filter(([path, ino]) => after.get(path) === ino).length, of: before.size };
}

interface LogCounts {
  readonly transfers: number; // gsyncd: batches (and the Full Crawl); lsyncd: its rsync runs
  readonly bytes: number; // rsync's `Total transferred file size`, summed
  readonly renames: number; // gsyncd: renames replayed on the slave; lsyncd: its moves (an ssh mv each)
  readonly fallbacks?: number; // gsyncd: renames sent by rsync instead
  readonly missed?: number; // gsyncd: `watcher missed changes` lines
  readonly problems: readonly string[]; // gsyncd's WARNING and ERROR lines; lsyncd's errors and rsync's complaints
}

interface LogReader {
  readonly transfer: RegExp;
  readonly bytes: (text: string) => number | undefined;
  readonly rename: RegExp;
  readonly fallback: RegExp | undefined;
  readonly missed: RegExp | undefined;
  readonly problem: RegExp;
}

const fullCrawlBytesRe = /Full Crawl finished .*\bbytes=(\d+)/;
// rsync's --stats, which lsyncd passes on from its rsync's stdout.
const statsBytesRe = /^Total transferred file size: ([\d,]+) bytes/;
/** A count as rsync prints it, with its default digit grouping (`1,048,576`). */
const numberOf = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s.replace(/,/g, '')));

const READERS: Readonly<Record<Name, LogReader>> = {
  gsyncd: {
    transfer: /\bbatch done\b|Full Crawl finished/,
    // A batch's bytes= is rsync's `Total transferred file size` (src/sync/rsync-stats.ts).
    bytes: (text) => parseBatch(text)?.bytes ?? numberOf(fullCrawlBytesRe.exec(text)?.[1]),
    rename: /renamed on the slave/,
    fallback: /rename not replayed|refused a rename/,
    missed: /watcher missed changes/,
    problem: /^\S+\s+(WARNING|ERROR)\b/,
  },
  lsyncd: {
    transfer: /Calling rsync with filter-list|recursive startup rsync/,
    bytes: (text) => numberOf(statsBytesRe.exec(text)?.[1]),
    rename: /Normal: Moving /,
    fallback: undefined,
    missed: undefined,
    problem: /\bError:|rsync (error|warning)|cannot delete/,
  },
};

function countLines(name: Name, lines: readonly LogLine[], from: number, to: number): LogCounts {
  const inWindow = lines.filter((l) => l.at >= from && l.at < to);
  const r = READERS[name];
  const count = (re: RegExp): number => inWindow.filter((l) => re.test(l.text)).length;
  return {
    transfers: count(r.transfer),
    bytes: inWindow.reduce((n, l) => n + (r.bytes(l.text) ?? 0), 0),
    renames: count(r.rename),
    ...(r.fallback === undefined ? {} : { fallbacks: count(r.fallback) }),
    ...(r.missed === undefined ? {} : { missed: count(r.missed) }),
    problems: inWindow.filter((l) => r.problem.test(l.text)).map((l) => l.text),
  };
}

interface StepResult {
  seconds?: number; // the rename to the slave equal to the master; unset: it never was
  stillEqual?: boolean; // at the end of the gap after it
  dirTimesDiffer?: number; // directories whose times differ at the end of the gap
  inodes?: Kept; // on the slave, the moved entry and all under it, before the rename and at the end of the gap
  log?: LogCounts; // from the rename to the next step's (the last: to the stop)
}

interface DaemonResult {
  readonly name: Name;
  readonly label: string;
  readonly steps: StepResult[];
  initialSeconds?: number; // launch to a slave equal to the master (the initial copy)
  start?: LogCounts; // launch to the first step
  readonly notes: string[];
  readonly errors: string[];
  readonly logFile: string;
}

function specFor(name: Name, sshd: Sshd | undefined): PeerSpec {
  switch (name) {
    case 'gsyncd':
      return gsyncdPeer(sshd, { remoteGsyncd: gsyncdBin, extraArgs: [] });
    case 'lsyncd':
      // --stats: lsyncd logs no sizes, but its rsync's output reaches its stdout.
      return lsyncdPeer('lsyncd', 0, sshd, { rsyncExtra: ['--stats'] });
  }
}

function labelOf(name: Name, local: boolean): string {
  if (name === 'gsyncd') return local ? 'gsyncd (local)' : 'gsyncd';
  return local ? 'lsyncd default.rsync' : 'lsyncd rsyncssh';
}

/** The step's rename and its figures, up to the end of the gap after it. */
async function runStep(step: Step, where: { master: string; slave: string }, figures: StepResult, o: Options, alive: () => boolean): Promise<void> {
  const { master, slave } = where;
  const before = inodes(slave, step.from);
  const t0 = performance.now();
  renameSync(join(master, step.from), join(master, step.to)); // what mv does within a file system
  const converged = await waitMirrored(master, slave, { since: t0, timeoutMs: o.timeoutMs, alive, pollMs: POLL_GAP_MS, dirTimes: false, quick: () => sameTree(master, slave) });
  figures.seconds = (converged - t0) / 1000;
  await sleep(STEP_GAP_MS);
  // Equal once is not enough: a late transfer (a reconciliation's resend) could undo it, or
  // write again the files that the rename kept. So inodes are compared at the gap's end.
  const later = await treeDifferences(master, slave, { checksum: true, dirTimes: false });
  figures.stillEqual = later.length === 0;
  if (!figures.stillEqual) throw new Error(`the slave equalled the master, then differed ${STEP_GAP_MS / 1000} s later:\n${later.slice(0, 8).join('\n')}`);
  figures.dirTimesDiffer = (await treeDifferences(master, slave, { checksum: false, dirTimes: true })).length;
  figures.inodes = keptInodes(before, inodes(slave, step.to));
}

/** One daemon: fresh master and empty slave, live and in sync, then the steps in order. */
async function runDaemon(name: Name, sshd: Sshd | undefined, work: string, template: string, o: Options): Promise<DaemonResult> {
  const spec = specFor(name, sshd);
  const dir = join(work, name);
  const master = join(dir, 'master');
  const slave = join(dir, 'slave');
  const stateDir = join(dir, 'state');
  const result: DaemonResult = { name, label: labelOf(name, o.local), steps: [], notes: [], errors: [], logFile: join(work, `${name}.log`) };
  mkdirSync(dir);
  await runOk('cp', ['-a', template, master]); // the same contents for every daemon
  mkdirSync(slave);
  mkdirSync(stateDir);
  log(`${name}: starting`);
  const daemon: Daemon = spec.start({ master, slave, stateDir, logFile: result.logFile, echo: o.verbose });
  const alive = (): boolean => daemon.running;
  const starts: number[] = [];
  let phase = 'start';
  try {
    const startMs = Math.max(o.timeoutMs, 60_000);
    await daemon.waitFor(spec.liveRe, startMs);
    result.initialSeconds = ((await waitMirrored(master, slave, { since: daemon.startedAt, timeoutMs: startMs, alive, pollMs: POLL_GAP_MS, dirTimes: false, quick: () => sameTree(master, slave) })) - daemon.startedAt) / 1000;
    log(`${name}: live, slave in sync ${result.initialSeconds.toFixed(2)} s after launch`);
    await sleep(STEP_GAP_MS); // its start-up work (first reconciliation, snapshot) out of the way
    for (const step of STEPS) {
      phase = step.name;
      const figures: StepResult = {};
      result.steps.push(figures);
      starts.push(performance.now()); // the step's log window opens here, a moment before its rename
      await runStep(step, { master, slave }, figures, o, alive);
      log(`${name}: ${step.command}: converged in ${figures.seconds?.toFixed(3) ?? '?'} s; inodes kept ${figures.inodes?.kept ?? '?'}/${figures.inodes?.of ?? '?'}`);
    }
  } catch (err) {
    result.errors.push(`${name}: ${phase}: ${err instanceof Error ? err.message : String(err)}`);
    log(`${name}: FAILED at ${phase}`);
  } finally {
    const stoppedAt = performance.now();
    const stop = await daemon.stop();
    await spec.afterStop?.();
    // lsyncd ends with 143 on SIGTERM, which is normal for it; gsyncd should exit 0.
    if (name === 'gsyncd' && (stop.code !== 0 || stop.forced)) result.notes.push(`gsyncd stopped with ${describeExit(stop)}${stop.forced ? ' (SIGKILLed)' : ''}`);
    if (stop.leftovers.length > 0) result.notes.push(`${name}: left running after it exited: ${stop.leftovers.join(', ')}`);
    // Counted after the stop: a batch logs its line after its files have landed.
    result.start = countLines(name, daemon.lines, 0, starts[0] ?? stoppedAt);
    for (const [i, s] of result.steps.entries()) s.log = countLines(name, daemon.lines, starts[i] ?? stoppedAt, starts[i + 1] ?? stoppedAt);
    rmSync(dir, { recursive: true, force: true }); // 340 MB of tmpfs, the log kept
  }
  return result;
}

function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '–';
  if (n === 0) return '0';
  return n < MB ? `${n} B` : `${(n / MB).toFixed(1)} MiB`;
}

const fmtKept = (k: Kept | undefined): string => (k === undefined ? '–' : `${k.kept}/${k.of}`);
const fmtSeconds = (s: number | undefined): string => (s === undefined ? '–' : `${s.toFixed(3)} s`);

function summaryTable(g: DaemonResult | undefined, l: DaemonResult | undefined): string {
  const rows = STEPS.map((step, i) => {
    const gs = g?.steps[i];
    const ls = l?.steps[i];
    const r = ratio(gs?.seconds, ls?.seconds);
    return [
      `${step.name} (${step.command})`,
      fmtSeconds(gs?.seconds),
      fmtSeconds(ls?.seconds),
      r === undefined ? '–' : `${r.toFixed(2)}×`,
      fmtBytes(gs?.log?.bytes),
      fmtBytes(ls?.log?.bytes),
      fmtKept(gs?.inodes),
      fmtKept(ls?.inodes),
    ];
  });
  const gl = g?.label ?? 'gsyncd';
  const ll = l?.label ?? 'lsyncd';
  return table(['step', `${gl} converge`, `${ll} converge`, 'gsyncd/lsyncd', `${gl} sent`, `${ll} sent`, `${gl} inodes kept`, `${ll} inodes kept`], rows);
}

function detailTable(results: readonly DaemonResult[]): string {
  const rows: string[][] = [];
  const counts = (c: LogCounts | undefined): string[] =>
    c === undefined ? ['–', '–', '–', '–', '–', '–'] : [fmtBytes(c.bytes), String(c.transfers), String(c.renames), String(c.fallbacks ?? '–'), String(c.missed ?? '–'), String(c.problems.length)];
  for (const r of results) {
    rows.push([`${r.label}: launch to step 1`, fmtSeconds(r.initialSeconds), '', '', ...counts(r.start)]);
    for (const [i, s] of r.steps.entries()) {
      const equal = s.stillEqual === undefined ? '–' : s.stillEqual ? 'yes' : 'NO';
      rows.push([`${r.label}: step ${STEPS[i]?.command ?? '?'}`, fmtSeconds(s.seconds), equal, s.dirTimesDiffer === undefined ? '–' : String(s.dirTimesDiffer), ...counts(s.log)]);
    }
  }
  return table(['daemon: window', 'converge', `equal ${STEP_GAP_MS / 1000} s on`, 'dir times differ', 'sent', 'transfers', 'renames replayed', 'sent by rsync instead', 'missed-changes', 'warnings/errors'], rows);
}

function report(results: ReadonlyMap<Name, DaemonResult>, o: Options, kept: boolean): string {
  const all = [...results.values()];
  const out = [
    o.local ? 'Local slave; lsyncd is default.rsync (no move action: a move is a delete and a create).' : 'Slave over the loopback sshd; lsyncd is default.rsyncssh (a move is an `mv` over ssh).',
    '',
    summaryTable(results.get('gsyncd'), results.get('lsyncd')),
    '',
    detailTable(all),
    '',
    `converge: from rename(2) on the master until a poll (every ${POLL_GAP_MS} ms, an lstat walk of both trees: names, types, modes, file sizes and mtimes in whole seconds, as rsync compares them) matched, confirmed by rsync -anciO --delete (contents; directory times aside).`,
    'sent: rsync\'s "Total transferred file size", summed over the window from the rename to the next step (the last: to the stop): gsyncd\'s `batch done bytes=`; lsyncd\'s rsync run with --stats (its _extra), read from its output.',
    `inodes kept: the moved entry and everything under it, on the slave, before the rename and ${STEP_GAP_MS / 1000} s after convergence (renamed there, not written again).`,
    'dir times differ: directories of the slave whose times differ from the master\'s at that moment, in whole seconds (rsync -ani --delete): a parent\'s time left at the slave\'s moment of the move shows when the move crossed a second.',
    'renames replayed: gsyncd\'s `renamed on the slave` lines; lsyncd\'s `Moving` lines (one ssh mv each).',
  ];
  for (const r of all) {
    const problems = [r.start, ...r.steps.map((s) => s.log)].flatMap((c) => c?.problems ?? []);
    if (problems.length > 0) out.push('', `${r.label} warnings/errors (${problems.length}, the first 5):`, ...problems.slice(0, 5).map((p) => `    ${p}`));
    for (const n of r.notes) out.push(`note: ${n}`);
  }
  const errors = all.flatMap((r) => r.errors);
  if (errors.length > 0) out.push('', 'errors:', ...errors);
  if (kept) for (const r of all) out.push(`${r.label} log: ${r.logFile}`);
  return out.join('\n');
}

async function main(o: Options): Promise<number> {
  if (o.only.includes('gsyncd') && !existsSync(join(repoRoot, 'dist/bundle/cli/main.js'))) {
    throw new Error(`${gsyncdBin}: dist/bundle/cli/main.js is not built (npm run build)`);
  }
  const dir = makeWorkDir(o.work, 'gsyncd-rename-', o.keep, log);
  const work = dir.path;
  let sshd: Sshd | undefined;
  const results = new Map<Name, DaemonResult>();
  try {
    const template = join(work, 'template');
    const t0 = performance.now();
    writeMaster(template);
    log(`master written in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${MASTER.length} files, ${(MASTER.reduce((n, [, size]) => n + size, 0) / MB).toFixed(0)} MiB`);
    if (!o.local) {
      sshd = await startSshd(join(work, 'ssh'), log);
      dir.sshd = sshd;
    }
    for (const name of o.only) results.set(name, await runDaemon(name, sshd, work, template, o));
  } finally {
    await sshd?.stop();
    killAll();
    if (o.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  console.log(report(results, o, o.keep));
  return [...results.values()].some((r) => r.errors.length > 0) ? 1 : 0;
}

runBench('rename', USAGE, parse, main);
