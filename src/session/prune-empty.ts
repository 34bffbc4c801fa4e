/**
 * -m (--prune-empty-dirs) while live: rsync leaves out directories that hold no file it would
 * send, and a run with --delete removes such a chain from the slave. A batch's delete removes
 * only the path it names, so when a delete leaves its directory without such a file, the
 * nearest directory above that still holds one (or the root) is queued whole: its run prunes
 * the emptied chain and deletes it on the slave, as a cron `rsync -am --delete` would.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Matcher } from '../filter/matcher.js';
import { parentOf } from '../sync/paths.js';

/** Whether `dir` (relative; '' the root) holds, at any depth, an entry rsync -m would send that is no directory. */
export async function holdsFile(root: string, dir: string, matcher: Matcher): Promise<boolean> {
  const stack = [dir];
  for (let d = stack.pop(); d !== undefined; d = stack.pop()) {
    let entries;
    try {
      entries = await readdir(path.join(root, d), { withFileTypes: true });
    } catch {
      continue; // Gone meanwhile: its own event follows.
    }
    for (const e of entries) {
      const rel = d === '' ? e.name : `${d}/${e.name}`;
      // A name that is not valid UTF-8 reads as U+FFFD: counted as held, the safe side.
      if (e.isDirectory() && !rel.includes('\uFFFD')) {
        if (matcher.verdict(rel, true) === 'include') stack.push(rel);
      } else if (rel.includes('\uFFFD') || matcher.verdict(rel, false) === 'include') {
        return true;
      }
    }
  }
  return false;
}

const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

/**
 * The directory to send whole after a delete in `dir`, or undefined when `dir` still holds a
 * file (nothing became empty) or is gone itself.
 */
export async function emptiedAt(root: string, dir: string, matcher: Matcher): Promise<string | undefined> {
  // Gone too (rm -rf): its own delete is an event, and the look from there is its parent's.
  if (!(await exists(path.join(root, dir)))) return undefined;
  if (await holdsFile(root, dir, matcher)) return undefined;
  for (let above = dir; above !== ''; ) {
    above = parentOf(above);
    if (above === '' || (await holdsFile(root, above, matcher))) return above;
  }
  return '';
}
