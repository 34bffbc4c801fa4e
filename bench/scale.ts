// The change source at scale (local slave): for trees of 100k to 1M files, the time and the
// peak memory (RSS of gsyncd and all its children, sampled) of each phase, beside one
// `rsync -a --delete` cycle of the same tree in the same run:
//   first start on a slave already in sync (until Changelog Crawl), at rest, a clean stop,
//   a restart after changes made while stopped (until the slave has them all), its stop.
// With --ssh, the slave is on a loopback sshd (bench/sshd.ts), and so is the cycle's rsync;
// the memory is then the master side's (gsyncd, its ssh and rsync), the slave side's
// processes being sshd's children.
// Usage: node dist/bench/scale.js [--work DIR] [--files N[,N...]] [--per-dir N] [--changes N] [--watcher NAME] [--ssh] [--keep]
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyChanges, describeCounts, waitConverged, type Journal } from './changes.js';
import { gsyncdBin } from './gsyncd.js';
import { Daemon, killAll, runOk, sleep } from './proc.js';
import { RssSampler } from './proctree.js';
import { makeWorkDir } from './workdir.js';
import { startSshd, type Sshd } from './sshd.js';
import { createTree, type TreeShape } from './tree.js';

const USAGE = 'usage: node dist/bench/scale.js [--work DIR] [--files N[,N...]] [--per-dir N] [--changes N] [--watcher NAME] [--ssh] [--keep]';

interface Options {
  readonly work: string;
  readonly sizes: readonly number[];
  readonly perDir: number;
  readonly changes: number;
  readonly keep: boolean;
  /** gsyncd's --watcher (its default when not given). */
  readonly watcher: string | undefined;
  /** The slave over a loopback sshd. */
  readonly ssh: boolean;
}

