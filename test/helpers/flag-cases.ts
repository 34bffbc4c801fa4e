// rsync's everyday flags (issue 15), run the same way by rsync and gsyncd on the same trees:
// the cases, the slave's state before them, the scripted live changes, and the comparison.
import { appendFileSync, chmodSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exec } from './exec.js';
import { bytePath, INVALID_UTF8_DIR, INVALID_UTF8_NAME } from './tree.js';

export interface FlagCase {
  /** Arguments for both rsync and gsyncd, in order. */
  readonly args: readonly string[];
  /** What rsync alone needs besides to mean what gsyncd does (the protect rule gsyncd adds for a backup dir). */
  readonly oracle?: readonly string[];
  /** Directories made in the slave (and the oracle) first: --temp-dir's. */
  readonly slaveDirs?: readonly string[];
  /** Extra arguments for the comparison (-O: directory times are rsync's to leave alone). */
  readonly compare?: readonly string[];
  /** Where backups go: compared as a superset live (each send backs up what it replaces). */
  readonly backups?: { readonly dir: string } | { readonly suffix: string };
  /**
   * -L, -k: rsync fails on a link whose referent is gone ("symlink has no referent", exit 23,
   * and no deletes), gsyncd with it: the tree's dangling link is left out, and the link the
   * live step leaves dangling (its referent renamed) is pointed at the new name.
   */
  readonly followsLinks?: boolean;
  /**
   * --iconv=utf8,latin1: names latin1 cannot hold fail with rsync (exit 23) as with gsyncd, so
   * the tree leaves them out; the live step adds and renames names latin1 holds differently.
   */
  readonly latin1?: boolean;
  /** What the slave (and the oracle, a copy of it) holds of its own before the case: -K's link to a directory. */
  readonly prepareSlave?: (slave: string) => void;
}

/**
 * -K: the slave keeps `nested` in a directory of its own (`.store/`, which the rules protect
 * from --delete) behind a link: runs write through it, as rsync -K does.
 */
function nestedBehindLink(slave: string): void {
  mkdirSync(path.join(slave, '.store'));
  renameSync(path.join(slave, 'nested'), path.join(slave, '.store/nested'));
  symlinkSync('.store/nested', path.join(slave, 'nested'));
}

const flag = (...args: string[]): FlagCase => ({ args: ['-a', ...args] });

/** Every flag rsync-flags.ts passes on, alone with -a, then the common combinations. */
export const FLAG_CASES: readonly FlagCase[] = [
  { args: ['-a', '--iconv=utf8,latin1'], latin1: true },
  { args: ['-a', '-L'], followsLinks: true },
  { args: ['-a', '-k'], followsLinks: true },
  // rsync -K does not set the time of a directory it reaches through a link: the writes
  // through it leave their own moment there, with rsync alone too (-O leaves directory times out).
  { args: ['-a', '-K', '--filter=P /.store/'], prepareSlave: nestedBehindLink, compare: ['-O'] },
  flag('--copy-unsafe-links'),
  flag('--safe-links'),
  flag('-u'),
  flag('--existing'),
  flag('--ignore-existing'),
  flag('--max-size=100k'),
  flag('--min-size=10'),
  // rsync makes a backup in a directory after it has set the directory's time: the time a
  // run leaves there is its own moment, as with rsync alone (-O leaves directory times out).
  { args: ['-a', '-b'], backups: { suffix: '~' }, compare: ['-O'] },
  { args: ['-a', '--backup-dir=B'], oracle: ['--filter=P /B/'], backups: { dir: 'B' }, compare: ['-O'] },
  { args: ['-a', '-b', '--suffix=.old'], backups: { suffix: '.old' }, compare: ['-O'] },
  flag('--inplace'),
  flag('--append-verify'),
  flag('-S'),
  flag('-W'),
  flag('--size-only'),
  // Times within the window are the same to rsync: a directory time moved less than that since
  // a batch sent it is left as it was, and compared with the same window.
  { args: ['-a', '--modify-window=2'], compare: ['--modify-window=2'] },
  flag('-z', '--compress-level=3'),
  // The temporary directory's time is that of the run's last temporary file.
  { args: ['-a', '-T', '.tmpd', '--filter=P /.tmpd/'], slaveDirs: ['.tmpd'], compare: ['--exclude=/.tmpd/'] },
  flag('--delay-updates'),
  flag('--delete-before'),
  flag('--delete-during'),
  flag('--delete-delay'),
  flag('--delete-after'),
  { args: ['-a', '--chmod=D750,F640'] },
  flag('--chown=1234:1234'),
  flag('--usermap=0:4321'),
  flag('--groupmap=0:4321'),
  { args: ['-rlt', '-E'] },
  { args: ['-a', '-O'], compare: ['-O'] },
  { args: ['-a', '-J'], compare: ['-J'] },
  flag('-U'),
  flag('--super'),
  // rsync -X reports the xattrs of files fake-super made of links as different from themselves.
  { args: ['-a', '--fake-super'], compare: ['--fake-super'] },
  flag('-i'),
  flag('--stats'),
  flag('-P'),
  // The combinations of the issue (-x with a mount inside the tree: e2e/one-file-system).
  flag('-HAX'),
  flag('-Hx', '--delete'),
  flag('-m'),
  flag('-vzm'),
  flag('-vzu', '--max-size=100k'),
  { args: ['-aHAX', '--backup-dir=B', '--delete-after'], oracle: ['--filter=P /B/'], backups: { dir: 'B' }, compare: ['-O'] },
  flag('-HAX', '--inplace', '--existing'),
];

