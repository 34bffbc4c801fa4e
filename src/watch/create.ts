/** Picks the backend named by --watcher. */
import type { WatcherKind } from '../config/options.js';
import type { ChangeSource, WatchOptions } from './change-source.js';
import { chokidarSource } from './chokidar.js';
import { nativeSource } from './native.js';

export function createChangeSource(kind: WatcherKind, o: WatchOptions): ChangeSource {
  switch (kind) {
    case 'native':
      return nativeSource(o);
    case 'chokidar':
      return chokidarSource(o, false);
    case 'poll':
      return chokidarSource(o, true);
  }
}
