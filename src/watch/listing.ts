/**
 * A listing of the master tree: one record per entry, `./PATH//DEV INO TYPE SIZE MTIME`, each
 * ended by a NUL, sorted as bytes, after a header record. No path holds `//`, so the path ends
 * at the first one, and the records' order is their paths' order (each ended by `//`). `find` walks the tree
 * and `sort` orders it (spilling to files beside the listing past its buffer), so gsyncd
 * never holds the tree: measured on a million files, find took 3.4 s with 3 MB of memory
 * and sort 0.7 s (docs/architecture.md). What changed is then a merge of two listings.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { open, readdir, rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
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

/** Under -L, a link holding itself: find lists it once and goes on (the session reports such links). */
const loopOrVanished = (line: string): boolean => vanished(line) || /File system loop detected/.test(line);

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

/** find's record: the path as `./PATH` (every name is a start point's or below one), `//`, the fields. */
const RECORD_FORMAT = '%p//%D %i %y %s %T@\\0';

/** How many finds list the tree side by side: its stats are most of a listing's time. */
const WORKERS = Math.max(1, Math.min(4, availableParallelism()));
/** Past this many top-level entries (or bytes of their names), one find lists the root: argv has a limit. */
const MAX_START_POINTS = 4096;
const MAX_START_BYTES = 128 * 1024;

/**
 * The top-level entries of `root` dealt round-robin to `WORKERS` finds, each as `./NAME` (a
 * name that looks like an option or an operator is then a path). Undefined where one find
 * over `.` does better: a root with fewer entries than workers, too many of them for argv,
 * or a name that is not valid UTF-8 (an argument is passed as UTF-8).
 */
async function startPoints(root: string): Promise<string[][] | undefined> {
  if (WORKERS < 2) return undefined;
  const names = await readdir(root, { encoding: 'buffer' });
  if (names.length < WORKERS || names.length > MAX_START_POINTS) return undefined;
  if (names.some((n) => !Buffer.from(n.toString('utf8')).equals(n))) return undefined;
  const points = names.map((n) => `./${n.toString('utf8')}`);
  if (points.reduce((n, p) => n + Buffer.byteLength(p) + 1, 0) > MAX_START_BYTES) return undefined;
  const parts: string[][] = Array.from({ length: WORKERS }, () => []);
  points.forEach((p, i) => parts[i % WORKERS]?.push(p));
  return parts;
}

export interface ListingOptions {
  /** Stops find and sort: a stop does not wait for a scan. */
  readonly signal?: AbortSignal | undefined;
  /**
   * At a lower priority (nice 10): a listing with no one waiting for it gives way to rsync.
   * Not lower: at nice 19, on two cores kept busy, the baseline beside the Full Crawl was
   * still listing a minute later, holding the master's filesystem busy (an unmount failed)
   * and widening the window in which it takes a change as it became.
   */
  readonly background?: boolean;
  /**
   * Follow symlinks (-L, -k), as rsync then copies them: a link is listed as what it points
   * at, a linked directory with its content, so that a rescan sees a referent change.
   */
  readonly follow?: boolean;
}

/** [program, args], at nice 10 for a background listing. */
const niced = (o: ListingOptions, program: string, args: readonly string[]): [string, string[]] =>
  o.background === true ? ['nice', ['-n', '10', program, ...args]] : [program, [...args]];

