/**
 * Finds the master's symlinks and reads where each points (-L, -k: session/link-targets.ts):
 * all of them with one find at a start, those of a directory made or moved in by a walk of
 * it. Names are bytes as the session keeps them (sync/names.ts).
 */
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeName, encodeName } from '../sync/names.js';
import { findRecords } from './hard-link-find.js';

/** The master's symlinks (relative paths), leaving out the directories the listings leave out. */
export async function allSymlinks(root: string, pruned: readonly string[], signal?: AbortSignal): Promise<string[]> {
  const records = await findRecords(root, pruned, ['-type', 'l', '-printf', '%P\\0'], signal);
  return records.map((r) => decodeName(r));
}

/** The symlinks at or below `dir` (relative), by a walk that follows none of them. */
export async function symlinksUnder(root: string, dir: string, signal?: AbortSignal): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    if (signal?.aborted === true) return;
    const entries = await readdir(encodeName(path.join(root, rel)), { withFileTypes: true, encoding: 'buffer' }).catch(() => []);
    for (const e of entries) {
      const child = rel === '' ? decodeName(e.name) : `${rel}/${decodeName(e.name)}`;
      if (e.isSymbolicLink()) out.push(child);
      else if (e.isDirectory()) await walk(child);
    }
  };
  await walk(dir);
  return out;
}

/**
 * Where the link at `rel` points: its text, its referent as the kernel resolves it (an
 * absolute path; undefined when dangling, or a loop), and whether that is a directory.
 * Undefined altogether when `rel` is no symlink (any more).
 */
export async function readSymlink(root: string, rel: string): Promise<{ text: string; real: string | undefined; dir: boolean } | undefined> {
  const p = encodeName(path.join(root, rel));
  const text = await readlink(p, { encoding: 'buffer' }).catch(() => undefined);
  if (text === undefined) return undefined;
  const real = await realpath(p, { encoding: 'buffer' }).then(
    (b) => decodeName(b),
    () => undefined,
  );
  const dir = await stat(p).then(
    (st) => st.isDirectory(),
    () => false,
  );
  return { text: decodeName(text), real, dir };
}
