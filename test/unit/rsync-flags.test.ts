/** src/config/rsync-flags.ts: rsync's everyday flags, as gsyncd parses, passes on and documents them. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { normaliseArgv } from '../../src/cli/flags.js';
import { renderFlagsTable } from '../../src/config/flags-table.js';
import { toOptions } from '../../src/config/options.js';
import { RSYNC_FLAGS, rsyncFlagArgs, selectingFlag } from '../../src/config/rsync-flags.js';
import { parseValue } from '../../src/config/value.js';
import { findTunable } from '../../src/config/tunables.js';
import { confirmScope, differs, parseRsyncSize } from '../../src/session/confirm-scope.js';
import { batchArgv, deleteArgv } from '../../src/sync/rsync-argv.js';
import type { TreeEntry } from '../../src/verify/entry.js';
import { mountPointRules, parseMountPoints } from '../../src/watch/mount-points.js';
import { gsyncdBin, repoRoot } from '../helpers/gsyncd.js';
import { rsyncPlan } from '../helpers/rsync-plan.js';

// The list of the issue: every one is a tunable, passed on or refused.
const ISSUE_LIST = [
  'prune-empty-dirs', 'one-file-system', 'update', 'inplace', 'append-verify', 'sparse', 'whole-file', 'size-only', 'modify-window',
  'copy-links', 'copy-unsafe-links', 'safe-links', 'copy-dirlinks', 'keep-dirlinks', 'chmod', 'chown', 'usermap', 'groupmap',
  'executability', 'omit-dir-times', 'omit-link-times', 'atimes', 'super', 'fake-super', 'backup', 'backup-dir', 'suffix', 'existing',
  'ignore-existing', 'max-size', 'min-size', 'progress', 'delete-before', 'delete-during', 'delete-after', 'delete-delay',
  'delete-excluded', 'compress-level', 'temp-dir', 'iconv', 'itemize-changes', 'stats',
];

describe('rsync everyday flags', () => {
  it('every flag of the list is a tunable', () => {
    for (const name of ISSUE_LIST) assert.ok(findTunable(name), name);
  });

  it('the README carries the table the flags make', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.ok(readme.includes(renderFlagsTable()), 'README.md: the table under "rsync\'s everyday flags" is out of date; paste renderFlagsTable()');
  });

  it('gsyncd --help lists every flag, with its letter', () => {
    const help = execFileSync(process.execPath, [gsyncdBin, '--help'], { encoding: 'utf8' });
    for (const f of RSYNC_FLAGS) assert.match(help, new RegExp(`${f.short ? `-${f.short}, ` : ''}--${f.name}\\b`), f.name);
  });

  it('short flags cluster as in rsync; -P is --partial --progress', () => {
    assert.deepEqual(normaliseArgv(['-aHAXuP', 'a', 'b']), ['--partial', '--progress', '-aHAXu', 'a', 'b']);
    assert.deepEqual(normaliseArgv(['-aT', '.tmp', 'a', 'b']), ['-aT', '.tmp', 'a', 'b']);
  });

  it('gives rsync each flag set, the delete timing only to runs that delete', () => {
    const o = toOptions({ update: true, 'max-size': '100k', 'delete-after': true, 'modify-window': 2, 'backup-dir': 'old' });
    assert.deepEqual(o.rsyncArgs, { always: ['--update', '--max-size=100k', '--backup-dir=old', '--modify-window=2'], deleting: ['--delete-after'], recursing: [] });
    const plan = rsyncPlan({ passOn: o.rsyncArgs });
    const listed = batchArgv(plan, { ignoreTimes: true });
    assert.ok(listed.includes('--update') && listed.includes('--ignore-times') && !listed.includes('--delete-after'));
    assert.ok(batchArgv(plan, { recursive: true }).includes('--delete-after'));
    // The backup directory is protected from --delete, first of the rules.
    assert.deepEqual(o.filters[0], { kind: 'filter', value: 'P /old/' });
  });

  it('gives -m only to runs that recurse: a directory listed alone would be taken for empty', () => {
    const plan = rsyncPlan({ passOn: toOptions({ 'prune-empty-dirs': true }).rsyncArgs });
    assert.ok(batchArgv(plan, { recursive: true }).includes('--prune-empty-dirs'));
    assert.ok(!batchArgv(plan, {}).includes('--prune-empty-dirs'));
    assert.ok(!deleteArgv(plan).includes('--prune-empty-dirs'));
  });

  it('keeps the user\'s quick check: no --ignore-times with --size-only or --append-verify', () => {
    for (const flag of ['size-only', 'append-verify']) {
      const plan = rsyncPlan({ passOn: rsyncFlagArgs((n) => (n === flag ? true : undefined)) });
      assert.ok(!batchArgv(plan, { ignoreTimes: true }).includes('--ignore-times'), flag);
    }
  });

  it('takes --iconv as LOCAL,REMOTE charsets, and nothing that would reach a shell', () => {
    const t = findTunable('iconv');
    assert.ok(t);
    assert.ok(parseValue(t, 'utf8,latin1').ok);
    assert.ok(parseValue(t, '.').ok);
    for (const bad of ['utf8,latin1,x', 'utf8;id', '', 'a b']) assert.ok(!parseValue(t, bad).ok, bad);
  });

  it('renames go as data under the flags that make the slave differ', () => {
    assert.equal(selectingFlag(toOptions({})), undefined);
    assert.equal(selectingFlag(toOptions({ inplace: true, 'chmod': 'F644' })), undefined);
    assert.equal(selectingFlag(toOptions({ update: true })), 'update');
    assert.equal(selectingFlag(toOptions({ 'backup-dir': 'B' })), 'backup-dir');
  });

  it("reads rsync's sizes", () => {
    assert.equal(parseRsyncSize('100'), 100);
    assert.equal(parseRsyncSize('100k'), 102_400);
    assert.equal(parseRsyncSize('1.5M'), 1_572_864);
    assert.equal(parseRsyncSize('2KB'), 2000);
    assert.equal(parseRsyncSize('1G+1'), 1_073_741_825);
    assert.equal(parseRsyncSize('x'), undefined);
  });
});

describe('the confirmation under rsync flags', () => {
  const file = (size: number, mtimeSec: number, mode = 0o644): TreeEntry => ({ key: 'f', type: 'file', size, mtimeSec, mode });
  const missing = { key: 'f', type: 'missing' as const };

  it('compares everything by default', () => {
    const scope = confirmScope(toOptions({}));
    assert.equal(differs(file(1, 10), file(1, 10), scope, false), undefined);
    assert.match(differs(file(1, 10), file(1, 20), scope, false) ?? '', /mtime/);
    assert.match(differs(file(1, 10), missing, scope, false) ?? '', /missing on slave/);
  });

  it('allows what each flag makes differ, and nothing else', () => {
    assert.equal(differs(file(1, 10), file(2, 20), confirmScope(toOptions({ update: true })), false), undefined);
    assert.match(differs(file(1, 20), file(2, 10), confirmScope(toOptions({ update: true })), false) ?? '', /size/);
    assert.equal(differs(file(1, 10), missing, confirmScope(toOptions({ existing: true })), false), undefined);
    assert.equal(differs(file(200_000, 10), file(1, 10), confirmScope(toOptions({ 'max-size': '100k' })), false), undefined);
    assert.match(differs(file(2_000, 10), file(1, 10), confirmScope(toOptions({ 'max-size': '100k' })), false) ?? '', /size/);
    assert.equal(differs(file(1, 10, 0o600), file(1, 10, 0o640), confirmScope(toOptions({ chmod: 'F640' })), false), undefined);
    assert.equal(differs(file(1, 10), file(1, 12), confirmScope(toOptions({ 'modify-window': 2 })), false), undefined);
    assert.match(differs(file(1, 10), file(1, 13), confirmScope(toOptions({ 'modify-window': 2 })), false) ?? '', /mtime/);
  });
});

describe('-x: mount points', () => {
  it('reads mountinfo, octal escapes included', () => {
    const text = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 0:35 / /srv/m/with\\040space rw - tmpfs tmpfs rw',
      '41 22 0:36 / /srv/m/a*b rw - tmpfs tmpfs rw',
      '',
    ].join('\n');
    assert.deepEqual(parseMountPoints(text), ['/', '/srv/m/with space', '/srv/m/a*b']);
  });

  it('leaves each mount point\'s contents out, protected on the slave, wildcards escaped', () => {
    assert.deepEqual(mountPointRules(['mnt', 'a*b']), [
      { kind: 'filter', value: 'P /mnt/*' },
      { kind: 'filter', value: '- /mnt/*' },
      { kind: 'filter', value: 'P /a\\*b/*' },
      { kind: 'filter', value: '- /a\\*b/*' },
    ]);
  });
});
