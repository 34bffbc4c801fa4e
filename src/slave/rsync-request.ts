/**
 * A checked `rsync --server` request (rsync-allow.ts) placed on the slave's disk: the
 * destination resolved through symlinks must lie inside each set of roots it is given (any
 * one root of a set), and rsync is given the resolved path. Shared by the forced command
 * (restrict.ts) and the rsync streams of the channel (rsync-streams.ts), invariant 8.
 */
import path from 'node:path';
import { insideRoots } from './inside-roots.js';
import type { RsyncCheck } from './rsync-allow.js';

export type Placed = { readonly options: readonly string[]; readonly dest: string } | { readonly reason: string };

export interface Placement {
  /** What a relative destination is taken against. */
  readonly base: string;
  /** Sets of roots: the destination must lie inside one root of every set (`label` names the set in a refusal). */
  readonly within: readonly { readonly roots: readonly string[]; readonly label: string }[];
  /**
   * The roots were limited by the slave's operator (--root, --restrict): --temp-dir,
   * --backup-dir and -K are then refused, since rsync follows the links on their way, and
   * the master may have made such a link (with -l) earlier in the same run; so is --iconv,
   * with which the master would choose the charset the slave's names are made in.
   */
  readonly confined: boolean;
}

type Checked = Extract<RsyncCheck, { ok: true }>;

/** The operator's roots (--root), as a refusal names them. */
export const allowedRoots = (roots: readonly string[]): { roots: readonly string[]; label: string } => ({ roots, label: `the allowed roots (${roots.join(', ')})` });

/** A session's root alone. */
export const sessionRoot = (root: string): { roots: readonly string[]; label: string } => ({ roots: [root], label: `the root ${root}` });

export async function placeRsyncRequest(check: Checked, o: Placement): Promise<Placed> {
  const [pathOption] = check.paths;
  if (o.confined && pathOption !== undefined) {
    return { reason: `rsync ${pathOption[0]} is not allowed where the slave's roots are limited: rsync would follow a link the master made out of the root` };
  }
  if (o.confined && check.keepDirlinks) {
    return { reason: "rsync -K (--keep-dirlinks) is not allowed where the slave's roots are limited: rsync would write through a link the master made out of the root" };
  }
  // The master picks the charset: one such as UTF-16 turns a name's bytes into '/' and NULs.
  if (o.confined && check.convertsNames) {
    return { reason: "rsync --iconv is not allowed where the slave's roots are limited: the master would choose what the slave's names become" };
  }
  let dest = path.resolve(o.base, check.dest);
  for (const set of o.within) {
    const inside = await insideRoots(dest, set.roots);
    if (inside === undefined) return { reason: `destination ${check.dest} is outside ${set.label}` };
    dest = inside;
  }
  for (const [option, value] of check.paths) {
    for (const set of o.within) {
      if ((await insideRoots(path.resolve(dest, value), set.roots)) === undefined) return { reason: `rsync ${option} ${value} is outside ${set.label}` };
    }
  }
  // rsync's own idea of "dest/" (contents into) must survive the resolution.
  return { options: check.options, dest: check.dest.endsWith('/') && !dest.endsWith('/') ? `${dest}/` : dest };
}
