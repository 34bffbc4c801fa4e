/**
 * Deletes on the slave without `--delete-missing-args`, for a slave whose rsync refuses it:
 * 3.2.7 as Debian 12 ships it since its May 2026 security update (3.2.7-1+deb12u5), like
 * upstream 3.4.3, rejects the "missing" entry that option sends for any listed path below the
 * root, or after a path that exists ("invalid file mode 00 … protocol incompatibility",
 * exit 2, nothing deleted).
 *
 * A gone path is then deleted the way a full run deletes: its parent directory is listed as
 * `PARENT/.` (one level, --files-from implies --dirs) with `--delete`, and rules that let
 * rsync see only the gone names: `+ /PARENT/NAME` for each, `+ /DIR/` for each parent and its
 * ancestors, then `- /PARENT/*` for each parent (anchored there: what a gone directory holds
 * must stay deletable, or rsync keeps it as "non-empty"). Every other entry is excluded, so on the slave it is protected, and
 * only the named entries, now extraneous, are deleted (a directory with all it holds). A name
 * that came back on the master meanwhile is sent instead, which is the mirror too. It costs
 * a look at every entry of each parent, on both sides, against every rule: the reason it is
 * only the fallback. Checked with every hard name (test/unit/delete-run.test.ts). Pure.
 */
import { parentOf } from './paths.js';

/** One rsync run of deletes: the parents to list and the rules that name what goes. */
export interface DeleteRun {
  /** The gone paths, each below a directory that exists on the master. */
  readonly targets: readonly string[];
  /** Their parents ('' for the root), listed as `PARENT/.`. */
  readonly parents: readonly string[];
  /** --filter values, in order: the targets included, the rest of each parent excluded. */
  readonly rules: readonly string[];
}

/** Past this many bytes of rules a run's share ends: each rule is an argument (argv has a limit). */
const MAX_RULE_BYTES = 96 * 1024;

/**
 * A literal name as an rsync pattern: rsync reads a backslash as an escape only in a pattern
 * that holds a wildcard, so a path with one of `*?[` gets those and its backslashes escaped,
 * and any other path is literal as it is.
 */
export function literalPattern(p: string): string {
  return /[*?[]/.test(p) ? escapeWildcards(p) : p;
}

/** Every wildcard character and backslash escaped, for a pattern that holds a wildcard of its own. */
export const escapeWildcards = (p: string): string => p.replace(/[\\*?[]/g, '\\$&');

/** The listed form of a parent: `.` for the root, `PARENT/.` below it. */
export const listedParent = (parent: string): string => (parent === '' ? '' : `${parent}/.`);

/**
 * The rules for `targets` (grouped by parent in the order given): the targets, then each
 * parent and its ancestors as directories (another parent's exclude must not hide them),
 * then the rest of each parent excluded.
 */
function rulesFor(byParent: ReadonlyMap<string, readonly string[]>): string[] {
  const includes = [...byParent.values()].flat().map((t) => `+ ${literalPattern(`/${t}`)}`);
  const dirs = new Set<string>();
  for (const p of byParent.keys()) for (let d = p; d !== '' && !dirs.has(d); d = parentOf(d)) dirs.add(d);
  const parents = [...dirs].map((d) => `+ ${literalPattern(`/${d}`)}/`);
  // The `*` makes each a wildcard pattern: the parent's own wildcards and backslashes escaped.
  const excludes = [...byParent.keys()].map((p) => `- ${p === '' ? '' : escapeWildcards(`/${p}`)}/*`);
  return [...includes, ...parents, ...excludes];
}

/**
 * The runs that delete `targets` (gone paths whose parents exist on the master, none below
 * another), split where their rules would grow past what one argument list holds.
 */
export function planDeleteRuns(targets: readonly string[]): DeleteRun[] {
  const runs: DeleteRun[] = [];
  let group = new Map<string, string[]>();
  let bytes = 0;
  const flush = (): void => {
    if (group.size === 0) return;
    runs.push({ targets: [...group.values()].flat(), parents: [...group.keys()], rules: rulesFor(group) });
    group = new Map();
    bytes = 0;
  };
  for (const t of targets) {
    const parent = parentOf(t);
    // A parent's rules: its include as a directory, those of its ancestors, its exclude.
    const cost = Buffer.byteLength(t) * 2 + 8 + (group.has(parent) ? 0 : Buffer.byteLength(parent) * 4 + 16);
    if (bytes + cost > MAX_RULE_BYTES) flush();
    group.set(parent, [...(group.get(parent) ?? []), t]);
    bytes += cost;
  }
  flush();
  return runs;
}
