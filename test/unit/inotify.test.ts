// src/watch/inotify.ts against the real kernel: renames come as one event (files and
// directories, odd names too), a moved directory's later events come under its new name, one
// moved out is a delete and goes silent, one moved in is watched, and a tree made at once is
// reported again once watched. A sentinel file written last stands for "nothing else came":
// the kernel queues one directory's events in order, and the helper passes them on in order.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { ChangeEvent, ChangeSource, WatchSeed } from '../../src/watch/change-source.js';
import { listedDirectories } from '../../src/watch/listing.js';
import { writeTreeSnapshot } from '../../src/watch/snapshot.js';
import { inotifySource } from '../../src/watch/inotify.js';
import { pollUntil } from '../helpers/wait.js';
import { encodeName } from '../../src/sync/names.js';

interface Watched {
  readonly root: string;
  readonly outside: string;
  readonly source: ChangeSource;
  /** Every event so far, as `kind:path` (`rename:to<-from`), and the troubles reported. */
  readonly seen: string[];
  readonly troubles: string[];
  /** Waits for `line` among the events since `from`; returns them. */
  until(line: string, from?: number): Promise<string[]>;
  close(): Promise<void>;
}

const show = (e: ChangeEvent): string => `${e.kind}:${e.path}${e.from === undefined ? '' : `<-${e.from}`}`;

