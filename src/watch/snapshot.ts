/**
 * The watcher's snapshot of the master tree (@parcel/watcher's writeSnapshot /
 * getEventsSince): what changed while gsyncd was not running, without walking the slave.
 * On a million files: about 3 s to write, 5 s to diff (DESIGN.md's measurements).
 */
import { fileURLToPath } from 'node:url';
import watcher from '@parcel/watcher';
import { execa } from 'execa';
import { ignoreGlobs } from './native.js';
import { relativeTo, type ChangeEvent } from './change-source.js';

const backend = process.platform === 'linux' ? { backend: 'inotify' as const } : {};
const CHILD = fileURLToPath(new URL('./snapshot-child.js', import.meta.url));

/** Written by a process of its own: see snapshot-child.ts for why. */
export async function writeTreeSnapshot(root: string, file: string, ignoredDirNames: readonly string[]): Promise<void> {
  const r = await execa(process.execPath, [CHILD, 'write', root, file, ...ignoreGlobs(ignoredDirNames)], { reject: false, stdin: 'ignore', timeout: 600_000 });
  if (r.exitCode !== 0) throw new Error(`writing the snapshot failed: ${r.stderr.trim() || r.message}`);
}

/** What changed since the snapshot, by a fresh scan in a process of its own (not the watcher's tree). */
export async function scannedChangesSince(root: string, file: string, ignoredDirNames: readonly string[]): Promise<ChangeEvent[]> {
  const r = await execa(process.execPath, [CHILD, 'diff', root, file, ...ignoreGlobs(ignoredDirNames)], {
    reject: false,
    stdin: 'ignore',
    timeout: 600_000,
    maxBuffer: 1024 * 1024 * 1024,
    lines: true,
  });
  if (r.exitCode !== 0) throw new Error(`comparing with the snapshot failed: ${r.stderr.join(' ').trim() || r.message}`);
  const out: ChangeEvent[] = [];
  for (const line of r.stdout) {
    if (line === '') continue;
    const e = JSON.parse(line) as { path: string; type: ChangeEvent['kind'] };
    const rel = relativeTo(root, e.path);
    if (rel !== undefined) out.push({ path: rel, kind: e.type });
  }
  return out;
}

export async function changesSinceSnapshot(root: string, file: string, ignoredDirNames: readonly string[]): Promise<ChangeEvent[]> {
  const events = await watcher.getEventsSince(root, file, { ignore: ignoreGlobs(ignoredDirNames), ...backend });
  const out: ChangeEvent[] = [];
  for (const e of events) {
    const rel = relativeTo(root, e.path);
    if (rel !== undefined) out.push({ path: rel, kind: e.type });
  }
  return out;
}
