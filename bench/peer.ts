// One daemon's turn, the same steps for gsyncd and lsyncd: start against an empty slave
// and wait until live; restart against the now in-sync slave; sit idle; then latency and
// burst; stop, change the master, restart and wait until the slave has caught up; check
// the slave mirrors the master; stop. The master is left as it was found.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyChanges, describeCounts, undoChanges, waitConverged, type ChangeCounts, type Journal } from './changes.js';
import { latencyPath, measureBurst, measureLatency, type BurstRun } from './measure.js';
import { Daemon, describeExit, runOk, sleep, type LogLine } from './proc.js';
import { peakRssKb, RssSampler, treeCpuSeconds, treeRssKb } from './proctree.js';
import { summarize, type Summary } from './stats.js';
import { planBurst, removePaths, type Tree } from './tree.js';

export interface StartReport {
  readonly fullTreeSync: boolean;
  readonly filesSent?: number;
  readonly note: string;
}

export interface PeerSpec {
  readonly name: string;
  readonly liveRe: RegExp;
  start(where: { master: string; slave: string; stateDir: string; logFile: string; echo: boolean }): Daemon;
  /** What the daemon did between launch and live, from its log lines. */
  startReport(lines: readonly string[]): StartReport;
  /** Cleanup after the daemon has stopped, for what it started outside its process group. */
  afterStop?(): Promise<void>;
  /** How many transfers it ran while live (latency and burst), from its log lines. */
  transfers(lines: readonly string[]): Transfers;
  /** How it caught up with changes made while it was stopped, from the relaunch's log lines. */
  catchUpReport(lines: readonly string[]): CatchUpReport;
}

export interface CatchUpReport {
  /** 'History Crawl' (gsyncd replayed what changed), 'Full Crawl', or what the daemon ran. */
  readonly crawl: string;
  /** Changes the daemon found, where it says (gsyncd's History Crawl `changes=`). */
  readonly changesFound?: number;
  /** Files a whole-tree crawl sent, where one ran. */
  readonly crawlFiles?: number;
  /** Paths its batches listed (gsyncd's `batch done: files=`: new and changed files, deletes, directories). */
  readonly pathsListed?: number;
  /** Bytes of file data sent, crawl and batches. */
  readonly bytesSent?: number;
  readonly note: string;
}

export interface Transfers {
  readonly runs: number;
  readonly files?: number;
  readonly longestSeconds?: number;
}

export interface PeerPlan {
  readonly restart: boolean;
  readonly idleSeconds: number;
  readonly samples: number;
  readonly burstFiles: number; // 0: skip
  readonly restartChanges: number; // changes made while stopped; 0: skip
  readonly pollMs: number;
  readonly liveTimeoutMs: number;
  readonly sampleTimeoutMs: number;
  readonly verify: boolean;
}

export interface StartFigure extends StartReport {
  readonly seconds: number;
}

export interface RestartFigure {
  readonly changes: ChangeCounts;
  readonly expectedPaths: number; // paths polled on the slave (a renamed directory's files each count)
  readonly writeSeconds: number; // making the changes, while the daemon was stopped
  readonly seconds: number; // launch to every change on the slave
  readonly liveSeconds: number; // launch to the live line
  readonly rechecks: number; // full checks that found a change not (or no longer) there
  readonly report?: CatchUpReport; // filled in after the last stop, once every batch line is out
}

export interface PeerResult {
  readonly name: string;
  startEmpty?: StartFigure;
  startInSync?: StartFigure;
  latency?: Summary & { readonly samplesMs: readonly number[] };
  burst?: BurstRun;
  restartChanges?: RestartFigure;
  idle?: { readonly seconds: number; readonly cpuSeconds: number };
  memory?: { readonly peakTreeMb: number; readonly peakMainMb: number | undefined; readonly restTreeMb: number | undefined };
  transfers?: Transfers;
  mirror?: { readonly differences: number; readonly sample: readonly string[] };
  stop?: {
    readonly seconds: number;
    readonly forced: boolean;
    readonly exit: string;
    readonly leftovers: readonly string[];
    readonly zombies: readonly string[];
  };
  errors: string[];
  logFile: string;
}

interface Ctx {
  readonly tree: Tree;
  readonly work: string;
  readonly echo: boolean;
  readonly log: (msg: string) => void;
}

const mb = (kb: number): number => Math.round((kb / 1024) * 10) / 10;

async function startUntilLive(
  spec: PeerSpec,
  where: Parameters<PeerSpec['start']>[0],
  timeoutMs: number,
): Promise<{ daemon: Daemon; figure: StartFigure }> {
  const daemon = spec.start(where);
  const live = await daemon.waitFor(spec.liveRe, timeoutMs).catch(async (err: unknown) => {
    await daemon.stop();
    throw err;
  });
  const lines = daemon.lines.slice(0, live.index + 1).map((l: LogLine) => l.text);
  return { daemon, figure: { seconds: (live.at - daemon.startedAt) / 1000, ...spec.startReport(lines) } };
}

