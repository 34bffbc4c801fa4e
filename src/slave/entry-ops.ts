/**
 * Entry operations replayed on the slave (gluster's entry ops): a rename, or a hard link,
 * that the master asks for instead of sending data again. The slave decides nothing: it
 * checks that every path stays inside its root and carries the operation out, or says why
 * not. The check fails closed, as the forced command's does (restrict.ts):
 *
 * - a path is relative, not empty, and has no `.`, `..` or empty component and no NUL;
 * - every directory on the way is a directory, not a symlink (lstat, component by
 *   component from the root): a symlink the master itself had rsync create cannot lead an
 *   operation out of the root;
 * - the entry operated on is there (lstat: a symlink is renamed or linked as itself).
 *
 * A refusal means the request was malformed or hostile; a fallback means the operation cannot
 * be done here as asked (the source is missing, a type differs, the target is a non-empty
 * directory), and the master sends the paths by rsync instead: correctness first.
 *
 * What is left: the slave tree changing between the check and the operation. Only the
 * master's own runs write there, and they never run on the paths of an operation (the
 * master's path locks), so a race needs a master that attacks itself through two paths at
 * once; rsync's receiver has the same window for the paths it is given.
 */
import { link, lstat, rename, rm } from 'node:fs/promises';
import path from 'node:path';

export type EntryOp = { readonly op: 'rename'; readonly from: string; readonly to: string } | { readonly op: 'link'; readonly target: string; readonly path: string };

export type EntryResult =
  | { readonly result: 'done' }
  | { readonly result: 'fallback'; readonly reason: string }
  | { readonly result: 'refused'; readonly reason: string };

/** The operations this slave replays: the hello reply says so, and a master asks for no other. */
export const ENTRY_OPS: readonly EntryOp['op'][] = ['rename', 'link'];

const refused = (reason: string): EntryResult => ({ result: 'refused', reason });
const fallback = (reason: string): EntryResult => ({ result: 'fallback', reason });

/** Pure: why a path the master sent is not a plain relative path inside the root, or undefined. */
export function badPath(p: string): string | undefined {
  if (p === '') return 'an empty path (the root itself)';
  if (p.includes('\0')) return 'a path with a NUL byte';
  if (p.startsWith('/')) return `an absolute path (${p})`;
  const parts = p.split('/');
  if (parts.some((c) => c === '')) return `a path with an empty component (${p})`;
  if (parts.some((c) => c === '.' || c === '..')) return `a path with a "." or ".." component (${p})`;
  return undefined;
}

/**
 * The directory that holds `rel` under `root`, checked component by component: each is a
 * directory, none a symlink. Returns the reason it is not, with `missing` set when a
 * component is simply not there (then the operation falls back).
 */
async function checkParents(root: string, rel: string): Promise<{ reason: string; missing: boolean } | undefined> {
  const parts = rel.split('/').slice(0, -1);
  let cur = root;
  for (const part of parts) {
    cur = path.join(cur, part);
    let st;
    try {
      st = await lstat(cur);
    } catch {
      return { reason: `${path.relative(root, cur)} does not exist on the slave`, missing: true };
    }
    if (st.isSymbolicLink()) return { reason: `${path.relative(root, cur)} is a symlink on the slave`, missing: false };
    if (!st.isDirectory()) return { reason: `${path.relative(root, cur)} is not a directory on the slave`, missing: true };
  }
  return undefined;
}

/** Checks a path of the request; the reason it cannot be used, as a result, or undefined. */
async function checkPath(root: string, rel: string): Promise<EntryResult | undefined> {
  const bad = badPath(rel);
  if (bad !== undefined) return refused(bad);
  const parents = await checkParents(root, rel);
  if (parents === undefined) return undefined;
  return parents.missing ? fallback(parents.reason) : refused(parents.reason);
}

const errnoReason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? (e instanceof Error ? e.message : String(e));
};

/** Carries out `op` inside `root` (an absolute, resolved path), or says why not. */
export async function applyEntryOp(root: string, op: EntryOp): Promise<EntryResult> {
  const [source, dest] = op.op === 'rename' ? [op.from, op.to] : [op.target, op.path];
  for (const rel of [source, dest]) {
    const problem = await checkPath(root, rel);
    if (problem) return problem;
  }
  if (source === dest) return refused(`${op.op} of ${source} onto itself`);
  const from = path.join(root, source);
  const to = path.join(root, dest);
  let st;
  try {
    st = await lstat(from);
  } catch {
    return fallback(`${source} does not exist on the slave`);
  }
  if (op.op === 'rename') {
    if (st.isDirectory() && `${dest}/`.startsWith(`${source}/`)) return refused(`a rename of ${source} into itself (${dest})`);
    try {
      await rename(from, to);
      return { result: 'done' };
    } catch (e) {
      // A non-empty directory or another type at the target, a directory into itself.
      return fallback(`rename ${source} → ${dest}: ${errnoReason(e)}`);
    }
  }
  if (st.isDirectory()) return refused(`a hard link to a directory (${source})`);
  // The new name replaces whatever copy is there in one step: linked beside it, renamed over it.
  const tmp = path.join(path.dirname(to), `.${path.basename(to)}.gsyncd-link-${String(process.pid)}`);
  try {
    await rm(tmp, { force: true });
    await link(from, tmp);
    await rename(tmp, to);
    return { result: 'done' };
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    return fallback(`link ${dest} → ${source}: ${errnoReason(e)}`);
  }
}
