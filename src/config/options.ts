/**
 * Layers of settings → one typed options object. Precedence, highest first: flag,
 * environment, the session's section, the file's defaults, built-in defaults. A list
 * (--exclude …) from a higher layer replaces the lower one's, like every other tunable.
 */
import { TUNABLES, envName, type Tunable } from './tunables.js';
import { parseValue, type Value } from './value.js';
import { RSYNC_FLAGS, rsyncFlagArgs, type RsyncFlagArgs } from './rsync-flags.js';
import type { Settings } from './file.js';
import { usageError } from '../errors.js';
import { FILTER_RULES_KEY, decodeFilterArg, encodeFilterArg, isFilterKind, type FilterArg } from '../filter/rules.js';

export type LogLevel = 'ERROR' | 'WARNING' | 'INFO' | 'DEBUG';
export type WatcherKind = 'native' | 'inotify' | 'chokidar' | 'poll';

export interface Options {
  readonly session: string | undefined;
  readonly stateDir: string | undefined;
  readonly pidFile: string | undefined;
  readonly once: boolean;
  readonly sshCommand: string;
  readonly sshKey: string | undefined;
  readonly sshKnownHosts: string | undefined;
  readonly httpListen: string | undefined;
  readonly remoteGsyncd: string;
  readonly slaveTimeout: number;
  readonly rsyncCommand: string;
  readonly rsyncPath: string | undefined;
  readonly rsyncOptions: string;
  /** rsync's own boolean flags that were switched on, by tunable name. */
  readonly rsyncFlags: ReadonlySet<string>;
  /** rsync's everyday flags beyond -a's that take a value (max-size, backup-dir, …), as given. */
  readonly rsyncValues: ReadonlyMap<string, string>;
  /** What those flags and the everyday boolean ones give rsync (rsync-flags.ts). */
  readonly rsyncArgs: RsyncFlagArgs;
  readonly bwlimit: string | undefined;
  readonly timeout: number | undefined;
  /** --exclude, --include, --*-from and --filter, in the order given. */
  readonly filters: readonly FilterArg[];
  readonly ignoreDeletes: boolean;
  readonly maxDelete: number | undefined;
  readonly allowEmptyMaster: boolean;
  readonly syncJobs: number;
  readonly batchDelay: number;
  readonly batchSize: number;
  readonly maxQueue: number;
  readonly shutdownTimeout: number;
  readonly snapshotInterval: number;
  readonly faultyRestart: number;
  readonly retryAttempts: number;
  readonly retryMaxDelay: number;
  readonly verify: 'all' | 'sample' | 'off';
  readonly verifyChecksum: boolean;
  readonly watcher: WatcherKind;
  /** How batches reach a remote slave's rsync: over the slave channel, or a new ssh session each. */
  readonly rsyncTransport: 'channel' | 'ssh';
  readonly pollInterval: number;
  readonly logFile: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: 'text' | 'json';
}

/** Reads GSYNCD_* variables. A list variable holds one item per line. */
export function envSettings(env: NodeJS.ProcessEnv): Settings {
  const out: Settings = {};
  for (const t of TUNABLES) {
    if (t.flagOnly) continue;
    const raw = env[envName(t)];
    if (raw === undefined) continue;
    const items = t.type === 'list' ? raw.split('\n').filter((s) => s.trim() !== '') : [raw];
    const values: string[] = [];
    for (const item of items) {
      const parsed = parseValue(t, item);
      if (!parsed.ok) throw usageError(`${envName(t)}: ${parsed.reason}`);
      if (Array.isArray(parsed.value)) values.push(...(parsed.value as string[]));
      else out[t.name] = parsed.value;
    }
    if (isFilterKind(t.name)) {
      const rules = (out[FILTER_RULES_KEY] ?? []) as string[];
      out[FILTER_RULES_KEY] = [...rules, ...values.map((value) => encodeFilterArg({ kind: t.name as FilterArg['kind'], value }))];
    } else if (t.type === 'list') out[t.name] = values;
  }
  return out;
}

/**
 * `delete` and `ignore-deletes` are one switch seen from two sides: within a layer, the one
 * given sets the other, so `--delete` on the command line overrides `ignore-deletes: yes`.
 */
function withDeleteSwitch(s: Settings): Settings {
  if (s['ignore-deletes'] !== undefined) return { ...s, delete: s['ignore-deletes'] !== true };
  if (s['delete'] !== undefined) return { ...s, 'ignore-deletes': s['delete'] !== true };
  return s;
}

/** Later layers win. */
export const layer = (...layers: readonly Settings[]): Settings =>
  Object.assign({}, ...layers.map(withDeleteSwitch)) as Settings;

