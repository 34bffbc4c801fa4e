// `gsyncd verify MASTER SLAVE`, run as a user runs it: exit 0 when the trees are the same,
// 1 with rsync's itemized lines when not (the same lines `rsync -ani --delete` prints for
// the pair, compared as sorted lists: rsync orders them by directory), 2 on usage errors.
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exec, execOk } from '../helpers/exec.js';
import { assertNoChildrenLeft, describeExit, runGsyncd, type RunResult } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor, type Layout } from '../helpers/scope.js';
import { INVALID_UTF8_NAME, bytePath, edit, makeHardTree, makeWideTree, stampDirectories } from '../helpers/tree.js';

const ENV = { LC_ALL: 'C.UTF-8' };
const isRoot = process.getuid?.() === 0;

async function verify(args: readonly string[]): Promise<RunResult> {
  return runGsyncd(['verify', ...args], { noStateDir: true, env: ENV, timeoutMs: 60_000 });
}

async function rsyncItemized(master: string, slave: string, checksum = false): Promise<string[]> {
  const args = ['-ani', ...(checksum ? ['-c'] : []), '--delete', '--out-format=%i %n%L', `${master}/`, `${slave}/`];
  const r = await exec('rsync', args, { env: { ...process.env, ...ENV } });
  assert.equal(r.code, 0, r.stderr);
  // Only itemized lines: a dry run into a missing slave also says "created directory".
  return r.stdout.split('\n').filter((l) => /^(?:[<>ch.][fdLDS]|\*deleting)/.test(l)).sort();
}

const lines = (run: RunResult): string[] => run.stdout.split('\n').filter((l) => l !== '').sort();

function assertExit(run: RunResult, code: number): void {
  assert.equal(run.code, code, `expected exit ${code}, got ${describeExit(run)}:\n${run.stderr}\n[stdout]\n${run.stdout.slice(0, 3000)}`);
}

/** A master and a slave that mirrors it (rsync -a), with owners when root. */
async function mirroredPair(t: Parameters<typeof scopeFor>[0], label: string): Promise<Layout> {
  const layout = await makeLayout(scopeFor(t), label);
  makeHardTree(layout.master, { foreignOwner: isRoot });
  await execOk('rsync', ['-a', `${layout.master}/`, `${layout.slave}/`]);
  return layout;
}

describe('gsyncd verify', () => {
  it('exits 0 and prints nothing when the slave mirrors the master', async (t) => {
    const { master, slave } = await mirroredPair(t, 'verify-same');
    for (const extra of [[], ['--checksum']]) {
      const run = await verify([...extra, master, slave]);
      assertExit(run, 0);
      assert.equal(run.stdout, '');
      await assertNoChildrenLeft(run);
    }
  });

  it("exits 1 and prints rsync's itemized lines for each difference", async (t) => {
    const { master, slave } = await mirroredPair(t, 'verify-diff');
    // Same size and mtime, another byte: only --checksum sees it.
    const sneaky = path.join(slave, 'plain.txt');
    const before = lstatSync(sneaky);
    edit.write(sneaky, 'plaiN\n');
    utimesSync(sneaky, before.atime, before.mtime);
    chmodSync(path.join(slave, 'mode-0600'), 0o644);
    rmSync(path.join(slave, 'nested/top.txt'));
    mkdirSync(path.join(slave, 'only-on-slave/deeper'), { recursive: true });
    writeFileSync(path.join(slave, 'only-on-slave/deeper/f'), 'extra');
    edit.retarget(path.join(slave, 'link-relative'), 'elsewhere');
    rmSync(path.join(slave, 'empty'), { recursive: true });
    writeFileSync(path.join(slave, 'empty'), 'now a file');
    writeFileSync(path.join(master, 'new\nline'), 'new');
    writeFileSync(bytePath(slave, Buffer.concat([INVALID_UTF8_NAME, Buffer.from('.extra')])), 'extra');
    symlinkSync('target with space', path.join(master, 'new link'));

    for (const checksum of [false, true]) {
      const run = await verify([...(checksum ? ['--checksum'] : []), master, slave]);
      assertExit(run, 1);
      const expected = await rsyncItemized(master, slave, checksum);
      assert.deepEqual(lines(run), expected);
      assert.equal(lines(run).includes('>fc........ plain.txt'), checksum, 'only --checksum finds the changed byte');
    }
    assert.ok(lines(await verify([master, slave])).includes('>f+++++++++ new\\#012line'));
  });

  it('prints nothing with -q and still exits 1', async (t) => {
    const { master, slave } = await mirroredPair(t, 'verify-quiet');
    writeFileSync(path.join(master, 'new'), 'new');
    const run = await verify(['-q', master, slave]);
    assertExit(run, 1);
    assert.equal(run.stdout, '');
  });

  it('reports everything as missing when the slave does not exist', async (t) => {
    const layout = await makeLayout(scopeFor(t), 'verify-absent');
    makeHardTree(layout.master, { foreignOwner: isRoot });
    const absent = path.join(layout.base, 'absent');
    const run = await verify([layout.master, absent]);
    assertExit(run, 1);
    assert.deepEqual(lines(run), await rsyncItemized(layout.master, absent));
  });

  it('a wide tree: every line of a long listing, and the one difference of a mirror', async (t) => {
    const layout = await makeLayout(scopeFor(t), 'verify-wide');
    makeWideTree(layout.master, 3_000, 30, 16);
    // Directory times a day back: the delete below moves the slave's to now, a different
    // second even when the whole test takes less than one (rsync compares whole seconds).
    stampDirectories(layout.master, Math.floor(Date.now() / 1000) - 86_400);
    const all = await verify([layout.master, path.join(layout.base, 'absent')]);
    assertExit(all, 1);
    assert.equal(lines(all).length, 1 + 30 + 3_000);
    await execOk('rsync', ['-a', `${layout.master}/`, `${layout.slave}/`]);
    assertExit(await verify([layout.master, layout.slave]), 0);
    rmSync(path.join(layout.slave, 'd0007/f000007'));
    const run = await verify([layout.master, layout.slave]);
    assertExit(run, 1);
    // Depth first: the directory (its mtime moved with the delete), then what is missing in it.
    assert.equal(run.stdout, '.d..t...... d0007/\n>f+++++++++ d0007/f000007');
  });

  // [args, pattern of the `gsyncd: ` line]
  const USAGE: readonly (readonly [string, (l: Layout) => string[], RegExp])[] = [
    ['a missing SLAVE operand', (l) => [l.master], /SLAVE/],
    ['an unknown flag', (l) => ['--bogus', l.master, l.slave], /--bogus/],
    ['a master that does not exist', (l) => [path.join(l.base, 'none'), l.slave], /MASTER .*none: no such directory/],
    ['a slave that is a file', (l) => [l.master, path.join(l.outside, 'file')], /SLAVE .*file: exists and is not a directory/],
  ];
  for (const [what, args, pattern] of USAGE) {
    it(`exits 2 for ${what}`, async (t) => {
      const layout = await makeLayout(scopeFor(t), 'verify-usage');
      writeFileSync(path.join(layout.outside, 'file'), '');
      const run = await verify(args(layout));
      assertExit(run, 2);
      assert.ok(
        run.stderr.split('\n').some((l) => l.startsWith('gsyncd: ') && pattern.test(l)),
        `no "gsyncd: " line matching ${String(pattern)}:\n${run.stderr}`,
      );
    });
  }
});
