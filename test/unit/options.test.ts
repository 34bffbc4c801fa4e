/** src/config/options.ts: layers of settings → one typed Options, flag > env > session > file > built-in. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { envSettings, layer, toOptions, type Options } from '../../src/config/options.js';
import { parseConfig, type Settings } from '../../src/config/file.js';
import { GsyncdError } from '../../src/errors.js';

const BUILT_IN: Options = {
  session: undefined,
  stateDir: undefined,
  pidFile: undefined,
  once: false,
  sshCommand: 'ssh',
  sshKey: undefined,
  sshKnownHosts: undefined,
  httpListen: undefined,
  remoteGsyncd: 'gsyncd',
  slaveTimeout: 120,
  verify: 'sample',
  verifyChecksum: false,
  rsyncCommand: 'rsync',
  rsyncPath: undefined,
  rsyncOptions: '',
  rsyncFlags: new Set(),
  rsyncValues: new Map(),
  rsyncArgs: { always: [], deleting: [], recursing: [] },
  bwlimit: undefined,
  timeout: undefined,
  filters: [],
  ignoreDeletes: false,
  maxDelete: undefined,
  allowEmptyMaster: false,
  syncJobs: 3,
  batchDelay: 1,
  batchSize: 10000,
  maxQueue: 100000,
  shutdownTimeout: 10,
  snapshotInterval: 300,
  faultyRestart: 300,
  retryAttempts: 6,
  retryMaxDelay: 60,
  watcher: 'inotify',
  rsyncTransport: 'channel',
  pollInterval: 5,
  logFile: undefined,
  logLevel: 'INFO',
  logFormat: 'text',
};

/** What a usage error says, and that it is one (exit status 2). */
const usage = (message: string) => (e: unknown): boolean => {
  assert.ok(e instanceof GsyncdError, `not a GsyncdError: ${String(e)}`);
  assert.equal(e.exitCode, 2);
  assert.equal(e.message, message);
  return true;
};

describe('toOptions', () => {
  it('gives the built-in defaults for empty settings', () => {
    assert.deepEqual(toOptions({}), BUILT_IN);
  });

  it('maps every setting to its option', () => {
    const o = toOptions({
      session: 'web',
      'state-dir': '/var/lib/x',
      'pid-file': '/run/x.pid',
      once: true,
      'ssh-command': 'ssh -p 2222',
      'remote-gsyncd': 'none',
      'rsync-command': '/usr/local/bin/rsync',
      'rsync-path': '/opt/bin/rsync',
      'rsync-options': '--chmod=u+rwX',
      bwlimit: '1m',
      timeout: 30,
      'max-delete': 100,
      'allow-empty-master': true,
      'sync-jobs': 8,
      'batch-delay': 0.5,
      'batch-size': 50,
      'max-queue': 1000,
      'shutdown-timeout': 2,
      watcher: 'poll',
      'poll-interval': 1.5,
      'log-file': '/var/log/gsyncd.log',
      'log-level': 'DEBUG',
      'log-format': 'json',
    });
    assert.deepEqual(o, {
      ...BUILT_IN,
      session: 'web',
      stateDir: '/var/lib/x',
      pidFile: '/run/x.pid',
      once: true,
      sshCommand: 'ssh -p 2222',
      remoteGsyncd: 'none',
      rsyncCommand: '/usr/local/bin/rsync',
      rsyncPath: '/opt/bin/rsync',
      rsyncOptions: '--chmod=u+rwX',
      bwlimit: '1m',
      timeout: 30,
      maxDelete: 100,
      allowEmptyMaster: true,
      syncJobs: 8,
      batchDelay: 0.5,
      batchSize: 50,
      maxQueue: 1000,
      shutdownTimeout: 2,
      watcher: 'poll',
      pollInterval: 1.5,
      logFile: '/var/log/gsyncd.log',
      logLevel: 'DEBUG',
      logFormat: 'json',
    });
  });

  it("collects rsync's boolean flags that are on, and only rsync's", () => {
    const o = toOptions({ archive: true, 'hard-links': true, checksum: true, compress: false, once: true, 'ignore-deletes': true });
    assert.deepEqual([...o.rsyncFlags].sort(), ['archive', 'checksum', 'hard-links']);
  });

  // [settings, expected ignoreDeletes]
  const DELETES: readonly (readonly [Settings, boolean])[] = [
    [{}, false],
    [{ delete: true }, false],
    [{ 'ignore-deletes': true }, true],
    [{ delete: false }, true],
    [{ delete: true, 'ignore-deletes': true }, true],
    [{ 'ignore-deletes': false, delete: false }, true],
  ];
  for (const [s, expected] of DELETES) {
    it(`ignoreDeletes is ${expected} for ${JSON.stringify(s)}`, () => {
      assert.equal(toOptions(s).ignoreDeletes, expected);
    });
  }

  it('decodes filter-rules into ordered filter arguments', () => {
    const o = toOptions({ 'filter-rules': ['exclude=*.tmp', 'include=a=b', 'filter=- x', 'exclude-from=/f'] });
    assert.deepEqual(o.filters, [
      { kind: 'exclude', value: '*.tmp' },
      { kind: 'include', value: 'a=b' },
      { kind: 'filter', value: '- x' },
      { kind: 'exclude-from', value: '/f' },
    ]);
  });
});

