/** src/verify/diff.ts: the merge-join of two sorted entry streams, and its bounded memory. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffTrees, type Difference } from '../../src/verify/diff.js';
import type { TreeEntry } from '../../src/verify/entry.js';
import { exec } from '../helpers/exec.js';

const T = 1_600_000_000;
const file = (key: string, o: Partial<TreeEntry> = {}): TreeEntry => ({ key, type: 'file', size: 1, mtimeSec: T, mode: 0o644, ...o });
const dir = (key: string, o: Partial<TreeEntry> = {}): TreeEntry => ({ key, type: 'dir', size: 4096, mtimeSec: T, mode: 0o755, ...o });
const link = (key: string, target: string, o: Partial<TreeEntry> = {}): TreeEntry => ({
  key,
  type: 'symlink',
  size: target.length,
  mtimeSec: T,
  mode: 0o777,
  target,
  ...o,
});
const special = (key: string, kind: TreeEntry['special'], rdev?: number): TreeEntry => ({
  key,
  type: 'other',
  size: 0,
  mtimeSec: T,
  mode: 0o644,
  special: kind,
  ...(rdev === undefined ? {} : { rdev }),
});

async function* stream(entries: readonly TreeEntry[]): AsyncGenerator<TreeEntry> {
  for (const e of entries) yield await Promise.resolve(e);
}

const show = (d: Difference): string =>
  d.kind === 'changed' ? `changed ${d.master.key} ${d.attributes.join(',')}` : `${d.kind} ${d.kind === 'missing' ? d.master.key : d.slave.key}`;

async function differences(master: readonly TreeEntry[], slave: readonly TreeEntry[]): Promise<string[]> {
  const out: string[] = [];
  for await (const d of diffTrees(stream(master), stream(slave))) out.push(show(d));
  return out;
}

describe('diffTrees', () => {
  const root = dir('.');
  // [what, master, slave, differences in key order]
  const CASES: readonly (readonly [string, readonly TreeEntry[], readonly TreeEntry[], readonly string[]])[] = [
    ['identical trees', [root, dir('a'), file('a/x'), link('l', 't')], [root, dir('a'), file('a/x'), link('l', 't')], []],
    ['two empty streams', [], [], []],
    ['a missing file and an extra one', [root, file('a'), file('c')], [root, file('b'), file('c')], ['missing a', 'extra b']],
    ['everything missing past the end of the slave', [root, file('a'), file('b')], [root], ['missing a', 'missing b']],
    ['an extra directory is extra with all it holds', [root, file('z')], [root, dir('x'), dir('x/y'), file('x/y/f'), file('z')], ['extra x', 'extra x/y', 'extra x/y/f']],
    ['a subtree sorts before a longer sibling name', [root, dir('a'), file('a/z'), file('a-b')], [root, dir('a'), file('a-b')], ['missing a/z']],
    ['size and mtime', [root, file('f', { size: 10 })], [root, file('f', { size: 12, mtimeSec: T + 1 })], ['changed f size,mtime']],
    ['permissions', [root, file('f')], [root, file('f', { mode: 0o600 })], ['changed f mode']],
    ['a directory mtime and mode, the root too', [dir('.', { mode: 0o700 }), dir('d')], [root, dir('d', { mtimeSec: T - 1 })], ['changed . mode', 'changed d mtime']],
    ['content only when both sides are hashed', [root, file('a', { sha256: 'aa' }), file('b', { sha256: 'aa' })], [root, file('a', { sha256: 'bb' }), file('b')], ['changed a checksum']],
    ['a retargeted symlink, with its mtime', [root, link('l', 'one')], [root, link('l', 'three', { mtimeSec: T + 9 })], ['changed l target,mtime']],
    ['symlink permissions are not compared', [root, link('l', 't')], [root, link('l', 't', { mode: 0o755 })], []],
    ['a directory become a file: the type, then its contents missing', [root, dir('x'), file('x/in')], [root, file('x')], ['changed x type', 'missing x/in']],
    ['a file become a directory: the type, then the contents extra', [root, file('x')], [root, dir('x'), file('x/in')], ['changed x type', 'extra x/in']],
    ['a symlink become a file', [root, file('x')], [root, link('x', 't')], ['changed x type']],
    ['device numbers', [root, special('d', 'chr', 259)], [root, special('d', 'chr', 261)], ['changed d special']],
    ['chr and blk with the same numbers are the same to rsync', [root, special('d', 'chr', 259)], [root, special('d', 'blk', 259)], []],
    ['a fifo become a socket', [root, special('s', 'fifo')], [root, special('s', 'sock')], ['changed s special']],
    ['a device become a fifo is a new item', [root, special('s', 'chr', 1)], [root, special('s', 'fifo')], ['changed s type']],
    ['invalid UTF-8 and control bytes in keys', [root, file('a\nb'), file('\x80')], [root, file('a\nb'), file('\xff')], ['missing \x80', 'extra \xff']],
  ];
  for (const [what, master, slave, expected] of CASES) {
    it(what, async () => {
      assert.deepEqual(await differences(master, slave), expected);
    });
  }

  it('refuses a stream that is out of order, naming the side', async () => {
    await assert.rejects(differences([dir('.'), file('b'), file('a')], [dir('.')]), /master entries out of order: "a" after "b"/);
    await assert.rejects(differences([dir('.')], [dir('.'), dir('a'), file('a-b'), file('a/x')]), /slave entries out of order/);
    await assert.rejects(differences([dir('.'), file('a'), file('a')], []), /out of order/);
  });

  it('stops both streams when its reader stops', async () => {
    const stopped: string[] = [];
    async function* endless(side: string): AsyncGenerator<TreeEntry> {
      try {
        for (let i = 0; ; i++) yield await Promise.resolve(file(`f${String(i).padStart(9, '0')}`, { size: side === 'master' ? 1 : 2 }));
      } finally {
        stopped.push(side);
      }
    }
    for await (const d of diffTrees(endless('master'), endless('slave'))) {
      assert.equal(d.kind, 'changed');
      break;
    }
    assert.deepEqual(stopped.sort(), ['master', 'slave']);
  });
});

describe('diffTrees memory', () => {
  // 1,000,000 keys a side (1,000 directories of 1,000 files), diffed in a child node whose
  // heap is capped far below what holding the trees needs (one side alone takes about
  // 125 MB as objects): a diff that kept them would die of an out-of-memory error. A child
  // also keeps the test runner's promise hooks, which slow such a loop several times, out.
  const HEAP_CAP_MB = 32;
  const script = `
    import { diffTrees } from ${JSON.stringify(new URL('../../src/verify/diff.js', import.meta.url).href)};
    const DIRS = 1000, PER_DIR = 1000, T = 1600000000;
    const key = (d, f) => f === undefined ? 'd' + String(d).padStart(4, '0') : 'd' + String(d).padStart(4, '0') + '/f' + String(f).padStart(4, '0');
    let peak = 0, yielded = 0;
    const sample = () => { peak = Math.max(peak, process.memoryUsage().heapUsed); };
    async function* generated(side) {
      yield { key: '.', type: 'dir', size: 4096, mtimeSec: T, mode: 0o755 };
      for (let d = 0; d < DIRS; d++) {
        yield { key: key(d), type: 'dir', size: 4096, mtimeSec: T, mode: 0o755 };
        for (let f = 0; f < PER_DIR; f++) {
          const i = d * PER_DIR + f;
          if (side === 'slave' && i % 9973 === 0) continue;
          if (++yielded % 20000 === 0) sample();
          yield { key: key(d, f), type: 'file', size: side === 'slave' && i % 1000 === 7 ? 2 : 1, mtimeSec: T, mode: 0o644 };
        }
      }
    }
    const counts = { missing: 0, extra: 0, changed: 0 };
    for await (const d of diffTrees(generated('master'), generated('slave'))) counts[d.kind]++;
    console.log(JSON.stringify({ counts, yielded, peakMB: peak / 1048576 }));
  `;

  it(`diffs 1,000,000 entries a side within a ${HEAP_CAP_MB} MB heap`, async () => {
    const r = await exec(process.execPath, [`--max-old-space-size=${HEAP_CAP_MB}`, '--input-type=module', '-e', script], { timeoutMs: 60_000 });
    assert.equal(r.code, 0, `the diff did not finish within the heap cap:\n${r.stderr.slice(-2000)}`);
    const result = JSON.parse(r.stdout) as { counts: Record<string, number>; yielded: number; peakMB: number };
    const total = 1000 * 1000;
    assert.deepEqual(result.counts, { missing: Math.ceil(total / 9973), extra: 0, changed: total / 1000 });
    assert.equal(result.yielded, 2 * total - Math.ceil(total / 9973));
    assert.ok(result.peakMB < HEAP_CAP_MB, `heap peaked at ${result.peakMB.toFixed(1)} MB`);
  });
});