/** Transfers from the live line on; call after the daemon stopped, as its last batch line comes after its files. */
function transfersWhileLive(spec: PeerSpec, daemon: Daemon): Transfers | undefined {
  const liveAt = daemon.lines.findIndex((l) => spec.liveRe.test(l.text));
  return liveAt < 0 ? undefined : spec.transfers(daemon.lines.slice(liveAt + 1).map((l) => l.text));
}

/**
 * Makes the changes in the master while nothing watches it, then relaunches the daemon on
 * the same slave and state directory. `onLaunch` hands the new daemon over before the wait,
 * so that it is stopped whatever happens.
 */
async function restartAfterChanges(
  spec: PeerSpec,
  where: Parameters<PeerSpec['start']>[0],
  plan: PeerPlan,
  ctx: Ctx,
  journal: Journal,
  onLaunch: (d: Daemon) => void,
): Promise<RestartFigure> {
  const applied = applyChanges(ctx.tree, spec.name, plan.restartChanges, journal);
  ctx.log(`${spec.name}: made ${plan.restartChanges} changes while stopped (${describeCounts(applied.counts)}); relaunching`);
  const daemon = spec.start(where);
  onLaunch(daemon);
  const converged = await waitConverged(where.slave, applied.expected, {
    pollMs: plan.pollMs,
    timeoutMs: plan.sampleTimeoutMs * 4,
    since: daemon.startedAt,
    isAlive: () => daemon.running,
  });
  // Wait for live too, so that what follows (the mirror check, the stop) finds it settled.
  const live = await daemon.waitFor(spec.liveRe, plan.liveTimeoutMs);
  return {
    changes: applied.counts,
    expectedPaths: applied.expected.length,
    writeSeconds: applied.writeSeconds,
    seconds: (converged.at - daemon.startedAt) / 1000,
    liveSeconds: (live.at - daemon.startedAt) / 1000,
    rechecks: converged.rechecks,
  };
}