async function watched(prepare: (root: string) => void, ignoredDirNames: readonly string[] = [], seedFrom?: (root: string) => Promise<WatchSeed>): Promise<Watched> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-inotify-'));
  const root = path.join(dir, 'root');
  const outside = path.join(dir, 'outside');
  mkdirSync(root);
  mkdirSync(outside);
  prepare(root);
  const seen: string[] = [];
  const troubles: string[] = [];
  const source = inotifySource({ root, ignoredDirNames, pollIntervalMs: 1000 });
  await source.start({
    onEvents: (events) => seen.push(...events.map(show)),
    onLost: (p, reason) => troubles.push(`lost ${p}: ${reason}`),
    onLimit: (reason) => troubles.push(`limit: ${reason}`),
  }, await seedFrom?.(root));
  return {
    root,
    outside,
    source,
    seen,
    troubles,
    until: (line, from = 0) =>
      pollUntil(() => (seen.indexOf(line, from) >= 0 ? seen.slice(from) : undefined), () => `${line} among ${JSON.stringify(seen.slice(from))}`, {
        timeoutMs: 10_000,
        intervalMs: 10,
      }),
    close: async () => {
      await source.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for `line` twice among the events since `from`. */
const twice = (w: Watched, line: string, from = 0): Promise<true> =>
  pollUntil(() => (w.seen.slice(from).filter((e) => e === line).length >= 2 ? true : undefined), () => `${line} twice in ${JSON.stringify(w.seen.slice(from))}`, {
    timeoutMs: 10_000,
    intervalMs: 10,
  });

describe('--watcher inotify', () => {
  it('reports a file renamed as one rename, names with a newline too', async () => {
    const w = await watched((root) => {
      writeFileSync(path.join(root, 'a'), 'a\n');
      writeFileSync(path.join(root, 'line\nbreak'), 'b\n');
    });
    try {
      renameSync(path.join(w.root, 'a'), path.join(w.root, 'b'));
      renameSync(path.join(w.root, 'line\nbreak'), path.join(w.root, 'still\nodd'));
      writeFileSync(path.join(w.root, 'sentinel'), '');
      const events = await w.until('create:sentinel');
      assert.deepEqual(events.slice(0, 2), ['rename:b<-a', 'rename:still\nodd<-line\nbreak']);
      assert.deepEqual(w.troubles, []);
    } finally {
      await w.close();
    }
  });

  it('renames a name that is not valid UTF-8 as one event, and watches a directory of such a name', async () => {
    const odd = Buffer.from('f\xff', 'latin1');
    const w = await watched((root) => {
      mkdirSync(Buffer.concat([Buffer.from(`${root}/`), odd]));
    });
    try {
      const dir = Buffer.concat([Buffer.from(`${w.root}/`), odd]);
      writeFileSync(Buffer.concat([dir, Buffer.from('/inside')]), 'x\n');
      renameSync(dir, path.join(w.root, 'plain'));
      writeFileSync(path.join(w.root, 'plain', 'later'), 'y\n');
      // A file of such a name, with a newline, renamed to another: one event, bytes kept.
      writeFileSync(Buffer.concat([Buffer.from(`${w.root}/`), Buffer.from('x\n\xfe', 'latin1')]), 'z\n');
      renameSync(Buffer.concat([Buffer.from(`${w.root}/`), Buffer.from('x\n\xfe', 'latin1')]), Buffer.concat([Buffer.from(`${w.root}/`), Buffer.from('y\n\xfe', 'latin1')]));
      const events = await w.until('create:plain/later');
      assert.ok(events.includes('rename:y\n\udcfe<-x\n\udcfe'), JSON.stringify(events));
      // The session gets the name's bytes: the one that is not UTF-8 as its escape (sync/names.ts).
      assert.deepEqual(events.slice(0, 3), ['create:f\udcff/inside', 'update:f\udcff/inside', 'rename:plain<-f\udcff']);
      assert.deepEqual(encodeName('f\udcff'), odd);
    } finally {
      await w.close();
    }
  });

  it('reports a directory renamed as one rename, and what happens in it later under its new name', async () => {
    const w = await watched((root) => {
      mkdirSync(path.join(root, 'd/sub/deep'), { recursive: true });
    });
    try {
      renameSync(path.join(w.root, 'd'), path.join(w.root, 'e'));
      writeFileSync(path.join(w.root, 'e/sub/deep/f'), 'f\n');
      const events = await w.until('update:e/sub/deep/f');
      assert.deepEqual(events, ['rename:e<-d', 'create:e/sub/deep/f', 'update:e/sub/deep/f']);
    } finally {
      await w.close();
    }
  });

  it('swaps and chains of renames come out in order', async () => {
    const w = await watched((root) => {
      for (const n of ['a', 'b', 'c']) mkdirSync(path.join(root, n));
    });
    try {
      renameSync(path.join(w.root, 'a'), path.join(w.root, 't'));
      renameSync(path.join(w.root, 'b'), path.join(w.root, 'a'));
      renameSync(path.join(w.root, 'c'), path.join(w.root, 'b'));
      renameSync(path.join(w.root, 't'), path.join(w.root, 'c'));
      writeFileSync(path.join(w.root, 'c', 'was-a'), '');
      const events = await w.until('create:c/was-a');
      assert.deepEqual(events.slice(0, 4), ['rename:t<-a', 'rename:a<-b', 'rename:b<-c', 'rename:c<-t']);
    } finally {
      await w.close();
    }
  });

  it('a directory moved out is a delete and goes silent; moved back in, it is new and watched', async () => {
    const w = await watched((root) => {
      mkdirSync(path.join(root, 'd/sub'), { recursive: true });
    });
    try {
      renameSync(path.join(w.root, 'd'), path.join(w.outside, 'd'));
      writeFileSync(path.join(w.outside, 'd/sub/while-out'), '');
      writeFileSync(path.join(w.root, 'sentinel'), '');
      let events = await w.until('create:sentinel');
      assert.deepEqual(events, ['delete:d', 'create:sentinel']);
      const mark = w.seen.length;
      renameSync(path.join(w.outside, 'd'), path.join(w.root, 'back'));
      // Reported when it comes in, and again once back/sub is watched: a file written before
      // that raises no event (the second report has the session send it whole).
      await twice(w, 'create:back', mark);
      writeFileSync(path.join(w.root, 'back/sub/inside'), '');
      events = await w.until('create:back/sub/inside', mark);
      assert.ok(!events.some((e) => e.includes('while-out')), JSON.stringify(events));
      assert.deepEqual(w.troubles, []);
    } finally {
      await w.close();
    }
  });

  it('an entry renamed into a directory that then moves out is gone: its old name a delete', async () => {
    const w = await watched((root) => {
      mkdirSync(path.join(root, 'd/sub'), { recursive: true });
      writeFileSync(path.join(root, 'f'), 'f\n');
    });
    try {
      // Before the move out, and after it (the directory is outside by then).
      renameSync(path.join(w.root, 'f'), path.join(w.root, 'd/sub/f'));
      renameSync(path.join(w.root, 'd'), path.join(w.outside, 'd'));
      writeFileSync(path.join(w.root, 'g'), 'g\n');
      renameSync(path.join(w.root, 'g'), path.join(w.outside, 'd/sub/g'));
      writeFileSync(path.join(w.root, 'sentinel'), '');
      const events = await w.until('create:sentinel');
      assert.deepEqual(events, ['rename:d/sub/f<-f', 'delete:d', 'create:g', 'update:g', 'delete:g', 'create:sentinel']);
    } finally {
      await w.close();
    }
  });

  it('a directory moved out and straight back in under another name stays watched', async () => {
    const w = await watched((root) => {
      mkdirSync(path.join(root, 'a/b'), { recursive: true });
    });
    try {
      // Both moves within the 20 ms a move out waits for its second half.
      renameSync(path.join(w.root, 'a'), path.join(w.outside, 'away'));
      renameSync(path.join(w.outside, 'away'), path.join(w.root, 'back'));
      await w.until('create:back');
      writeFileSync(path.join(w.root, 'back/b/f'), '');
      writeFileSync(path.join(w.root, 'back/g'), '');
      writeFileSync(path.join(w.root, 'sentinel'), '');
      const events = await w.until('create:sentinel');
      assert.ok(events.includes('create:back/b/f'), JSON.stringify(events));
      assert.ok(events.includes('create:back/g'), JSON.stringify(events));
      assert.deepEqual(w.troubles, []);
    } finally {
      await w.close();
    }
  });

  it('a tree made at once is reported again once every directory in it is watched', async () => {
    const w = await watched(() => undefined);
    try {
      mkdirSync(path.join(w.root, 'n/o/p'), { recursive: true });
      // Reported once as made, and once more after n/o/p is watched (n is then sent whole).
      await twice(w, 'create:n');
      writeFileSync(path.join(w.root, 'n/o/p/q'), '');
      await w.until('create:n/o/p/q');
    } finally {
      await w.close();
    }
  });

  it("the root's own attributes changed: an update of the root", async () => {
    const w = await watched(() => undefined);
    try {
      chmodSync(w.root, 0o750);
      const events = await w.until('update:');
      assert.deepEqual(events, ['update:']);
    } finally {
      await w.close();
    }
  });

  it('directories that vanish before they can be watched are no trouble', async () => {
    const w = await watched(() => undefined);
    try {
      for (let i = 0; i < 200; i++) {
        const d = path.join(w.root, `.pkg-${String(i)}`);
        mkdirSync(path.join(d, 'inner'), { recursive: true });
        rmSync(d, { recursive: true });
      }
      writeFileSync(path.join(w.root, 'sentinel'), '');
      await w.until('create:sentinel');
      assert.deepEqual(w.troubles, []);
    } finally {
      await w.close();
    }
  });

  it("starts from a saved listing's directories: those made, renamed or removed since are no trouble, and watched", async () => {
    const w = await watched(
      (root) => {
        for (const d of ['keep', 'old/inner', 'gone', 'deep/x', 'still/same']) mkdirSync(path.join(root, d), { recursive: true });
      },
      [],
      async (root) => {
        // The listing of a clean stop's snapshot, then what changed while stopped.
        const since = Date.now();
        const snap = path.join(root, '..', 'snapshot');
        await writeTreeSnapshot(root, snap, []);
        renameSync(path.join(root, 'old'), path.join(root, 'new'));
        mkdirSync(path.join(root, 'keep/made'));
        rmSync(path.join(root, 'gone'), { recursive: true });
        mkdirSync(path.join(root, 'deep/x/y'));
        return { directories: () => listedDirectories(snap), since };
      },
    );
    try {
      for (const d of ['new/inner', 'keep/made', 'deep/x/y', 'still/same', 'keep']) writeFileSync(path.join(w.root, d, 'f'), '');
      writeFileSync(path.join(w.root, 'sentinel'), '');
      const events = await w.until('create:sentinel');
      for (const d of ['new/inner', 'keep/made', 'deep/x/y', 'still/same', 'keep']) assert.ok(events.includes(`create:${d}/f`), `create:${d}/f in ${JSON.stringify(events)}`);
      assert.deepEqual(w.troubles, []);
    } finally {
      await w.close();
    }
  });

  it('leaves directories the filters exclude whole unwatched', async () => {
    const w = await watched((root) => {
      mkdirSync(path.join(root, 'node_modules/pkg'), { recursive: true });
    }, ['node_modules']);
    try {
      writeFileSync(path.join(w.root, 'node_modules/pkg/index.js'), '');
      writeFileSync(path.join(w.root, 'sentinel'), '');
      const events = await w.until('create:sentinel');
      assert.deepEqual(events, ['create:sentinel']);
    } finally {
      await w.close();
    }
  });
});
