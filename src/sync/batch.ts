/**
 * One batch: look at each queued path on the master, then one recursive rsync run for new
 * subtrees and one flat run for the rest (files, directory attributes, deletes).
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from './change-set.js';
import { ancestorsOf } from './paths.js';
import { batchArgv, filesFromInput, type RsyncPlan } from './rsync-argv.js';
import type { RsyncOutcome } from './exit-codes.js';
import type { RsyncResult, RunRsync } from './rsync-runner.js';

/** `notdir`: an ancestor is no longer a directory; `gone-with-parent`: covered by another entry. */
export type PathState = 'dir' | 'other' | 'missing' | 'notdir' | 'gone-with-parent';

export interface BatchDeps {
  readonly plan: RsyncPlan;
  readonly rsyncCommand: string;
  readonly runRsync: RunRsync;
  readonly masterRoot: string;
  readonly stateOf?: (abs: string) => Promise<PathState>;
  readonly killAfterMs: number;
}

export interface BatchRun {
  readonly recursive: boolean;
  readonly paths: readonly string[];
  readonly result: RsyncResult;
}

export interface BatchResult {
  readonly entries: readonly Entry[];
  readonly runs: readonly BatchRun[];
  /** The worst outcome of its runs. */
  readonly outcome: RsyncOutcome;
  /** Paths listed (sent or deleted). */
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  /** Paths that were gone and not sent, because deletes are off. */
  readonly skippedDeletes: number;
}

export const statePathOf = async (abs: string): Promise<PathState> => {
  try {
    return (await lstat(abs)).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'notdir';
    // Unreadable for another reason: let rsync try and report it.
    return 'other';
  }
};

/**
 * A path under a directory that became a file (`ENOTDIR`) stands for that file: sending it
 * replaces the slave's directory and all it held. rsync, given the old path, answers 23.
 */
async function resolveNotDirs(
  entries: readonly Entry[],
  states: PathState[],
  root: string,
  stateOf: (abs: string) => Promise<PathState>,
): Promise<Entry[]> {
  const out: Entry[] = [...entries];
  const seen = new Set(entries.map((e) => e.path));
  for (let i = 0; i < out.length; i++) {
    const e = out[i];
    if (!e || states[i] !== 'notdir') continue;
    let replacement: string | undefined;
    for (const a of ancestorsOf(e.path)) {
      if (a === '') break;
      if ((await stateOf(path.join(root, a))) === 'other') {
        replacement = a;
        break;
      }
    }
    if (replacement === undefined || seen.has(replacement)) {
      // Already queued in this batch (or nothing to stand for): drop the stale path.
      states[i] = 'gone-with-parent';
      continue;
    }
    seen.add(replacement);
    out[i] = { ...e, path: replacement, recursive: false };
    states[i] = 'other';
  }
  return out;
}

const SEVERITY: readonly RsyncOutcome[] = ['ok', 'vanished', 'max-delete', 'partial', 'fatal', 'usage', 'connection'];
export const worst = (a: RsyncOutcome, b: RsyncOutcome): RsyncOutcome => (SEVERITY.indexOf(a) >= SEVERITY.indexOf(b) ? a : b);

/**
 * Splits entries by what the master holds now, into up to three rsync runs, in this order:
 * - `subtrees`: directories that appeared (created, moved in) or need a resync: `-r`, and
 *   `--delete` inside them;
 * - `files`: files, links and deletes, with `--ignore-times`: the watcher saw them change,
 *   and rsync's quick check (size and mtime, to the second) would skip a same-size
 *   rewrite within the same second;
 * - `dirAttrs`: directories whose own attributes changed: without `-r`, or the whole
 *   subtree would be walked.
 * Pure given the states.
 */
export function planRuns(
  entries: readonly Entry[],
  states: readonly PathState[],
  ignoreDeletes: boolean,
): { subtrees: string[]; files: string[]; dirAttrs: string[]; skippedDeletes: number } {
  const subtrees: string[] = [];
  const files: string[] = [];
  const dirAttrs: string[] = [];
  let skippedDeletes = 0;
  const missing = new Set(entries.filter((_, i) => (states[i] ?? 'missing') === 'missing').map((e) => e.path));
  // Deleting a directory deletes what is inside: listing its contents too only earns exit 24.
  const insideMissing = (p: string): boolean => {
    for (const a of ancestorsOf(p)) if (missing.has(a)) return true;
    return false;
  };
  entries.forEach((e, i) => {
    const state = states[i] ?? 'missing';
    if (state === 'gone-with-parent') return;
    if (state === 'missing' || state === 'notdir') {
      if (ignoreDeletes) skippedDeletes++;
      else if (!insideMissing(e.path)) files.push(e.path);
    } else if (state === 'dir') {
      if (e.recursive) subtrees.push(e.path);
      else dirAttrs.push(e.path);
    } else files.push(e.path);
  });
  return { subtrees, files, dirAttrs, skippedDeletes };
}

export async function runBatch(entries: readonly Entry[], deps: BatchDeps, signal?: AbortSignal): Promise<BatchResult> {
  const stateOf = deps.stateOf ?? statePathOf;
  const states = await Promise.all(entries.map((e) => stateOf(path.join(deps.masterRoot, e.path))));
  const effective = states.includes('notdir') ? await resolveNotDirs(entries, states, deps.masterRoot, stateOf) : entries;
  const { subtrees, files, dirAttrs, skippedDeletes } = planRuns(effective, states, deps.plan.ignoreDeletes);
  const runs: BatchRun[] = [];
  let outcome: RsyncOutcome = 'ok';
  // Directory attributes last: the other runs may populate those directories.
  const planned = [
    { recursive: true, ignoreTimes: false, paths: subtrees },
    { recursive: false, ignoreTimes: true, paths: files },
    { recursive: false, ignoreTimes: false, paths: dirAttrs },
  ];
  for (const { recursive: isRecursive, ignoreTimes, paths } of planned) {
    if (paths.length === 0) continue;
    // Recursive runs name what they send, to be checked again a moment later (sent-paths.ts).
    const result = await deps.runRsync(deps.rsyncCommand, batchArgv(deps.plan, isRecursive, ignoreTimes, isRecursive), {
      input: filesFromInput(paths),
      killAfterMs: deps.killAfterMs,
      ...(signal ? { signal } : {}),
    });
    runs.push({ recursive: isRecursive, paths, result });
    outcome = worst(outcome, result.exit.outcome);
    if (result.exit.outcome === 'connection' || signal?.aborted) break;
  }
  return {
    entries,
    runs,
    outcome,
    files: subtrees.length + files.length + dirAttrs.length,
    bytes: runs.reduce((n, r) => n + r.result.stats.bytes, 0),
    seconds: runs.reduce((n, r) => n + r.result.seconds, 0),
    skippedDeletes,
  };
}
