/** What the slave reports about its root in the handshake: effects at the edge. */
import { access, constants, readdir, stat, statfs } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/** `rsync  version 3.5.0  protocol version 32` → "3.5.0"; "" when rsync cannot run. */
export async function rsyncVersion(rsync: string): Promise<string> {
  const r = await execa(rsync, ['--version'], { reject: false, stdin: 'ignore', timeout: 10_000 });
  const m = /version\s+(\d+\.\d+\.\d+)/.exec(typeof r.stdout === 'string' ? r.stdout : '');
  return m?.[1] ?? '';
}

/** Whether version `a` is at least `b` (dotted numbers). Pure. */
export function versionAtLeast(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? 0;
    const y = pb[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

async function nearestExisting(p: string): Promise<string> {
  let cur = p;
  for (;;) {
    try {
      await stat(cur);
      return cur;
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return cur;
      cur = parent;
    }
  }
}

/**
 * A directory's identity: device, inode and birth time. A root removed and made again often
 * gets the same inode number back at once; its birth time tells them apart.
 */
export const rootIdentity = (s: { dev: bigint; ino: bigint; birthtimeNs: bigint }): string => `${s.dev}:${s.ino}:${s.birthtimeNs}`;

export interface RootFacts {
  readonly exists: boolean;
  readonly id: string | null;
  readonly writable: boolean;
  readonly freeBytes: number | null;
  readonly empty: boolean;
}

export async function rootFacts(root: string): Promise<RootFacts> {
  let exists = false;
  let id: string | null = null;
  try {
    const s = await stat(root, { bigint: true });
    exists = s.isDirectory();
    id = exists ? rootIdentity(s) : null;
  } catch {
    exists = false;
  }
  // A root that does not exist yet is created by rsync (--mkpath) inside its nearest parent.
  const probe = exists ? root : await nearestExisting(root);
  // access(W_OK) answers EROFS for a read-only filesystem, even for root.
  const writable = await access(probe, constants.W_OK).then(
    () => true,
    () => false,
  );
  let freeBytes: number | null = null;
  try {
    const s = await statfs(probe);
    freeBytes = s.bavail * s.bsize;
  } catch {
    freeBytes = null;
  }
  const empty = exists ? (await readdir(root)).length === 0 : true;
  return { exists, id, writable, freeBytes, empty };
}
