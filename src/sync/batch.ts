/**
 * One batch: look at each queued path on the master, then one recursive rsync run for new
 * subtrees, one flat run for files, one for what is gone (delete-run.ts) and one for
 * directory attributes.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Entry } from './change-set.js';
import { planDeleteRuns, listedParent } from './delete-run.js';
import { encodeName, hasRawBytes } from './names.js';
import { ancestorsOf, parentOf } from './paths.js';
import { batchArgv, deleteArgv, filesFromInput, type RsyncPlan } from './rsync-argv.js';
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
  /** The rules written out for --files-from runs (matcher.ts); without it, the plan's go as given. */
  readonly rules?: BatchRules;
  /** How deletes go, kept from batch to batch (a session's one). */
  readonly deletes?: DeleteMode;
}

/**
 * How a gone path is deleted on the slave. First as rsync deletes a listed path gone from
 * the sender (`--delete-missing-args`), which costs nothing per entry of its directory. Once
 * the slave's rsync refuses that (3.4.3, and Debian 12's 3.2.7 since its May 2026 security
 * update: "invalid file mode 00 … protocol incompatibility", exit 2, before anything is
 * written), by listing the parent directories (delete-run.ts), for the rest of the session.
 */
export class DeleteMode {
  byParent = false;
  constructor(private readonly onRefused?: (message: string) => void) {}

  /** A run's result: whether it was refused for its missing entries (then nothing was written). */
  refused(result: RsyncResult): boolean {
    if (this.byParent || result.exit.code !== 2 || !/invalid file mode 0+ for /.test(result.stderr)) return false;
    this.byParent = true;
    this.onRefused?.(result.stderr.trim().split('\n')[0] ?? '');
    return true;
  }
}

export interface BatchRules {
  batchFilters(dir: string | undefined, withMerges?: boolean): readonly string[];
  deleteFilters(dir: string): readonly string[];
  readonly hasDirMerge: boolean;
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
  /** Of `bytes`, what went as literal data (rsync's delta left the rest on the slave). */
  readonly literal: number;
  readonly seconds: number;
  /** Paths that were gone and not sent, because deletes are off. */
  readonly skippedDeletes: number;
}

export const statePathOf = async (abs: string): Promise<PathState> => {
  try {
    return (await lstat(encodeName(abs))).isDirectory() ? 'dir' : 'other';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'missing';
    if (code === 'ENOTDIR') return 'notdir';
    // Unreadable for another reason: let rsync try and report it.
    return 'other';
  }
};

/**
 * Under -L and -k rsync sends a link to a directory as that directory: it is sent whole. A
 * link whose referent is gone stays 'other', for rsync to report ("symlink has no referent").
 */
export const statePathFollowing = async (abs: string): Promise<PathState> => {
  const state = await statePathOf(abs);
  if (state !== 'other') return state;
  return stat(encodeName(abs)).then(
    (st) => (st.isDirectory() ? 'dir' : 'other'),
    () => 'other',
  );
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
 * Splits entries by what the master holds now, into up to four rsync runs, in this order:
 * - `subtrees`: directories that appeared (created, moved in) or need a resync: `-r`, and
 *   `--delete` inside them;
 * - `files`: files and links, with `--ignore-times`: the watcher saw them change, and
 *   rsync's quick check (size and mtime, to the second) would skip a same-size rewrite
 *   within the same second;
 * - `deletes`: what is gone from the master (none inside another);
 * - `dirAttrs`: directories whose own attributes changed: without `-r`, or the whole
 *   subtree would be walked.
 * Pure given the states.
 */
export function planRuns(
  entries: readonly Entry[],
  states: readonly PathState[],
  ignoreDeletes: boolean,
): { subtrees: string[]; files: string[]; deletes: string[]; dirAttrs: string[]; skippedDeletes: number } {
  const subtrees: string[] = [];
  const files: string[] = [];
  const deletes: string[] = [];
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
      else if (!insideMissing(e.path)) deletes.push(e.path);
    } else if (state === 'dir') {
      if (e.recursive) subtrees.push(e.path);
      else dirAttrs.push(e.path);
    } else files.push(e.path);
  });
  return { subtrees, files, deletes, dirAttrs, skippedDeletes };
}

