/**
 * The default backend: @parcel/watcher (inotify on Linux): one watch per directory, ready
 * in a quarter of a second on 100k files (DESIGN.md's measurements).
 *
 * One gap of @parcel/watcher is closed here: when a directory appears, it watches that
 * directory but not the directories already inside it (`mkdir -p a/b/c`, a tree moved in), so
 * files written there later raise no event at all (its issue #97; measured here: a file
 * written into a/b/c after `mkdir -p a/b/c` never reached the slave). A new directory that
 * holds directories gets a subscription of its own, which watches everything below it, and
 * is then reported again so that it is resent whole, covering what was written before.
 */
import { watch } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import watcher from '@parcel/watcher';
import { relativeTo, type ChangeEvent, type ChangeHandlers, type ChangeSource, type WatchOptions } from './change-source.js';

/** Filter-matcher dir patterns → @parcel/watcher ignore globs. */
export function ignoreGlobs(names: readonly string[]): string[] {
  return names.map((n) => (n.startsWith('/') ? n.slice(1) : `**/${n}`));
}

/**
 * Past this many extra subscriptions, all are replaced by one fresh subscription of the root
 * (a full scan, which watches every directory) and the tree is resynced.
 */
const MAX_EXTRA = 256;

// On Linux, name the backend: the default first probes for watchman with `sh -c`, and
// leaves that shell behind as a zombie for gsyncd's whole life.
const backend = process.platform === 'linux' ? { backend: 'inotify' as const } : {};

/** @parcel/watcher's words when inotify_add_watch fails for want of watches. */
export const isWatchLimit = (e: unknown): boolean =>
  (e as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' || /inotify_add_watch .*No space left on device/.test(e instanceof Error ? e.message : String(e));

/**
 * Whether one more inotify watch can be placed. @parcel/watcher gives up silently on a new
 * directory it cannot watch (measured: with the limit reached, files written into the new
 * directory raise no event and no error), so after new directories appear, gsyncd places
 * and removes a watch of its own: ENOSPC means the limit is reached.
 */
function watchesLeft(dir: string): boolean {
  try {
    watch(dir).close();
    return true;
  } catch (e) {
    return !isWatchLimit(e);
  }
}

export function nativeSource(o: WatchOptions): ChangeSource {
  let root: watcher.AsyncSubscription | undefined;
  const extra = new Map<string, watcher.AsyncSubscription>();
  let handlers: ChangeHandlers | undefined;
  let stopped = false;
  // A function, not the variable: it changes while we await, which a narrowed variable would hide.
  const isStopped = (): boolean => stopped;
  let consolidating: Promise<void> | undefined;
  // An anchored ignore is relative to the root; below it only the unanchored ones apply.
  const rootIgnore = ignoreGlobs(o.ignoredDirNames);
  const subIgnore = rootIgnore.filter((g) => g.startsWith('**/'));
  let limitReached = false;
  let probe: NodeJS.Timeout | undefined;
  let probeDir = '';

  const reachedLimit = (reason: string): void => {
    if (limitReached) return;
    limitReached = true;
    handlers?.onLimit(reason);
  };

  /** A new directory appeared: soon after the burst it belongs to, is there a watch left? */
  const scheduleProbe = (abs: string): void => {
    probeDir = abs;
    probe ??= setTimeout(() => {
      probe = undefined;
      if (!stopped && !limitReached && !watchesLeft(probeDir)) reachedLimit(`cannot watch ${probeDir}: the limit of inotify watches is reached`);
    }, 100);
  };

  const onBatch = (err: Error | null, events: watcher.Event[]): void => {
    const h = handlers;
    if (!h || stopped) return;
    if (err) {
      // The kernel dropped events (queue overflow): nothing below the root can be trusted.
      h.onLost('', err.message);
      return;
    }
    const out: ChangeEvent[] = [];
    for (const e of events) {
      const rel = relativeTo(o.root, e.path);
      if (rel === undefined) continue;
      out.push({ path: rel, kind: e.type });
      if (e.type === 'create') void watchNewDirectory(e.path);
    }
    if (out.length > 0) h.onEvents(out);
  };

  const subscribe = (dir: string, ignore: string[]): Promise<watcher.AsyncSubscription> => watcher.subscribe(dir, onBatch, { ignore, ...backend });

  async function watchNewDirectory(abs: string): Promise<void> {
    if (stopped || extra.has(abs) || consolidating) return;
    let entries;
    try {
      // A symlink to a directory is not one: it is sent as a link, and nothing watches through it.
      if (!(await lstat(abs)).isDirectory()) return;
      if (!limitReached) scheduleProbe(abs);
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return; // gone again
    }
    if (!entries.some((d) => d.isDirectory()) || isStopped() || extra.has(abs)) return;
    if (extra.size >= MAX_EXTRA) {
      consolidating ??= consolidate().finally(() => {
        consolidating = undefined;
      });
      return;
    }
    try {
      extra.set(abs, await subscribe(abs, subIgnore));
    } catch (e) {
      const reason = `cannot watch a new directory: ${e instanceof Error ? e.message : String(e)}`;
      if (isWatchLimit(e)) reachedLimit(reason);
      handlers?.onLost(relativeTo(o.root, abs) ?? '', reason);
      return;
    }
    const rel = relativeTo(o.root, abs);
    // What was written below it before this subscription raised no event: send it whole.
    if (rel !== undefined && !isStopped()) handlers?.onEvents([{ path: rel, kind: 'create' }]);
  }

  async function consolidate(): Promise<void> {
    const old = [...extra.values(), ...(root ? [root] : [])];
    extra.clear();
    root = undefined;
    for (const s of old) await s.unsubscribe().catch(() => undefined);
    if (isStopped()) return;
    try {
      root = await subscribe(o.root, rootIgnore);
    } catch (e) {
      if (!isWatchLimit(e)) throw e;
      reachedLimit(e instanceof Error ? e.message : String(e));
    }
    handlers?.onLost('', `more than ${MAX_EXTRA} new directory trees; watching the root afresh`);
  }

  return {
    /** May be called again after stop(): the master root came back after an unmount. */
    async start(h: ChangeHandlers): Promise<void> {
      handlers = h;
      stopped = false;
      try {
        root = await subscribe(o.root, rootIgnore);
      } catch (e) {
        // Too many directories for the kernel's limit: nothing is watched, rescans cover all.
        if (!isWatchLimit(e)) throw e;
        reachedLimit(e instanceof Error ? e.message : String(e));
      }
    },
    async stop(): Promise<void> {
      stopped = true;
      if (probe) clearTimeout(probe);
      await consolidating?.catch(() => undefined);
      const all = [...extra.values(), ...(root ? [root] : [])];
      extra.clear();
      root = undefined;
      for (const s of all) await s.unsubscribe().catch(() => undefined);
    },
  };
}
