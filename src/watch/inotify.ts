/**
 * `--watcher inotify`: one inotify watch per directory, through the helper (inotify-helper.ts),
 * and a tree of the watched directories (dir-tree.ts): memory grows with the directories, not
 * the files. Renames within the tree come as one event, paired by the kernel's cookie; a
 * directory moved out is a delete and its watches go; one moved in is a new subtree.
 *
 * A new directory is watched, then listed for the directories inside it (watched in turn),
 * then reported once more: what was written in it before its watch raised no event, and the
 * second report has it sent whole after every watch below it is in place.
 */
import type { ChildProcess } from 'node:child_process';
import { lstat, readdir } from 'node:fs/promises';
import { DirTree, type DirNode } from './dir-tree.js';
import type { ChangeEvent, ChangeHandlers, ChangeSource, WatchOptions, WatchSeed } from './change-source.js';
import { inotifySyscalls, spawnInotifyHelper } from './inotify-helper.js';
import { encodeAdd, encodeRemove, HelperReader, IN, parseEvents, WATCH_MASK, type AddAnswer, type InotifyEvent } from './inotify-proto.js';
import { listDirectories } from './listing.js';
import { decodeName } from '../sync/names.js';

/** How long a move's first half waits for its second before it counts as a move out of the tree. */
const MOVE_PAIR_MS = 20;
/** Directories listed at once while watching a tree. */
const WALKERS = 8;

const ENOENT = 2;
const ENOTDIR = 20;
const ENOSPC = 28;

const errnoText = (n: number): string =>
  n === ENOSPC ? 'the limit of inotify watches is reached (fs.inotify.max_user_watches)' : n === 13 ? 'permission denied' : `errno ${String(n)}`;

/** Whether the directory at `rel` is one the filters exclude whole (the matcher's plain names). */
export function ignoredBy(names: readonly string[]): (rel: string) => boolean {
  const anchored = new Set(names.filter((n) => n.startsWith('/')).map((n) => n.slice(1)));
  const suffixes = names.filter((n) => !n.startsWith('/') && n.includes('/'));
  const plain = new Set(names.filter((n) => !n.startsWith('/') && !n.includes('/')));
  return (rel) => {
    if (anchored.has(rel)) return true;
    if (plain.has(rel.slice(rel.lastIndexOf('/') + 1))) return true;
    return suffixes.some((s) => rel === s || rel.endsWith(`/${s}`));
  };
}

/** latin1 (a byte per char) → what the session gets: UTF-8, each byte that is not as its escape (sync/names.ts). */
const toPath = (latin1: string): string => decodeName(Buffer.from(latin1, 'latin1'));

interface PendingMove {
  readonly cookie: number;
  readonly rel: string;
  readonly node: DirNode | undefined;
  /** Its place in `out`: the delete it becomes if no second half comes. */
  readonly at: number;
}