interface PlannedRun {
  /**
   * `missing`: gone paths listed with --delete-missing-args; `delete`: their parents listed
   * with --delete (delete-run.ts).
   */
  readonly kind?: 'missing' | 'delete';
  readonly recursive: boolean;
  readonly ignoreTimes: boolean;
  readonly paths: readonly string[];
  readonly plan: RsyncPlan;
  readonly from0: boolean;
  /** What the run mirrors, where that is not the listed paths. */
  readonly reported?: readonly string[];
  /** Runs that do the same without `--delete-missing-args`, should the slave refuse it. */
  readonly byParent?: () => PlannedRun[];
}

/**
 * The plan with these rules instead of the user's. -C's rules are among them already, and so
 * is --delete-excluded (its rules are sender-only): on a run of listed paths, or of the root's
 * attributes ("- *"), --delete-excluded would delete what it was not asked to.
 */
const withFilters = (plan: RsyncPlan, values: readonly string[]): RsyncPlan => {
  const flags = new Set(plan.flags);
  flags.delete('cvs-exclude');
  flags.delete('delete-excluded');
  return { ...plan, flags, filters: values.map((value) => ({ kind: 'filter' as const, value })) };
};

/** A run of listed paths: the rules written out, NUL-separated names. */
function listedRun(paths: readonly string[], ignoreTimes: boolean, deps: BatchDeps): PlannedRun {
  const plan = deps.rules ? withFilters(deps.plan, deps.rules.batchFilters(undefined)) : deps.plan;
  return { recursive: false, ignoreTimes, paths, plan, from0: true };
}

/**
 * Files and what is gone, in one run: the gone paths listed with `--delete-missing-args`.
 * With per-directory merge files, the deletes go one run per directory, with the receiver's
 * rules in force there: what a merge file protects (or puts at risk) is then decided as in a
 * full run. Should the slave refuse missing entries, `byParent` gives the runs without them.
 */
function missingArgsRuns(files: readonly string[], targets: readonly string[], deps: BatchDeps): PlannedRun[] {
  const rules = deps.rules;
  const byParent = (): PlannedRun[] => parentRuns(files, targets, deps);
  const listed = (paths: readonly string[], plan: RsyncPlan): PlannedRun => ({ kind: 'missing', recursive: false, ignoreTimes: true, paths, plan, from0: true, byParent });
  if (!rules?.hasDirMerge) return [listed([...files, ...targets], listedRun([], true, deps).plan)];
  const groups = new Map<string, string[]>();
  for (const t of targets) groups.set(parentOf(t), [...(groups.get(parentOf(t)) ?? []), t]);
  // Each run's fallback is the whole stage: the first refusal decides for all of them.
  let fellBack = false;
  const once = (): PlannedRun[] => (fellBack ? [] : ((fellBack = true), byParent()));
  return [
    { ...listedRun(files, true, deps), byParent: once },
    ...[...groups].map(([dir, gone]): PlannedRun => ({ ...listed(gone, withFilters(deps.plan, rules.deleteFilters(dir))), byParent: once })),
  ];
}

/**
 * Files and what is gone without `--delete-missing-args`: the files in a run of their own,
 * the deletes by their parents (deleteRuns). A path whose name is not valid UTF-8 cannot be
 * named in a rule (an argument): its directory is resent whole with --delete. So is every
 * one under --iconv: rsync converts names, not filter rules (measured), so a rule naming
 * what is gone would miss the slave's name.
 */