/** What a case needs of the hard tree before it starts (see FlagCase.followsLinks). */
export function prepareMaster(master: string, k: FlagCase): void {
  if (k.followsLinks === true) rmSync(path.join(master, 'link-dangling'));
  if (k.latin1 === true) {
    for (const name of ['日本', 'Ω.txt']) rmSync(path.join(master, name));
    for (const name of [INVALID_UTF8_NAME, INVALID_UTF8_DIR]) rmSync(bytePath(master, name), { recursive: true });
  }
}

/** What a case needs after the live step. */
export function afterLiveChanges(master: string, k: FlagCase): void {
  if (k.latin1 === true) {
    writeFileSync(path.join(master, 'live/ça va.txt'), 'a new name latin1 holds as other bytes\n');
    renameSync(path.join(master, 'é-accent'), path.join(master, 'è-moved'));
  }
  if (k.followsLinks !== true) return;
  symlinkSync('renamed.txt', path.join(master, 'link-relative.new'));
  renameSync(path.join(master, 'link-relative.new'), path.join(master, 'link-relative'));
}

/** A name for a case: its arguments. */
export const caseName = (k: FlagCase): string => k.args.join(' ');

// A fixed point in the past, so that a lost time shows.
const PAST = Date.UTC(2022, 5, 1) / 1000;

/**
 * The slave as a previous sync and some local life left it: a file newer than the master's,
 * one missing, one extra, one shorter (for --append-verify), one rewritten with the same size
 * and time (for --size-only).
 */
export function perturbSlave(slave: string): void {
  writeFileSync(path.join(slave, 'plain.txt'), 'slave copy, newer than the master\n');
  utimesSync(path.join(slave, 'plain.txt'), PAST + 400 * 86_400 * 10, PAST + 400 * 86_400 * 10);
  rmSync(path.join(slave, 'nested/top.txt'));
  writeFileSync(path.join(slave, 'slave-extra.txt'), 'only on the slave\n');
  utimesSync(path.join(slave, 'slave-extra.txt'), PAST, PAST);
  const larger = path.join(slave, 'larger.bin');
  const t = statSync(larger).mtime;
  truncateSync(larger, 100_000);
  utimesSync(larger, PAST, PAST);
  const same = path.join(slave, 'mode-0640');
  const st = statSync(same);
  writeFileSync(same, 'GROUP READABLE\n');
  utimesSync(same, st.atime, st.mtime);
  // Directories' times as rsync left them: the files above changed them.
  for (const d of [slave, path.join(slave, 'nested')]) utimesSync(d, t, t);
}

/**
 * One live step on the master: a new directory with small, big and link files; an append, a
 * same-size rewrite, deletes (one that leaves its directory empty), a mode change; a file and
 * a directory renamed.
 */
export function liveChanges(master: string): void {
  mkdirSync(path.join(master, 'live'));
  writeFileSync(path.join(master, 'live/new.txt'), 'new while live\n');
  writeFileSync(path.join(master, 'live/big.bin'), 'b'.repeat(200_000));
  writeFileSync(path.join(master, 'live/tiny'), 'x');
  symlinkSync('/etc/hostname', path.join(master, 'live/out-link'));
  appendFileSync(path.join(master, 'nested/a/b/c/deep.txt'), 'appended live\n');
  writeFileSync(path.join(master, 'mode-0600'), 'SECRET\n');
  rmSync(path.join(master, 'zero-length'));
  // Its directory's only file: -m prunes the directory then.
  rmSync(path.join(master, 'private-0700/inside.txt'));
  // One of several in a directory nothing else of this step touches: its new time must follow.
  rmSync(path.join(master, 'nested/a/#not a comment'));
  chmodSync(path.join(master, 'mode-0755.sh'), 0o700);
  renameSync(path.join(master, 'plain.txt'), path.join(master, 'renamed.txt'));
  renameSync(path.join(master, 'dir with space'), path.join(master, 'dir moved'));
}

/**
 * What `rsync -anicHAX --delete` finds between the two trees, both ways (empty when equal).
 * `exclude`: names left out of the comparison (the backups, compared apart).
 */
export async function flagDifferences(expected: string, actual: string, k: FlagCase, exclude: readonly string[] = []): Promise<string> {
  const args = ['-anicHAX', '--delete', ...(k.compare ?? []), ...exclude.map((e) => `--exclude=${e}`), '--out-format=%i %n%L'];
  const out: string[] = [];
  for (const [a, b, dir] of [[expected, actual, 'slave differs'], [actual, expected, 'reverse']] as const) {
    const r = await exec('rsync', [...args, `${a}/`, `${b}/`]);
    if (r.code !== 0) return `rsync exited ${String(r.code)}: ${r.stderr}`;
    if (r.stdout.trim() !== '') out.push(`${dir}:\n${r.stdout.trim()}`);
  }
  return out.join('\n');
}

/** Backups the oracle holds that the slave does not (by name): each replaced or deleted file must be kept. */
export function missingBackups(oracle: string, slave: string, k: FlagCase): string[] {
  const b = k.backups;
  if (!b) return [];
  const names = (root: string): string[] => {
    const out: string[] = [];
    const walk = (rel: string): void => {
      for (const e of readdirSync(path.join(root, rel), { withFileTypes: true })) {
        const p = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) walk(p);
        else if ('dir' in b || e.name.endsWith(b.suffix)) out.push(p);
      }
    };
    const start = 'dir' in b ? b.dir : '';
    try {
      walk(start);
    } catch {
      return [];
    }
    return out;
  };
  const have = new Set(names(slave));
  return names(oracle).filter((n) => !have.has(n));
}

/** The comparison's exclusions for the backups of a live run (compared by missingBackups). */
export const backupExcludes = (k: FlagCase): string[] => {
  const b = k.backups;
  if (!b) return [];
  return 'dir' in b ? [`/${b.dir}/`] : [`*${b.suffix}`];
};
