// Package-manager churn in a mirrored tree, over the loopback sshd: a small Node project in
// the master, then `npm install`, an upgrade of some dependencies, `npm uninstall`, and
// `rm -rf node_modules && npm ci`. After each, the time from npm's exit until the slave equals
// the master, for gsyncd and lsyncd in the same run, each with a fresh master and slave.
// npm is the everyday worst case for a change source: thousands of small files, whole package
// directories renamed aside and deleted, the same names written again with new contents.
// Usage: node dist/bench/churn-npm.js [--work DIR] [--only gsyncd,lsyncd[,lsyncd15]] [--timeout S] [--keep] [--verbose]
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseStepOptions, type StepOptions } from './step-options.js';
import { gsyncdBin, gsyncdPeer, repoRoot } from './gsyncd.js';
import { lsyncdPeer } from './lsyncd.js';
import type { PeerSpec } from './peer.js';
import { runBench } from './entry.js';
import { treeDifferences, waitMirrored } from './converge.js';
import { describeExit, killAll, run, runOk, sleep, type Daemon, type LogLine } from './proc.js';
import { makeWorkDir } from './workdir.js';
import { startSshd, type Sshd } from './sshd.js';

const NAMES = ['gsyncd', 'lsyncd', 'lsyncd15'] as const;
type Name = (typeof NAMES)[number];
const USAGE = `usage: node dist/bench/churn-npm.js [options]
  --work DIR        where the projects, slaves, npm cache and logs go (default /dev/shm)
  --only LIST       comma list of: ${NAMES.join(', ')} (default gsyncd,lsyncd; lsyncd15 is lsyncd's default delay = 15)
  --timeout S       longest wait for the slave to converge after one step (default 120; live: at least 30)
  --keep            keep the work directory afterwards
  --verbose         echo the daemons' log lines and npm's output`;

type Options = StepOptions<Name>;

const parse = (argv: readonly string[]): Options | 'help' => parseStepOptions(argv, NAMES, { only: 'gsyncd,lsyncd', timeoutS: 120 });

const log = (msg: string): void => {
  console.error(`[churn ${new Date().toISOString().slice(11, 19)}] ${msg}`);
};

// The project. Top-level versions are exact so that runs months apart install about the same
// trees (their own dependencies still follow ranges). Older majors first: the upgrade then
// adds, removes or changes some 90 packages, and rxjs's 2,300 files come back under the same
// names with new contents (7.8.1 → 7.8.2: npm moves the old directory aside, then extracts).
const DEPENDENCIES: Readonly<Record<string, string>> = {
  chalk: '4.1.2',
  eslint: '8.57.1',
  express: '4.21.2',
  lodash: '4.17.21',
  rxjs: '7.8.1',
  typescript: '5.4.5',
};
const UPGRADE = ['chalk@5.4.1', 'eslint@9.39.5', 'express@5.1.0', 'rxjs@7.8.2', 'typescript@5.9.3'];
const UNINSTALL = ['express', 'lodash', 'rxjs'];

interface Step {
  readonly name: string;
  readonly command: string; // as a user would type it, for the legend
  /** Done to the master just before npm, inside the step (the `rm -rf` of `rm -rf node_modules && npm ci`). */
  readonly prepare?: (project: string) => void;
  readonly npm: readonly string[];
}

const STEPS: readonly Step[] = [
  { name: '1 npm install', command: 'npm install', npm: ['install'] },
  { name: '2 upgrade', command: `npm install ${UPGRADE.join(' ')}`, npm: ['install', ...UPGRADE] },
  { name: '3 npm uninstall', command: `npm uninstall ${UNINSTALL.join(' ')}`, npm: ['uninstall', ...UNINSTALL] },
  {
    name: '4 rm -rf node_modules && npm ci',
    command: 'rm -rf node_modules && npm ci',
    prepare: (project) => {
      rmSync(join(project, 'node_modules'), { recursive: true, force: true });
    },
    npm: ['ci'],
  },
];

