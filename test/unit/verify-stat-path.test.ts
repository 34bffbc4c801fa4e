/** src/verify/stat-path.ts: the slave's answer for one path, and comparing two answers. */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isValidKey, keyPath, type PathReport, type TreeEntry } from '../../src/verify/entry.js';
import { sameEntry, statPath } from '../../src/verify/stat-path.js';

const T = 1_600_000_000;

describe('statPath', () => {
  let base: string;
  let root: string;
  before(() => {
    base = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-stat-path-'));
    root = path.join(base, 'root');
    mkdirSync(path.join(root, 'dir/sub'), { recursive: true });
    mkdirSync(path.join(base, 'outside'));
    writeFileSync(path.join(base, 'outside/secret'), 'secret');
    writeFileSync(path.join(root, 'dir/sub/f'), 'content');
    utimesSync(path.join(root, 'dir/sub/f'), T, T);
    writeFileSync(keyPath(root, 'dir/\x80'), '');
    writeFileSync(path.join(root, 'file'), '');
    symlinkSync('../outside', path.join(root, 'out'));
  });
  after(() => {
    rmSync(base, { recursive: true, force: true });
  });

  it('reports a file, with its sha256 when asked', async () => {
    assert.deepEqual(await statPath(root, 'dir/sub/f', { checksum: false }), { key: 'dir/sub/f', type: 'file', size: 7, mtimeSec: T, mode: 0o644 });
    const hashed = await statPath(root, 'dir/sub/f', { checksum: true });
    assert.equal((hashed as TreeEntry).sha256, createHash('sha256').update('content').digest('hex'));
  });

  it('reports the root as "."', async () => {
    assert.equal((await statPath(root, '.', { checksum: false })).type, 'dir');
  });

  it('reads names that are not UTF-8', async () => {
    assert.equal((await statPath(root, 'dir/\x80', { checksum: false })).type, 'file');
  });

  it('reports a symlink as a symlink, with its target', async () => {
    assert.deepEqual(
      { ...(await statPath(root, 'out', { checksum: false })), mtimeSec: 0, mode: 0 },
      { key: 'out', type: 'symlink', size: 10, mtimeSec: 0, mode: 0, target: '../outside' },
    );
  });

  // A walk never enters a symlink, so nothing is there; and the answer must not leak
  // what lies outside the root.
  const MISSING = ['none', 'dir/none', 'file/below-a-file', 'out/secret'];
  for (const key of MISSING) {
    it(`reports ${key} as missing`, async () => {
      assert.deepEqual(await statPath(root, key, { checksum: false }), { key, type: 'missing' });
    });
  }

  const INVALID = ['', '/etc/passwd', '../outside/secret', 'dir/../../outside/secret', 'dir//sub', 'dir/./sub', 'dir/', 'a\0b', 'ĀĀ'];
  for (const key of INVALID) {
    it(`refuses the key ${JSON.stringify(key)}`, async () => {
      assert.equal(isValidKey(key), false);
      await assert.rejects(statPath(root, key, { checksum: false }), /not a path inside the root/);
    });
  }
});

describe('sameEntry', () => {
  const f = (o: Partial<TreeEntry> = {}): TreeEntry => ({ key: 'k', type: 'file', size: 10, mtimeSec: T, mode: 0o644, ...o });
  const gone: PathReport = { key: 'k', type: 'missing' };
  // [master, slave, checksum, reason]
  const CASES: readonly (readonly [PathReport, PathReport, boolean, string | undefined])[] = [
    [f(), f(), false, undefined],
    [gone, gone, false, undefined],
    [f(), gone, false, 'missing on slave'],
    [gone, f(), false, 'extra on slave'],
    [f(), f({ size: 12 }), false, 'size 10 != 12'],
    [f(), f({ size: 12, mtimeSec: T + 1, mode: 0o600 }), false, `size 10 != 12, mtime ${T} != ${T + 1}, mode 0644 != 0600`],
    [f({ sha256: 'aa' }), f({ sha256: 'bb' }), false, undefined],
    [f({ sha256: 'aa' }), f({ sha256: 'bb' }), true, 'content differs (sha256)'],
    [f({ sha256: 'aa' }), f(), true, undefined],
    [f(), { key: 'k', type: 'dir', size: 4096, mtimeSec: T, mode: 0o755 }, false, 'type file != dir'],
    [
      { key: 'k', type: 'symlink', size: 1, mtimeSec: T, mode: 0o777, target: 'a' },
      { key: 'k', type: 'symlink', size: 2, mtimeSec: T, mode: 0o777, target: 'b\x80' },
      false,
      'target "a" != "b\ufffd"',
    ],
    [
      { key: 'k', type: 'other', size: 0, mtimeSec: T, mode: 0o644, special: 'chr', rdev: 259 },
      { key: 'k', type: 'other', size: 0, mtimeSec: T, mode: 0o644, special: 'chr', rdev: 261 },
      false,
      'chr 259 != chr 261',
    ],
    [
      { key: 'k', type: 'other', size: 0, mtimeSec: T, mode: 0o644, special: 'fifo' },
      { key: 'k', type: 'other', size: 0, mtimeSec: T, mode: 0o644, special: 'chr', rdev: 1 },
      false,
      'type fifo != chr 1',
    ],
  ];
  for (const [master, slave, checksum, reason] of CASES) {
    it(`${reason ?? 'same'}${checksum ? ' (checksum)' : ''}`, () => {
      assert.equal(sameEntry(master, slave, { checksum }), reason);
    });
  }
});