function parentRuns(files: readonly string[], targets: readonly string[], deps: BatchDeps): PlannedRun[] {
  const iconv = deps.plan.passOn?.always.some((a) => a.startsWith('--iconv=')) === true;
  const whole = (t: string): boolean => iconv || hasRawBytes(t);
  const raw = [...new Set(targets.filter(whole).map(parentOf))];
  return [...subtreeRuns(raw, deps), listedRun(files, true, deps), ...deleteRuns(targets.filter((t) => !whole(t)), deps)];
}

/**
 * What is gone, by its parent (delete-run.ts), after the user's rules, both sides, as a full
 * run has them: an entry they decide is sent, kept or deleted as a full run would (a file
 * they include is sent, not taken for extraneous; one they protect stays), and the rules of
 * the run decide only what the user's leave open. With per-directory merge files, one run per
 * parent directory, with the rules in force there, newline-separated so that rsync reads the
 * merge files (a parent whose name holds a newline goes without them, as in subtreeRuns).
 */
function deleteRuns(targets: readonly string[], deps: BatchDeps): PlannedRun[] {
  const rules = deps.rules;
  const merges = rules?.hasDirMerge === true;
  const byParent = new Map<string, string[]>();
  for (const t of targets) {
    const key = merges ? parentOf(t) : '';
    byParent.set(key, [...(byParent.get(key) ?? []), t]);
  }
  return [...byParent.entries()].flatMap(([dir, group]) =>
    planDeleteRuns(group).map((run): PlannedRun => {
      const odd = merges && /[\n\r]/.test(dir);
      const user = rules ? rules.batchFilters(dir, merges && !odd) : undefined;
      const plan = user
        ? withFilters(deps.plan, [...user, ...run.rules])
        : { ...withFilters(deps.plan, run.rules), filters: [...deps.plan.filters, ...run.rules.map((value) => ({ kind: 'filter' as const, value }))] };
      return { kind: 'delete', recursive: false, ignoreTimes: false, paths: run.parents.map(listedParent), reported: [...run.targets, ...run.parents], plan, from0: !merges || odd };
    }),
  );
}

/**
 * The nearest gone ancestor of each gone path whose parent is gone too (a path queued alone,
 * its directory removed since): rsync lists the parent, which must exist. Paths then inside
 * another are dropped.
 */
async function deleteTargets(deletes: readonly string[], root: string, stateOf: (abs: string) => Promise<PathState>): Promise<string[]> {
  const out = new Set<string>();
  for (let d of deletes) {
    for (let p = parentOf(d); p !== ''; p = parentOf(d)) {
      const state = await stateOf(path.join(root, p));
      if (state !== 'missing' && state !== 'notdir') break;
      d = p;
    }
    out.add(d);
  }
  return [...out].filter((d) => ![...ancestorsOf(d)].some((a) => a !== '' && out.has(a)));
}

/**
 * The root's own attributes. A listed "." makes rsync send the root's entries too (--dirs),
 * one level: they go with the sender's rules (with per-directory files, newline-separated so
 * that rsync reads the root's). That also carries the times of top-level directories whose
 * change raised no event (an entry made in them that the watcher ignores).
 */
function rootAttrsRun(deps: BatchDeps): PlannedRun {
  const rules = deps.rules;
  if (!rules) return { recursive: false, ignoreTimes: false, paths: [''], plan: deps.plan, from0: true };
  return { recursive: false, ignoreTimes: false, paths: [''], plan: withFilters(deps.plan, rules.batchFilters('', rules.hasDirMerge)), from0: !rules.hasDirMerge };
}

/**
 * Recursive runs. With per-directory merge files rsync must read those itself, which it does
 * right only without --from0: the subtrees go newline-separated (one whose name holds a
 * newline goes NUL-separated, without them, and is logged), one run per parent directory,
 * each with the rules its subtrees inherit from above.
 */
