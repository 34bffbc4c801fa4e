/**
 * Runs rsync. The only place in sync/ that starts a process; it owns the child's whole
 * life: a cancel signal stops it (SIGTERM, then SIGKILL after a bound), and execa's
 * cleanup kills it if gsyncd itself dies.
 */
import { execa } from 'execa';
import { rsyncExit, type RsyncExit } from './exit-codes.js';
import { parseRsyncStats, withoutStats, type RsyncStats } from './rsync-stats.js';

export interface RsyncResult {
  readonly exit: RsyncExit;
  readonly stats: RsyncStats;
  /** rsync's messages (stderr), for the log when a run fails. */
  readonly stderr: string;
  /** rsync's itemized or verbose output, without the stats block. */
  readonly output: string;
  readonly seconds: number;
  /** Set when rsync could not be started at all (not installed, not executable). */
  readonly spawnError?: string;
}

export interface RunRsyncOptions {
  readonly input?: Buffer;
  readonly signal?: AbortSignal;
  /** After the cancel signal's SIGTERM, SIGKILL after this long. */
  readonly killAfterMs?: number;
}

export type RunRsync = (command: string, argv: readonly string[], options: RunRsyncOptions) => Promise<RsyncResult>;

export const runRsync: RunRsync = async (command, argv, options) => {
  const started = performance.now();
  const result = await execa(command, argv, {
    input: options.input ?? '',
    reject: false,
    stripFinalNewline: true,
    cleanup: true,
    forceKillAfterDelay: options.killAfterMs ?? 5000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    // Messages must be rsync's own words, in English, for the log and the tests.
    env: { LC_ALL: 'C' },
  });
  const seconds = (performance.now() - started) / 1000;
  const stdout = typeof result.stdout === 'string' ? result.stdout : '';
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.exitCode === undefined) {
    const failedToStart = result.cause instanceof Error && 'code' in result.cause && result.signal === undefined;
    return {
      exit: rsyncExit(result.signal === 'SIGKILL' || result.signal === 'SIGTERM' ? 20 : 13),
      stats: parseRsyncStats(''),
      stderr,
      output: '',
      seconds,
      ...(failedToStart ? { spawnError: result.shortMessage } : {}),
    };
  }
  return { exit: rsyncExit(result.exitCode), stats: parseRsyncStats(stdout), stderr, output: withoutStats(stdout), seconds };
};
