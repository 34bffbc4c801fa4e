// Changes made to the master while the daemon is stopped (or between two cron runs): new
// files, rewrites, deletes, and renames of files and of whole directories. Every step is
// journalled as it is made, so the master can be put back even after a partial failure,
// and every change says what the slave must show once it has caught up.
import { lstatSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { sleep } from './proc.js';
import { readOrUndefined, topName, type Tree } from './tree.js';

export interface ChangeCounts {
  readonly creates: number;
  readonly rewrites: number;
  readonly deletes: number;
  readonly fileRenames: number;
  readonly dirRenames: number;
}

export const totalChanges = (c: ChangeCounts): number => c.creates + c.rewrites + c.deletes + c.fileRenames + c.dirRenames;

/** "400 new, 378 rewritten, 200 deleted, 20 files renamed, 2 directories renamed" */
export const describeCounts = (c: ChangeCounts): string =>
  `${c.creates} new, ${c.rewrites} rewritten, ${c.deletes} deleted, ${c.fileRenames} files renamed, ${c.dirRenames} directories renamed`;

/**
 * What users do between two runs: mostly new and edited files, some deletes, a few
 * renames. A directory rename counts as one change but moves a whole directory (100 files),
 * which is what a restart that diffs the tree must recognise.
 */
export function mixFor(n: number): ChangeCounts {
  const dirRenames = n >= 100 ? 2 : n >= 10 ? 1 : 0;
  const fileRenames = Math.round(n * 0.02);
  const deletes = Math.round(n * 0.2);
  const creates = Math.round(n * 0.4);
  return { creates, rewrites: Math.max(0, n - dirRenames - fileRenames - deletes - creates), deletes, fileRenames, dirRenames };
}

interface ChangePlan {
  readonly creates: readonly string[];
  readonly rewrites: readonly string[];
  readonly deletes: readonly string[];
  readonly fileRenames: readonly (readonly [string, string])[];
  readonly dirRenames: readonly (readonly [string, string])[];
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * Which paths change: existing files spread over every directory (no file picked twice),
 * directories to rename taken from the end of the list and left alone otherwise, so that
 * each path has one expected outcome. A tree too small for the mix gets fewer changes.
 */
function planChanges(tree: Tree, tag: string, want: ChangeCounts): ChangePlan {
  const renameCount = tree.dirs.length >= 4 ? want.dirRenames : 0;
  const dirs = tree.dirs.slice(0, tree.dirs.length - renameCount);
  const perDir = tree.shape.filesPerDir;
  // Round r visits every directory once, in order (consecutive directories sit in different
  // top-level folders), on file 7r + 3d + 5: as 7 is coprime with 100 files a directory, no
  // file comes up twice until the directory is used up.
  const needed = Math.min(want.rewrites + want.deletes + want.fileRenames, dirs.length * perDir);
  const existing: string[] = [];
  const seen = new Set<string>();
  for (let k = 0; existing.length < needed && k < dirs.length * perDir * 2; k++) {
    const d = k % dirs.length;
    const r = Math.floor(k / dirs.length);
    const rel = `${dirs[d]!}/file-${pad((r * 7 + d * 3 + 5) % perDir, 3)}.txt`;
    if (seen.has(rel)) continue;
    seen.add(rel);
    existing.push(rel);
  }
  const rewrites = existing.slice(0, want.rewrites);
  const deletes = existing.slice(rewrites.length, rewrites.length + want.deletes);
  const moved = existing.slice(rewrites.length + deletes.length);
  // Half stay in their directory, half move to another one.
  const fileRenames = moved.map((from, i): [string, string] => {
    const dir = i % 2 === 0 ? from.slice(0, from.lastIndexOf('/')) : dirs[(i * 13 + 1) % dirs.length]!;
    return [from, `${dir}/renamed-${tag}-${pad(i, 4)}.txt`];
  });
  const creates = Array.from({ length: want.creates }, (_, i) => `${dirs[(i * 31 + 17) % dirs.length]!}/new-${tag}-${pad(i, 5)}.txt`);
  // The last directories, which no other change touches: one renamed in place, the next
  // moved into another top-level folder (directory d lives in top-level folder d % topDirs).
  const dirRenames = Array.from({ length: renameCount }, (_, i): [string, string] => {
    const d = dirs.length + i;
    const from = tree.dirs[d]!;
    const top = topName((i % 2 === 0 ? d : d + 1) % tree.shape.topDirs);
    return [from, `${top}/${from.slice(from.lastIndexOf('/') + 1)}-renamed-${tag}`];
  });
  return { creates, rewrites, deletes, fileRenames, dirRenames };
}

/**
 * How to put one step back. A file written back gets its old times too: with a fresh mtime,
 * the next same-size rewrite within that second would pass rsync's quick check unseen.
 */
type UndoStep = { readonly kind: 'remove'; readonly rel: string } | WriteBack | { readonly kind: 'rename'; readonly from: string; readonly to: string };

interface WriteBack {
  readonly kind: 'write';
  readonly rel: string;
  readonly content: string;
  readonly atimeMs: number;
  readonly mtimeMs: number;
}

/** The step that writes `rel` back as it is now. */
function writeBack(root: string, rel: string): WriteBack {
  const st = lstatSync(join(root, rel));
  return { kind: 'write', rel, content: readFileSync(join(root, rel), 'utf8'), atimeMs: st.atimeMs, mtimeMs: st.mtimeMs };
}

/** A path on the slave: this content, or (null) nothing at all. */
export interface Expectation {
  readonly rel: string;
  readonly content: string | null;
}

export interface AppliedChanges {
  readonly counts: ChangeCounts;
  readonly expected: readonly Expectation[];
  readonly writeSeconds: number;
}

/** Steps already made, newest last; `undoChanges` walks it backwards. */
export type Journal = UndoStep[];

/**
 * Makes about `n` changes (see `mixFor`) to the master, tagged so that two runs on one
 * tree do not collide, and records each in `journal` as soon as it is made.
 */
export function applyChanges(tree: Tree, tag: string, n: number, journal: Journal): AppliedChanges {
  const plan = planChanges(tree, tag, mixFor(n));
  const root = tree.root;
  const expected: Expectation[] = [];
  const t0 = performance.now();
  for (const rel of plan.creates) {
    const content = `new ${tag} ${rel} ${randomUUID()}\n`;
    writeFileSync(join(root, rel), content);
    journal.push({ kind: 'remove', rel });
    expected.push({ rel, content });
  }
  for (const [i, rel] of plan.rewrites.entries()) {
    const undo = writeBack(root, rel);
    const size = undo.content.length;
    // Every other rewrite keeps the size where the new text fits: a daemon (or rsync's quick
    // check) must not rely on the size alone.
    const content = `rewritten ${tag} ${randomUUID()}\n`.padEnd(i % 2 === 0 ? size : size + 17, 'z');
    writeFileSync(join(root, rel), content);
    journal.push(undo);
    expected.push({ rel, content });
  }
  for (const rel of plan.deletes) {
    const undo = writeBack(root, rel);
    rmSync(join(root, rel));
    journal.push(undo);
    expected.push({ rel, content: null });
  }
  for (const [from, to] of plan.fileRenames) {
    const content = readFileSync(join(root, from), 'utf8');
    renameSync(join(root, from), join(root, to));
    journal.push({ kind: 'rename', from, to });
    expected.push({ rel: from, content: null }, { rel: to, content });
  }
  for (const [from, to] of plan.dirRenames) {
    // Whatever the directory holds now (latency files included) must arrive under its new name.
    const files = readdirSync(join(root, from)).map((name) => ({ name, content: readFileSync(join(root, from, name), 'utf8') }));
    renameSync(join(root, from), join(root, to));
    journal.push({ kind: 'rename', from, to });
    expected.push({ rel: from, content: null }, ...files.map((f) => ({ rel: `${to}/${f.name}`, content: f.content })));
  }
  const counts: ChangeCounts = {
    creates: plan.creates.length,
    rewrites: plan.rewrites.length,
    deletes: plan.deletes.length,
    fileRenames: plan.fileRenames.length,
    dirRenames: plan.dirRenames.length,
  };
  return { counts, expected, writeSeconds: (performance.now() - t0) / 1000 };
}

/** Puts the master back as it was before the journalled steps, newest first, and empties the journal. */
export function undoChanges(root: string, journal: Journal): void {
  for (let step = journal.pop(); step !== undefined; step = journal.pop()) {
    switch (step.kind) {
      case 'remove':
        rmSync(join(root, step.rel), { force: true });
        break;
      case 'write':
        writeFileSync(join(root, step.rel), step.content);
        utimesSync(join(root, step.rel), step.atimeMs / 1000, step.mtimeMs / 1000);
        break;
      case 'rename':
        renameSync(join(root, step.to), join(root, step.from));
        break;
    }
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

const holds = (root: string, e: Expectation): boolean =>
  e.content === null ? !exists(join(root, e.rel)) : readOrUndefined(join(root, e.rel)) === e.content;

/** The expectations `root` does not meet yet. */
export function unmet(root: string, expected: readonly Expectation[]): Expectation[] {
  return expected.filter((e) => !holds(root, e));
}

export interface Converged {
  readonly at: number; // performance.now() when the last expectation was first seen met
  readonly rechecks: number; // full checks that found a change undone after it had been seen
}

/**
 * Polls `slave` until every expectation holds. Each poll stops at the first unmet one, so
 * polling stays cheap while the daemon works; a change once seen is taken as done until a
 * final full check, which sends polling back to whatever it finds wrong.
 */
export async function waitConverged(
  slave: string,
  expected: readonly Expectation[],
  opts: { pollMs: number; timeoutMs: number; since: number; isAlive: () => boolean },
): Promise<Converged> {
  let pending = [...expected];
  let rechecks = 0;
  for (;;) {
    const firstUnmet = pending.findIndex((e) => !holds(slave, e));
    pending = firstUnmet < 0 ? [] : pending.slice(firstUnmet);
    if (pending.length === 0) {
      const at = performance.now();
      pending = unmet(slave, expected);
      if (pending.length === 0) return { at, rechecks };
      rechecks++;
    }
    const waited = performance.now() - opts.since;
    if (waited > opts.timeoutMs || !opts.isAlive()) {
      const left = unmet(slave, expected);
      throw new Error(
        `restart: ${left.length}/${expected.length} expected paths not right on the slave after ${Math.round(waited)} ms, ` +
          `e.g. ${left.slice(0, 3).map((e) => `${e.rel} (${e.content === null ? 'should be gone' : 'missing or wrong content'})`).join(', ')}`,
      );
    }
    await sleep(opts.pollMs);
  }
}
