/** src/watch/listing.ts and snapshot.ts: real find and sort on a real tree, then the diff. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, link, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listedDirectories, writeListing, pruneExpression } from '../../src/watch/listing.js';
import { isListing, listingOrder, readListing } from '../../src/watch/listing-read.js';
import { changesBetween, changesSinceSnapshot, modifiedSince, writeTreeSnapshot } from '../../src/watch/snapshot.js';
import type { ChangeEvent } from '../../src/watch/change-source.js';
import { encodeName } from '../../src/sync/names.js';

let dir = '';
let n = 0;
before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gsyncd-listing-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fresh master and state directory; `make` fills the master before the snapshot. */
async function tree(make: (m: string) => Promise<void>): Promise<{ m: string; snap: string }> {
  const m = path.join(dir, `m${String(++n)}`);
  await mkdir(m);
  await make(m);
  const snap = path.join(dir, `snap${String(n)}`);
  await writeTreeSnapshot(m, snap, []);
  return { m, snap };
}

const shown = (events: readonly ChangeEvent[]): string[] => events.map((e) => `${e.kind} ${e.from === undefined ? '' : `${e.from} -> `}${e.path}`).sort();

describe('writeListing', () => {
  it('lists every entry once, in listing order (each path with // after it, as bytes), with type and size, names with spaces and newlines whole', async () => {
    const { snap } = await tree(async (m) => {
      await mkdir(path.join(m, 'a/b'), { recursive: true });
      await writeFile(path.join(m, 'a/b/f'), 'hello');
      await writeFile(path.join(m, 'a-b'), '');
      await writeFile(path.join(m, 'two words\nand a line'), 'xy');
      await symlink('a/b/f', path.join(m, 'link'));
    });
    const rows: string[] = [];
    for await (const e of readListing(snap)) rows.push(`${e.type} ${e.size} ${JSON.stringify(e.key.toString())}`);
    // "a-b//" before "a//": '-' is 0x2d, '/' 0x2f. A parent comes before its children.
    assert.deepEqual(rows, ['f 0 "a-b"', 'd 4096 "a"', 'd 4096 "a/b"', 'f 5 "a/b/f"', 'l 5 "link"', 'f 2 "two words\\nand a line"']);
  });

  it('lists the same records whether one find walks the tree or one per core does, names like options included', async () => {
    const odd = ['-name', '(', '!', 'a b', 'x\ny', '--', 'dir'];
    const { m, snap } = await tree(async (t) => {
      for (const name of odd) {
        await mkdir(path.join(t, name, 'sub'), { recursive: true });
        await writeFile(path.join(t, name, 'sub', 'f'), name);
      }
    });
    const keys = async (file: string): Promise<Buffer[]> => {
      const out: Buffer[] = [];
      for await (const e of readListing(file)) out.push(Buffer.from(e.key));
      return out;
    };
    const split = await keys(snap);
    assert.equal(split.length, odd.length * 3);
    for (let i = 1; i < split.length; i++) assert.ok(listingOrder(split[i - 1] ?? Buffer.alloc(0), split[i] ?? Buffer.alloc(0)) < 0, `${String(split[i])} out of order`);
    // A top-level name that is not UTF-8 cannot be an argument: one find lists the root.
    const bad = Buffer.concat([Buffer.from(`${m}/`), Buffer.from([0xff])]);
    await writeFile(bad, '');
    const whole = path.join(dir, 'whole.listing');
    await writeListing(m, whole, []);
    const one = await keys(whole);
    assert.deepEqual(
      one.filter((k) => !k.equals(Buffer.from([0xff]))),
      split,
    );
    assert.deepEqual((await listedDirectories(whole)).map((d) => Buffer.from(d, 'latin1').toString()).sort(), odd.flatMap((n) => [n, `${n}/sub`]).sort());
    const dirs = await listedDirectories(whole);
    for (const [i, d] of dirs.entries()) if (d.includes('/')) assert.ok(dirs.indexOf(d.slice(0, d.lastIndexOf('/'))) < i, `${d} before its parent`);
  });

  it('finds the directories of a listing, one with a time before 1970 too', async () => {
    const { snap } = await tree(async (t) => {
      await mkdir(path.join(t, 'old/new'), { recursive: true });
      await writeFile(path.join(t, 'old/f'), '');
      await utimes(path.join(t, 'old'), -100, -100);
    });
    assert.deepEqual(await listedDirectories(snap), ['old', 'old/new']);
  });

  it('leaves out the directories the filters exclude whole, anchored or anywhere', async () => {
    const m = path.join(dir, 'pruned');
    for (const d of ['node_modules/x', 'src/node_modules', 'build/out', 'src/build', 'a/cache/keep']) await mkdir(path.join(m, d), { recursive: true });
    await writeFile(path.join(m, 'src/node_modules/f'), '');
    const file = path.join(dir, 'pruned.listing');
    await writeListing(m, file, ['node_modules', '/build', 'cache/keep']);
    const rows: string[] = [];
    for await (const e of readListing(file)) rows.push(e.key.toString());
    assert.deepEqual(rows, ['a', 'a/cache', 'src', 'src/build']);
    assert.deepEqual(pruneExpression([]), []);
  });

  it('refuses a tree it cannot list, and leaves no listing behind', async () => {
    const file = path.join(dir, 'missing.listing');
    await assert.rejects(writeListing(path.join(dir, 'no-such-dir'), file, []), /find in .*no-such-dir could not start/);
    assert.equal(await isListing(file), false);
  });

  it('tells a listing from a file of another format', async () => {
    const other = path.join(dir, 'parcel-snapshot');
    await writeFile(other, 'binary\0of another kind');
    assert.equal(await isListing(other), false);
    await assert.rejects(readListing(other).next(), /is not a gsyncd listing/);
  });
});

