/**
 * rsync's argv, built purely from options. Paths of changed files never appear here: they
 * go on stdin (`--files-from=- --from0`, invariant 3).
 */
import type { FilterArg } from '../filter/rules.js';
import { filterRsyncArgs } from '../filter/rules.js';
import { encodeName } from './names.js';

export interface RsyncPlan {
  /** rsync's own boolean flags switched on, by long name (archive, hard-links, …). */
  readonly flags: ReadonlySet<string>;
  readonly bwlimit: string | undefined;
  readonly timeout: number | undefined;
  readonly extra: readonly string[];
  /** rsync's everyday flags given to gsyncd (rsync-flags.ts): on every run, and on runs that delete. */
  readonly passOn?: { readonly always: readonly string[]; readonly deleting: readonly string[]; readonly recursing: readonly string[] };
  readonly filters: readonly FilterArg[];
  readonly ignoreDeletes: boolean;
  readonly maxDelete: number | undefined;
  /** The remote shell command for -e, when the slave is remote. */
  readonly rsh: string | undefined;
  readonly rsyncPath: string | undefined;
  /** Master root, with a trailing slash: its contents are mirrored. */
  readonly source: string;
  /** Slave root as rsync addresses it (`/srv/x/` or `host:/srv/x/`). */
  readonly dest: string;
}

const SHORT: Readonly<Record<string, string>> = {
  archive: '-a', recursive: '-r', links: '-l', perms: '-p', times: '-t', group: '-g', owner: '-o',
  'devices-specials': '-D', 'hard-links': '-H', acls: '-A', xattrs: '-X', compress: '-z',
  'dry-run': '-n', verbose: '-v', quiet: '-q',
};
const ARCHIVE_PARTS = ['recursive', 'links', 'perms', 'times', 'group', 'owner', 'devices-specials'];

/** Whether runs get -a: asked for, or none of its parts chosen one by one (as rsync users do). Pure. */
export const usesArchive = (flags: ReadonlySet<string>): boolean => flags.has('archive') || !ARCHIVE_PARTS.some((f) => flags.has(f));

/** Transfer flags: -a unless the user chose -a's parts one by one. */
function transferFlags(plan: RsyncPlan, recursive: boolean): string[] {
  const useArchive = usesArchive(plan.flags);
  const out: string[] = [];
  if (useArchive) out.push('-a');
  for (const name of [...ARCHIVE_PARTS, 'hard-links', 'acls', 'xattrs', 'compress', 'dry-run', 'verbose', 'quiet']) {
    if (name === 'recursive') continue; // decided per run below
    if (useArchive && ARCHIVE_PARTS.includes(name)) continue;
    if (plan.flags.has(name)) out.push(SHORT[name] ?? `--${name}`);
  }
  for (const name of ['checksum', 'numeric-ids', 'partial', 'cvs-exclude', 'delete-excluded']) if (plan.flags.has(name)) out.push(`--${name}`);
  // --files-from switches recursion off, and -a does not bring it back: say it when wanted.
  if (recursive) out.push('-r', ...(plan.passOn?.recursing ?? []));
  return out;
}

function commonTail(plan: RsyncPlan): string[] {
  const out: string[] = [];
  if (plan.bwlimit !== undefined) out.push(`--bwlimit=${plan.bwlimit}`);
  if (plan.timeout !== undefined) out.push(`--timeout=${plan.timeout}`);
  out.push(...(plan.passOn?.always ?? []));
  out.push(...plan.extra);
  out.push(...filterRsyncArgs(plan.filters));
  if (plan.rsh !== undefined) out.push('-e', plan.rsh);
  if (plan.rsyncPath !== undefined) out.push(`--rsync-path=${plan.rsyncPath}`);
  // Numbers without thousands separators, so the stats can be read back.
  out.push('--stats', '--no-human-readable');
  return out;
}

function deleteFlags(plan: RsyncPlan, withDelete: boolean): string[] {
  if (plan.ignoreDeletes) return [];
  const out = withDelete ? ['--delete', ...(plan.passOn?.deleting ?? [])] : [];
  // Without --force rsync keeps a non-empty directory it was told to delete, and exits 0.
  out.push('--force');
  if (plan.maxDelete !== undefined) out.push(`--max-delete=${plan.maxDelete}`);
  return out;
}

/** Marks the lines of --out-format that name what a run sent (see sent-paths.ts). */
export const SENT_MARK = 'gsyncd-sent:';
const sentFormat = `--out-format=${SENT_MARK}%i %n`;