function get(s: Settings, t: Tunable): Value | undefined {
  return s[t.name] ?? t.default;
}

function tunable(name: string): Tunable {
  const t = TUNABLES.find((x) => x.name === name);
  if (!t) throw new Error(`no tunable ${name}`);
  return t;
}

const str = (s: Settings, name: string): string | undefined => {
  const v = get(s, tunable(name));
  return typeof v === 'string' ? v : undefined;
};
const num = (s: Settings, name: string): number | undefined => {
  const v = get(s, tunable(name));
  return typeof v === 'number' ? v : undefined;
};
const bool = (s: Settings, name: string): boolean => get(s, tunable(name)) === true;
const must = <T>(v: T | undefined, name: string): T => {
  if (v === undefined) throw new Error(`tunable ${name} has no default`);
  return v;
};

/**
 * A --backup-dir inside the slave root is protected from --delete, as rsync's manual advises:
 * rsync alone would back the directory up into itself at the next run that deletes (B/B/…),
 * and a mirror deletes all day. First, so that no earlier rule can leave it exposed.
 */
function protectBackupDir(dir: string | undefined): FilterArg[] {
  if (dir === undefined) return [];
  const clean = dir.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
  return clean === '' || clean === '.' ? [] : [{ kind: 'filter', value: `P /${clean}/` }];
}

export function toOptions(s: Settings): Options {
  const rsyncFlags = new Set(
    TUNABLES.filter((t) => t.type === 'boolean' && t.rsync !== undefined && s[t.name] === true).map((t) => t.name),
  );
  return {
    session: str(s, 'session'),
    stateDir: str(s, 'state-dir'),
    pidFile: str(s, 'pid-file'),
    once: bool(s, 'once'),
    sshCommand: must(str(s, 'ssh-command'), 'ssh-command'),
    sshKey: str(s, 'ssh-key'),
    sshKnownHosts: str(s, 'ssh-known-hosts'),
    httpListen: str(s, 'http-listen'),
    remoteGsyncd: must(str(s, 'remote-gsyncd'), 'remote-gsyncd'),
    slaveTimeout: must(num(s, 'slave-timeout'), 'slave-timeout'),
    rsyncCommand: must(str(s, 'rsync-command'), 'rsync-command'),
    rsyncPath: str(s, 'rsync-path'),
    rsyncOptions: str(s, 'rsync-options') ?? '',
    rsyncFlags,
    rsyncValues: new Map(
      RSYNC_FLAGS.filter((f) => f.type !== 'boolean' && get(s, f) !== undefined).map((f) => [f.name, String(get(s, f))]),
    ),
    rsyncArgs: rsyncFlagArgs((name) => get(s, tunable(name))),
    bwlimit: str(s, 'bwlimit'),
    timeout: num(s, 'timeout'),
    filters: [...protectBackupDir(str(s, 'backup-dir')), ...((s[FILTER_RULES_KEY] ?? []) as readonly string[]).map(decodeFilterArg)],
    // --delete is the default; --ignore-deletes (or delete: false) turns deletes off.
    ignoreDeletes: bool(s, 'ignore-deletes') || s['delete'] === false,
    maxDelete: num(s, 'max-delete'),
    allowEmptyMaster: bool(s, 'allow-empty-master'),
    syncJobs: must(num(s, 'sync-jobs'), 'sync-jobs'),
    batchDelay: must(num(s, 'batch-delay'), 'batch-delay'),
    batchSize: must(num(s, 'batch-size'), 'batch-size'),
    maxQueue: must(num(s, 'max-queue'), 'max-queue'),
    shutdownTimeout: must(num(s, 'shutdown-timeout'), 'shutdown-timeout'),
    snapshotInterval: must(num(s, 'snapshot-interval'), 'snapshot-interval'),
    faultyRestart: must(num(s, 'faulty-restart'), 'faulty-restart'),
    retryAttempts: must(num(s, 'retry-attempts'), 'retry-attempts'),
    retryMaxDelay: must(num(s, 'retry-max-delay'), 'retry-max-delay'),
    verify: must(str(s, 'verify'), 'verify') as 'all' | 'sample' | 'off',
    verifyChecksum: bool(s, 'verify-checksum'),
    watcher: must(str(s, 'watcher'), 'watcher') as WatcherKind,
    rsyncTransport: must(str(s, 'rsync-transport'), 'rsync-transport') as 'channel' | 'ssh',
    pollInterval: must(num(s, 'poll-interval'), 'poll-interval'),
    logFile: str(s, 'log-file'),
    logLevel: must(str(s, 'log-level'), 'log-level') as LogLevel,
    logFormat: must(str(s, 'log-format'), 'log-format') as 'text' | 'json',
  };
}
