/**
 * The one table of tunables. Every long flag, config-file key and GSYNCD_* variable comes
 * from here, so `--help`, the config template and validation can never disagree.
 */

import { RSYNC_FLAGS } from './rsync-flags.js';

export type TunableType = 'boolean' | 'integer' | 'number' | 'string' | 'choice' | 'list';

export interface Tunable {
  /** Canonical name, dash-separated: the long flag and the config key. */
  readonly name: string;
  readonly type: TunableType;
  readonly default: boolean | number | string | readonly string[] | undefined;
  readonly help: string;
  /** One-letter flag, rsync's where rsync has one. */
  readonly short?: string;
  /** Other long names accepted for the same tunable (rsync's or gsyncd's spelling). */
  readonly aliases?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly choices?: readonly string[];
  /** Placeholder in --help. */
  readonly arg?: string;
  /** Only a command-line flag: meaningless in a config file (e.g. the config file itself). */
  readonly flagOnly?: boolean;
  /** Passed to rsync as this argument when true (booleans) or as `arg=value`. */
  readonly rsync?: string;
  /** A string value must match this (the reason names `what`). */
  readonly pattern?: { readonly re: RegExp; readonly what: string };
}

const rsyncBool = (name: string, short: string | undefined, help: string): Tunable => ({
  name,
  type: 'boolean',
  default: false,
  help: `rsync ${short ? `-${short}, ` : ''}--${name}: ${help}`,
  ...(short ? { short } : {}),
  rsync: `--${name}`,
});

