/** src/watch/listing-diff.ts: the merge of two sorted listings, renames paired by inode. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { diffListings, type ListingEntry } from '../../src/watch/listing-diff.js';
import type { ChangeEvent } from '../../src/watch/change-source.js';
import { listingOrder } from '../../src/watch/listing-read.js';

type Row = [path: string, ino: number, type?: string, size?: number, mtime?: string];

/** The rows sorted as a listing is, in batches of two: the merge crosses batch boundaries. */
function entries(rows: readonly Row[]): AsyncIterable<readonly ListingEntry[]> {
  const list = rows
    .map(([p, ino, type = 'f', size = 1, mtime = '1.0']) => ({ key: Buffer.from(p), dev: '7', ino: String(ino), type, size: String(size), mtime }))
    .sort((a, b) => listingOrder(a.key, b.key));
  const batches: ListingEntry[][] = [];
  for (let i = 0; i < list.length; i += 2) batches.push(list.slice(i, i + 2));
  return {
    [Symbol.asyncIterator]: () => {
      const it = batches[Symbol.iterator]();
      return { next: () => Promise.resolve(it.next()) };
    },
  };
}

const diff = (before: readonly Row[], after: readonly Row[]): Promise<ChangeEvent[]> => diffListings(entries(before), entries(after));
const sorted = (events: readonly ChangeEvent[]): string[] => events.map((e) => `${e.kind} ${e.from === undefined ? '' : `${e.from} -> `}${e.path}`).sort();

describe('diffListings', () => {
  it('finds nothing between two equal listings', async () => {
    const rows: Row[] = [['a', 1, 'd'], ['a/f', 2], ['b', 3]];
    assert.deepEqual(await diff(rows, rows), []);
  });

  it('reports creates, deletes and updates (size, mtime, another inode)', async () => {
    const events = await diff(
      [['gone', 1], ['same', 2], ['grown', 3, 'f', 1], ['touched', 4, 'f', 1, '1.0'], ['replaced', 5]],
      [['same', 2], ['grown', 3, 'f', 2], ['touched', 4, 'f', 1, '2.5'], ['replaced', 6], ['new', 7]],
    );
    assert.deepEqual(sorted(events), ['create new', 'delete gone', 'update grown', 'update replaced', 'update touched']);
  });

  it("does not report a directory's own mtime", async () => {
    assert.deepEqual(await diff([['d', 1, 'd', 4096, '1.0']], [['d', 1, 'd', 4096, '9.0']]), []);
  });

  it('reports a change of type as a delete and a create', async () => {
    assert.deepEqual(sorted(await diff([['x', 1, 'f']], [['x', 2, 'd']])), ['create x', 'delete x']);
    assert.deepEqual(sorted(await diff([['x', 1, 'd']], [['x', 2, 'd']])), ['create x', 'delete x']);
  });

  it('pairs a file gone and a file new with one inode as a rename', async () => {
    assert.deepEqual(sorted(await diff([['a', 1], ['keep', 2]], [['keep', 2], ['z/b', 1]])), ['rename a -> z/b']);
  });

  it('reports a renamed file that also changed as a rename and an update', async () => {
    assert.deepEqual(sorted(await diff([['a', 1, 'f', 1]], [['b', 1, 'f', 9]])), ['rename a -> b', 'update b']);
  });

  it("reports a directory's rename once, with the changes made inside it since", async () => {
    const events = await diff(
      [['old', 1, 'd'], ['old/f', 2], ['old/sub', 3, 'd'], ['old/sub/g', 4, 'f', 1], ['old/moved', 5]],
      [['new', 1, 'd'], ['new/f', 2], ['new/sub', 3, 'd'], ['new/sub/g', 4, 'f', 5], ['elsewhere', 5]],
    );
    assert.deepEqual(sorted(events), ['rename old -> new', 'rename old/moved -> elsewhere', 'update new/sub/g']);
  });

  it('reports swaps and chains of renames', async () => {
    assert.deepEqual(sorted(await diff([['a', 1], ['b', 2]], [['a', 2], ['b', 1]])), ['rename a -> b', 'rename b -> a']);
    assert.deepEqual(sorted(await diff([['a', 1], ['b', 2], ['c', 3]], [['b', 1], ['c', 2], ['d', 3]])), ['rename a -> b', 'rename b -> c', 'rename c -> d']);
  });

  it('reports a file replaced by another made in its place as one update', async () => {
    assert.deepEqual(sorted(await diff([['a', 1]], [['a', 2]])), ['update a']);
    // mv a b; echo > a
    assert.deepEqual(sorted(await diff([['a', 1]], [['a', 3], ['b', 1]])), ['rename a -> b', 'update a']);
  });

  it('orders a directory renamed away before the one made under its name', async () => {
    // mv d e; mkdir d
    const events = await diff([['d', 1, 'd'], ['d/f', 2]], [['d', 3, 'd'], ['e', 1, 'd'], ['e/f', 2]]);
    assert.deepEqual(events.map((e) => `${e.kind} ${e.path}`), ['rename e', 'create d']);
    // rm -r d; mkdir d
    assert.deepEqual((await diff([['d', 1, 'd']], [['d', 3, 'd']])).map((e) => `${e.kind} ${e.path}`), ['delete d', 'create d']);
  });

  it('never pairs hard links: an inode with two names stays deletes and creates', async () => {
    assert.deepEqual(sorted(await diff([['a', 1], ['b', 1]], [['c', 1], ['d', 1]])), ['create c', 'create d', 'delete a', 'delete b']);
    assert.deepEqual(sorted(await diff([['a', 1]], [['c', 1], ['d', 1]])), ['create c', 'create d', 'delete a']);
  });

  it('does not pair entries of different types or devices', async () => {
    assert.deepEqual(sorted(await diff([['a', 1, 'f']], [['b', 1, 'l']])), ['create b', 'delete a']);
  });

  it("orders paths as the listing does, by bytes with // after each ('a-b' before 'a', 'a' before 'a/b')", async () => {
    const events = await diff([['a', 1, 'd'], ['a-b', 2], ['a/b', 3], ['a!', 5]], [['a', 1, 'd'], ['a-b', 2], ['a/b', 3], ['a.c', 4], ['a!', 5]]);
    assert.deepEqual(sorted(events), ['create a.c']);
  });
});

describe('diffListings: what stayed while its directory was renamed away', () => {
  it('sends it where it is, and the copy the rename takes along', async () => {
    // mv d/b x; mv d e; mkdir d; mv x d/b: d/b is the same entry at the same path.
    const events = await diff([['d', 1, 'd'], ['d/b', 2], ['d/c', 3]], [['e', 1, 'd'], ['e/c', 3], ['d', 4, 'd'], ['d/b', 2]]);
    assert.deepEqual(sorted(events), ['create d', 'rename d -> e', 'update d/b', 'update e/b']);
  });
});