describe('envSettings', () => {
  // [environment, expected settings]
  const CASES: readonly (readonly [NodeJS.ProcessEnv, Settings])[] = [
    [{}, {}],
    [{ GSYNCD_SYNC_JOBS: '5' }, { 'sync-jobs': 5 }],
    [{ GSYNCD_SYNC_JOBS: ' 5 ' }, { 'sync-jobs': 5 }],
    [{ GSYNCD_ONCE: 'yes' }, { once: true }],
    [{ GSYNCD_IGNORE_DELETES: '1' }, { 'ignore-deletes': true }],
    [{ GSYNCD_SSH_COMMAND: 'ssh -p 2222' }, { 'ssh-command': 'ssh -p 2222' }],
    [{ GSYNCD_LOG_LEVEL: 'debug' }, { 'log-level': 'DEBUG' }],
    [{ GSYNCD_BATCH_DELAY: '0.2' }, { 'batch-delay': 0.2 }],
    // a list holds one item per line; blank lines are skipped
    [{ GSYNCD_EXCLUDE: '*.tmp\n\ncache/\n' }, { 'filter-rules': ['exclude=*.tmp', 'exclude=cache/'] }],
    [{ GSYNCD_FILTER: '- *.o' }, { 'filter-rules': ['filter=- *.o'] }],
    // the config file is chosen by GSYNCD_CONFIG, not by a tunable
    [{ GSYNCD_CONFIG_FILE: '/x' }, {}],
    // other variables are none of gsyncd's business
    [{ PATH: '/bin', GSYNCD_UNKNOWN: 'x', gsyncd_sync_jobs: '9' }, {}],
  ];
  for (const [env, expected] of CASES) {
    it(JSON.stringify(env), () => {
      assert.deepEqual(envSettings(env), expected);
    });
  }

  // [environment, expected message]
  const ERRORS: readonly (readonly [NodeJS.ProcessEnv, string])[] = [
    [{ GSYNCD_SYNC_JOBS: 'x' }, 'GSYNCD_SYNC_JOBS: expected an integer from 1 to 100, got "x"'],
    [{ GSYNCD_SYNC_JOBS: '' }, 'GSYNCD_SYNC_JOBS: expected an integer from 1 to 100, got ""'],
    [{ GSYNCD_ONCE: 'sometimes' }, 'GSYNCD_ONCE: expected true or false, got "sometimes"'],
    [{ GSYNCD_WATCHER: 'fanotify' }, 'GSYNCD_WATCHER: expected one of inotify, native, chokidar, poll, got "fanotify"'],
    [{ GSYNCD_SESSION: '' }, 'GSYNCD_SESSION: expected a value, got nothing'],
  ];
  for (const [env, message] of ERRORS) {
    it(`rejects ${JSON.stringify(env)}`, () => {
      assert.throws(() => envSettings(env), usage(message));
    });
  }
});

describe('layer', () => {
  it('lets later layers win, key by key', () => {
    assert.deepEqual(layer({ a: 1, b: 1 }, { b: 2, c: 2 }, { c: 3 }), { a: 1, b: 2, c: 3 });
  });

  it('does not change its inputs', () => {
    const first = { a: 1 };
    layer(first, { a: 2 });
    assert.deepEqual(first, { a: 1 });
  });
});

describe('precedence: flag > env > session > file defaults > built-in', () => {
  const file = parseConfig(
    [
      'sync-jobs: 2',
      'batch-delay: 4',
      'batch-size: 100',
      'max-queue: 1000',
      'exclude: from-file',
      '[session web]',
      'sync-jobs: 5',
      'batch-delay: 6',
      'batch-size: 200',
      'include: from-session',
    ].join('\n'),
    'gsyncd.conf',
  );
  assert.deepEqual(file.problems, []);
  const session = file.sessions.get('web') ?? {};
  const env = envSettings({ GSYNCD_SYNC_JOBS: '7', GSYNCD_BATCH_DELAY: '8' });
  const flags: Settings = { 'sync-jobs': 9 };
  const o = toOptions(layer(file.defaults, session, env, flags));

  it('takes a flag over everything', () => {
    assert.equal(o.syncJobs, 9);
  });
  it('takes the environment over the config file', () => {
    assert.equal(o.batchDelay, 8);
  });
  it("takes the session's section over the file's defaults", () => {
    assert.equal(o.batchSize, 200);
  });
  it("takes the file's defaults over the built-in ones", () => {
    assert.equal(o.maxQueue, 1000);
  });
  it('falls back to the built-in default', () => {
    assert.equal(o.shutdownTimeout, 10);
    assert.equal(o.watcher, 'inotify');
  });
  it("replaces a lower layer's filters with a higher layer's, as a whole", () => {
    assert.deepEqual(o.filters, [{ kind: 'include', value: 'from-session' }]);
    const withFlags = toOptions(layer(file.defaults, session, env, { 'filter-rules': ['exclude=from-flag'] }));
    assert.deepEqual(withFlags.filters, [{ kind: 'exclude', value: 'from-flag' }]);
  });
  it("keeps the file's filters when no higher layer gives any", () => {
    assert.deepEqual(toOptions(layer(file.defaults, {}, env, flags)).filters, [{ kind: 'exclude', value: 'from-file' }]);
  });
});