function parse(argv: readonly string[]): Options {
  let work = '/dev/shm';
  let sizes = [100_000];
  let perDir = 1000;
  let changes = 1000;
  let keep = false;
  let watcher: string | undefined;
  let ssh = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a ?? ''} needs a value\n${USAGE}`);
      return v;
    };
    const count = (v: string): number => {
      const n = Number(v.replace(/_/g, ''));
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a ?? ''}: expected a positive whole number, got "${v}"`);
      return n;
    };
    if (a === '--work') work = value();
    else if (a === '--files') sizes = value().split(',').map(count);
    else if (a === '--per-dir') perDir = count(value());
    else if (a === '--changes') changes = count(value());
    else if (a === '--keep') keep = true;
    else if (a === '--watcher') watcher = value();
    else if (a === '--ssh') ssh = true;
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option "${a ?? ''}"\n${USAGE}`);
  }
  return { work, sizes, perDir, changes, keep, watcher, ssh };
}

const log = (msg: string): void => {
  console.error(`[scale ${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

interface Phase {
  readonly seconds: number;
  readonly peakMb: number;
}

interface SizeResult {
  readonly files: number;
  readonly dirs: number;
  readonly cycle: number;
  readonly start: Phase;
  readonly restMb: number;
  readonly stop: Phase;
  readonly changes: string;
  readonly restart: Phase;
  readonly restartStop: Phase;
}

const mb = (kb: number): number => Math.round(kb / 1024);

/** Starts gsyncd; resolves when `ready` matches, with the phase's time and peak RSS. */
async function startUntil(args: readonly string[], logFile: string, ready: RegExp): Promise<{ daemon: Daemon; sampler: RssSampler; phase: Phase }> {
  const daemon = new Daemon('gsyncd', process.execPath, [gsyncdBin, ...args], logFile);
  const sampler = new RssSampler(daemon.pid, 100);
  await daemon.waitFor(ready, 600_000);
  const seconds = (performance.now() - daemon.startedAt) / 1000;
  return { daemon, sampler, phase: { seconds, peakMb: mb(sampler.peakKb) } };
}

async function stopTimed(daemon: Daemon, sampler: RssSampler): Promise<Phase> {
  sampler.peakKb = 0;
  sampler.sample();
  const r = await daemon.stop(60_000);
  sampler.stop();
  if (r.code !== 0) throw new Error(`gsyncd exited ${String(r.code ?? r.signal)} on SIGTERM:\n${daemon.tail()}`);
  return { seconds: r.seconds, peakMb: mb(sampler.peakKb) };
}

async function measure(work: string, files: number, o: Options, sshd: Sshd | undefined): Promise<SizeResult> {
  const shape: TreeShape = { topDirs: Math.min(50, Math.max(1, Math.round(files / o.perDir))), dirs: Math.max(1, Math.round(files / o.perDir)), filesPerDir: o.perDir };
  const dir = join(work, `t${String(files)}`);
  const master = join(dir, 'master');
  const slave = join(dir, 'slave');
  const state = join(dir, 'state');
  log(`${String(files)} files: creating the tree and a slave in sync`);
  const tree = createTree(master, shape);
  await runOk('rsync', ['-a', `${master}/`, `${slave}/`]);
  const remote = sshd === undefined ? [] : ['-e', sshd.rsh];
  const slaveArg = sshd === undefined ? slave : `${sshd.host}:${slave}`;
  const cycle = (await runOk('rsync', ['-a', '--delete', ...remote, `${master}/`, `${slaveArg}/`])).seconds;
  log(`  one rsync -a --delete cycle: ${cycle.toFixed(1)} s`);

  const args = [
    '--state-dir',
    state,
    ...(o.watcher === undefined ? [] : ['--watcher', o.watcher]),
    ...(sshd === undefined ? [] : [...remote, '--remote-gsyncd', gsyncdBin]),
    master,
    slaveArg,
  ];
  const first = await startUntil(args, join(dir, 'gsyncd-1.log'), /Changelog Crawl started/);
  log(`  first start: ${first.phase.seconds.toFixed(1)} s, peak ${String(first.phase.peakMb)} MB`);
  // At rest: once the first snapshot after the crawl is saved (its scan, a find and a sort
  // beside gsyncd, is a phase of its own), with nothing queued.
  const saved = await first.daemon.waitFor(/snapshot saved/, 600_000).then(
    () => true,
    () => false,
  );
  await sleep(2000);
  const restMb = mb(first.sampler.sample());
  if (!saved) log('  note: no snapshot saved; at rest sampled anyway');
  const stop = await stopTimed(first.daemon, first.sampler);
  log(`  at rest ${String(restMb)} MB; stop ${stop.seconds.toFixed(2)} s`);

  const journal: Journal = [];
  const applied = applyChanges(tree, 'scale', o.changes, journal);
  const since = performance.now();
  const second = await startUntil(args, join(dir, 'gsyncd-2.log'), /(History|Full) Crawl started/);
  await waitConverged(slave, applied.expected, { pollMs: 50, timeoutMs: 600_000, since, isAlive: () => second.daemon.running });
  const restart: Phase = { seconds: (performance.now() - since) / 1000, peakMb: mb(second.sampler.peakKb) };
  if (second.daemon.lines.some((l) => /Full Crawl started/.test(l.text))) log('  note: the restart ran a Full Crawl');
  log(`  restart after ${describeCounts(applied.counts)}: ${restart.seconds.toFixed(1)} s, peak ${String(restart.peakMb)} MB`);
  const restartStop = await stopTimed(second.daemon, second.sampler);
  if (!o.keep) rmSync(dir, { recursive: true, force: true });
  return { files: tree.files, dirs: shape.dirs, cycle, start: first.phase, restMb, stop, changes: describeCounts(applied.counts), restart, restartStop };
}

function report(results: readonly SizeResult[]): string {
  const rows = [
    '| files | dirs | rsync cycle | first start (× cycle) | peak MB | at rest MB | stop | peak MB | restart after changes (× cycle) | peak MB |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results) {
    rows.push(
      `| ${r.files.toLocaleString('en')} | ${r.dirs.toLocaleString('en')} | ${r.cycle.toFixed(1)} s | ${r.start.seconds.toFixed(1)} s (${(r.start.seconds / r.cycle).toFixed(2)}) | ${String(r.start.peakMb)} | ${String(r.restMb)} | ${r.stop.seconds.toFixed(2)} s | ${String(r.stop.peakMb)} | ${r.restart.seconds.toFixed(1)} s (${(r.restart.seconds / r.cycle).toFixed(2)}) | ${String(r.restart.peakMb)} |`,
    );
  }
  return rows.join('\n');
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  const dir = makeWorkDir(o.work, 'gsyncd-scale-', o.keep, log);
  const work = dir.path;
  const results: SizeResult[] = [];
  try {
    const sshd = o.ssh ? await startSshd(join(work, 'ssh'), log) : undefined;
    dir.sshd = sshd;
    try {
      for (const files of o.sizes) results.push(await measure(work, files, o, sshd));
    } finally {
      await sshd?.stop();
    }
  } finally {
    if (!o.keep) rmSync(work, { recursive: true, force: true });
  }
  console.log(o.ssh ? 'Slave over a loopback sshd; memory: the master side (gsyncd, its ssh and rsync).' : 'Local slave; memory: gsyncd and all its children.');
  console.log(report(results));
  for (const r of results) console.log(`${r.files.toLocaleString('en')} files, changes while stopped: ${r.changes}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    killAll();
    console.error(`scale: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
