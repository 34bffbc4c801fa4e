/**
 * rsync's everyday flags beyond -a's (issue 15), with what each means in a mirror that never
 * stops. Every one is a tunable (flag and config key); rsync gets it on every run it starts.
 * Some change *what* the slave holds, not only how it gets there: a rename cannot then be
 * replayed as a rename (rsync would have made something else of the two names), and the
 * confirmation after each batch allows the difference the flag makes (or is off, where it
 * cannot read the slave as rsync wrote it).
 *
 * The table is the one source for --help, the config template and the README's table (a
 * test compares them). The slave checks the server forms of these flags by its own list
 * (slave/rsync-allow.ts): it must not trust the master's idea of what is safe.
 */
import type { Tunable } from './tunables.js';

/** How a flag bears on what gsyncd does beside passing it to rsync. */
export type FlagEffect =
  /** How data moves, or which attributes rsync sets: nothing else changes. */
  | 'transfer'
  /** What the slave holds differs from the master by design: renames are sent as data, the confirmation allows it. */
  | 'selects';

export interface RsyncFlag extends Tunable {
  readonly effect: FlagEffect;
  /** What rsync does with it (its own words, from rsync --help). */
  readonly does: string;
  /** What gsyncd does with it, continuously (the README's table). */
  readonly live: string;
}

/** rsync's size suffixes (K, M, G, T, P; KiB or KB; +1/-1), as --max-size takes them. */
const SIZE = { re: /^\d+(\.\d+)?([kmgtp](i?b)?|b)?([+-]1)?$/i, what: "a size as rsync takes it (e.g. 500, 1.5M, 1G)" } as const;
/** A path the slave's rsync resolves against the slave root: relative, without `..`. */
const SLAVE_RELATIVE = { re: /^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0\n*?[\\]+$/, what: 'a path relative to the slave root, without .. or wildcards' } as const;

/** One flag: a boolean, or with `arg` a value. The help is rsync's own words. */
function entry(name: string, short: string | undefined, arg: string | undefined, effect: FlagEffect, does: string, live: string, extra: Partial<RsyncFlag>): RsyncFlag {
  return {
    name,
    type: arg === undefined ? 'boolean' : 'string',
    default: arg === undefined ? false : undefined,
    ...(arg === undefined ? {} : { arg }),
    help: `rsync ${short ? `-${short}, ` : ''}--${name}${arg === undefined ? '' : `=${arg}`}: ${does}`,
    does,
    ...(short ? { short } : {}),
    rsync: `--${name}`,
    effect,
    live,
    ...extra,
  };
}

const bool = (name: string, short: string | undefined, effect: FlagEffect, does: string, live: string, extra: Partial<RsyncFlag> = {}): RsyncFlag =>
  entry(name, short, undefined, effect, does, live, extra);

const valued = (name: string, short: string | undefined, arg: string, effect: FlagEffect, does: string, live: string, extra: Partial<RsyncFlag> = {}): RsyncFlag =>
  entry(name, short, arg, effect, does, live, extra);

