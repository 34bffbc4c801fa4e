// src/watch/dir-tree.ts and inotify-proto.ts: the watched directories as a tree, and the
// helper's messages and the kernel's records split right whatever the chunks.
import assert from 'node:assert/strict';
import { endianness } from 'node:os';
import { describe, it } from 'node:test';
import { DirTree } from '../../src/watch/dir-tree.js';
import { ignoredBy } from '../../src/watch/inotify.js';
import { encodeAdd, encodeRemove, HelperReader, parseEvents, type AddAnswer } from '../../src/watch/inotify-proto.js';

describe('the tree of watched directories', () => {
  it('makes paths from names, and a moved directory takes what is below it along', () => {
    const t = new DirTree(1);
    const a = t.add(t.root, 'a', 2);
    const b = t.add(a, 'b', 3);
    const c = t.add(b, 'c', 4);
    assert.equal(t.pathOf(c), 'a/b/c');
    assert.equal(t.pathOf(t.root), '');
    t.move(b, t.root, 'bb');
    assert.equal(t.pathOf(c), 'bb/c');
    assert.equal(t.node(4), c);
    assert.equal(a.children.size, 0);
  });

  it('a swap through a third name comes out right', () => {
    const t = new DirTree(1);
    const x = t.add(t.root, 'x', 2);
    const y = t.add(t.root, 'y', 3);
    t.move(x, t.root, 'tmp');
    t.move(y, t.root, 'x');
    t.move(x, t.root, 'y');
    assert.equal(t.pathOf(x), 'y');
    assert.equal(t.pathOf(y), 'x');
    assert.deepEqual([...t.root.children.keys()].sort(), ['x', 'y']);
  });

  it('detaching gives the watches of the whole subtree and forgets them', () => {
    const t = new DirTree(1);
    const a = t.add(t.root, 'a', 2);
    const b = t.add(a, 'b', 3);
    t.add(b, 'c', 4);
    t.add(t.root, 'd', 5);
    assert.deepEqual(t.detach(a).sort(), [2, 3, 4]);
    assert.equal(t.pathOf(b), undefined, 'no longer in the tree');
    assert.equal(t.node(3), undefined);
    assert.equal(t.size, 2);
    t.forget(5);
    assert.equal(t.size, 1);
    t.forget(1);
    assert.equal(t.size, 1, 'the root stays');
  });

  it('keeps a name that is not valid UTF-8 byte for byte', () => {
    const t = new DirTree(1);
    const name = Buffer.from([0x66, 0xff, 0x0a]).toString('latin1');
    const n = t.add(t.root, name, 2);
    assert.deepEqual(Buffer.from(t.pathOf(n) ?? '', 'latin1'), Buffer.from([0x66, 0xff, 0x0a]));
  });
});

describe('directories the filters exclude whole are not watched', () => {
  it('anchored, plain names at any depth, and paths at any depth', () => {
    const ignored = ignoredBy(['/build', 'node_modules', 'cache/tmp']);
    assert.equal(ignored('build'), true);
    assert.equal(ignored('src/build'), false, 'anchored at the root only');
    assert.equal(ignored('node_modules'), true);
    assert.equal(ignored('a/b/node_modules'), true);
    assert.equal(ignored('a/node_modules_x'), false);
    assert.equal(ignored('cache/tmp'), true);
    assert.equal(ignored('x/cache/tmp'), true);
    assert.equal(ignored('xcache/tmp'), false);
  });
});

/** One kernel record, as read() gives it, in this machine's byte order. */
function record(wd: number, mask: number, cookie: number, name: string): Buffer {
  const bytes = Buffer.from(name, 'latin1');
  const len = name === '' ? 0 : (Math.floor(bytes.length / 16) + 1) * 16;
  const b = Buffer.alloc(16 + len);
  const le = endianness() === 'LE';
  if (le) {
    b.writeInt32LE(wd, 0);
    b.writeUInt32LE(mask, 4);
    b.writeUInt32LE(cookie, 8);
    b.writeUInt32LE(len, 12);
  } else {
    b.writeInt32BE(wd, 0);
    b.writeUInt32BE(mask, 4);
    b.writeUInt32BE(cookie, 8);
    b.writeUInt32BE(len, 12);
  }
  bytes.copy(b, 16);
  return b;
}

describe("the helper's messages and the kernel's records", () => {
  it('encodes requests as the helper reads them', () => {
    assert.deepEqual(encodeAdd(7, 0x100, Buffer.from('/m')), Buffer.from([0x61, 0, 0, 0, 7, 0, 0, 1, 0, 0x2f, 0x6d, 0]));
    assert.deepEqual(encodeRemove(258), Buffer.from([0x72, 0, 0, 1, 2]));
  });

  it('parses records with padded names, names with newlines and bytes that are not UTF-8', () => {
    const events = parseEvents(Buffer.concat([record(1, 0x40, 9, 'old'), record(2, 0x80, 9, 'a\nb\xff'), record(-1, 0x4000, 0, '')]));
    assert.deepEqual(
      events.map((e) => [e.wd, e.mask, e.cookie, e.name.toString('latin1')]),
      [
        [1, 0x40, 9, 'old'],
        [2, 0x80, 9, 'a\nb\xff'],
        [-1, 0x4000, 0, ''],
      ],
    );
  });

  it('splits answers and event messages cut anywhere', () => {
    const answer = Buffer.alloc(13);
    answer.write('A', 0, 'latin1');
    answer.writeUInt32BE(5, 1);
    answer.writeInt32BE(-1, 5);
    answer.writeUInt32BE(28, 9);
    const records = Buffer.concat([record(3, 0x100, 0, 'f'), record(3, 0x2, 0, 'f')]);
    const ev = Buffer.concat([Buffer.from('E', 'latin1'), Buffer.alloc(4), records]);
    ev.writeUInt32BE(records.length, 1);
    const stream = Buffer.concat([answer, ev, answer]);
    for (let cut = 1; cut < stream.length; cut++) {
      const answers: AddAnswer[] = [];
      const got: Buffer[] = [];
      const r = new HelperReader({ answer: (a) => answers.push(a), events: (b) => got.push(Buffer.from(b)) });
      r.push(stream.subarray(0, cut));
      r.push(stream.subarray(cut));
      assert.deepEqual(answers, [
        { id: 5, wd: -1, errno: 28 },
        { id: 5, wd: -1, errno: 28 },
      ]);
      assert.deepEqual(Buffer.concat(got), records, `cut at ${String(cut)}`);
    }
  });
});
