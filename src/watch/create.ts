/**
 * Picks the backend named by --watcher. chokidar is loaded only when chosen: every gsyncd
 * start would otherwise pay for a library most sessions never use.
 */
import type { WatcherKind } from '../config/options.js';
import type { ChangeSource, WatchOptions } from './change-source.js';
import { nativeSource } from './native.js';

export async function createChangeSource(kind: WatcherKind, o: WatchOptions): Promise<ChangeSource> {
  switch (kind) {
    case 'native':
      return nativeSource(o);
    case 'inotify':
      return (await import('./inotify.js')).inotifySource(o);
    case 'chokidar':
    case 'poll':
      return (await import('./chokidar.js')).chokidarSource(o, kind === 'poll');
  }
}