/**
 * Between steps. gsyncd's reconciliation (a listing of the master against its snapshot, the
 * source of `watcher missed changes`) runs once the tree is quiet, at the soonest 10 s after the
 * previous one (src/session/history.ts): this gap lets it run before the next step, so that
 * what it finds is counted against the step that caused it.
 */
const STEP_GAP_MS = 12_000;
/** After the last step: nothing changes, so a daemon should send nothing. */
const IDLE_MS = 15_000;
/** Between two polls of the slave. One poll is an rsync dry run of the whole tree, about 0.1 s at 5,000 files, which sets the resolution. */
const POLL_GAP_MS = 20;
const NPM_TIMEOUT_MS = 600_000;

function writeProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'churn', version: '1.0.0', private: true, dependencies: DEPENDENCIES }, null, 2)}\n`);
}

/**
 * `--prefer-offline` once the cache is warm: npm then takes the cached metadata without asking
 * the registry whether it is stale, so the network stays out of the figures.
 */
function npmArgs(step: Step, cache: string, offline: boolean): string[] {
  return [...step.npm, '--cache', cache, '--no-audit', '--no-fund', '--ignore-scripts', '--no-update-notifier', '--loglevel=error', ...(offline ? ['--prefer-offline'] : [])];
}

async function runNpm(project: string, step: Step, cache: string, offline: boolean, verbose: boolean): Promise<number> {
  step.prepare?.(project);
  const r = await run('npm', npmArgs(step, cache, offline), { cwd: project, timeoutMs: NPM_TIMEOUT_MS });
  if (verbose) console.error(`[npm] ${(r.stdout + r.stderr).trim()}`);
  if (r.code !== 0) throw new Error(`npm ${step.npm.join(' ')} in ${project}: ${describeExit(r)}\n${r.stderr.trim()}`);
  return r.seconds;
}

interface Census {
  readonly files: number;
  readonly dirs: number;
  readonly links: number;
}

/** Every path under `dir`, relative to it, with what it is; in a stable order. */
function walk(dir: string, rel = '', out: { rel: string; kind: 'file' | 'dir' | 'link' | 'other' }[] = []): typeof out {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = rel === '' ? e.name : `${rel}/${e.name}`;
    const kind = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : e.isSymbolicLink() ? 'link' : 'other';
    out.push({ rel: path, kind });
    if (kind === 'dir') walk(dir, path, out);
  }
  return out;
}

function census(dir: string): Census {
  if (!existsSync(dir)) return { files: 0, dirs: 0, links: 0 };
  const all = walk(dir);
  const count = (kind: string): number => all.filter((e) => e.kind === kind).length;
  return { files: count('file'), dirs: count('dir'), links: count('link') };
}

/**
 * The convergence test must see what a daemon could get wrong: a copy of `source` altered in
 * five ways (contents alone with size and mtime kept, permissions, a missing file, a stray
 * file, a symlink's target) must differ at each altered path, and an exact copy not at all.
 */
async function checkCompare(source: string, copy: string): Promise<void> {
  await runOk('cp', ['-a', `${source}/.`, `${copy}/`]);
  const exact = [...(await treeDifferences(source, copy, { checksum: false })), ...(await treeDifferences(source, copy, { checksum: true }))];
  if (exact.length > 0) throw new Error(`compare check: an exact copy differs:\n${exact.slice(0, 5).join('\n')}`);
  const entries = walk(copy).filter((e) => e.rel.startsWith('node_modules/'));
  const files = entries.filter((e) => e.kind === 'file' && lstatSync(join(copy, e.rel)).size > 0);
  const link = entries.find((e) => e.kind === 'link');
  const [edited, chmodded, removed] = [files[0], files[Math.floor(files.length / 2)], files[files.length - 1]];
  if (edited === undefined || chmodded === undefined || removed === undefined || link === undefined) {
    throw new Error('compare check: the warm-up project has too few files or no symlink');
  }
  const editedPath = join(copy, edited.rel);
  const before = lstatSync(editedPath);
  const bytes = readFileSync(editedPath);
  bytes[0] = (bytes[0] ?? 0) ^ 1;
  writeFileSync(editedPath, bytes);
  utimesSync(editedPath, before.atime, before.mtime);
  chmodSync(join(copy, chmodded.rel), (lstatSync(join(copy, chmodded.rel)).mode & 0o7777) ^ 0o111);
  unlinkSync(join(copy, removed.rel));
  writeFileSync(join(copy, 'node_modules/stray-file'), 'stray\n');
  unlinkSync(join(copy, link.rel));
  symlinkSync('elsewhere', join(copy, link.rel));
  const quick = (await treeDifferences(source, copy, { checksum: false })).join('\n');
  const full = (await treeDifferences(source, copy, { checksum: true })).join('\n');
  const missed = [chmodded.rel, removed.rel, 'node_modules/stray-file', link.rel].filter((rel) => !quick.includes(rel) || !full.includes(rel));
  if (!full.includes(edited.rel)) missed.push(`${edited.rel} (contents only)`);
  if (missed.length > 0) throw new Error(`compare check: these alterations went unseen: ${missed.join(', ')}\nquick:\n${quick}\nfull:\n${full}`);
  rmSync(copy, { recursive: true, force: true });
}

interface LogCounts {
  readonly transfers: number; // gsyncd: batches; lsyncd: its rsync runs and ssh moves
  readonly transfersAfterConverged: number;
  readonly missed: number; // gsyncd's `watcher missed changes` lines
  readonly missedAfterConverged: number; // … of which came once the slave already equalled the master
  readonly problems: readonly string[]; // gsyncd's WARNING and ERROR lines; lsyncd's errors and rsync's complaints
}

interface StepResult {
  readonly npmSeconds: number;
  convergeSeconds?: number; // npm's exit to the slave equal to the master; unset: it never was
  nodeModules?: Census; // counted once the slave has converged, so as not to slow the daemon
  stillEqual?: boolean; // at the end of the gap after it (the last step: of the idle window)
  log?: LogCounts; // from the step's start to the next step's (the last: to convergence)
}

interface DaemonResult {
  readonly name: Name;
  readonly steps: StepResult[];
  start?: LogCounts; // launch to the first step
  idle?: LogCounts & { readonly until: number };
  readonly notes: string[];
  readonly errors: string[];
  readonly logFile: string;
}

const MISSED_RE = /watcher missed changes/;
// Not gsyncd.ts's parseBatch: it expects `batch done: files=`, and gsyncd writes `batch done files=`.
const GSYNCD = { transfer: /\bbatch done\b/, problem: /^\S+\s+(WARNING|ERROR)\b/ };
// lsyncd's rsyncssh moves a directory with one ssh call each, and logs every rsync it starts.
const LSYNCD = { transfer: /Calling rsync with filter-list|Normal: Moving /, problem: /\bError:|rsync (error|warning)|cannot delete/ };
const PATTERNS: Readonly<Record<Name, { transfer: RegExp; problem: RegExp }>> = { gsyncd: GSYNCD, lsyncd: LSYNCD, lsyncd15: LSYNCD };

function countLines(name: Name, lines: readonly LogLine[], from: number, to: number, convergedAt: number): LogCounts {
  const inWindow = lines.filter((l) => l.at >= from && l.at < to);
  const after = inWindow.filter((l) => l.at >= convergedAt);
  const { transfer, problem } = PATTERNS[name];
  const count = (ls: readonly LogLine[], re: RegExp): number => ls.filter((l) => re.test(l.text)).length;
  return {
    transfers: count(inWindow, transfer),
    transfersAfterConverged: count(after, transfer),
    missed: count(inWindow, MISSED_RE),
    missedAfterConverged: count(after, MISSED_RE),
    problems: inWindow.filter((l) => problem.test(l.text)).map((l) => l.text),
  };
}

/** Which gsyncd ran: the checkout moves under the bench (commits and rebuilds by others). */
async function gsyncdBuild(): Promise<string> {
  const built = statSync(join(repoRoot, 'dist/bundle/cli/main.js')).mtime.toISOString().slice(0, 19);
  const head = await run('git', ['-C', repoRoot, 'log', '-1', '--format=%h %cI']);
  return `gsyncd: dist/bundle built ${built}Z; HEAD ${head.code === 0 ? head.stdout.trim() : '?'}`;
}

function specFor(name: Name, sshd: Sshd): PeerSpec {
  switch (name) {
    case 'gsyncd':
      return gsyncdPeer(sshd, { remoteGsyncd: gsyncdBin, extraArgs: [] });
    case 'lsyncd':
      return lsyncdPeer('lsyncd', 0, sshd);
    case 'lsyncd15':
      return lsyncdPeer('lsyncd15', 15, sshd);
  }
}

interface Mark {
  readonly start: number;
  converged?: number;
}

/**
 * The daemon's log for each step's window (to the next step's start; the last step's, or a
 * failed one's, to its end), the time before the first step, and the idle window.
 */
function countWindows(name: Name, daemon: Daemon, result: DaemonResult, marks: readonly Mark[], stoppedAt: number): void {
  const first = marks[0];
  if (first !== undefined) result.start = countLines(name, daemon.lines, 0, first.start, first.start);
  for (const [i, m] of marks.entries()) {
    const step = result.steps[i];
    const end = marks[i + 1]?.start ?? m.converged ?? stoppedAt;
    if (step !== undefined) step.log = countLines(name, daemon.lines, m.start, end, m.converged ?? Infinity);
  }
  const lastConverged = marks[marks.length - 1]?.converged;
  if (lastConverged !== undefined && result.idle !== undefined) {
    result.idle = { ...countLines(name, daemon.lines, lastConverged, result.idle.until, lastConverged), until: result.idle.until };
  }
}

/** One daemon: fresh master and slave, live, then the steps, each until the slave equals the master, then idle. */
async function runDaemon(name: Name, sshd: Sshd, work: string, cache: string, o: Options): Promise<DaemonResult> {
  const spec = specFor(name, sshd);
  const dir = join(work, name);
  const master = join(dir, 'master');
  const slave = join(dir, 'slave');
  const stateDir = join(dir, 'state');
  const result: DaemonResult = { name, steps: [], notes: [], errors: [], logFile: join(work, `${name}.log`) };
  writeProject(master);
  mkdirSync(slave);
  mkdirSync(stateDir);
  if (name === 'gsyncd') result.notes.push(await gsyncdBuild());
  log(`${name}: starting`);
  const daemon = spec.start({ master, slave, stateDir, logFile: result.logFile, echo: o.verbose });
  const alive = (): boolean => daemon.running;
  const marks: Mark[] = [];
  let phase = 'start';
  try {
    // --timeout is for the steps; a start with one file in the master takes a second or two.
    const startMs = Math.max(o.timeoutMs, 30_000);
    await daemon.waitFor(spec.liveRe, startMs);
    await waitMirrored(master, slave, { since: performance.now(), timeoutMs: startMs, alive, pollMs: POLL_GAP_MS });
    await sleep(STEP_GAP_MS); // its start-up work (first reconciliation, snapshot) out of the way
    for (const [i, step] of STEPS.entries()) {
      phase = step.name;
      const mark: Mark = { start: performance.now() };
      marks.push(mark);
      const figures: StepResult = { npmSeconds: await runNpm(master, step, cache, true, o.verbose) };
      const npmExit = performance.now();
      result.steps.push(figures);
      mark.converged = await waitMirrored(master, slave, { since: npmExit, timeoutMs: o.timeoutMs, alive, pollMs: POLL_GAP_MS });
      figures.convergeSeconds = (mark.converged - npmExit) / 1000;
      figures.nodeModules = census(join(master, 'node_modules'));
      log(`${name}: ${step.name}: npm ${figures.npmSeconds.toFixed(1)} s, converged ${figures.convergeSeconds.toFixed(2)} s later; ${figures.nodeModules.files} files in node_modules`);
      await sleep(i < STEPS.length - 1 ? STEP_GAP_MS : IDLE_MS);
      // Equal once is not enough: a late transfer of something stale could undo it, and the
      // time measured would then be a moment that passed, not convergence.
      const later = await treeDifferences(master, slave, { checksum: true });
      figures.stillEqual = later.length === 0;
      if (!figures.stillEqual) {
        const after = ((performance.now() - mark.converged) / 1000).toFixed(1);
        result.errors.push(`${name}: ${step.name}: the slave equalled the master, then differed ${after} s later:\n${later.slice(0, 8).join('\n')}`);
      }
    }
    // The log's idle window is the one after the last step; its counts are filled in after the stop.
    result.idle = { transfers: 0, transfersAfterConverged: 0, missed: 0, missedAfterConverged: 0, problems: [], until: performance.now() };
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
    countWindows(name, daemon, result, marks, stoppedAt);
    for (const s of result.steps) s.nodeModules ??= census(join(master, 'node_modules'));
  }
  return result;
}

const LABEL: Readonly<Record<Name, string>> = { gsyncd: 'gsyncd', lsyncd: 'lsyncd', lsyncd15: 'lsyncd delay=15' };

function report(results: ReadonlyMap<Name, DaemonResult>, peak: { files: number; entries: number; step: string } | undefined, kept: boolean): string {
  const g = results.get('gsyncd');
  const l = results.get('lsyncd');
  const slow = results.get('lsyncd15');
  const secs = (r: DaemonResult | undefined, i: number): string => {
    if (r === undefined) return '–';
    const s = r.steps[i];
    if (s?.convergeSeconds !== undefined) return s.convergeSeconds.toFixed(2);
    return s !== undefined ? 'never' : r.errors.length > 0 ? 'not run' : '–';
  };
  const ratio = (i: number): string => {
    const a = g?.steps[i]?.convergeSeconds;
    const b = l?.steps[i]?.convergeSeconds;
    return a === undefined || b === undefined || b === 0 ? '–' : (a / b).toFixed(2);
  };
  const out = [
    `| step | gsyncd converge s | lsyncd converge s | ratio gsyncd/lsyncd | gsyncd missed-changes lines |${slow === undefined ? '' : ' lsyncd delay=15 converge s |'}`,
    `|---|---|---|---|---|${slow === undefined ? '' : '---|'}`,
  ];
  for (const [i, step] of STEPS.entries()) {
    const missed = g?.steps[i]?.log?.missed;
    out.push(`| ${step.name} | ${secs(g, i)} | ${secs(l, i)} | ${ratio(i)} | ${missed === undefined ? '–' : String(missed)} |${slow === undefined ? '' : ` ${secs(slow, i)} |`}`);
  }
  out.push('');
  if (peak !== undefined) out.push(`node_modules at the peak: ${peak.files.toLocaleString('en')} files (${peak.entries.toLocaleString('en')} entries with directories and symlinks), after ${peak.step}`);
  out.push(`steps: ${STEPS.map((s) => `${s.name.slice(0, 1)} = \`${s.command}\``).join('; ')}; the project starts with ${Object.entries(DEPENDENCIES).map(([k, v]) => `${k}@${v}`).join(' ')}`);
  out.push(
    '',
    `| daemon | step | npm s | converge s | still equal ${STEP_GAP_MS / 1000} s later (last: ${IDLE_MS / 1000} s) | node_modules files | transfers | … after converged | missed-changes lines | … after converged | warnings/errors |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
  );
  for (const r of results.values()) {
    const counts = (c: LogCounts | undefined): string =>
      c === undefined ? '– | – | – | – | –' : `${c.transfers} | ${c.transfersAfterConverged} | ${c.missed} | ${c.missedAfterConverged} | ${c.problems.length}`;
    if (r.start !== undefined) out.push(`| ${LABEL[r.name]} | start to step 1 | | | | | ${counts(r.start)} |`);
    for (const [i, s] of r.steps.entries()) {
      const equal = s.stillEqual === undefined ? '–' : s.stillEqual ? 'yes' : 'NO';
      const files = s.nodeModules?.files.toLocaleString('en') ?? '?';
      out.push(`| ${LABEL[r.name]} | ${STEPS[i]?.name ?? '?'} | ${s.npmSeconds.toFixed(1)} | ${s.convergeSeconds?.toFixed(2) ?? 'never'} | ${equal} | ${files} | ${counts(s.log)} |`);
    }
    if (r.idle !== undefined) out.push(`| ${LABEL[r.name]} | idle ${IDLE_MS / 1000} s after the last step | | | | | ${counts(r.idle)} |`);
  }
  for (const r of results.values()) {
    const problems = [r.start, ...r.steps.map((s) => s.log), r.idle].flatMap((c) => c?.problems ?? []);
    if (problems.length > 0) out.push('', `${LABEL[r.name]} warnings/errors (${problems.length}, the first 5):`, ...problems.slice(0, 5).map((p) => `    ${p}`));
    for (const n of r.notes) out.push(`note: ${n}`);
  }
  if (g?.idle !== undefined) {
    out.push('', `gsyncd while idle (${IDLE_MS / 1000} s after the last step): ${g.idle.transfers === 0 ? 'no batch' : `${g.idle.transfers} batch(es)`}, ${g.idle.missed} missed-changes line(s)`);
  }
  const errors = [...results.values()].flatMap((r) => r.errors);
  if (errors.length > 0) out.push('', 'errors:', ...errors);
  if (kept) for (const r of results.values()) out.push(`${LABEL[r.name]} log: ${r.logFile}`);
  return out.join('\n');
}