export const RSYNC_FLAGS: readonly RsyncFlag[] = [
  // What is mirrored.
  bool('prune-empty-dirs', 'm', 'selects', 'prune empty directory chains from file-list',
    'a directory that holds no file to send is never created on the slave, and a delete that leaves one so is followed by a run of the nearest directory above that still holds a file, which removes the emptied chain from the slave; renames are sent as data'),
  bool('one-file-system', 'x', 'transfer', "don't cross filesystem boundaries",
    'the filesystems mounted inside the tree at start are neither watched, listed nor sent (each mount point itself is, as with rsync), and their copies on the slave are never deleted; one mounted later is found at the next start'),
  bool('copy-links', 'L', 'selects', 'transform symlinks into their referent files and dirs',
    "each link is sent as what it points at; a change to that, seen at its own path in the tree, is also sent under every link that reaches it (through chains of links too); a link out of the tree makes the session rescan the tree every --poll-interval (listings follow links) for what it points at; a link that holds itself (inside what it points at, at the root or above, or through other links) is refused at start, and logged as an ERROR when made while live (rsync would copy it until the path is too long); renames are sent as data"),
  bool('copy-dirlinks', 'k', 'selects', 'transform a symlink to a directory into a directory',
    'as -L, for links to directories (a link to a file stays a link)'),
  bool('copy-unsafe-links', undefined, 'selects', 'only "unsafe" symlinks are transformed', 'each run copies what a link pointing out of the tree points at; renames are sent as data (a moved link may change sides)'),
  bool('safe-links', undefined, 'selects', 'ignore symlinks that point outside the tree', 'each run skips links pointing out of the tree; renames are sent as data (a moved link may change sides)'),
  bool('keep-dirlinks', 'K', 'selects', 'treat a symlinked dir on the slave as a dir',
    "a symlink to a directory on the slave where the master has a directory is kept, and runs write through it, as rsync; refused by a slave whose roots are limited (--root, --restrict: the link may lead out of them); renames are sent as data, and the confirmation after batches is off (it reads the slave without following links)"),
  bool('update', 'u', 'selects', 'skip files that are newer on the slave', 'no run overwrites a slave file newer than the master\'s; renames are sent as data; the confirmation allows a newer slave copy'),
  bool('existing', undefined, 'selects', 'skip creating new files on the slave', 'runs only update what the slave has; renames are sent as data (the new name is not created); the confirmation allows a missing copy'),
  bool('ignore-existing', undefined, 'selects', 'skip updating files that exist on the slave', 'runs only create what the slave lacks; renames are sent as data; the confirmation allows a differing copy'),
  valued('max-size', undefined, 'SIZE', 'selects', "don't transfer any file larger than SIZE", 'files over SIZE are never sent (the slave keeps what it has); renames are sent as data; the confirmation skips them', { pattern: SIZE }),
  valued('min-size', undefined, 'SIZE', 'selects', "don't transfer any file smaller than SIZE", 'files under SIZE are never sent; renames are sent as data; the confirmation skips them', { pattern: SIZE }),
  bool('backup', 'b', 'selects', 'make backups of replaced and deleted files', 'every file a run replaces or deletes on the slave is kept as a backup; renames are sent as data (rsync backs up the old name)'),
  valued('backup-dir', undefined, 'DIR', 'selects', 'make backups into this directory (implies -b)', 'backups go to DIR, relative to the slave root, which gsyncd protects from --delete (rsync alone would back it up into itself at the next run, B/B/…); renames are sent as data', { pattern: SLAVE_RELATIVE }),
  valued('suffix', undefined, 'SUFFIX', 'selects', 'backup suffix (default ~ without --backup-dir)', 'as rsync', { pattern: { re: /^[^/\0\n]*$/, what: 'a suffix without /' } }),
  // How data moves.
  bool('inplace', undefined, 'transfer', 'update destination files in-place', 'every run writes in place'),
  bool('append-verify', undefined, 'selects', 'append data onto shorter files, verifying the whole file', 'every run appends, and resends a file whose old part differs; a slave file as long as the master\'s or longer is left alone (as rsync does), so renames are sent as data and the confirmation allows it'),
  bool('sparse', 'S', 'transfer', 'turn sequences of nulls into sparse blocks', 'every run'),
  bool('whole-file', 'W', 'transfer', 'copy files whole, without the delta algorithm', 'every run'),
  bool('size-only', undefined, 'selects', 'skip files that match in size', "every run's quick check: a file rewritten to the same size is queued by its event but not resent, as with rsync; renames are sent as data"),
  valued('modify-window', undefined, 'NUM', 'transfer', 'compare mod-times with reduced accuracy', "every run's quick check, and the confirmation's time comparison", {
    type: 'integer',
    min: -1,
    max: 1_000_000_000,
  }),
  valued('compress-level', undefined, 'NUM', 'transfer', 'explicitly set compression level', 'every run', { type: 'integer', min: -1, max: 22 }),
  valued('temp-dir', 'T', 'DIR', 'transfer', 'create temporary files in directory DIR', 'every run, DIR relative to the slave root', { pattern: SLAVE_RELATIVE }),
  bool('delay-updates', undefined, 'transfer', 'put all updated files into place at the end of a run', 'every run'),
  bool('delete-before', undefined, 'transfer', 'receiver deletes before transfer', 'every run that deletes (a subtree resent whole, the Full Crawl); single deletes go as they come'),
  bool('delete-during', undefined, 'transfer', 'receiver deletes during the transfer', 'as --delete-before'),
  bool('delete-delay', undefined, 'transfer', 'find deletions during, delete after', 'as --delete-before'),
  bool('delete-after', undefined, 'transfer', 'receiver deletes after transfer', 'as --delete-before'),
  // Attributes.
  valued('chmod', undefined, 'CHMOD', 'transfer', "affect file and/or directory permissions", 'every run; the confirmation does not compare modes', { pattern: { re: /^[DFugoa0-7+=,rwxXst-]+$/, what: "rsync's --chmod rules (e.g. D755,F644 or u+w)" } }),
  valued('chown', undefined, 'USER:GROUP', 'transfer', 'simple username/groupname mapping', 'every run', { pattern: { re: /^[\w.-]*(:[\w.-]*)?$/, what: 'USER:GROUP' } }),
  valued('usermap', undefined, 'STRING', 'transfer', 'custom username mapping', 'every run', { pattern: { re: /^[\w.*:,-]+$/, what: "rsync's FROM:TO,… mapping" } }),
  valued('groupmap', undefined, 'STRING', 'transfer', 'custom groupname mapping', 'every run', { pattern: { re: /^[\w.*:,-]+$/, what: "rsync's FROM:TO,… mapping" } }),
  bool('executability', 'E', 'transfer', 'preserve executability', 'every run; without -p the confirmation does not compare modes'),
  bool('omit-dir-times', 'O', 'transfer', 'omit directories from --times', 'every run; the confirmation does not compare directory times'),
  bool('omit-link-times', 'J', 'transfer', 'omit symlinks from --times', 'every run'),
  bool('atimes', 'U', 'transfer', 'preserve access (use) times', 'every run'),
  bool('super', undefined, 'transfer', 'receiver attempts super-user activities', 'every run'),
  bool('fake-super', undefined, 'transfer', 'store/recover privileged attrs using xattrs', 'every run (on the master side, as with rsync)'),
  // Output.
  bool('itemize-changes', 'i', 'transfer', 'output a change-summary for all updates', 'what each run changes is logged at INFO'),
  bool('stats', undefined, 'transfer', 'give some file-transfer stats', "each run's statistics are logged at INFO (gsyncd always reads them for its batch lines)"),
  bool('progress', undefined, 'transfer', 'show progress during transfer (-P is --partial --progress)', 'the Full Crawl logs its progress (every 30 s, and on a terminal as it goes); batches are too short to show it'),
  valued('iconv', undefined, 'CONVERT_SPEC', 'selects', 'request charset conversion of filenames',
    "every run converts names as rsync does (LOCAL,REMOTE; the master's names are LOCAL); renames are sent as data and the confirmation after batches is off (both go by the master's names); the filter rules are not converted, as with rsync, so deletes on a slave whose rsync lacks --delete-missing-args resend the directory whole; refused by a slave whose roots are limited (--root, --restrict: the master would choose what the slave's names become)",
    { pattern: { re: /^[A-Za-z0-9._:+-]+(,[A-Za-z0-9._:+-]+)?$/, what: 'LOCAL,REMOTE charsets as iconv names them (e.g. utf8,latin1), or .' } }),
];