export async function runPeer(spec: PeerSpec, plan: PeerPlan, ctx: Ctx): Promise<PeerResult> {
  const slave = join(ctx.work, `slave-${spec.name}`);
  const stateDir = join(ctx.work, `state-${spec.name}`);
  const logFile = join(ctx.work, `${spec.name}.log`);
  mkdirSync(slave);
  mkdirSync(stateDir);
  const result: PeerResult = { name: spec.name, errors: [], logFile };
  const where = { master: ctx.tree.root, slave, stateDir, logFile, echo: ctx.echo };
  let daemon: Daemon | undefined;
  let relaunched: Daemon | undefined; // the daemon started after the changes made while stopped
  const journal: Journal = []; // those changes, to undo
  let sampler: RssSampler | undefined;
  let peakTreeKb = 0;
  let peakMainKb: number | undefined;
  const notePeaks = (): void => {
    if (daemon === undefined || sampler === undefined) return;
    sampler.sample();
    peakTreeKb = Math.max(peakTreeKb, sampler.peakKb);
    const main = peakRssKb(daemon.pid);
    if (main !== undefined) peakMainKb = Math.max(peakMainKb ?? 0, main);
  };
  const alive = (): boolean => daemon?.running ?? false;

  try {
    ctx.log(`${spec.name}: starting against an empty slave`);
    const first = await startUntilLive(spec, where, plan.liveTimeoutMs);
    daemon = first.daemon;
    sampler = new RssSampler(daemon.pid);
    result.startEmpty = first.figure;
    ctx.log(`${spec.name}: live after ${first.figure.seconds.toFixed(2)} s (${first.figure.note})`);

    if (plan.restart) {
      await sleep(1000); // let the first run's tail (status writes, last batch) settle
      notePeaks();
      sampler.stop();
      const stopped = await daemon.stop();
      await spec.afterStop?.();
      if (stopped.leftovers.length > 0) {
        result.errors.push(`first stop left processes behind: ${stopped.leftovers.join(', ')}`);
      }
      ctx.log(`${spec.name}: restarting against the in-sync slave`);
      const second = await startUntilLive(spec, where, plan.liveTimeoutMs);
      daemon = second.daemon;
      sampler = new RssSampler(daemon.pid);
      result.startInSync = second.figure;
      ctx.log(`${spec.name}: live after ${second.figure.seconds.toFixed(2)} s (${second.figure.note})`);
    }

    if (plan.idleSeconds > 0) {
      await sleep(1000);
      const cpu0 = treeCpuSeconds(daemon.pid);
      const t0 = performance.now();
      await sleep(plan.idleSeconds * 1000);
      const cpuSeconds = treeCpuSeconds(daemon.pid) - cpu0;
      result.idle = { seconds: (performance.now() - t0) / 1000, cpuSeconds };
      ctx.log(`${spec.name}: idle ${plan.idleSeconds} s used ${cpuSeconds.toFixed(2)} CPU s`);
    }
    const restTreeMb = mb(treeRssKb(daemon.pid));
    notePeaks();

    if (plan.samples > 0) {
      ctx.log(`${spec.name}: ${plan.samples} single-file latency samples`);
      const lat = await measureLatency(ctx.tree, slave, {
        tag: spec.name,
        samples: plan.samples,
        pollMs: plan.pollMs,
        timeoutMs: plan.sampleTimeoutMs,
        isAlive: alive,
        onSample: (i, ms) => {
          if (ctx.echo) ctx.log(`${spec.name}: sample ${i}: ${ms.toFixed(1)} ms`);
        },
      });
      result.latency = { ...summarize(lat), samplesMs: lat.map((x) => Math.round(x * 10) / 10) };
      ctx.log(`${spec.name}: latency p50 ${result.latency.p50.toFixed(0)} ms, p99 ${result.latency.p99.toFixed(0)} ms`);
    }

    if (plan.burstFiles > 0) {
      ctx.log(`${spec.name}: burst of ${plan.burstFiles} new files`);
      const burst = await measureBurst(ctx.tree, slave, {
        tag: spec.name,
        files: plan.burstFiles,
        pollMs: plan.pollMs,
        timeoutMs: plan.sampleTimeoutMs * 4,
        isAlive: alive,
      });
      result.burst = burst;
      ctx.log(`${spec.name}: burst converged in ${burst.seconds.toFixed(2)} s`);
    }
    notePeaks();
    result.memory = { peakTreeMb: mb(peakTreeKb), peakMainMb: peakMainKb === undefined ? undefined : mb(peakMainKb), restTreeMb };

    // Last of the live figures, so that a relaunch disturbs none of the others; the mirror
    // check below then covers what it caught up with.
    if (plan.restartChanges > 0) {
      await sleep(1000); // as before the in-sync restart: let the burst's tail settle
      sampler.stop();
      sampler = undefined; // memory is recorded: the relaunch is not part of it
      const stopped = await daemon.stop();
      await spec.afterStop?.();
      result.transfers = transfersWhileLive(spec, daemon);
      if (stopped.leftovers.length > 0) {
        result.errors.push(`stop before the changes left processes behind: ${stopped.leftovers.join(', ')}`);
      }
      const figure = await restartAfterChanges(spec, where, plan, ctx, journal, (d) => {
        daemon = relaunched = d;
      });
      result.restartChanges = figure;
      ctx.log(`${spec.name}: caught up with ${plan.restartChanges} changes ${figure.seconds.toFixed(2)} s after launch (live at ${figure.liveSeconds.toFixed(2)} s)`);
    }

    if (plan.verify) {
      // The final word on correctness: a checksum dry run prints nothing for a mirror.
      const r = await runOk('rsync', ['-anicH', '--delete', '--out-format=%i %n%L', `${ctx.tree.root}/`, `${slave}/`]);
      const diffs = r.stdout.split('\n').filter((l) => l.trim() !== '');
      result.mirror = { differences: diffs.length, sample: diffs.slice(0, 10) };
      if (diffs.length > 0) ctx.log(`${spec.name}: slave differs from master in ${diffs.length} entries`);
    }
  } catch (err) {
    result.errors.push(err instanceof Error ? err.message : String(err));
    ctx.log(`${spec.name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    sampler?.stop();
    if (daemon !== undefined) {
      notePeaks();
      if (result.memory === undefined && peakTreeKb > 0) {
        result.memory = { peakTreeMb: mb(peakTreeKb), peakMainMb: peakMainKb === undefined ? undefined : mb(peakMainKb), restTreeMb: undefined };
      }
      const s = await daemon.stop();
      // Counted after the stop: a batch logs its line after its files have landed.
      if (daemon !== relaunched) {
        result.transfers = transfersWhileLive(spec, daemon);
      } else {
        const report = spec.catchUpReport(daemon.lines.map((l) => l.text));
        if (result.restartChanges !== undefined) result.restartChanges = { ...result.restartChanges, report };
        ctx.log(`${spec.name}: relaunch after changes: ${report.note}`);
      }
      result.stop = { seconds: s.seconds, forced: s.forced, exit: describeExit(s), leftovers: s.leftovers, zombies: s.zombies };
      if (s.leftovers.length > 0) result.errors.push(`processes left after stop: ${s.leftovers.join(', ')}`);
    }
    await spec.afterStop?.();
    // Put the master back as the next daemon must find it, even after a failed scenario.
    // The changes first: a renamed directory may hold latency files.
    undoChanges(ctx.tree.root, journal);
    const added = [
      ...Array.from({ length: plan.samples }, (_, i) => latencyPath(ctx.tree, spec.name, i)),
      ...(plan.burstFiles > 0 ? planBurst(ctx.tree.shape, spec.name, plan.burstFiles).dirs : []),
    ];
    removePaths(ctx.tree.root, added);
    rmSync(slave, { recursive: true, force: true });
  }
  return result;
}

