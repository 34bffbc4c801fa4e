/**
 * A listing of the master tree: one record per entry, `DEV INO TYPE SIZE MTIME PATH`, each
 * ended by a NUL, sorted by the path's bytes, after a header record. `find` walks the tree
 * and `sort` orders it (spilling to files beside the listing past its buffer), so gsyncd
 * never holds the tree: measured on a million files, find took 3.4 s with 3 MB of memory
 * and sort 0.7 s (docs/architecture.md). What changed is then a merge of two listings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { dieWithParent } from '../sync/no-orphans.js';
import { LISTING_HEADER } from './listing-read.js';

/** sort's buffer: past it, sort writes sorted runs to temporary files and merges them. */
const SORT_BUFFER = '64M';

/**
 * find's expression leaving out the directories the filters exclude whole (the matcher's
 * plain names: `/x/y` anchored at the root, `x` or `x/y` anywhere). They hold no glob
 * characters (the matcher gives only plain names), so they are find patterns as they are.
 */
export function pruneExpression(ignoredDirNames: readonly string[]): string[] {
  if (ignoredDirNames.length === 0) return [];
  const tests = ignoredDirNames.map((n) => (n.startsWith('/') ? ['-path', `.${n}`] : n.includes('/') ? ['-path', `*/${n}`] : ['-name', n]));
  return ['(', ...tests.flatMap((t, i) => (i === 0 ? t : ['-o', ...t])), ')', '-prune', '-o'];
}

/** An entry vanishing while find walks is no error: the next listing or an event covers it. */
const vanished = (line: string): boolean => line === '' || /: No such file or directory$/.test(line);

function finished(child: ChildProcess, what: string, tolerate: (stderr: string) => boolean): Promise<void> {
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 64 * 1024) stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      reject(new Error(`${what} could not start: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      if (code === 0 || (code === 1 && tolerate(stderr))) resolve();
      else reject(new Error(`${what} failed (${signal ?? `exit ${String(code)}`}): ${stderr.trim().split('\n')[0] ?? ''}`));
    });
  });
}

/**
 * Lists `root` into `file` (replaced). Throws when the tree cannot be listed whole, or when
 * `signal` aborts (find and sort are stopped: a stop does not wait for a scan).
 */
export async function writeListing(root: string, file: string, ignoredDirNames: readonly string[], signal?: AbortSignal): Promise<void> {
  const out = await open(file, 'w');
  try {
    await out.write(`${LISTING_HEADER}\0`);
    // Both die with gsyncd, even on SIGKILL (sync/no-orphans.ts): a scan outliving it would
    // read the tree beside the next gsyncd's own.
    const find = spawn(...dieWithParent('find', ['.', '-mindepth', '1', ...pruneExpression(ignoredDirNames), '-printf', '%D %i %y %s %T@ %P\\0']), {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    const sort = spawn(...dieWithParent('sort', ['-z', '-t', ' ', '-k', '6', '-S', SORT_BUFFER, '-T', path.dirname(file)]), {
      env: { ...process.env, LC_ALL: 'C' },
      stdio: [find.stdout, out.fd, 'pipe'],
      ...(signal ? { signal } : {}),
    });
    // sort holds the pipe now: should sort die, find must get SIGPIPE, not wait for a reader here.
    find.stdout.destroy();
    await Promise.all([
      finished(find, `find in ${root}`, (stderr) => stderr.split('\n').every(vanished)),
      finished(sort, 'sort of the listing', () => false),
    ]);
  } catch (e) {
    await out.close();
    await rm(file, { force: true });
    throw e;
  }
  await out.sync();
  await out.close();
}

/**
 * The directories below `root` (relative, as latin1: a char per byte), parents before their
 * children, without those the filters exclude whole. find reads each directory's entries
 * without a stat per file: measured on 300k files in 300 directories, 0.25 s where a walk in
 * Node took 0.6 s and left 140 MB of RSS behind.
 */
export async function listDirectories(root: string, ignoredDirNames: readonly string[]): Promise<string[]> {
  const find = spawn(...dieWithParent('find', ['.', '-mindepth', '1', ...pruneExpression(ignoredDirNames), '-type', 'd', '-printf', '%P\\0']), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  find.stdout.on('data', (c: Buffer) => chunks.push(c));
  await finished(find, `find in ${root}`, (stderr) => stderr.split('\n').every(vanished));
  const all = Buffer.concat(chunks).toString('latin1');
  return all === '' ? [] : all.slice(0, -1).split('\0');
}
