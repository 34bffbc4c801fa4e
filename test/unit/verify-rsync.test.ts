/**
 * The oracle: for pairs of real trees, walk + diff + itemize must print the very lines
 * `rsync -ani[c] --delete --out-format='%i %n%L' MASTER/ SLAVE/` prints (rsync 3.5), in a
 * UTF-8 locale and in the C locale. rsync orders its lines by directory (files before
 * subdirectories, deletions first and deepest first); verify prints in one depth-first
 * pass, so the lines are compared as sorted lists.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { diffTrees } from '../../src/verify/diff.js';
import { keyPath } from '../../src/verify/entry.js';
import { itemize, type Charset } from '../../src/verify/itemize.js';
import { walkTree } from '../../src/verify/walk.js';
import { INVALID_UTF8_DIR, INVALID_UTF8_NAME, ODD_NAMES, makeHardTree } from '../helpers/tree.js';

const run = promisify(execFile);
const T = 1_600_000_000;
const isRoot = process.getuid?.() === 0;
const LOCALES: readonly (readonly [string, Charset])[] = [
  ['C.UTF-8', 'utf8'],
  ['C', 'ascii'],
];

/** rsync's lines, bytes as latin1, sorted. */
async function rsyncLines(master: string, slave: string, checksum: boolean, locale: string): Promise<string[]> {
  const args = ['-ani', ...(checksum ? ['-c'] : []), '--delete', '--out-format=%i %n%L', `${master}/`, `${slave}/`];
  const { stdout } = await run('rsync', args, { encoding: 'latin1', env: { ...process.env, LC_ALL: locale }, maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l !== '').sort();
}

async function verifyLines(master: string, slave: string, checksum: boolean, charset: Charset): Promise<string[]> {
  const lines: string[] = [];
  for await (const d of diffTrees(walkTree(master, { checksum }), walkTree(slave, { checksum }))) lines.push(itemize(d, { charset }));
  return lines.sort();
}

/** Every path under `root` (and `root`) gets mtime T, symlinks included. */
function stampAll(root: Buffer | string): void {
  const dir = typeof root === 'string' ? Buffer.from(root) : root;
  for (const e of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' })) {
    const p = Buffer.concat([dir, Buffer.from('/'), e.name]);
    if (e.isDirectory()) stampAll(p);
    else lutimesSync(p, T, T);
  }
  lutimesSync(dir, T, T);
}

interface Scenario {
  readonly name: string;
  /** Build both trees; all times are then set to T. */
  readonly build: (m: string, s: string) => void;
  /** After the stamp: time differences. */
  readonly after?: (m: string, s: string) => void;
  /** What rsync prints without and with -c (for the scenarios the issue names). */
  readonly expect?: { readonly plain: readonly string[]; readonly checksum: readonly string[] };
  readonly rootOnly?: boolean;
}

const write = (p: string | Buffer, content: string): void => {
  writeFileSync(p, content);
};
const touch = (p: string, seconds: number): void => {
  lutimesSync(p, seconds, seconds);
};

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'a changed byte, same size and mtime: only --checksum finds it',
    build: (m, s) => {
      write(`${m}/f`, 'hello\n');
      write(`${s}/f`, 'hellp\n');
    },
    expect: { plain: [], checksum: ['>fc........ f'] },
  },
  {
    name: 'a changed byte and a different size',
    build: (m, s) => {
      write(`${m}/f`, 'hello\n');
      write(`${s}/f`, 'hello!\n');
    },
    expect: { plain: ['>f.s....... f'], checksum: ['>fcs....... f'] },
  },
  {
    name: 'a different size and mtime; an mtime alone',
    build: (m, s) => {
      write(`${m}/both`, 'hello\n');
      write(`${s}/both`, 'hello, world\n');
      write(`${m}/time`, 'same\n');
      write(`${s}/time`, 'same\n');
    },
    after: (_m, s) => {
      touch(`${s}/both`, T - 100);
      touch(`${s}/time`, T + 100);
    },
    expect: { plain: ['>f..t...... time', '>f.st...... both'], checksum: ['.f..t...... time', '>fcst...... both'] },
  },
  {
    name: 'a changed mode',
    build: (m, s) => {
      write(`${m}/f`, 'x');
      write(`${s}/f`, 'x');
      chmodSync(`${s}/f`, 0o600);
      write(`${m}/exec`, 'x');
      write(`${s}/exec`, 'x');
      chmodSync(`${m}/exec`, 0o755);
    },
    expect: { plain: ['.f...p..... exec', '.f...p..... f'], checksum: ['.f...p..... exec', '.f...p..... f'] },
  },
  {
    name: 'a missing file and an extra file',
    build: (m, s) => {
      mkdirSync(`${m}/a`);
      mkdirSync(`${s}/a`);
      write(`${m}/a/new`, 'new');
      write(`${s}/old`, 'old');
    },
    expect: { plain: ['*deleting   old', '>f+++++++++ a/new'], checksum: ['*deleting   old', '>f+++++++++ a/new'] },
  },
  {
    name: 'an extra directory with content',
    build: (m, s) => {
      mkdirSync(`${s}/extra/sub`, { recursive: true });
      write(`${s}/extra/sub/f`, 'f');
      write(`${s}/extra/g`, 'g');
      symlinkSync('nowhere', `${s}/extra/l`);
      mkdirSync(`${s}/extra/empty`);
    },
    expect: {
      plain: ['*deleting   extra/', '*deleting   extra/empty/', '*deleting   extra/g', '*deleting   extra/l', '*deleting   extra/sub/', '*deleting   extra/sub/f'],
      checksum: ['*deleting   extra/', '*deleting   extra/empty/', '*deleting   extra/g', '*deleting   extra/l', '*deleting   extra/sub/', '*deleting   extra/sub/f'],
    },
  },
  {
    name: 'a missing directory with content',
    build: (m) => {
      mkdirSync(`${m}/new/sub`, { recursive: true });
      write(`${m}/new/sub/f`, 'f');
      symlinkSync('../sub', `${m}/new/l`);
    },
  },
  {
    name: 'a directory swapped for a file, and a file for a directory',
    build: (m, s) => {
      mkdirSync(`${m}/d2f`);
      write(`${m}/d2f/inner`, 'a');
      write(`${s}/d2f`, 'b');
      write(`${m}/f2d`, 'c');
      mkdirSync(`${s}/f2d/deeper`, { recursive: true });
      write(`${s}/f2d/deeper/x`, 'q');
    },
    expect: {
      plain: ['*deleting   f2d/deeper/', '*deleting   f2d/deeper/x', '>f+++++++++ d2f/inner', '>f+++++++++ f2d', 'cd+++++++++ d2f/'],
      checksum: ['*deleting   f2d/deeper/', '*deleting   f2d/deeper/x', '>f+++++++++ d2f/inner', '>f+++++++++ f2d', 'cd+++++++++ d2f/'],
    },
  },
  {
    name: 'symlinks swapped with files and directories',
    build: (m, s) => {
      write(`${m}/f2l`, 'a');
      symlinkSync('zz', `${s}/f2l`);
      symlinkSync('zz', `${m}/l2f`);
      write(`${s}/l2f`, 'a');
      symlinkSync('zz', `${m}/d2l`);
      mkdirSync(`${s}/d2l`);
      write(`${s}/d2l/in`, 'a');
      mkdirSync(`${m}/l2d`);
      write(`${m}/l2d/in`, 'a');
      symlinkSync('zz', `${s}/l2d`);
    },
  },
  {
    name: 'a retargeted symlink, and one with another mtime',
    build: (m, s) => {
      symlinkSync('t1', `${m}/retarget`);
      symlinkSync('t2', `${s}/retarget`);
      symlinkSync('short', `${m}/longer`);
      symlinkSync('much longer', `${s}/longer`);
      symlinkSync('t', `${m}/time`);
      symlinkSync('t', `${s}/time`);
      symlinkSync('t1', `${m}/both`);
      symlinkSync('t2', `${s}/both`);
    },
    after: (_m, s) => {
      touch(`${s}/time`, T + 1);
      touch(`${s}/both`, T + 1);
    },
    expect: {
      plain: ['.L..t...... time -> t', 'cLc.t...... both -> t1', 'cLc........ longer -> short', 'cLc........ retarget -> t1'],
      checksum: ['.L..t...... time -> t', 'cLc.t...... both -> t1', 'cLc........ longer -> short', 'cLc........ retarget -> t1'],
    },
  },
  {
    name: 'directory and root mtimes and modes',
    build: (m, s) => {
      for (const d of ['time', 'mode', 'both']) {
        mkdirSync(`${m}/${d}`);
        mkdirSync(`${s}/${d}`);
      }
      chmodSync(`${s}/mode`, 0o700);
      chmodSync(`${s}/both`, 0o750);
      chmodSync(s, 0o700);
    },
    after: (_m, s) => {
      touch(`${s}/time`, T + 1);
      touch(`${s}/both`, T + 1);
      touch(s, T - 1);
    },
    expect: {
      plain: ['.d...p..... mode/', '.d..t...... time/', '.d..tp..... ./', '.d..tp..... both/'],
      checksum: ['.d...p..... mode/', '.d..t...... time/', '.d..tp..... ./', '.d..tp..... both/'],
    },
  },
  {
    name: 'names with spaces, newlines, backslashes, control bytes and invalid UTF-8',
    build: (m, s) => {
      const names = [...ODD_NAMES, 'back\\#123slash', 'del\x7f', 'esc\x1b[0m'];
      for (const [i, name] of names.entries()) {
        // In the master only, in the slave only, and on both sides with another mode.
        write(path.join(m, name), 'm');
        write(path.join(s, `${name}.extra`), 's');
        write(path.join(m, `${i}-${name}`), 'x');
        write(path.join(s, `${i}-${name}`), 'x');
        chmodSync(path.join(s, `${i}-${name}`), 0o600);
      }
      const bytes = (root: string, name: Buffer | string): Buffer => keyPath(root, typeof name === 'string' ? name : name.toString('latin1'));
      write(bytes(m, INVALID_UTF8_NAME), 'bad');
      mkdirSync(bytes(s, INVALID_UTF8_DIR));
      write(bytes(s, Buffer.concat([INVALID_UTF8_DIR, Buffer.from('/in\x80side')])), 'bad');
      // glibc's UTF-8 takes 5-byte forms; overlongs and surrogates it does not.
      write(bytes(m, '\xf8\x88\x80\x80\x80 \xc0\x80 \xed\xa0\x80 \xe2\x82'), 'x');
      symlinkSync(Buffer.from('tar\nget \x80 é', 'latin1'), path.join(m, 'odd link'));
      symlinkSync('\\#123', path.join(m, 'escape-like link'));
    },
  },
  {
    name: 'fifos and devices',
    rootOnly: true,
    build: (m, s) => {
      execFileSync('mkfifo', [`${m}/new-fifo`, `${m}/fifo-mode`, `${s}/fifo-mode`, `${s}/extra-fifo`]);
      chmodSync(`${s}/fifo-mode`, 0o600);
      execFileSync('mknod', [`${m}/null`, 'c', '1', '3']);
      execFileSync('mknod', [`${s}/null`, 'c', '1', '5']);
      execFileSync('mknod', [`${m}/same`, 'c', '1', '3']);
      execFileSync('mknod', [`${s}/same`, 'b', '1', '3']);
      execFileSync('mkfifo', [`${m}/dev2fifo`]);
      execFileSync('mknod', [`${s}/dev2fifo`, 'c', '1', '3']);
      write(`${m}/file2fifo`, 'x');
      execFileSync('mkfifo', [`${s}/file2fifo`]);
    },
  },
  {
    name: 'a mirrored hard tree, then a few changes',
    build: (m, s) => {
      makeHardTree(m, { foreignOwner: isRoot });
      execFileSync('rsync', ['-a', `${m}/`, `${s}/`]);
      renameSync(path.join(s, 'plain.txt'), path.join(s, 'renamed.txt'));
      rmSync(path.join(s, 'nested/a'), { recursive: true });
      write(path.join(s, 'larger.bin'), 'y'.repeat(300_000));
    },
  },
  {
    name: 'identical trees',
    build: (m, s) => {
      makeHardTree(m, { foreignOwner: isRoot });
      execFileSync('rsync', ['-a', `${m}/`, `${s}/`]);
    },
    expect: { plain: [], checksum: [] },
  },
];

describe('verify prints what rsync -ani --delete prints', () => {
  let base: string;
  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-verify-oracle-'));
  });
  after(() => {
    rmSync(base, { recursive: true, force: true });
  });

  for (const [n, scenario] of SCENARIOS.entries()) {
    it(scenario.name, { skip: scenario.rootOnly === true && !isRoot && 'needs root for mknod' }, async () => {
      const m = path.join(base, `${n}-master`);
      const s = path.join(base, `${n}-slave`);
      mkdirSync(m);
      mkdirSync(s);
      scenario.build(m, s);
      stampAll(m);
      stampAll(s);
      scenario.after?.(m, s);
      for (const checksum of [false, true]) {
        for (const [locale, charset] of LOCALES) {
          const expected = await rsyncLines(m, s, checksum, locale);
          const actual = await verifyLines(m, s, checksum, charset);
          assert.deepEqual(actual, expected, `${checksum ? 'with' : 'without'} --checksum, LC_ALL=${locale}`);
        }
        if (scenario.expect) {
          assert.deepEqual(await verifyLines(m, s, checksum, 'utf8'), [...scenario.expect[checksum ? 'checksum' : 'plain']].sort());
        }
      }
    });
  }
});