export const TUNABLES: readonly Tunable[] = [
  // Session and files.
  { name: 'config-file', type: 'string', default: undefined, short: 'c', arg: 'FILE', flagOnly: true,
    help: 'config file (else $GSYNCD_CONFIG, else /etc/gsyncd/gsyncd.conf, else the template)' },
  { name: 'session', type: 'string', default: undefined, arg: 'NAME',
    help: 'session name; default derived from MASTER and SLAVE' },
  { name: 'state-dir', type: 'string', default: undefined, arg: 'DIR',
    help: 'where sessions keep state, status and logs (default /var/lib/gsyncd when writable, else $XDG_STATE_HOME/gsyncd)' },
  { name: 'pid-file', type: 'string', default: undefined, arg: 'FILE',
    help: "where the session's process writes its pid (default: in its state directory)" },
  { name: 'once', type: 'boolean', default: false,
    help: 'sync until the slave matches the master as it was at start, then exit (0 ok, 1 failed)' },

  // Remote side.
  { name: 'slave-timeout', type: 'integer', default: 120, min: 1, max: 86400, arg: 'SECONDS',
    help: 'the slave exits when the master has been silent this long; the master pings well within it' },
  { name: 'ssh-command', type: 'string', default: 'ssh', short: 'e', aliases: ['rsh'], arg: 'COMMAND',
    help: "remote shell, as rsync's -e ('ssh -p 2222 -i key'); gsyncd adds its connection-sharing options" },
  { name: 'ssh-key', type: 'string', default: undefined, arg: 'FILE',
    help: "the SSH private key (ssh -i); one readable by others, as a mounted secret often is, is used through a private copy" },
  { name: 'ssh-known-hosts', type: 'string', default: undefined, arg: 'FILE',
    help: "the known_hosts file that holds the slave's host key (ssh -o UserKnownHostsFile=FILE)" },
  { name: 'remote-gsyncd', type: 'string', default: 'gsyncd', arg: "'PATH [OPTIONS]'",
    help: "gsyncd on the slave host, or 'none' for a slave with rsync only" },

  // rsync.
  { name: 'rsync-transport', type: 'choice', default: 'channel', choices: ['channel', 'ssh'], arg: 'HOW',
    help: "how batches reach a remote slave's rsync: channel (default: the slave gsyncd starts rsync --server itself and carries its stream over the session's one channel, no remote shell per batch) or ssh (a new session on the shared connection per run, through the remote user's shell)" },
  { name: 'rsync-command', type: 'string', default: 'rsync', arg: 'PATH', help: 'the local rsync program' },
  { name: 'rsync-path', type: 'string', default: undefined, arg: 'PATH', help: "rsync --rsync-path: the program to run on the slave host" },
  { name: 'rsync-options', type: 'string', default: '', arg: "'ARGS'",
    help: 'extra rsync arguments, split like a shell would (no expansion)' },
  rsyncBool('archive', 'a', 'archive mode (-rlptgoD); the default when no -r/-l/-p/-t/-g/-o/-D is given'),
  rsyncBool('recursive', 'r', 'recurse into directories'),
  rsyncBool('links', 'l', 'copy symlinks as symlinks'),
  rsyncBool('perms', 'p', 'preserve permissions'),
  rsyncBool('times', 't', 'preserve modification times'),
  rsyncBool('group', 'g', 'preserve group'),
  rsyncBool('owner', 'o', 'preserve owner'),
  { ...rsyncBool('devices-specials', 'D', 'preserve devices and special files'), rsync: '-D', help: 'rsync -D: preserve devices and special files' },
  rsyncBool('hard-links', 'H', 'preserve hard links'),
  rsyncBool('acls', 'A', 'preserve ACLs'),
  rsyncBool('xattrs', 'X', 'preserve extended attributes'),
  rsyncBool('compress', 'z', 'compress file data during the transfer'),
  { ...rsyncBool('checksum', undefined, 'compare files by checksum, not size and time (-c is --config-file here)') },
  rsyncBool('dry-run', 'n', 'show what would be done, change nothing'),
  rsyncBool('verbose', 'v', "rsync's output goes to the log at INFO"),
  rsyncBool('quiet', 'q', 'suppress non-error messages from rsync'),
  rsyncBool('numeric-ids', undefined, "don't map uid/gid values by user/group name"),
  rsyncBool('partial', undefined, 'keep partially transferred files'),
  { name: 'bwlimit', type: 'string', default: undefined, arg: 'RATE', rsync: '--bwlimit',
    help: "rsync --bwlimit: limit socket I/O bandwidth (rsync's units, e.g. 500, 1.5m)" },
  { name: 'timeout', type: 'integer', default: undefined, min: 0, max: 86400, arg: 'SECONDS', rsync: '--timeout',
    help: 'rsync --timeout: I/O timeout in seconds' },
  // rsync's everyday flags beyond those, with their live meaning (rsync-flags.ts).
  ...RSYNC_FLAGS,

  // Filters.
  { name: 'exclude', type: 'list', default: [], arg: 'PATTERN', help: 'rsync --exclude (repeatable)' },
  { name: 'include', type: 'list', default: [], arg: 'PATTERN', help: 'rsync --include (repeatable)' },
  { name: 'exclude-from', type: 'list', default: [], arg: 'FILE', help: 'rsync --exclude-from (repeatable)' },
  { name: 'include-from', type: 'list', default: [], arg: 'FILE', help: 'rsync --include-from (repeatable)' },
  { name: 'filter', type: 'list', default: [], short: 'f', arg: 'RULE',
    help: "rsync --filter: any rsync rule ('- PAT', '+ PAT', 'merge FILE', 'dir-merge NAME', H, S, P, R, '!'; repeatable). -F is ': /.rsync-filter', -FF adds '- .rsync-filter'" },
  rsyncBool('cvs-exclude', 'C', 'ignore files as CVS does (a built-in list, ~/.cvsignore, $CVSIGNORE, each .cvsignore)'),

  // Deletes.
  { name: 'ignore-deletes', type: 'boolean', default: false, help: 'do not propagate deletes to the slave' },
  { name: 'delete', type: 'boolean', default: true, help: 'propagate deletes (the default; accepted for rsync habits)' },
  rsyncBool('delete-excluded', undefined, 'also delete excluded files from the slave (rules without a side become sender-only)'),
  { name: 'max-delete', type: 'integer', default: undefined, min: 0, max: 2_000_000_000, arg: 'N',
    help: 'as in rsync: never delete more than N slave files in one sync' },
  { name: 'allow-empty-master', type: 'boolean', default: false,
    help: 'allow a Full Crawl from an empty master root into a non-empty slave (it empties the slave)' },

  // Batching.
  { name: 'sync-jobs', type: 'integer', default: 3, min: 1, max: 100, arg: 'N', help: 'parallel rsync processes' },
  { name: 'batch-delay', type: 'number', default: 1, min: 0, max: 3600, arg: 'SECONDS',
    help: 'longest a change may wait to be batched with others while other batches run' },
  { name: 'batch-size', type: 'integer', default: 10000, min: 1, max: 1_000_000, arg: 'N',
    help: 'most paths in one rsync run' },
  { name: 'max-queue', type: 'integer', default: 100000, min: 10, max: 100_000_000, arg: 'N',
    help: 'most distinct paths queued; past it, the busiest subtree is resynced as a whole' },
  { name: 'snapshot-interval', type: 'number', default: 300, min: 1, max: 86400, arg: 'SECONDS',
    help: 'how often, at most, the master snapshot for a restart is saved (only when idle)' },
  { name: 'shutdown-timeout', type: 'number', default: 10, min: 0, max: 3600, arg: 'SECONDS',
    help: 'on SIGTERM/SIGINT, how long a running rsync may finish before it is stopped' },
  { name: 'faulty-restart', type: 'number', default: 300, min: 1, max: 86400, arg: 'SECONDS',
    help: 'gsyncd monitor restarts a session that has been Faulty this long (one that exits is restarted at once, with backoff)' },
  { name: 'retry-attempts', type: 'integer', default: 6, min: 1, max: 1000, arg: 'N',
    help: 'attempts at a master path that rsync cannot read before it is listed as failed and left until it changes again (or gsyncd restarts)' },
  { name: 'retry-max-delay', type: 'number', default: 60, min: 1, max: 86400, arg: 'SECONDS',
    help: 'the cap of the exponential backoff between retries and reconnections' },

  // Confirmation on the slave.
  { name: 'verify', type: 'choice', default: 'sample', choices: ['all', 'sample', 'off'], arg: 'MODE',
    help: "after each batch, ask the slave's gsyncd to confirm what arrived: all paths, a sample, or off" },
  { name: 'verify-checksum', type: 'boolean', default: false,
    help: 'the confirmation compares SHA-256 of file contents too (reads both copies)' },

  // Change detection.
  { name: 'watcher', type: 'choice', default: 'inotify', choices: ['inotify', 'native', 'chokidar', 'poll'], arg: 'NAME',
    help: 'change detection: inotify (default: a watch per directory, memory per directory not per file, renames paired; its helper needs perl), native (@parcel/watcher, memory per file), chokidar, poll (for network filesystems)' },
  { name: 'poll-interval', type: 'number', default: 5, min: 0.1, max: 86400, arg: 'SECONDS',
    help: 'how often --watcher poll looks at each file; also how often the tree is rescanned when the inotify watch limit is reached' },

  // Logging.
  { name: 'http-listen', type: 'string', default: undefined, arg: 'ADDR:PORT',
    help: 'serve /healthz, /readyz and /metrics (Prometheus) on this address, e.g. 127.0.0.1:9910 or :9910 (off by default)' },
  { name: 'log-file', type: 'string', default: undefined, arg: 'FILE', help: 'log file (default: stderr; - for stdout)' },
  { name: 'log-level', type: 'choice', default: 'INFO', choices: ['ERROR', 'WARNING', 'INFO', 'DEBUG'], arg: 'LEVEL',
    help: 'ERROR, WARNING, INFO or DEBUG' },
  { name: 'log-format', type: 'choice', default: 'text', choices: ['text', 'json'], arg: 'FORMAT', help: 'text or json' },
];

/** `sync_jobs`, `SYNC-JOBS` and `rsh` all name the same tunable. */
export const normaliseName = (name: string): string => name.trim().toLowerCase().replace(/_/g, '-');

const byName = new Map<string, Tunable>();
for (const t of TUNABLES) {
  byName.set(t.name, t);
  for (const a of t.aliases ?? []) byName.set(a, t);
}

export const findTunable = (name: string): Tunable | undefined => byName.get(normaliseName(name));

export const envName = (t: Tunable): string => `GSYNCD_${t.name.toUpperCase().replace(/-/g, '_')}`;

export const allNames = (): string[] => [...byName.keys()];
