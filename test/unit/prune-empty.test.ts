/** src/session/prune-empty.ts: which directory -m sends whole after a delete. */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { compileMatcher } from '../../src/filter/matcher.js';
import { emptiedAt, holdsFile } from '../../src/session/prune-empty.js';

describe('-m after a delete', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'prune-empty-'));
  const at = (rel: string): string => path.join(root, rel);
  mkdirSync(at('a/b/c'), { recursive: true });
  mkdirSync(at('a/only-excluded'), { recursive: true });
  writeFileSync(at('a/kept.txt'), 'x');
  writeFileSync(at('a/only-excluded/x.tmp'), 'x');
  const plain = compileMatcher([], new Map(), { root });
  const noTmp = compileMatcher([{ kind: 'exclude', value: '*.tmp' }], new Map(), { root });

  it('nothing more to send while the directory holds a file', async () => {
    assert.equal(await emptiedAt(root, 'a', plain), undefined);
  });

  it('an emptied chain: the nearest directory above that holds a file', async () => {
    assert.equal(await emptiedAt(root, 'a/b/c', plain), 'a');
  });

  it('files the filters exclude do not count, as with rsync -m', async () => {
    assert.equal(await holdsFile(root, 'a/only-excluded', plain), true);
    assert.equal(await holdsFile(root, 'a/only-excluded', noTmp), false);
    assert.equal(await emptiedAt(root, 'a/only-excluded', noTmp), 'a');
  });

  it('up to the root; nothing from a directory that is gone itself (its own delete looks from its parent)', async () => {
    rmSync(at('a/kept.txt'));
    rmSync(at('a/only-excluded'), { recursive: true });
    assert.equal(await emptiedAt(root, 'a/b/c', plain), '');
    assert.equal(await emptiedAt(root, 'gone/deeper', plain), undefined);
    rmSync(root, { recursive: true, force: true });
  });
});