const byName = new Map(RSYNC_FLAGS.map((f) => [f.name, f]));

export const rsyncFlag = (name: string): RsyncFlag | undefined => byName.get(name);

/** The arguments the flags that are set give rsync: on every run, and on runs that delete. */
export interface RsyncFlagArgs {
  readonly always: readonly string[];
  /** --delete-before and the like: only where a run deletes by --delete. */
  readonly deleting: readonly string[];
  /**
   * -m: only on runs that recurse. Given a directory listed alone (a directory's attributes,
   * the parents a run of deletes lists with --delete), rsync -m takes it for empty, since its
   * contents are not listed: it would not update it, and would delete its like on the slave.
   */
  readonly recursing: readonly string[];
}

const DELETE_TIMING = new Set(['delete-before', 'delete-during', 'delete-delay', 'delete-after']);

/** Pure: from the settled values (`value(name)`), in the table's order. */
export function rsyncFlagArgs(value: (name: string) => boolean | number | string | readonly string[] | undefined): RsyncFlagArgs {
  const always: string[] = [];
  const deleting: string[] = [];
  const recursing: string[] = [];
  for (const f of RSYNC_FLAGS) {
    const v = value(f.name);
    if (v === undefined || v === false) continue;
    const arg = f.type === 'boolean' ? `--${f.name}` : `--${f.name}=${typeof v === 'object' ? v.join(',') : String(v)}`;
    (DELETE_TIMING.has(f.name) ? deleting : f.name === 'prune-empty-dirs' ? recursing : always).push(arg);
  }
  return { always, deleting, recursing };
}

/** The first flag set that makes the slave differ from the master by design (effect 'selects'), if any. */
export function selectingFlag(o: { readonly rsyncFlags: ReadonlySet<string>; readonly rsyncValues: ReadonlyMap<string, string> }): string | undefined {
  return RSYNC_FLAGS.find((f) => f.effect === 'selects' && (o.rsyncFlags.has(f.name) || o.rsyncValues.has(f.name)))?.name;
}

/** Whether rsync copies what links point at (-L, -k): listings then follow links too. */
export const followsLinks = (flags: ReadonlySet<string>): boolean => flags.has('copy-links') || flags.has('copy-dirlinks');