describe('changesSinceSnapshot', () => {
  it('reports a renamed file and a renamed directory as one rename each', async () => {
    const { m, snap } = await tree(async (t) => {
      await mkdir(path.join(t, 'dir/sub'), { recursive: true });
      for (const f of ['dir/1', 'dir/2', 'dir/sub/3', 'file']) await writeFile(path.join(t, f), f);
    });
    await rename(path.join(m, 'dir'), path.join(m, 'moved'));
    await rename(path.join(m, 'file'), path.join(m, 'moved/sub/file'));
    assert.deepEqual(shown(await changesSinceSnapshot(m, snap, [])), ['rename dir -> moved', 'rename file -> moved/sub/file']);
  });

  it('reports edits after a rename as an update at the new name', async () => {
    const { m, snap } = await tree((t) => writeFile(path.join(t, 'a'), 'one'));
    await rename(path.join(m, 'a'), path.join(m, 'b'));
    await appendFile(path.join(m, 'b'), ' two');
    assert.deepEqual(shown(await changesSinceSnapshot(m, snap, [])), ['rename a -> b', 'update b']);
  });

  it('renames files and directories with newlines and names that are not UTF-8 as one event each, the names exact', async () => {
    const bad = Buffer.from([0x6e, 0xe9, 0xff]);
    const badDir = Buffer.from([0x64, 0xc3, 0x28]);
    const under = (root: string, ...parts: Buffer[]): Buffer => Buffer.concat([Buffer.from(`${root}/`), ...parts]);
    const { m, snap } = await tree(async (t) => {
      await writeFile(path.join(t, 'line\nbreak'), 'x');
      await writeFile(under(t, bad), 'y');
      await mkdir(under(t, badDir));
      await writeFile(under(t, badDir, Buffer.from('/in')), 'z');
    });
    await rename(path.join(m, 'line\nbreak'), path.join(m, 'other\nline'));
    await rename(under(m, bad), under(m, bad, Buffer.from('2')));
    await rename(under(m, badDir), under(m, badDir, Buffer.from('\n2')));
    const events = await changesSinceSnapshot(m, snap, []);
    assert.deepEqual(shown(events), ['rename d\udcc3( -> d\udcc3(\n2', 'rename line\nbreak -> other\nline', 'rename n\udce9\udcff -> n\udce9\udcff2']);
    // Each path is the name's own bytes.
    const pairs = events.filter((e) => e.kind === 'rename').map((e) => `${encodeName(e.from ?? '').toString('hex')} ${encodeName(e.path).toString('hex')}`);
    const hex = (...b: Buffer[]): string => Buffer.concat(b).toString('hex');
    assert.deepEqual(pairs.sort(), [`${hex(badDir)} ${hex(badDir, Buffer.from('\n2'))}`, `${hex(bad)} ${hex(bad, Buffer.from('2'))}`, `${hex(Buffer.from('line\nbreak'))} ${hex(Buffer.from('other\nline'))}`].sort());
  });

  it('reports a move out of the tree as a delete and a move in as a create', async () => {
    const outside = path.join(dir, 'outside');
    await mkdir(path.join(outside, 'in/deep'), { recursive: true });
    const { m, snap } = await tree((t) => writeFile(path.join(t, 'leaving'), 'x'));
    await rename(path.join(m, 'leaving'), path.join(outside, 'left'));
    await rename(path.join(outside, 'in'), path.join(m, 'arrived'));
    assert.deepEqual(shown(await changesSinceSnapshot(m, snap, [])), ['create arrived', 'create arrived/deep', 'delete leaving']);
  });

  it('keeps hard links as they are: a new link is a create, never a rename', async () => {
    const { m, snap } = await tree((t) => writeFile(path.join(t, 'a'), 'x'));
    await link(path.join(m, 'a'), path.join(m, 'b'));
    assert.deepEqual(shown(await changesSinceSnapshot(m, snap, [])), ['create b']);
  });

  it('a stop during the comparison rejects it, and nothing is left unhandled', async () => {
    const { m, snap } = await tree(async (t) => {
      for (let i = 0; i < 200; i++) await writeFile(path.join(t, `f${String(i)}`), 'x');
    });
    const again = path.join(dir, 'again.listing');
    await writeListing(m, again, []);
    const stop = new AbortController();
    const compared = changesBetween(snap, again, stop.signal);
    stop.abort();
    await assert.rejects(compared);
    // An unhandled rejection would end this test file here.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });

  it('finds nothing in a tree that did not change, and leaves no scan behind', async () => {
    const { m, snap } = await tree(async (t) => {
      await mkdir(path.join(t, 'd'));
      await writeFile(path.join(t, 'd/f'), 'x');
    });
    assert.deepEqual(await changesSinceSnapshot(m, snap, []), []);
    const left = (await readFile(snap)).length;
    assert.ok(left > 0);
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('.scan')), []);
  });
});

describe('modifiedSince', () => {
  it("gives a listing's entries modified since a time, files and links but no directories, names exact", async () => {
    const bad = Buffer.from([0x6e, 0xe9, 0xff]);
    const { snap } = await tree(async (t) => {
      await mkdir(path.join(t, 'd with space'));
      await writeFile(path.join(t, 'd with space', 'new file'), 'x');
      await writeFile(Buffer.concat([Buffer.from(`${t}/`), bad]), 'y');
      await writeFile(path.join(t, 'old'), 'z');
      await utimes(path.join(t, 'old'), 1_000_000, 1_000_000);
      await symlink('old', path.join(t, 'link'));
    });
    const now = Math.floor(Date.now() / 1000);
    const recent = (await modifiedSince(snap, now - 600)).map((e) => `${e.kind} ${encodeName(e.path).toString('hex')}`).sort();
    assert.deepEqual(recent, ['d with space/new file', 'link', bad].map((p) => `update ${Buffer.from(p).toString('hex')}`).sort());
    assert.deepEqual(await modifiedSince(snap, now + 600), []);
  });
});
