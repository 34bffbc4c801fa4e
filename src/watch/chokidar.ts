/**
 * chokidar backend (`--watcher chokidar`), and polling (`--watcher poll`) for network
 * filesystems where inotify sees nothing. Portable, but one watch per file: not the default.
 */
import { watch, type FSWatcher } from 'chokidar';
import path from 'node:path';
import { isWatchLimit } from './native.js';
import { relativeTo, type ChangeEvent, type ChangeHandlers, type ChangeSource, type WatchOptions } from './change-source.js';

const KIND: Readonly<Record<string, ChangeEvent['kind']>> = {
  add: 'create',
  addDir: 'create',
  change: 'update',
  unlink: 'delete',
  unlinkDir: 'delete',
};

export function chokidarSource(o: WatchOptions, polling: boolean): ChangeSource {
  let w: FSWatcher | undefined;
  const ignoredAbs = new Set(o.ignoredDirNames.filter((n) => n.startsWith('/')).map((n) => path.join(o.root, n)));
  const ignoredNames = new Set(o.ignoredDirNames.filter((n) => !n.startsWith('/') && !n.includes('/')));
  return {
    start(h: ChangeHandlers): Promise<void> {
      return new Promise((resolve, reject) => {
        const watcher = watch(o.root, {
          ignoreInitial: true,
          followSymlinks: false,
          usePolling: polling,
          interval: o.pollIntervalMs,
          binaryInterval: o.pollIntervalMs,
          ignored: (p: string) => ignoredAbs.has(p) || ignoredNames.has(path.basename(p)),
        });
        w = watcher;
        watcher.on('all', (event: string, abs: string) => {
          const kind = KIND[event];
          const rel = relativeTo(o.root, abs);
          if (kind !== undefined && rel !== undefined) h.onEvents([{ path: rel, kind }]);
        });
        watcher.on('error', (err: unknown) => {
          const reason = err instanceof Error ? err.message : String(err);
          if (isWatchLimit(err)) h.onLimit(reason);
          h.onLost('', reason);
        });
        watcher.once('ready', () => {
          resolve();
        });
        watcher.once('error', reject);
      });
    },
    async stop(): Promise<void> {
      await w?.close();
      w = undefined;
    },
  };
}