function subtreeRuns(subtrees: readonly string[], deps: BatchDeps): PlannedRun[] {
  const rules = deps.rules;
  if (subtrees.length === 0) return [];
  if (!rules) return [{ recursive: true, ignoreTimes: false, paths: subtrees, plan: deps.plan, from0: true }];
  // Without merge files the rules are the same for every subtree, and --from0 harms nothing.
  if (!rules.hasDirMerge) return [{ recursive: true, ignoreTimes: false, paths: subtrees, plan: withFilters(deps.plan, rules.batchFilters('')), from0: true }];
  const odd = subtrees.filter((p) => /[\n\r]/.test(p));
  const byParent = new Map<string, string[]>();
  for (const p of subtrees) {
    if (odd.includes(p)) continue;
    const parent = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    byParent.set(parent, [...(byParent.get(parent) ?? []), p]);
  }
  const runs: PlannedRun[] = [...byParent.values()].map((paths) => ({
    recursive: true,
    ignoreTimes: false,
    paths,
    // Every path of the group has the same parent, so the same inherited rules.
    plan: withFilters(deps.plan, rules.batchFilters(paths[0] ?? '')),
    from0: false,
  }));
  // A name with a newline cannot go newline-separated; NUL-separated, rsync would misread the
  // merge files below it, so they are left out there (README: known limits).
  if (odd.length > 0) runs.push({ recursive: true, ignoreTimes: false, paths: odd, plan: withFilters(deps.plan, rules.batchFilters('', false)), from0: true });
  return runs;
}

export async function runBatch(entries: readonly Entry[], deps: BatchDeps, signal?: AbortSignal): Promise<BatchResult> {
  const stateOf = deps.stateOf ?? statePathOf;
  const states = await Promise.all(entries.map((e) => stateOf(path.join(deps.masterRoot, e.path))));
  const effective = states.includes('notdir') ? await resolveNotDirs(entries, states, deps.masterRoot, stateOf) : entries;
  const { subtrees, files, deletes, dirAttrs, skippedDeletes } = planRuns(effective, states, deps.plan.ignoreDeletes);
  const targets = await deleteTargets(deletes, deps.masterRoot, stateOf);
  const mode = deps.deletes ?? new DeleteMode();
  // Directory attributes last: the other runs may populate those directories.
  const planned = [
    ...subtreeRuns(subtrees, deps),
    ...(mode.byParent ? parentRuns(files, targets, deps) : missingArgsRuns(files, targets, deps)),
    listedRun(dirAttrs.filter((p) => p !== '' || !deps.rules), false, deps),
    ...(deps.rules && dirAttrs.includes('') ? [rootAttrsRun(deps)] : []),
  ];
  const runs: BatchRun[] = [];
  let outcome: RsyncOutcome = 'ok';
  for (let i = 0; i < planned.length; i++) {
    const { kind, recursive: isRecursive, ignoreTimes, paths, plan, from0, reported, byParent } = planned[i] as PlannedRun;
    if (paths.length === 0) continue;
    // Recursive runs name what they send, to be checked again a moment later (sent-paths.ts).
    const argv =
      kind === 'delete' ? deleteArgv(plan, from0) : batchArgv(plan, { recursive: isRecursive, ignoreTimes, listSent: isRecursive, from0, deleteMissing: kind === 'missing' });
    const result = await deps.runRsync(deps.rsyncCommand, argv, {
      input: filesFromInput(paths, from0),
      killAfterMs: deps.killAfterMs,
      ...(signal ? { signal } : {}),
    });
    if (byParent && mode.refused(result)) {
      // Refused before anything was written: the same again without missing entries.
      planned.splice(i + 1, 0, ...byParent());
      continue;
    }
    runs.push({ recursive: isRecursive, paths: reported ?? paths, result });
    outcome = worst(outcome, result.exit.outcome);
    if (result.exit.outcome === 'connection' || signal?.aborted) break;
  }
  return {
    entries,
    runs,
    outcome,
    files: subtrees.length + files.length + deletes.length + dirAttrs.length,
    bytes: runs.reduce((n, r) => n + r.result.stats.bytes, 0),
    literal: runs.reduce((n, r) => n + r.result.stats.literal, 0),
    seconds: runs.reduce((n, r) => n + r.result.seconds, 0),
    skippedDeletes,
  };
}
