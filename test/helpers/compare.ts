// "The slave mirrors the master", checked by two independent tools: rsync's own itemized
// dry run (content by checksum, types, modes, times, owners, links, hard links) and
// `diff -r --no-dereference` (content and link targets).
import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { exec } from './exec.js';
import { pollUntil } from './wait.js';

export interface MirrorOptions {
  /** Compare hard links too (rsync -H); default true. */
  hardLinks?: boolean;
  /** Patterns excluded on both sides, as gsyncd was told (`--exclude`). */
  exclude?: readonly string[];
  /** Files only the slave has are fine (`--ignore-deletes`). */
  allowExtraneous?: boolean;
}

/** The differences between master and slave; empty when the slave mirrors the master. */
export async function mirrorDifferences(master: string, slave: string, options: MirrorOptions = {}): Promise<string> {
  const { hardLinks = true, exclude = [], allowExtraneous = false } = options;
  const rsyncArgs = [
    hardLinks ? '-anicH' : '-anic',
    ...(allowExtraneous ? [] : ['--delete']),
    '--out-format=%i %n%L',
    ...exclude.map((pattern) => `--exclude=${pattern}`),
    `${master}/`,
    `${slave}/`,
  ];
  const rsync = await exec('rsync', rsyncArgs);
  const problems: string[] = [];
  if (rsync.code !== 0) {
    problems.push(`rsync ${rsyncArgs.join(' ')} exited ${String(rsync.code ?? rsync.signal)}: ${rsync.stderr.trim()}`);
  }
  if (rsync.stdout.trim() !== '') {
    problems.push(`rsync itemized differences (master → slave):\n${rsync.stdout.trimEnd()}`);
  }

  // diff -x matches base names only: an anchored rsync pattern `/name` becomes `name`.
  const diffExcludes = exclude.flatMap((pattern) => ['-x', pattern.replace(/^\/|\/$/g, '')]);
  const diffArgs = ['-r', '--no-dereference', ...diffExcludes, master, slave];
  const diff = await exec('diff', diffArgs);
  let diffLines = diff.stdout.split('\n').filter((line) => line !== '');
  if (allowExtraneous) {
    diffLines = diffLines.filter((line) => !line.startsWith(`Only in ${slave}`));
  }
  if (diff.code === 2 || (diff.code === 1 && diffLines.length > 0)) {
    problems.push(`diff ${diffArgs.join(' ')}:\n${[...diffLines, diff.stderr.trim()].join('\n').trimEnd()}`);
  }
  return truncate(problems.join('\n'), 6000);
}

export async function assertMirrored(master: string, slave: string, options: MirrorOptions = {}): Promise<void> {
  const differences = await mirrorDifferences(master, slave, options);
  assert.equal(differences, '', `slave ${slave} does not mirror master ${master}:\n${differences}`);
}

/**
 * One entry's look from lstat: type and size, link target and, `withAttributes`, what rsync -a
 * would also find different (mode, owner, whole-second mtime). Content is left to the full check.
 */
function look(file: string, withAttributes: boolean): string | undefined {
  try {
    const st = lstatSync(file);
    const target = st.isSymbolicLink() ? readlinkSync(file) : '';
    const shape = `${String(st.mode & 0o170000)} ${st.isFile() ? String(st.size) : '-'} ${target}`;
    return withAttributes ? `${shape} ${String(st.mode)} ${String(st.uid)}:${String(st.gid)} ${String(Math.floor(st.mtimeMs / 1000))}` : shape;
  } catch {
    return undefined;
  }
}

/** A directory's names; undefined for anything else (a symlink to a directory is not walked into). */
const namesIn = (dir: string): string[] | undefined => {
  try {
    return lstatSync(dir).isDirectory() ? readdirSync(dir) : undefined;
  } catch {
    return undefined;
  }
};

/**
 * Whether two trees already look alike, by lstat alone: no process started. While a mirror
 * converges, a poll then costs a walk instead of a checksumming rsync (and a diff): process
 * starts from the test process and every byte read, four times a second. The walk is
 * synchronous: test trees are small, and a promise per lstat cost more than the lstat
 * (the test runner tracks every promise's end).
 */
export function looksAlike(a: string, b: string, withAttributes: boolean): boolean {
  if (look(a, withAttributes) !== look(b, withAttributes)) return false;
  const inA = namesIn(a);
  const inB = namesIn(b);
  if (inA === undefined || inB === undefined) return inA === inB;
  if (inA.length !== inB.length) return false;
  const names = new Set(inB);
  for (const name of inA) {
    if (!names.has(name)) return false;
    if (!looksAlike(path.join(a, name), path.join(b, name), withAttributes)) return false;
  }
  return true;
}

/**
 * Polls until the slave mirrors the master (live tests), then asserts it. The checks are
 * those of mirrorDifferences; a walk by lstat comes first and lets the full check run only
 * when the trees look alike (without excludes or extraneous files, whose walk would differ).
 * The full check runs once more at the deadline, whatever the walk said.
 */
export async function waitForMirror(
  master: string,
  slave: string,
  timeoutMs: number,
  options: MirrorOptions = {},
): Promise<void> {
  const walkFirst = (options.exclude ?? []).length === 0 && options.allowExtraneous !== true;
  let last = '';
  try {
    await pollUntil(
      async () => {
        if (walkFirst && !looksAlike(master, slave, true)) {
          last = '(the trees differ by lstat: type, size, mode, owner, mtime or link target)';
          return undefined;
        }
        last = await mirrorDifferences(master, slave, options);
        return last === '' ? true : undefined;
      },
      () => `slave ${slave} to mirror master ${master}`,
      { timeoutMs, intervalMs: 250 },
    );
  } catch (error: unknown) {
    last = await mirrorDifferences(master, slave, options);
    if (last === '') return;
    assert.fail(`${error instanceof Error ? error.message : String(error)}; last differences:\n${last}`);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (${text.length - max} more characters)`;
}