/**
 * Full Crawl: the whole tree, deleting what the slave has beyond the master. `listSent`
 * makes rsync name each path it sends.
 */
export function fullSyncArgv(plan: RsyncPlan, listSent = false): string[] {
  // --mkpath: a slave root that does not exist yet is created, parents included.
  return [
    ...transferFlags(plan, true),
    ...deleteFlags(plan, true),
    '--mkpath',
    // One progress line for the whole transfer: a long initial sync shows how far it is.
    '--info=progress2',
    ...(listSent ? [sentFormat] : []),
    ...commonTail(plan),
    '--',
    plan.source,
    plan.dest,
  ];
}

/** Lists the slave root's top level, to tell an empty slave from a populated one. */
export function listSlaveArgv(plan: RsyncPlan): string[] {
  const out = ['--list-only', '--dirs'];
  if (plan.rsh !== undefined) out.push('-e', plan.rsh);
  if (plan.rsyncPath !== undefined) out.push(`--rsync-path=${plan.rsyncPath}`);
  return [...out, '--', plan.dest];
}

export interface BatchRunShape {
  /** Carries subtree entries, and deletes extraneous files inside them. */
  readonly recursive?: boolean;
  /** Sends listed files even when size and mtime match (see planRuns). */
  readonly ignoreTimes?: boolean;
  /** rsync names each path it sends (sent-paths.ts). */
  readonly listSent?: boolean;
  /** The list NUL-separated (default), else by newline (see batch.ts). */
  readonly from0?: boolean;
  /** Listed paths gone from the master are deleted on the slave (`--delete-missing-args`). */
  readonly deleteMissing?: boolean;
}

/**
 * One batch: listed paths on stdin. A listed path gone since it was looked at is skipped
 * (its delete event follows), unless the run is one that deletes what is gone
 * (`deleteMissing`), and then `--force` lets a directory go whole.
 */
export function batchArgv(plan: RsyncPlan, shape: BatchRunShape = {}): string[] {
  const { recursive = false, ignoreTimes = false, listSent = false, from0 = true, deleteMissing = false } = shape;
  const missing = deleteMissing && !plan.ignoreDeletes ? '--delete-missing-args' : '--ignore-missing-args';
  // --size-only and --append-verify are the user's quick check: --ignore-times would override
  // it (and make --append-verify skip a file's attributes with its data).
  const ownQuickCheck = plan.passOn?.always.some((a) => a === '--size-only' || a === '--append-verify') ?? false;
  return [
    ...transferFlags(plan, recursive),
    ...(ignoreTimes && !ownQuickCheck ? ['--ignore-times'] : []),
    ...(listSent ? [sentFormat] : []),
    ...deleteFlags(plan, recursive),
    missing,
    '--files-from=-',
    // --from0 also makes rsync read merge and per-directory filter files NUL-separated: a
    // run that needs those reads a newline-separated list instead (see batch.ts).
    ...(from0 ? ['--from0'] : []),
    ...commonTail(plan),
    '--',
    plan.source,
    plan.dest,
  ];
}

/**
 * Deletes where the slave refuses `--delete-missing-args` (rsync 3.4.3, Debian 12's 3.2.7
 * since its May 2026 security update): the parents of gone paths listed (`PARENT/.`, one
 * level), `--delete`, and the plan's rules naming what goes (delete-run.ts).
 */
export function deleteArgv(plan: RsyncPlan, from0 = true): string[] {
  // A parent gone since it was looked at is skipped: its own delete comes with its event.
  return [...transferFlags(plan, false), ...deleteFlags(plan, true), '--ignore-missing-args', '--files-from=-', ...(from0 ? ['--from0'] : []), ...commonTail(plan), '--', plan.source, plan.dest];
}

/**
 * The list for stdin, NUL-separated (or by newline, for paths known to hold none); `./`
 * keeps rsync from reading `#x` or `;x` as comments.
 */
export function filesFromInput(paths: readonly (string | Buffer)[], from0 = true): Buffer {
  const parts: Buffer[] = [];
  const end = Buffer.from(from0 ? [0] : [10]);
  for (const p of paths) {
    parts.push(Buffer.from(p === '' ? '.' : './'));
    if (p !== '') parts.push(typeof p === 'string' ? encodeName(p) : p);
    parts.push(end);
  }
  return Buffer.concat(parts);
}