export function inotifySource(o: WatchOptions): ChangeSource {
  const rootBytes = Buffer.from(o.root);
  const ignored = ignoredBy(o.ignoredDirNames);
  let helper: ChildProcess | undefined;
  let tree: DirTree | undefined;
  let handlers: ChangeHandlers | undefined;
  let stopped = true;
  let limitReached = false;
  let nextId = 1;
  const answers = new Map<number, (a: AddAnswer) => void>();
  /**
   * Events not yet handed on, with the directory whose watch reported each: held while a
   * move's first half waits for its second.
   */
  let out: ({ event: ChangeEvent; from: DirNode } | undefined)[] = [];
  const moves = new Map<number, PendingMove>();
  let moveTimer: NodeJS.Timeout | undefined;

  const abs = (rel: string): Buffer => (rel === '' ? rootBytes : Buffer.concat([rootBytes, Buffer.from(`/${rel}`, 'latin1')]));
  const isStopped = (): boolean => stopped;

  const reachedLimit = (reason: string): void => {
    if (limitReached) return;
    limitReached = true;
    handlers?.onLimit(reason);
  };

  const addWatch = (rel: string): Promise<AddAnswer> =>
    new Promise((resolve) => {
      const id = nextId++;
      answers.set(id, resolve);
      helper?.stdin?.write(encodeAdd(id, WATCH_MASK, abs(rel)));
    });

  const removeWatches = (wds: readonly number[]): void => {
    for (const wd of wds) helper?.stdin?.write(encodeRemove(wd));
  };

  /**
   * The watch of `name` under `parent` (at `rel`) as the helper answered, placed in the tree;
   * undefined when it could not be placed (said, unless the directory is gone again: its
   * delete is an event), when the directory is watched already (a create event and a listing
   * both found it, or a bind mount), or when its parent left the tree meanwhile.
   */
  function placed(a: AddAnswer, parent: DirNode | undefined, name: string, rel: string): DirNode | undefined {
    if (isStopped() || !tree) return undefined;
    if (a.wd < 0) {
      if (a.errno === ENOSPC) reachedLimit(`cannot watch ${toPath(rel)}: ${errnoText(a.errno)}`);
      else if (a.errno !== ENOENT && a.errno !== ENOTDIR) handlers?.onLost(toPath(rel), `cannot watch the directory: ${errnoText(a.errno)}`);
      return undefined;
    }
    const known = tree.node(a.wd);
    if (known) {
      // The same directory, moved out of the tree a moment ago and back in under this name:
      // its move out is not settled yet. It keeps its watches, under its new place.
      const out = [...moves.values()].find((m) => m.node === known);
      if (!out || !parent || tree.pathOf(parent) === undefined) return undefined;
      moves.delete(out.cookie);
      tree.move(known, parent, name);
      return known;
    }
    if (!parent || tree.pathOf(parent) === undefined) {
      removeWatches([a.wd]);
      return undefined;
    }
    return tree.add(parent, name, a.wd);
  }

  /** Watches `name` in `parent` (at `rel`), unless the filters exclude it whole. */
  async function watchDir(parent: DirNode, name: string, rel: string): Promise<DirNode | undefined> {
    if (limitReached || ignored(toPath(rel))) return undefined;
    return placed(await addWatch(rel), parent, name, rel);
  }

  /**
   * The directories below `start` not watched yet, each watched before it is listed, WALKERS
   * listed at once.
   */
  async function watchBelow(start: DirNode): Promise<void> {
    let running = 0;
    const waiting: (() => void)[] = [];
    const expand = async (dir: DirNode): Promise<DirNode[]> => {
      const rel = tree?.pathOf(dir);
      if (rel === undefined || isStopped()) return [];
      let entries;
      try {
        entries = await readdir(abs(rel), { withFileTypes: true, encoding: 'buffer' });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') handlers?.onLost(toPath(rel), `cannot list the directory: ${code ?? String(e)}`);
        return [];
      }
      const subdirs = entries.filter((d) => d.isDirectory()).map((d) => d.name.toString('latin1')).filter((name) => !dir.children.has(name));
      const watched = await Promise.all(subdirs.map((name) => watchDir(dir, name, rel === '' ? name : `${rel}/${name}`)));
      return watched.filter((n): n is DirNode => n !== undefined);
    };
    const visit = async (dir: DirNode): Promise<void> => {
      if (running >= WALKERS) await new Promise<void>((r) => waiting.push(r));
      running++;
      let children: DirNode[];
      try {
        children = await expand(dir);
      } finally {
        running--;
        waiting.shift()?.();
      }
      await Promise.all(children.map(visit));
    };
    await visit(start);
  }

  /**
   * Every directory of the tree at start: listed by find (or those of the seed, a saved
   * listing's), each watched, parents first. A directory made after the list was taken
   * and before its parent's watch raised no event, but changed that parent: the directories
   * changed since the list began are listed again (a stat each, not a second pass over every
   * file), and what is new in them is watched with all below. A directory of the list that
   * is gone is no error.
   */
  async function watchTree(seed: WatchSeed | undefined): Promise<void> {
    const t = tree;
    if (!t) return;
    // File times come from a coarse clock, a tick behind Date.now(): a second of margin.
    const since = (seed?.since ?? Date.now()) - 1000;
    const byPath = new Map<string, DirNode>([['', t.root]]);
    const dirs = seed ? (await seed.directories()).filter((p) => !ignored(toPath(p))) : await listDirectories(o.root, o.ignoredDirNames);
    const answers = await Promise.all(dirs.map((p): Promise<AddAnswer | undefined> => (limitReached ? Promise.resolve(undefined) : addWatch(p))));
    // find lists parents first: a parent is in the tree before its children come.
    dirs.forEach((p, i) => {
      const a = answers[i];
      const slash = p.lastIndexOf('/');
      const node = a && placed(a, byPath.get(slash < 0 ? '' : p.slice(0, slash)), p.slice(slash + 1), p);
      if (node) byPath.set(p, node);
    });
    const all = [...byPath];
    for (let i = 0; i < all.length && !isStopped() && !limitReached; i += 64) {
      const some = all.slice(i, i + 64);
      // Only a subdirectory not watched yet matters. A directory's link count is 2 and one per
      // subdirectory (ext4, xfs, tmpfs; btrfs says 1, and is always listed): where it matches
      // the watched ones, nothing is missing, and its entries need not be read (a changed
      // directory of 1,000 files is 1,000 names to read).
      const changed = await Promise.all(
        some.map(([p, node]) =>
          lstat(abs(p)).then(
            (st) => st.ctimeMs >= since && st.nlink !== node.children.size + 2,
            () => false,
          ),
        ),
      );
      for (const [j, [, node]] of some.entries()) if (changed[j] === true) await watchBelow(node);
    }
  }

  /** A directory appeared (made, or moved in): watch it and all below, then report it again. */
  async function newDirectory(parent: DirNode, name: string, rel: string): Promise<void> {
    const node = await watchDir(parent, name, rel);
    if (!node) return;
    await watchBelow(node);
    if (!isStopped() && tree?.pathOf(node) !== undefined) handlers?.onEvents([{ path: toPath(tree.pathOf(node) ?? rel), kind: 'create' }]);
  }

  const flush = (): void => {
    if (moves.size > 0) return;
    const events = out.flatMap((e) => (e === undefined ? [] : [e.event]));
    out = [];
    if (events.length > 0 && !isStopped()) handlers?.onEvents(events);
  };

  /**
   * Moves whose second half never came went out of the tree: deletes, and their watches go,
   * with what those watches reported after the move (under a path that is no longer theirs).
   * What they reported before it stands (an entry renamed into the directory, then the
   * directory moved out: the old name is gone from the tree). A rename into the directory
   * after it left is the delete of its old name.
   */
  const settleMoves = (): void => {
    moveTimer = undefined;
    for (const m of moves.values()) {
      if (!m.node || !tree) continue;
      const gone = new Set(tree.detach(m.node));
      removeWatches([...gone]);
      out = out.map((e, i) => {
        if (!e || i <= m.at || !gone.has(e.from.wd)) return e;
        return e.event.kind === 'rename' && e.event.from !== undefined ? { event: { path: e.event.from, kind: 'delete' }, from: e.from } : undefined;
      });
    }
    moves.clear();
    flush();
  };

  function handle(ev: InotifyEvent): void {
    if (!tree) return;
    if (ev.mask & IN.Q_OVERFLOW) {
      handlers?.onLost('', "the kernel's inotify event queue overflowed (fs.inotify.max_queued_events)");
      return;
    }
    if (ev.mask & IN.IGNORED) {
      tree.forget(ev.wd);
      return;
    }
    const dir = tree.node(ev.wd);
    if (!dir) return;
    if (ev.name.length === 0) {
      // A directory's own change is reported by its parent's watch, by name; the root has none
      // (its removal or replacement is the master guard's to see).
      if (dir === tree.root && ev.mask & IN.ATTRIB) out.push({ event: { path: '', kind: 'update' }, from: dir });
      return;
    }
    const dirPath = tree.pathOf(dir);
    if (dirPath === undefined) return;
    const name = ev.name.toString('latin1');
    const rel = dirPath === '' ? name : `${dirPath}/${name}`;
    const isDir = (ev.mask & IN.ISDIR) !== 0;
    if (ev.mask & IN.MOVED_FROM) {
      moves.set(ev.cookie, { cookie: ev.cookie, rel, node: isDir ? dir.children.get(name) : undefined, at: out.length });
      out.push({ event: { path: toPath(rel), kind: 'delete' }, from: dir });
      return;
    }
    if (ev.mask & IN.MOVED_TO) {
      const from = moves.get(ev.cookie);
      // What was at the new name is replaced (rename(2) over an empty directory).
      const replaced = dir.children.get(name);
      if (replaced && replaced !== from?.node) removeWatches(tree.detach(replaced));
      if (!from) {
        out.push({ event: { path: toPath(rel), kind: 'create' }, from: dir });
        if (isDir) void newDirectory(dir, name, rel);
        return;
      }
      moves.delete(ev.cookie);
      out[from.at] = undefined;
      out.push({ event: { path: toPath(rel), kind: 'rename', from: toPath(from.rel) }, from: dir });
      if (!isDir) return;
      if (from.node && !ignored(toPath(rel))) tree.move(from.node, dir, name);
      else {
        if (from.node) removeWatches(tree.detach(from.node));
        void newDirectory(dir, name, rel);
      }
      return;
    }
    if (ev.mask & IN.CREATE) {
      out.push({ event: { path: toPath(rel), kind: 'create' }, from: dir });
      if (isDir) void newDirectory(dir, name, rel);
      return;
    }
    if (ev.mask & IN.DELETE) {
      out.push({ event: { path: toPath(rel), kind: 'delete' }, from: dir });
      const gone = isDir ? dir.children.get(name) : undefined;
      // The kernel drops the watches of a removed directory itself (IN_IGNORED).
      if (gone) tree.detach(gone);
      return;
    }
    if (ev.mask & (IN.MODIFY | IN.ATTRIB)) out.push({ event: { path: toPath(rel), kind: 'update' }, from: dir });
  }

  const onRecords = (records: Buffer): void => {
    for (const ev of parseEvents(records)) handle(ev);
    if (moves.size === 0) flush();
    else moveTimer ??= setTimeout(settleMoves, MOVE_PAIR_MS);
  };

  return {
    /** May be called again after stop(): the master root came back after an unmount. */
    async start(h: ChangeHandlers, seed?: WatchSeed): Promise<void> {
      const calls = inotifySyscalls(process.arch);
      if (!calls) throw new Error(`--watcher inotify does not know the system calls of this architecture (${process.arch}); use --watcher native`);
      handlers = h;
      stopped = false;
      limitReached = false;
      const child = spawnInotifyHelper(calls);
      helper = child;
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        if (stderr.length < 4096) stderr += d;
      });
      const reader = new HelperReader({
        answer: (a) => {
          const resolve = answers.get(a.id);
          answers.delete(a.id);
          resolve?.(a);
        },
        events: onRecords,
      });
      child.stdout?.on('data', (chunk: Buffer) => {
        reader.push(chunk);
      });
      const failed = new Promise<never>((_, reject) => {
        child.once('error', (e) => {
          reject(new Error(`--watcher inotify needs perl (Debian and Ubuntu: perl-base): ${e.message}`));
        });
        child.once('exit', (code, signal) => {
          const why = `the inotify helper exited (${signal ?? `exit ${String(code)}`}): ${stderr.trim() || 'no message'}`;
          // Unanswered requests would wait forever.
          for (const resolve of answers.values()) resolve({ id: 0, wd: -1, errno: ENOENT });
          answers.clear();
          if (!isStopped()) {
            // Nothing is watched from now on: rescans cover the tree (the session's answer to a limit).
            reachedLimit(why);
            reject(new Error(why));
          }
        });
      });
      failed.catch(() => undefined);
      const root = await Promise.race([addWatch(''), failed]);
      if (root.wd < 0) {
        if (root.errno !== ENOSPC) throw new Error(`cannot watch ${o.root}: ${errnoText(root.errno)}`);
        reachedLimit(`cannot watch ${o.root}: ${errnoText(root.errno)}`);
        return;
      }
      tree = new DirTree(root.wd);
      await Promise.race([watchTree(seed), failed]);
    },
    async stop(): Promise<void> {
      stopped = true;
      if (moveTimer) clearTimeout(moveTimer);
      moveTimer = undefined;
      moves.clear();
      out = [];
      tree = undefined;
      const child = helper;
      helper = undefined;
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.stdin?.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(kill);
    },
  };
}

