/**
 * A whole tree as a stream of entries, in one total order that two walks (master and
 * slave, local or remote) share so that they can be merged: depth-first, a directory
 * before its contents, siblings by raw bytes. Memory holds only the sorted name lists of
 * the directories on the current path, never the tree. Symlinks are never followed.
 */
import { readdirSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ROOT_KEY, childKey, keyPath, type TreeEntry } from './entry.js';
import { ReadError, isGone, readEntry } from './stat-path.js';

const SLASH = 0x2f;

/**
 * The walk's order: the root '.' first, then component by component in byte order, so
 * `a` < `a/z` < `a-b` ('/' ends a component and sorts before any byte of a name).
 */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === ROOT_KEY) return -1;
  if (b === ROOT_KEY) return 1;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      if (x === SLASH) return -1;
      if (y === SLASH) return 1;
      return x - y;
    }
  }
  return a.length - b.length;
}

// The walk reads with synchronous calls (see stat-path.ts) and lets the event loop run
// this often, so a remote channel or a signal is served during a long walk.
const YIELD_EVERY = 1000;

/** One directory being listed: its sorted names and how far the walk got. */
interface DirCursor {
  readonly key: string;
  readonly names: readonly string[];
  next: number;
}

/** Names of a directory, as latin1 byte strings in byte order; [] if it vanished. */
function listDir(path: Buffer, key: string): string[] {
  let names: Buffer[];
  try {
    names = readdirSync(path, { encoding: 'buffer' });
  } catch (e) {
    if (isGone(e)) return [];
    throw new ReadError('cannot list', key, e);
  }
  // latin1 strings compare by code unit, that is by byte, and weigh less than Buffers.
  return names.map((n) => n.toString('latin1')).sort();
}

/**
 * Every entry under `root` (following `root` itself if it is a symlink), the root first as
 * '.'. With `checksum`, files carry the sha256 of their content, read in chunks.
 * Throws a ReadError for what cannot be read; paths that vanish meanwhile are left out.
 */
export async function* walkTree(root: string, opts: { checksum: boolean }): AsyncGenerator<TreeEntry> {
  const rootPath = Buffer.from(root);
  const top = await readEntry(rootPath, ROOT_KEY, opts.checksum, true);
  if (top === undefined) throw new ReadError('cannot open', ROOT_KEY, Object.assign(new Error('no such directory'), { code: 'ENOENT' }));
  if (top.type !== 'dir') throw new ReadError('cannot walk', ROOT_KEY, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' }));
  yield top;
  const stack: DirCursor[] = [{ key: ROOT_KEY, names: listDir(rootPath, ROOT_KEY), next: 0 }];
  let count = 0;
  for (let dir = stack.at(-1); dir !== undefined; dir = stack.at(-1)) {
    const name = dir.names[dir.next++];
    if (name === undefined) {
      stack.pop();
      continue;
    }
    if (++count % YIELD_EVERY === 0) await yieldToLoop();
    const key = childKey(dir.key, name);
    const path = keyPath(rootPath, key);
    const entry = await readEntry(path, key, opts.checksum);
    if (entry === undefined) continue;
    yield entry;
    if (entry.type === 'dir') stack.push({ key, names: listDir(path, key), next: 0 });
  }
}
