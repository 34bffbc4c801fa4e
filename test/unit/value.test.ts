/** src/config/value.ts: text → typed tunable value, with the exact reason when it does not fit. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { findTunable, type Tunable } from '../../src/config/tunables.js';
import { parseValue, type Parsed, type Value } from '../../src/config/value.js';

const tunable = (name: string): Tunable => {
  const t = findTunable(name);
  assert.ok(t, `no tunable ${name}`);
  return t;
};

const ok = (value: Value): Parsed => ({ ok: true, value });
const bad = (reason: string): Parsed => ({ ok: false, reason });

// [tunable, raw text, expected]
const CASES: readonly (readonly [string, string, Parsed])[] = [
  // boolean
  ['once', 'true', ok(true)],
  ['once', 'TRUE', ok(true)],
  ['once', 'yes', ok(true)],
  ['once', 'On', ok(true)],
  ['once', '1', ok(true)],
  ['once', '  yes  ', ok(true)],
  ['once', 'false', ok(false)],
  ['once', 'no', ok(false)],
  ['once', 'OFF', ok(false)],
  ['once', '0', ok(false)],
  ['once', 'maybe', bad('expected true or false, got "maybe"')],
  ['once', '', bad('expected true or false, got ""')],
  ['once', '2', bad('expected true or false, got "2"')],
  // integer, with a range
  ['sync-jobs', '3', ok(3)],
  ['sync-jobs', ' 7 ', ok(7)],
  ['sync-jobs', '+4', ok(4)],
  ['sync-jobs', '1', ok(1)],
  ['sync-jobs', '100', ok(100)],
  ['sync-jobs', 'x', bad('expected an integer from 1 to 100, got "x"')],
  ['sync-jobs', '0', bad('expected an integer from 1 to 100, got "0"')],
  ['sync-jobs', '101', bad('expected an integer from 1 to 100, got "101"')],
  ['sync-jobs', '-1', bad('expected an integer from 1 to 100, got "-1"')],
  ['sync-jobs', '1.5', bad('expected an integer from 1 to 100, got "1.5"')],
  ['sync-jobs', '1e1', bad('expected an integer from 1 to 100, got "1e1"')],
  ['sync-jobs', '0x10', bad('expected an integer from 1 to 100, got "0x10"')],
  ['sync-jobs', '', bad('expected an integer from 1 to 100, got ""')],
  // the reason quotes the text as given, spaces included
  ['sync-jobs', ' x ', bad('expected an integer from 1 to 100, got " x "')],
  ['timeout', '0', ok(0)],
  ['timeout', '86400', ok(86400)],
  ['timeout', '86401', bad('expected an integer from 0 to 86400, got "86401"')],
  ['max-delete', '0', ok(0)],
  ['max-delete', '99999999999999999999', bad('expected an integer from 0 to 2000000000, got "99999999999999999999"')],
  ['batch-size', '10000', ok(10000)],
  ['max-queue', '9', bad('expected an integer from 10 to 100000000, got "9"')],
  // number
  ['batch-delay', '0', ok(0)],
  ['batch-delay', '0.25', ok(0.25)],
  ['batch-delay', '.5', ok(0.5)],
  ['batch-delay', '5.', ok(5)],
  ['batch-delay', '+2', ok(2)],
  ['batch-delay', '3600', ok(3600)],
  ['batch-delay', '3600.5', bad('expected a number from 0 to 3600, got "3600.5"')],
  ['batch-delay', '-1', bad('expected a number from 0 to 3600, got "-1"')],
  ['batch-delay', '1e3', bad('expected a number from 0 to 3600, got "1e3"')],
  ['batch-delay', 'Infinity', bad('expected a number from 0 to 3600, got "Infinity"')],
  ['batch-delay', 'NaN', bad('expected a number from 0 to 3600, got "NaN"')],
  ['batch-delay', '.', bad('expected a number from 0 to 3600, got "."')],
  ['batch-delay', '', bad('expected a number from 0 to 3600, got ""')],
  ['poll-interval', '0.1', ok(0.1)],
  ['poll-interval', '0.05', bad('expected a number from 0.1 to 86400, got "0.05"')],
  ['shutdown-timeout', '10', ok(10)],
  // choice: case-insensitive, answered in the table's spelling
  ['watcher', 'native', ok('native')],
  ['watcher', 'POLL', ok('poll')],
  ['watcher', ' chokidar ', ok('chokidar')],
  ['watcher', 'fanotify', bad('expected one of inotify, native, chokidar, poll, got "fanotify"')],
  ['watcher', '', bad('expected one of inotify, native, chokidar, poll, got ""')],
  ['log-level', 'debug', ok('DEBUG')],
  ['log-level', 'Warning', ok('WARNING')],
  // gsyncd's own configs say WARN
  ['log-level', 'warn', ok('WARNING')],
  ['log-level', 'TRACE', bad('expected one of ERROR, WARNING, INFO, DEBUG, got "TRACE"')],
  ['log-format', 'JSON', ok('json')],
  ['log-format', 'xml', bad('expected one of text, json, got "xml"')],
  // string
  ['session', 'web', ok('web')],
  ['session', '  web  ', ok('web')],
  ['session', '', bad('expected a value, got nothing')],
  ['session', '   ', bad('expected a value, got nothing')],
  ['ssh-command', 'ssh -p 2222 -i key', ok('ssh -p 2222 -i key')],
  ['ssh-command', '', bad('expected a value, got nothing')],
  ['bwlimit', '1.5m', ok('1.5m')],
  // a string whose default is '' may be empty
  ['rsync-options', '', ok('')],
  ['rsync-options', '--chmod=u+rwX', ok('--chmod=u+rwX')],
  // list: one item per value
  ['exclude', '*.tmp', ok(['*.tmp'])],
  ['exclude', '  *.tmp ', ok(['*.tmp'])],
  ['filter', '- *.o', ok(['- *.o'])],
  ['exclude', '', bad('expected a value, got nothing')],
];

describe('parseValue', () => {
  for (const [name, raw, expected] of CASES) {
    it(`${name} ${JSON.stringify(raw)} → ${expected.ok ? JSON.stringify(expected.value) : expected.reason}`, () => {
      assert.deepEqual(parseValue(tunable(name), raw), expected);
    });
  }

  it('names the range as "of at least" when there is only a minimum, and not at all when there is none', () => {
    const base: Tunable = { name: 'x', type: 'integer', default: undefined, help: '' };
    assert.deepEqual(parseValue({ ...base, min: 5 }, '4'), bad('expected an integer of at least 5, got "4"'));
    assert.deepEqual(parseValue({ ...base, min: 5 }, '5000000'), ok(5000000));
    assert.deepEqual(parseValue(base, 'x'), bad('expected an integer, got "x"'));
    assert.deepEqual(parseValue({ ...base, type: 'number' }, '-3.5'), ok(-3.5));
    assert.deepEqual(parseValue({ ...base, type: 'number', min: 1 }, '0.5'), bad('expected a number of at least 1, got "0.5"'));
  });
});
