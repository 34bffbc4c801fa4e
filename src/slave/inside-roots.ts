/**
 * Whether a path lies inside one of the allowed roots once symlinks are resolved. Only the
 * part that exists can be resolved; what does not exist yet is appended after `..` are
 * gone, so a new directory cannot step out either.
 */
import { realpath } from 'node:fs/promises';
import path from 'node:path';

/** The path with every existing prefix resolved through symlinks. */
export async function resolveExisting(p: string): Promise<string> {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      const real = await realpath(cur);
      return path.join(real, ...missing.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      missing.push(path.basename(cur));
      cur = parent;
    }
  }
}

export const within = (p: string, root: string): boolean => root === '/' || p === root || p.startsWith(`${root}/`);

/** The allowed root that holds `p` (both resolved), or undefined. */
export async function insideRoots(p: string, roots: readonly string[]): Promise<string | undefined> {
  const resolved = await resolveExisting(p);
  for (const r of roots) {
    const root = await resolveExisting(r);
    if (within(resolved, root)) return resolved;
  }
  return undefined;
}