/** The largest node_modules any daemon's run saw, and after which step. */
function peakOf(results: ReadonlyMap<Name, DaemonResult>): { files: number; entries: number; step: string } | undefined {
  let peak: { files: number; entries: number; step: string } | undefined;
  for (const r of results.values()) {
    for (const [i, { nodeModules: n }] of r.steps.entries()) {
      if (n !== undefined && (peak === undefined || n.files > peak.files)) {
        peak = { files: n.files, entries: n.files + n.dirs + n.links, step: STEPS[i]?.name ?? '?' };
      }
    }
  }
  return peak;
}

/** Every step once, online, in a scratch project: the timed runs then find every package in the cache. */
async function warmCache(project: string, cache: string, verbose: boolean): Promise<void> {
  writeProject(project);
  const t0 = performance.now();
  for (const step of STEPS) await runNpm(project, step, cache, false, verbose);
  log(`npm cache warmed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

async function main(o: Options): Promise<number> {
  if (o.only.includes('gsyncd') && !existsSync(join(repoRoot, 'dist/bundle/cli/main.js'))) {
    throw new Error(`${gsyncdBin}: dist/bundle/cli/main.js is not built (npm run build)`);
  }
  const dir = makeWorkDir(o.work, 'gsyncd-churn-', o.keep, log);
  const work = dir.path;
  let sshd: Sshd | undefined;
  const results = new Map<Name, DaemonResult>();
  try {
    const cache = join(work, 'npm-cache');
    await warmCache(join(work, 'warm'), cache, o.verbose);
    await checkCompare(join(work, 'warm'), join(work, 'compare-check'));
    log('compare check passed: an exact copy matches, and five kinds of alteration are each seen');
    rmSync(join(work, 'warm'), { recursive: true, force: true });
    sshd = await startSshd(join(work, 'ssh'), log);
    dir.sshd = sshd;
    for (const name of o.only) results.set(name, await runDaemon(name, sshd, work, cache, o));
  } finally {
    await sshd?.stop();
    killAll();
    if (o.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  console.log(report(results, peakOf(results), o.keep));
  return [...results.values()].some((r) => r.errors.length > 0) ? 1 : 0;
}

runBench('churn-npm', USAGE, parse, main);
