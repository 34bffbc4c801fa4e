/** src/sync/rsync-errors.ts and src/sync/batch-failures.ts: rsync's error lines → failed paths → failed entries. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRsyncErrors, unescapeRsyncName } from '../../src/sync/rsync-errors.js';
import { judgeBatch } from '../../src/sync/batch-failures.js';
import type { BatchRun } from '../../src/sync/batch.js';
import type { Entry } from '../../src/sync/change-set.js';
import { rsyncExit } from '../../src/sync/exit-codes.js';
import { parseRsyncStats } from '../../src/sync/rsync-stats.js';

const M = '/srv/www';
const S = '/backup/www';

describe('parseRsyncErrors', () => {
  // Lines as rsync 3.5 prints them (taken from real runs).
  const CASES: readonly (readonly [string, string, readonly { path: string; side: 'sender' | 'receiver' }[], number])[] = [
    ['an unreadable master file', 'rsync: [sender] send_files failed to open "/srv/www/d/b": Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]', [{ path: 'd/b', side: 'sender' }], 0],
    ['an unreadable master directory', 'rsync: [sender] opendir "/srv/www/./sub" failed: Permission denied (13)', [{ path: 'sub', side: 'sender' }], 0],
    ['a full slave disk, and the echo of the broken pipe', 'rsync: [receiver] write failed on "/backup/www/big": No space left on device (28)\nrsync error: error in file IO (code 11) at receiver.c(657) [receiver=3.5.0]\nrsync: [sender] write error: Broken pipe (32)', [{ path: 'big', side: 'receiver' }], 0],
    ['a read-only slave: the temporary name stands for its file', 'rsync: [receiver] mkstemp "/backup/www/d/.b.d6eFWm" failed: Read-only file system (30)', [{ path: 'd/b', side: 'receiver' }], 0],
    ['the generator is the receiving side too', 'rsync: [generator] failed to set times on "/backup/www/.": Read-only file system (30)', [{ path: '', side: 'receiver' }], 0],
    ['a line naming no path of either root', 'rsync: connection unexpectedly closed (0 bytes received so far) [sender]', [], 1],
    ['a path outside both roots', 'rsync: [sender] send_files failed to open "/etc/shadow": Permission denied (13)', [], 1],
    ['a root that is a prefix of another name is not that root', 'rsync: [sender] send_files failed to open "/srv/www2/x": Permission denied (13)', [], 1],
    ['warnings and summaries are no errors', 'file has vanished: "/srv/www/gone"\nrsync warning: some files vanished before they could be transferred (code 24)', [], 0],
  ];
  for (const [what, stderr, paths, unattributed] of CASES) {
    it(what, () => {
      const got = parseRsyncErrors(stderr, M, S);
      assert.deepEqual(got.paths.map(({ path, side }) => ({ path, side })), paths);
      assert.equal(got.unattributed.length, unattributed);
    });
  }

  it("undoes rsync's \\#ooo escapes of unprintable bytes", () => {
    assert.equal(unescapeRsyncName('a\\#012b'), 'a\nb');
    assert.equal(unescapeRsyncName('caf\\#303\\#251'), 'café');
    const got = parseRsyncErrors('rsync: [sender] send_files failed to open "/srv/www/new\\#012line": Permission denied (13)', M, S);
    assert.equal(got.paths[0]?.path, 'new\nline');
  });
});

const entry = (path: string, recursive = false, attempts = 0): Entry => ({ path, recursive, since: 0, origin: 0, attempts, notBefore: 0 });
const run = (paths: string[], code: number, stderr: string, recursive = false): BatchRun => ({
  recursive,
  paths,
  result: { exit: rsyncExit(code), stats: parseRsyncStats(''), stderr, output: '', sent: undefined, seconds: 0 },
});
const UNREADABLE = (p: string): string => `rsync: [sender] send_files failed to open "${M}/${p}": Permission denied (13)\nrsync error: some files/attrs were not transferred (see previous errors) (code 23) at main.c(1394) [sender=3.5.0]`;

describe('judgeBatch', () => {
  it('one unreadable file fails alone; the rest of its run went through', () => {
    const entries = [entry('a'), entry('d/b'), entry('c')];
    const v = judgeBatch(entries, [run(['a', 'd/b', 'c'], 23, UNREADABLE('d/b'))], M, S);
    assert.deepEqual(v.done.map((e) => e.path), ['a', 'c']);
    assert.deepEqual(v.failed.map((f) => [f.entry.path, f.side, f.alone]), [['d/b', 'sender', false]]);
    assert.match(v.failed[0]?.reason ?? '', /Permission denied/);
  });

  it('a failure inside a recursive entry fails that path alone: the rest of the subtree went through', () => {
    const entries = [entry('new', true), entry('x')];
    const v = judgeBatch(entries, [run(['new'], 23, `${UNREADABLE('new/deep/f')}\n${UNREADABLE('new/g')}`, true), run(['x'], 0, '')], M, S);
    assert.deepEqual(v.done.map((e) => e.path), ['new', 'x']);
    assert.deepEqual(v.failed.map((f) => [f.entry.path, f.entry.recursive]), [['new/deep/f', true], ['new/g', true]]);
  });

  it('in the root\'s one-level run, a top-level name fails on its own', () => {
    const v = judgeBatch([entry('')], [run([''], 23, UNREADABLE('top'))], M, S);
    assert.deepEqual(v.done.map((e) => e.path), ['']);
    assert.deepEqual(v.failed.map((f) => f.entry.path), ['top']);
  });

  it('a failure on a directory above an entry fails the entry', () => {
    const stderr = `rsync: [sender] opendir "${M}/d" failed: Permission denied (13)`;
    const v = judgeBatch([entry('d/x'), entry('y')], [run(['d/x', 'y'], 23, stderr)], M, S);
    assert.deepEqual(v.failed.map((f) => f.entry.path), ['d/x']);
    assert.deepEqual(v.done.map((e) => e.path), ['y']);
  });

  it('a full slave disk fails its path on the receiving side', () => {
    const stderr = `rsync: [receiver] write failed on "${S}/big": No space left on device (28)\nrsync error: error in file IO (code 11)`;
    const v = judgeBatch([entry('big'), entry('small')], [run(['big', 'small'], 11, stderr)], M, S);
    assert.deepEqual(v.failed.map((f) => [f.entry.path, f.side]), [['big', 'receiver']]);
    assert.deepEqual(v.done.map((e) => e.path), ['small']);
  });

  it('errors that name no path fail the whole run, and each entry is retried alone', () => {
    const v = judgeBatch([entry('a'), entry('b')], [run(['a', 'b'], 23, 'rsync: something odd happened')], M, S);
    assert.deepEqual(v.done, []);
    assert.deepEqual(v.failed.map((f) => [f.entry.path, f.side, f.alone]), [['a', 'sender', true], ['b', 'sender', true]]);
  });

  it('an error on a path of no entry of the run fails the whole run', () => {
    const v = judgeBatch([entry('a'), entry('b')], [run(['a', 'b'], 23, UNREADABLE('elsewhere'))], M, S);
    assert.equal(v.failed.length, 2);
  });

  it('rsync killed, or an unknown status: the run failed as a whole, not the paths', () => {
    const v = judgeBatch([entry('a')], [run(['a'], 20, '')], M, S);
    assert.deepEqual(v.failed.map((f) => [f.entry.path, f.side, f.alone]), [['a', 'run', false]]);
    assert.match(v.failed[0]?.reason ?? '', /exit 20/);
  });

  it('entries inside a deleted directory belong to its run', () => {
    const v = judgeBatch([entry('gone'), entry('gone/x'), entry('ok')], [run(['gone', 'ok'], 23, 'rsync: something odd happened')], M, S);
    assert.deepEqual(v.failed.map((f) => f.entry.path).sort(), ['gone', 'gone/x', 'ok']);
  });
});
