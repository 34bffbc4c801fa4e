/** src/cli/flags.ts: argv normalising, and commander's answers → the flags' settings layer. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { addTunableOptions, flagSettings, normaliseArgv, optionKey, type FilterCollector } from '../../src/cli/flags.js';
import type { Settings } from '../../src/config/file.js';
import { GsyncdError } from '../../src/errors.js';

const usage = (message: string) => (e: unknown): boolean => {
  assert.ok(e instanceof GsyncdError, `not a GsyncdError: ${String(e)}`);
  assert.equal(e.exitCode, 2);
  assert.equal(e.message, message);
  return true;
};

describe('normaliseArgv', () => {
  // [argv, expected]
  const CASES: readonly (readonly [readonly string[], readonly string[]])[] = [
    [[], []],
    [['--sync_jobs', '4'], ['--sync-jobs', '4']],
    [['--sync_jobs=4'], ['--sync-jobs=4']],
    // only the name changes, never the value
    [['--log_file=/var/log/a_b.log'], ['--log-file=/var/log/a_b.log']],
    [['--session', 'my_session'], ['--session', 'my_session']],
    [['-e', 'ssh_x'], ['-e', 'ssh_x']],
    [['/m_a', 'h:/s_b'], ['/m_a', 'h:/s_b']],
    // after --, everything is an operand
    [['--once', '--', '--not_an_option', 'x_y'], ['--once', '--', '--not_an_option', 'x_y']],
    [['--ignore_deletes', '--max_delete=3', '/m', '/s'], ['--ignore-deletes', '--max-delete=3', '/m', '/s']],
  ];
  for (const [argv, expected] of CASES) {
    it(`${JSON.stringify(argv)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(normaliseArgv(argv), expected);
    });
  }

  // A value that begins with -- is the option's value, not an option (commander takes it as one).
  it('leaves the value of an option that takes one alone, even when it starts with --', () => {
    assert.deepEqual(normaliseArgv(['--exclude', '--tmp_file', '/m', '/s']), ['--exclude', '--tmp_file', '/m', '/s']);
  });
});

describe('flagSettings', () => {
  const none = (): FilterCollector => ({ items: [] });

  // [commander's options, expected settings]
  const CASES: readonly (readonly [Record<string, unknown>, Settings])[] = [
    [{}, {}],
    [{ syncJobs: '4' }, { 'sync-jobs': 4 }],
    [{ batchDelay: '0.5' }, { 'batch-delay': 0.5 }],
    [{ once: true }, { once: true }],
    [{ dryRun: true, hardLinks: true, devicesSpecials: true }, { 'dry-run': true, 'hard-links': true, 'devices-specials': true }],
    [{ logLevel: 'warn' }, { 'log-level': 'WARNING' }],
    [{ watcher: 'POLL' }, { watcher: 'poll' }],
    [{ sshCommand: 'ssh -p 2222' }, { 'ssh-command': 'ssh -p 2222' }],
    // the alias
    [{ rsh: 'ssh -p 2222' }, { 'ssh-command': 'ssh -p 2222' }],
    [{ maxDelete: '0' }, { 'max-delete': 0 }],
    // not given: not in the layer
    [{ syncJobs: undefined, once: undefined }, {}],
    // flag-only, unknown, or collected in order elsewhere
    [{ configFile: '/etc/x.conf', version: true, help: true, exclude: ['a'] }, {}],
  ];
  for (const [opts, expected] of CASES) {
    it(`${JSON.stringify(opts)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(flagSettings(opts, none()), expected);
    });
  }

  it('takes the filter rules in the order the flags came', () => {
    const filters: FilterCollector = { items: ['exclude=*.tmp', 'include=keep', 'filter=- x'] };
    assert.deepEqual(flagSettings({ exclude: ['*.tmp'], include: ['keep'], filter: ['- x'] }, filters), {
      'filter-rules': ['exclude=*.tmp', 'include=keep', 'filter=- x'],
    });
  });

  // [commander's options, expected message]
  const ERRORS: readonly (readonly [Record<string, unknown>, string])[] = [
    [{ syncJobs: 'x' }, '--sync-jobs: expected an integer from 1 to 100, got "x"'],
    [{ syncJobs: '0' }, '--sync-jobs: expected an integer from 1 to 100, got "0"'],
    [{ batchDelay: 'soon' }, '--batch-delay: expected a number from 0 to 3600, got "soon"'],
    [{ watcher: 'fanotify' }, '--watcher: expected one of inotify, native, chokidar, poll, got "fanotify"'],
    [{ rsh: '' }, '--rsh: expected a value, got nothing'],
    [{ logLevel: 'loud' }, '--log-level: expected one of ERROR, WARNING, INFO, DEBUG, got "loud"'],
  ];
  for (const [opts, message] of ERRORS) {
    it(`rejects ${JSON.stringify(opts)}: ${message}`, () => {
      assert.throws(() => flagSettings(opts, none()), usage(message));
    });
  }
});

describe('addTunableOptions with commander', () => {
  const parse = (argv: readonly string[]): { settings: Settings; args: readonly string[] } => {
    const filters: FilterCollector = { items: [] };
    const cmd = new Command('gsyncd').exitOverride().argument('[operands...]');
    addTunableOptions(cmd, filters);
    cmd.parse(normaliseArgv(argv), { from: 'user' });
    return { settings: flagSettings(cmd.opts<Record<string, unknown>>(), filters), args: cmd.args };
  };

  it('turns a command line into the flags layer, filters in order across kinds', () => {
    const { settings, args } = parse([
      '--sync_jobs',
      '5',
      '-e',
      'ssh -p 2222',
      '--exclude',
      '*.tmp',
      '--include=keep.tmp',
      '-f',
      '- *.o',
      '--exclude',
      'cache/',
      '-a',
      '--hard-links',
      '/m',
      'h:/s',
    ]);
    assert.deepEqual(settings, {
      'sync-jobs': 5,
      'ssh-command': 'ssh -p 2222',
      archive: true,
      'hard-links': true,
      'filter-rules': ['exclude=*.tmp', 'include=keep.tmp', 'filter=- *.o', 'exclude=cache/'],
    });
    assert.deepEqual(args, ['/m', 'h:/s']);
  });

  it('reads --rsh as --ssh-command', () => {
    assert.deepEqual(parse(['--rsh', 'ssh -p 1']).settings, { 'ssh-command': 'ssh -p 1' });
  });

  it('maps option names to commander keys', () => {
    assert.equal(optionKey('sync-jobs'), 'syncJobs');
    assert.equal(optionKey('devices-specials'), 'devicesSpecials');
    assert.equal(optionKey('once'), 'once');
  });
});
