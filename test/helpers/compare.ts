// "The slave mirrors the master", checked by two independent tools: rsync's own itemized
// dry run (content by checksum, types, modes, times, owners, links, hard links) and
// `diff -r --no-dereference` (content and link targets).
import assert from 'node:assert/strict';
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

/** Polls until the slave mirrors the master (live tests), then asserts it. */
export async function waitForMirror(
  master: string,
  slave: string,
  timeoutMs: number,
  options: MirrorOptions = {},
): Promise<void> {
  let last = '';
  try {
    await pollUntil(
      async () => {
        last = await mirrorDifferences(master, slave, options);
        return last === '' ? true : undefined;
      },
      () => `slave ${slave} to mirror master ${master}`,
      { timeoutMs, intervalMs: 250 },
    );
  } catch (error: unknown) {
    assert.fail(`${error instanceof Error ? error.message : String(error)}; last differences:\n${last}`);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (${text.length - max} more characters)`;
}
