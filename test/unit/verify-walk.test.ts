/** src/verify/walk.ts: the one order two walks share, and the walk over a real tree. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lutimesSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareKeys, walkTree } from '../../src/verify/walk.js';
import { floorSeconds, keyPath, type TreeEntry } from '../../src/verify/entry.js';
import { ReadError } from '../../src/verify/stat-path.js';

const collect = async (it: AsyncIterable<TreeEntry>): Promise<TreeEntry[]> => {
  const out: TreeEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
};

/** A latin1 byte string → a Buffer path under `root`. */
const at = (root: string, key: string): Buffer => keyPath(root, key);

describe('compareKeys', () => {
  // Each list is in increasing order.
  const ORDERS: readonly (readonly [string, readonly string[]])[] = [
    ['the root first', ['.', '-', 'a']],
    ['a directory before its contents', ['a', 'a/b', 'a/b/c', 'a/c']],
    ["'/' ends a component: a subtree before a longer sibling name", ['a', 'a/z', 'a-b', 'a.b', 'a0', 'ab']],
    ['bytes, not UTF-16 or locale order', ['B', 'a', 'z', '\x7f', '\x80', '\xc3\xa9', '\xff']],
    ['control bytes sort before a subtree only by component', ['a', 'a/x', 'a\x01', 'a\n', 'a b']],
    ['deep against shallow', ['x/y/z/w', 'x/y/z\x01', 'x/y0', 'x0']],
  ];
  for (const [what, keys] of ORDERS) {
    it(what, () => {
      for (let i = 0; i < keys.length; i++) {
        for (let j = 0; j < keys.length; j++) {
          const a = keys[i] ?? '';
          const b = keys[j] ?? '';
          assert.equal(Math.sign(compareKeys(a, b)), Math.sign(i - j), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
        }
      }
    });
  }

  it('agrees with sorting the paths component by component as byte strings', () => {
    const keys = ['a', 'a/b', 'a-b', 'a-b/c', 'a/b-c', 'a/b/c', 'b', 'a b', 'a/\xff', 'a\xff'];
    const byComponents = (x: string, y: string): number => {
      const p = x.split('/');
      const q = y.split('/');
      for (let i = 0; i < Math.min(p.length, q.length); i++) {
        const c = Buffer.compare(Buffer.from(p[i] ?? '', 'latin1'), Buffer.from(q[i] ?? '', 'latin1'));
        if (c !== 0) return c;
      }
      return p.length - q.length;
    };
    assert.deepEqual([...keys].sort(compareKeys), [...keys].sort(byComponents));
  });
});

describe('floorSeconds', () => {
  const CASES: readonly (readonly [bigint, number])[] = [
    [0n, 0],
    [1_600_000_000_999_999_999n, 1_600_000_000],
    [1_600_000_001_000_000_000n, 1_600_000_001],
    [-1n, -1],
    [-1_000_000_000n, -1],
    [-1_500_000_000n, -2],
  ];
  for (const [ns, s] of CASES) {
    it(`${ns} ns → ${s} s`, () => {
      assert.equal(floorSeconds(ns), s);
    });
  }
});

describe('walkTree', () => {
  let root: string;
  const T = 1_600_000_000;
  const INVALID = '\x66\x80\xff';
  before(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-walk-'));
    mkdirSync(path.join(root, 'a/sub'), { recursive: true });
    mkdirSync(path.join(root, 'a-b'));
    writeFileSync(path.join(root, 'a/z'), 'zz');
    writeFileSync(path.join(root, 'a/sub/deep'), 'deep');
    writeFileSync(path.join(root, 'a.b'), 'dot');
    writeFileSync(path.join(root, 'B'), 'upper');
    writeFileSync(path.join(root, 'new\nline'), '');
    writeFileSync(at(root, INVALID), 'not utf-8');
    writeFileSync(at(root, '\xc3\xa9'), 'é');
    chmodSync(path.join(root, 'a.b'), 0o640);
    symlinkSync('a', path.join(root, 'link-to-dir'));
    symlinkSync(Buffer.from('t\x80rget', 'latin1'), at(root, 'odd-link'));
    // 12:00:00.999999999 is still second 12:00:00 for rsync.
    execFileSync('touch', ['-d', `@${T}.999999999`, path.join(root, 'a.b')]);
    lutimesSync(path.join(root, 'link-to-dir'), T + 5, T + 5);
  });
  after(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('yields the root as ".", then depth first, siblings by bytes, never inside a symlink', async () => {
    const keys = (await collect(walkTree(root, { checksum: false }))).map((e) => e.key);
    assert.deepEqual(keys, ['.', 'B', 'a', 'a/sub', 'a/sub/deep', 'a/z', 'a-b', 'a.b', 'f\x80\xff', 'link-to-dir', 'new\nline', 'odd-link', '\xc3\xa9']);
    assert.deepEqual([...keys].sort(compareKeys), keys);
  });

  it('records type, size, whole-second mtime, permissions and link targets', async () => {
    const byKey = new Map((await collect(walkTree(root, { checksum: false }))).map((e) => [e.key, e]));
    assert.deepEqual(byKey.get('a.b'), { key: 'a.b', type: 'file', size: 3, mtimeSec: T, mode: 0o640 });
    assert.deepEqual(byKey.get('link-to-dir'), { key: 'link-to-dir', type: 'symlink', size: 1, mtimeSec: T + 5, mode: 0o777, target: 'a' });
    assert.equal(byKey.get('odd-link')?.target, 't\x80rget');
    assert.equal(byKey.get('a')?.type, 'dir');
    assert.equal(byKey.get('.')?.type, 'dir');
    assert.equal(byKey.get('a.b')?.sha256, undefined);
  });

  it('adds the sha256 of each file with checksum, and JSON round-trips every entry', async () => {
    const entries = await collect(walkTree(root, { checksum: true }));
    const file = entries.find((e) => e.key === 'f\x80\xff');
    assert.equal(file?.sha256, createHash('sha256').update('not utf-8').digest('hex'));
    assert.ok(entries.filter((e) => e.type !== 'file').every((e) => e.sha256 === undefined));
    assert.deepEqual(JSON.parse(JSON.stringify(entries)), entries);
  });

  it('follows a root that is a symlink', async () => {
    const link = `${root}-link`;
    symlinkSync(root, link);
    try {
      const keys = (await collect(walkTree(link, { checksum: false }))).map((e) => e.key);
      assert.equal(keys.length, 13);
    } finally {
      rmSync(link);
    }
  });

  it('throws a ReadError for a root that is missing or not a directory', async () => {
    await assert.rejects(collect(walkTree(path.join(root, 'none'), { checksum: false })), ReadError);
    await assert.rejects(collect(walkTree(path.join(root, 'B'), { checksum: false })), ReadError);
  });

  it('throws a ReadError naming a directory it cannot list', { skip: process.getuid?.() === 0 && 'root reads everything' }, async () => {
    chmodSync(path.join(root, 'a/sub'), 0o000);
    try {
      await assert.rejects(collect(walkTree(root, { checksum: false })), /cannot list a\/sub: EACCES/);
    } finally {
      chmodSync(path.join(root, 'a/sub'), 0o755);
    }
  });

  it('lets the event loop run during a long walk', async () => {
    const wide = path.join(root, 'wide');
    mkdirSync(wide);
    for (let i = 0; i < 2500; i++) writeFileSync(path.join(wide, `f${i}`), '');
    try {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 0);
      const entries = await collect(walkTree(wide, { checksum: false }));
      clearInterval(timer);
      assert.equal(entries.length, 2501);
      assert.ok(ticks > 0, 'no timer ran while 2,500 entries were read');
    } finally {
      rmSync(wide, { recursive: true });
    }
  });

  it('can be stopped early', async () => {
    const it = walkTree(root, { checksum: true });
    const first = await it.next();
    assert.equal(first.done === true ? undefined : first.value.key, '.');
    await it.return(undefined);
    assert.equal((await it.next()).done, true);
  });
});