/** `find STARTS … | sort` into `to` (a descriptor), both ending with gsyncd and with `signal`. */
async function findSorted(root: string, starts: readonly string[] | undefined, ignoredDirNames: readonly string[], to: number, tmp: string, o: ListingOptions): Promise<void> {
  const { signal } = o;
  const where = starts ?? ['.', '-mindepth', '1'];
  const nice = (program: string, args: readonly string[]): [string, string[]] => niced(o, program, args);
  // Both die with gsyncd, even on SIGKILL (sync/no-orphans.ts): a scan outliving it would
  // read the tree beside the next gsyncd's own.
  const follow = o.follow === true ? ['-L'] : [];
  const find = spawn(...dieWithParent(...nice('find', [...follow, ...where, ...pruneExpression(ignoredDirNames), '-printf', RECORD_FORMAT])), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  // Whole records, compared as bytes: the path comes first and `//` never occurs in one.
  const sort = spawn(...dieWithParent(...nice('sort', ['-z', '-S', SORT_BUFFER, '-T', tmp])), {
    env: { ...process.env, LC_ALL: 'C' },
    stdio: [find.stdout, to, 'pipe'],
    ...(signal ? { signal } : {}),
  });
  // sort holds the pipe now: should sort die, find must get SIGPIPE, not wait for a reader here.
  find.stdout.destroy();
  await Promise.all([finished(find, `find in ${root}`, (stderr) => stderr.split('\n').every(o.follow === true ? loopOrVanished : vanished)), finished(sort, 'sort of the listing', () => false)]);
}

/**
 * Lists `root` into `file` (replaced). Throws when the tree cannot be listed whole, or when
 * `signal` aborts (find and sort are stopped: a stop does not wait for a scan). With more
 * than one core, a find and a sort per core list a share of the top-level entries each, and
 * `sort -m` merges their runs: on a million files (tmpfs, 2 cores), 1.5–1.8 s where one find
 * and sort took 2.5 s.
 */
export async function writeListing(root: string, file: string, ignoredDirNames: readonly string[], o: ListingOptions = {}): Promise<void> {
  const { signal } = o;
  const tmp = path.dirname(file);
  const parts = await startPoints(root).catch((e: unknown) => {
    throw new Error(`find in ${root} could not start: ${e instanceof Error ? e.message : String(e)}`);
  });
  const runs = parts?.map((_, i) => `${file}.part-${String(i)}`) ?? [];
  const out = await open(file, 'w');
  try {
    await out.write(`${LISTING_HEADER}\0`);
    if (parts === undefined) {
      await findSorted(root, undefined, ignoredDirNames, out.fd, tmp, o);
    } else {
      await Promise.all(
        parts.map(async (starts, i) => {
          const run = await open(runs[i] ?? '', 'w');
          try {
            await findSorted(root, starts, ignoredDirNames, run.fd, tmp, o);
          } finally {
            await run.close();
          }
        }),
      );
      const merge = spawn(...dieWithParent(...niced(o, 'sort', ['-z', '-m', '-S', SORT_BUFFER, '-T', tmp, '--', ...runs])), {
        env: { ...process.env, LC_ALL: 'C' },
        stdio: ['ignore', out.fd, 'pipe'],
        ...(signal ? { signal } : {}),
      });
      await finished(merge, 'sort of the listing', () => false);
    }
  } catch (e) {
    await out.close();
    await rm(file, { force: true });
    throw e;
  } finally {
    await Promise.all(runs.map((r) => rm(r, { force: true })));
  }
  await out.sync();
  await out.close();
}

/**
 * The directories a listing holds (relative, as latin1: a char per byte), parents first:
 * grep picks their records (the type is the third field from the end, and a field holds no
 * space) in a tenth of a second a million files.
 */
export async function listedDirectories(file: string): Promise<string[]> {
  const grep = spawn(...dieWithParent('grep', ['-z', '-a', ' d [0-9]* -\\?[0-9.]*$', '--', file]), {
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  grep.stdout.on('data', (c: Buffer) => chunks.push(c));
  // grep's 1: no line matched, a tree without directories.
  await finished(grep, `grep in ${file}`, (stderr) => stderr === '');
  const all = Buffer.concat(chunks).toString('latin1');
  if (all === '') return [];
  const dirs = all
    .slice(0, -1)
    .split('\0')
    .map((r) => r.slice(2, r.indexOf('//')));
  // Parents first: by depth, each counted once.
  return dirs
    .map((p) => ({ p, depth: p.split('/').length }))
    .sort((a, b) => a.depth - b.depth)
    .map((d) => d.p);
}

/**
 * The directories below `root` (relative, as latin1: a char per byte), parents before their
 * children, without those the filters exclude whole. find reads each directory's entries
 * without a stat per file: measured on 300k files in 300 directories, 0.25 s where a walk in
 * Node took 0.6 s and left 140 MB of RSS behind. A directory whose link count is 2 holds no
 * subdirectory (ext4, xfs, tmpfs; btrfs says 1 and is read), so it is not read at all: on a
 * million files in 1,050 directories, 0.05 s where reading every one took 0.48 s. The watch
 * checks the link counts again once placed (inotify.ts), as find's leaf optimization does.
 */
export async function listDirectories(root: string, ignoredDirNames: readonly string[]): Promise<string[]> {
  const leafOrNot = ['(', '-links', '2', '-prune', '-printf', '%P\\0', '-o', '-printf', '%P\\0', ')'];
  const find = spawn(...dieWithParent('find', ['.', '-mindepth', '1', ...pruneExpression(ignoredDirNames), '-type', 'd', ...leafOrNot]), {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  find.stdout.on('data', (c: Buffer) => chunks.push(c));
  await finished(find, `find in ${root}`, (stderr) => stderr.split('\n').every(vanished));
  const all = Buffer.concat(chunks).toString('latin1');
  return all === '' ? [] : all.slice(0, -1).split('\0');
}
