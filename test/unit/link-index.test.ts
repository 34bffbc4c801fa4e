// Which copies a change reaches under -L (session/link-index.ts): through a link to a file,
// to a directory above the change, chains, links inside linked directories; loops reported.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LinkIndex, MAX_COPIES, holdsRoot, lexicalReferent } from '../../src/session/link-index.js';

const sorted = (a: readonly string[]): string[] => [...a].sort();

describe('LinkIndex', () => {
  it('a change reaches the links to it and to each directory above it', () => {
    const ix = new LinkIndex();
    ix.set('to-file', ['d/f']);
    ix.set('to-dir', ['d']);
    ix.set('to-root-sub', ['d/sub']);
    assert.deepEqual(sorted(ix.reached('d/f')), ['to-dir/f', 'to-file']);
    assert.deepEqual(sorted(ix.reached('d/sub/x')), ['to-dir/sub/x', 'to-root-sub/x']);
    assert.deepEqual(ix.reached('other/f'), []);
    assert.deepEqual(sorted(ix.reached('d')), ['to-dir']);
  });

  it('follows chains and links inside linked directories', () => {
    const ix = new LinkIndex();
    ix.set('to-dir', ['d']);
    ix.set('chain', ['to-dir']);
    ix.set('d/sub/up', ['d/g']);
    assert.deepEqual(sorted(ix.reached('d/g')), ['chain/g', 'chain/sub/up', 'd/sub/up', 'to-dir/g', 'to-dir/sub/up']);
  });

  it('forgets links replaced or deleted with their directory', () => {
    const ix = new LinkIndex();
    ix.set('a/l', ['x']);
    ix.set('b', ['x']);
    ix.set('b', ['y']);
    assert.deepEqual(ix.reached('x'), ['a/l']);
    ix.drop('a');
    assert.deepEqual(ix.reached('x'), []);
    assert.deepEqual(ix.reached('y'), ['b']);
    assert.equal(ix.size, 1);
  });

  it('reports a link inside its own referent, and does not follow it', () => {
    const ix = new LinkIndex();
    ix.set('sub/up', ['']);
    ix.set('self', ['self']);
    ix.set('fine', ['sub']);
    assert.deepEqual(sorted(ix.loops()), ['self', 'sub/up']);
    assert.deepEqual(ix.reached('sub/f'), ['fine/f']);
  });
});

describe('LinkIndex: webs of links', () => {
  it('finds a loop made of links that reach back into each other, and stays bounded', () => {
    const ix = new LinkIndex();
    // x/l1 -> ../y, x/l2 -> ../y, y/m -> ../x: each copy holds the other, without end.
    ix.set('x/l1', ['y']);
    ix.set('x/l2', ['y']);
    ix.set('y/m', ['x']);
    assert.deepEqual(sorted(ix.loops()), ['x/l1', 'x/l2', 'y/m']);
    const started = performance.now();
    const copies = ix.reached('y/f');
    assert.ok(copies.length <= 10_000, String(copies.length));
    assert.ok(copies.includes('x/l1/f') && copies.includes('y/m/l2/f'), copies.slice(0, 10).join(' '));
    assert.ok(performance.now() - started < 2000, 'a web of links is not followed without end');
  });

  it('says when it stops short: ten thousand links to one directory and one more', () => {
    const ix = new LinkIndex();
    for (let i = 0; i <= MAX_COPIES; i++) ix.set(`l${String(i)}`, ['d']);
    const r = ix.reach('d/f');
    assert.equal(r.complete, false);
    assert.equal(r.copies.length, MAX_COPIES);
    assert.equal(ix.reach('other').complete, true);
  });

  it('is no loop when links only chain forward', () => {
    const ix = new LinkIndex();
    ix.set('a', ['d']);
    ix.set('b', ['a']);
    ix.set('d/up', ['e']);
    assert.deepEqual(ix.loops(), []);
  });
});

describe('holdsRoot', () => {
  it('is the root itself and every directory above it', () => {
    assert.equal(holdsRoot('/srv/data', '/srv/data'), true);
    assert.equal(holdsRoot('/srv/data', '/srv'), true);
    assert.equal(holdsRoot('/srv/data', '/'), true);
    assert.equal(holdsRoot('/srv/data/', '/srv'), true);
    assert.equal(holdsRoot('/srv/data', '/srv/data2'), false);
    assert.equal(holdsRoot('/srv/data', '/srv/dat'), false);
    assert.equal(holdsRoot('/srv/data', '/srv/data/sub'), false);
  });
});

describe('lexicalReferent', () => {
  it('takes a link text from its directory, or against the root when absolute', () => {
    assert.equal(lexicalReferent('/m', 'to-file', 'd/f'), 'd/f');
    assert.equal(lexicalReferent('/m', 'd/sub/up', '../g'), 'd/g');
    assert.equal(lexicalReferent('/m', 'd/sub/up', '../..'), '');
    assert.equal(lexicalReferent('/m', 'd/l', './x/./y//z'), 'd/x/y/z');
    assert.equal(lexicalReferent('/m', 'l', '/m/abs'), 'abs');
    assert.equal(lexicalReferent('/m/', 'l', '/m'), '');
  });

  it('is undefined out of the tree', () => {
    assert.equal(lexicalReferent('/m', 'l', '/etc/hostname'), undefined);
    assert.equal(lexicalReferent('/m', 'l', '../m2/x'), undefined);
    assert.equal(lexicalReferent('/m', 'd/l', '../../x'), undefined);
    assert.equal(lexicalReferent('/m', 'l', '/mm'), undefined);
  });
});
