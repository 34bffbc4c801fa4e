/**
 * Finds the names of hard-linked files (`-H`), with find: the master's multi-linked files at
 * a start, and every name of one inode when a file turns up linked to names not known yet
 * (`ln a c` raises an event for `c` alone). Names are bytes as the session keeps them
 * (sync/names.ts). Each find dies with gsyncd (sync/no-orphans.ts) and with `signal`.
 */
import { spawn } from 'node:child_process';
import { decodeName } from '../sync/names.js';
import { dieWithParent } from '../sync/no-orphans.js';
import { pruneExpression } from './listing.js';

/** `DEV:INO`: one inode of the master. */
export type InodeKey = string;

/**
 * Runs find in `root` at nice 10, leaving out the directories the listings leave out (the
 * filters', and the mount points of -x), and gives its NUL-ended records (bytes), or throws.
 */
export function findRecords(root: string, pruned: readonly string[], args: readonly string[], signal: AbortSignal | undefined): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(...dieWithParent('nice', ['-n', '10', 'find', '.', '-mindepth', '1', ...pruneExpression(pruned), ...args]), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      // Exit 1 with only vanished entries is a tree that changed under find: no error.
      const vanishedOnly = stderr.split('\n').every((l) => l === '' || /No such file or directory$/.test(l));
      if (code !== 0 && !(code === 1 && vanishedOnly)) {
        reject(new Error(`find in ${root} failed: ${stderr.trim().split('\n')[0] ?? `exit ${String(code)}`}`));
        return;
      }
      const all = Buffer.concat(chunks);
      const out: Buffer[] = [];
      for (let at = 0; at < all.length; ) {
        const end = all.indexOf(0, at);
        if (end < 0) break;
        out.push(all.subarray(at, end));
        at = end + 1;
      }
      resolve(out);
    });
  });
}

/** `%D:%i ./PATH` → [key, path]. */
function parse(record: Buffer): [InodeKey, string] | undefined {
  const space = record.indexOf(0x20);
  if (space < 0 || record[space + 1] !== 0x2e || record[space + 2] !== 0x2f) return undefined;
  return [record.subarray(0, space).toString('latin1'), decodeName(record.subarray(space + 3))];
}

/** The master's files with more than one name, by inode (names in one filesystem, as rsync -H links them). */
export async function multiLinked(root: string, pruned: readonly string[], signal?: AbortSignal): Promise<Map<InodeKey, string[]>> {
  const groups = new Map<InodeKey, string[]>();
  for (const r of await findRecords(root, pruned, ['-type', 'f', '-links', '+1', '-printf', '%D:%i %p\\0'], signal)) {
    const kv = parse(r);
    if (kv === undefined) continue;
    const names = groups.get(kv[0]);
    if (names) names.push(kv[1]);
    else groups.set(kv[0], [kv[1]]);
  }
  return groups;
}

/** Every name of the inode `key` under `root`. */
export async function namesOf(root: string, pruned: readonly string[], key: InodeKey, signal?: AbortSignal): Promise<string[]> {
  const ino = key.slice(key.indexOf(':') + 1);
  const names: string[] = [];
  for (const r of await findRecords(root, pruned, ['-inum', ino, '-printf', '%D:%i %p\\0'], signal)) {
    const kv = parse(r);
    if (kv?.[0] === key) names.push(kv[1]);
  }
  return names;
}
