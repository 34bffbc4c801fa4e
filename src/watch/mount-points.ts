/**
 * The filesystems mounted inside the master tree, for -x (--one-file-system): rsync stops at
 * them when it recurses, but sends whatever --files-from lists (measured, rsync 3.5.0: `-x
 * --files-from` sends `mnt/b` from a tmpfs mounted at `mnt`). So gsyncd leaves their contents
 * out itself, by rules, and neither lists nor watches them.
 */
import { readFile } from 'node:fs/promises';
import { lstatSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { FilterArg } from '../filter/rules.js';
// The rules end in `*`, so a backslash escapes rsync's wildcard characters in a mount point.
import { escapeWildcards } from '../sync/delete-run.js';

/** mountinfo's octal escapes (`\040` is a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** The mount points in /proc/self/mountinfo text (its fifth field). Pure. */
export function parseMountPoints(mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined && p !== '')
    .map(unescape);
}

/**
 * The mount points strictly inside `root` that are another filesystem than `root`'s (a bind
 * mount of the same filesystem is no boundary to rsync -x either), relative, sorted.
 */
export async function mountPointsInside(root: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const real = realpathSync(root);
  const dev = lstatSync(real).dev;
  const inside = parseMountPoints(text).filter((m) => m.startsWith(`${real === '/' ? '' : real}/`));
  const out = new Set<string>();
  for (const m of inside) {
    let st;
    try {
      st = lstatSync(m);
    } catch {
      continue; // Unmounted since, or hidden by a later mount.
    }
    if (st.isDirectory() && st.dev !== dev) out.add(path.relative(real, m));
  }
  return [...out].sort();
}

/**
 * The rules that leave each mount point's contents out, first of all: the mount point itself
 * is sent (as rsync -x sends it), nothing below it, and the slave's copy of what is below is
 * never deleted (P), --delete-excluded or not, as rsync -x leaves it. Pure.
 */
export function mountPointRules(mounts: readonly string[]): FilterArg[] {
  return mounts.flatMap((m) => [
    { kind: 'filter' as const, value: `P /${escapeWildcards(m)}/*` },
    { kind: 'filter' as const, value: `- /${escapeWildcards(m)}/*` },
  ]);
}
