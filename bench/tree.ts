// The benchmark tree (BENCH.md: 1,000 directories of 100 small files over 50 top-level
// folders for 100k files) and the files the scenarios add to it.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export interface TreeShape {
  readonly topDirs: number;
  readonly dirs: number;
  readonly filesPerDir: number;
}

export interface Tree {
  readonly root: string;
  readonly shape: TreeShape;
  /** Leaf directories, relative to root, in creation order. */
  readonly dirs: readonly string[];
  readonly files: number;
  readonly bytes: number;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Shape for about `files` files: 100 a directory, at most 50 top-level folders. */
export function shapeFor(files: number, filesPerDir = 100): TreeShape {
  const dirs = Math.max(1, Math.round(files / filesPerDir));
  return { topDirs: Math.min(50, dirs), dirs, filesPerDir };
}

export const topName = (i: number): string => `top-${pad(i, 2)}`;

/** Small files of 20 to 220 bytes, content derived from the path. */
function treeContent(rel: string, i: number): string {
  return `${rel}\n${'x'.repeat((i * 37) % 200)}\n`;
}

export function createTree(root: string, shape: TreeShape): Tree {
  const dirs: string[] = [];
  let bytes = 0;
  mkdirSync(root, { recursive: true });
  for (let d = 0; d < shape.dirs; d++) {
    const rel = `${topName(d % shape.topDirs)}/dir-${pad(d, 4)}`;
    mkdirSync(join(root, rel), { recursive: true });
    for (let f = 0; f < shape.filesPerDir; f++) {
      const frel = `${rel}/file-${pad(f, 3)}.txt`;
      const content = treeContent(frel, d * shape.filesPerDir + f);
      writeFileSync(join(root, frel), content);
      bytes += content.length;
    }
    dirs.push(rel);
  }
  return { root, shape, dirs, files: shape.dirs * shape.filesPerDir, bytes };
}

export interface NewFile {
  readonly rel: string;
  readonly content: string;
}

export interface Burst {
  readonly dirs: readonly string[]; // new directories, relative
  readonly files: readonly NewFile[];
  readonly writeSeconds: number; // how long creating them on the master took
}

/** The new directories and files of a burst, spread over every top-level folder. */
export function planBurst(shape: TreeShape, tag: string, count: number, perDir = 10): Omit<Burst, 'writeSeconds'> {
  const dirCount = Math.max(1, Math.ceil(count / perDir));
  const dirs: string[] = [];
  const files: NewFile[] = [];
  for (let d = 0; d < dirCount; d++) {
    dirs.push(`${topName(d % shape.topDirs)}/burst-${tag}-${pad(d, 3)}`);
  }
  for (let i = 0; i < count; i++) {
    const rel = `${dirs[i % dirCount]!}/file-${pad(i, 5)}.txt`;
    files.push({ rel, content: `burst ${tag} ${i} ${String(performance.now())}\n` });
  }
  return { dirs, files };
}

/** Creates the burst on the master as fast as one process can. */
export function writeBurst(root: string, plan: Omit<Burst, 'writeSeconds'>): Burst {
  const t0 = performance.now();
  for (const d of plan.dirs) mkdirSync(join(root, d));
  for (const f of plan.files) writeFileSync(join(root, f.rel), f.content);
  return { ...plan, writeSeconds: (performance.now() - t0) / 1000 };
}

/** Files with final names in `dirs` (rsync's in-flight temporaries start with a dot). */
export function countFiles(root: string, dirs: readonly string[]): number {
  let n = 0;
  for (const d of dirs) {
    try {
      for (const name of readdirSync(join(root, d))) if (!name.startsWith('.')) n++;
    } catch {
      // not there yet
    }
  }
  return n;
}

/** The files whose content on `root` differs from what was written (or are missing). */
export function mismatches(root: string, files: readonly NewFile[]): NewFile[] {
  return files.filter((f) => readOrUndefined(join(root, f.rel)) !== f.content);
}

export function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

export function removePaths(root: string, rels: readonly string[]): void {
  for (const rel of rels) rmSync(join(root, rel), { recursive: true, force: true });
}
