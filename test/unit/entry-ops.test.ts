/**
 * src/slave/entry-ops.ts on a real tree: renames and hard links replayed inside the root,
 * hostile paths refused with nothing written outside it, and what cannot be done here
 * (a missing source, another type at the target) left to rsync.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyEntryOp, badPath, type EntryOp } from '../../src/slave/entry-ops.js';
import { decodeRequest } from '../../src/slave/protocol.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-entry-ops-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh slave root and a directory beside it that must stay untouched. */
function slave(files: Record<string, string> = {}): { root: string; outside: string } {
  const base = path.join(dir, `s${String(++n)}`);
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  mkdirSync(root, { recursive: true });
  mkdirSync(outside);
  writeFileSync(path.join(outside, 'keep'), 'outside\n');
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  return { root, outside };
}

const ino = (p: string): number => lstatSync(p).ino;
const rename = (from: string, to: string): EntryOp => ({ op: 'rename', from, to });

describe('entry operations on the slave', () => {
  it('renames a file and a directory in place: the same inodes, under the new names', async () => {
    const { root } = slave({ 'big/1': 'one', 'big/2': 'two', 'f': 'file' });
    const [dirIno, fileIno] = [ino(path.join(root, 'big')), ino(path.join(root, 'f'))];
    mkdirSync(path.join(root, 'other'));
    assert.deepEqual(await applyEntryOp(root, rename('big', 'big2')), { result: 'done' });
    assert.deepEqual(await applyEntryOp(root, rename('f', 'other/f2')), { result: 'done' });
    assert.equal(ino(path.join(root, 'big2')), dirIno);
    assert.equal(ino(path.join(root, 'other/f2')), fileIno);
    assert.equal(readFileSync(path.join(root, 'big2/2'), 'utf8'), 'two');
    assert.deepEqual(readdirSync(root).sort(), ['big2', 'other']);
  });

  it('replays swaps and rotations in the order asked', async () => {
    const { root } = slave({ a: 'A', b: 'B', c: 'C' });
    for (const op of [rename('a', 'tmp'), rename('b', 'a'), rename('tmp', 'b')]) assert.equal((await applyEntryOp(root, op)).result, 'done');
    for (const op of [rename('a', 'x'), rename('c', 'a'), rename('b', 'c'), rename('x', 'b')]) assert.equal((await applyEntryOp(root, op)).result, 'done');
    assert.deepEqual(
      ['a', 'b', 'c'].map((f) => readFileSync(path.join(root, f), 'utf8')),
      ['C', 'B', 'A'],
    );
  });

  it('refuses paths that are not plain relative paths inside the root, and writes nothing', async () => {
    const { root, outside } = slave({ f: 'x' });
    for (const [from, to] of [
      ['f', '../outside/f'],
      ['../outside/keep', 'stolen'],
      ['f', '/tmp/f'],
      ['', 'rootless'],
      ['f', ''],
      ['f', 'a//b'],
      ['f', './g'],
      ['f', 'a/../../outside/g'],
      ['f', 'nul\0byte'],
    ]) {
      const r = await applyEntryOp(root, rename(from ?? '', to ?? ''));
      assert.equal(r.result, 'refused', `${String(from)} → ${String(to)}: ${JSON.stringify(r)}`);
    }
    assert.deepEqual(readdirSync(root), ['f']);
    assert.deepEqual(readdirSync(outside), ['keep']);
    assert.equal(badPath('ok/name with spaces\nand a newline'), undefined);
  });

  it('refuses to go through a symlink on the slave, even one leading back inside', async () => {
    const { root, outside } = slave({ f: 'x', 'real/g': 'y' });
    symlinkSync(outside, path.join(root, 'out'));
    symlinkSync('real', path.join(root, 'inner'));
    for (const op of [rename('f', 'out/f'), rename('out/keep', 'stolen'), rename('inner/g', 'g'), { op: 'link', target: 'out/keep', path: 'stolen' } as const]) {
      const r = await applyEntryOp(root, op);
      assert.equal(r.result, 'refused', JSON.stringify({ op, r }));
      assert.match(r.reason, /is a symlink on the slave/);
    }
    assert.deepEqual(readdirSync(outside), ['keep']);
    assert.equal(readFileSync(path.join(outside, 'keep'), 'utf8'), 'outside\n');
    // A symlink itself is renamed as a link, never followed.
    assert.equal((await applyEntryOp(root, rename('out', 'out2'))).result, 'done');
    assert.ok(lstatSync(path.join(root, 'out2')).isSymbolicLink());
    assert.deepEqual(readdirSync(outside), ['keep']);
  });

  it('leaves to rsync what cannot be done here: a missing source or parent, another type, a non-empty directory', async () => {
    const { root } = slave({ f: 'x', 'full/x': 'y', 'd/inner': 'z' });
    for (const op of [rename('missing', 'g'), rename('f', 'no-dir/g'), rename('f', 'full'), rename('d', 'full')]) {
      const r = await applyEntryOp(root, op);
      assert.equal(r.result, 'fallback', JSON.stringify({ op, r }));
    }
    assert.equal((await applyEntryOp(root, rename('d', 'd/inside'))).result, 'refused');
    assert.equal(readFileSync(path.join(root, 'f'), 'utf8'), 'x');
    assert.equal(readFileSync(path.join(root, 'full/x'), 'utf8'), 'y');
  });

  it('makes a hard link, replacing a separate copy at the new name in one step', async () => {
    const { root } = slave({ a: 'same', b: 'an older copy', 'sub/c': 'x' });
    assert.deepEqual(await applyEntryOp(root, { op: 'link', target: 'a', path: 'b' }), { result: 'done' });
    assert.deepEqual(await applyEntryOp(root, { op: 'link', target: 'a', path: 'sub/new' }), { result: 'done' });
    assert.equal(ino(path.join(root, 'b')), ino(path.join(root, 'a')));
    assert.equal(ino(path.join(root, 'sub/new')), ino(path.join(root, 'a')));
    assert.equal(statSync(path.join(root, 'a')).nlink, 3);
    assert.deepEqual(readdirSync(path.join(root, 'sub')).sort(), ['c', 'new']);
    assert.equal((await applyEntryOp(root, { op: 'link', target: 'sub', path: 'dirlink' })).result, 'refused');
    assert.equal((await applyEntryOp(root, { op: 'link', target: 'gone', path: 'x' })).result, 'fallback');
  });

  it('decodes entry requests, and nothing malformed', () => {
    assert.deepEqual(decodeRequest('{"type":"entry","id":1,"op":"rename","from":"a","to":"b"}'), { type: 'entry', id: 1, op: 'rename', from: 'a', to: 'b' });
    assert.deepEqual(decodeRequest('{"type":"entry","id":2,"op":"link","target":"a","path":"b"}'), { type: 'entry', id: 2, op: 'link', target: 'a', path: 'b' });
    for (const bad of ['{"type":"entry","id":1,"op":"rename","from":"a"}', '{"type":"entry","op":"rename","from":"a","to":"b"}', '{"type":"entry","id":1,"op":"unlink","path":"a"}', '{"type":"entry","id":1,"op":"rename","from":1,"to":"b"}']) {
      assert.equal(decodeRequest(bad), undefined, bad);
    }
  });
});
