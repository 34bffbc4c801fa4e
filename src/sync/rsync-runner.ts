/**
 * Runs rsync. The only place in sync/ that starts a process; it owns the child's whole
 * life: a cancel signal stops it (SIGTERM, then SIGKILL after a bound), and execa's
 * cleanup kills it if gsyncd itself dies.
 */
import { execa } from 'execa';
import { rsyncExit, type RsyncExit } from './exit-codes.js';
import { parseRsyncStats, withoutStats, type RsyncStats } from './rsync-stats.js';
import { SentCollector, type SentList } from './sent-paths.js';
import { createInterface } from 'node:readline';
import { dieWithParent } from './no-orphans.js';
import { parseProgress, type RsyncProgress } from './rsync-progress.js';

export interface RsyncResult {
  readonly exit: RsyncExit;
  readonly stats: RsyncStats;
  /** rsync's messages (stderr), for the log when a run fails. */
  readonly stderr: string;
  /** rsync's itemized or verbose output, without the stats block (the first lines of it). */
  readonly output: string;
  /** What the run says it sent, when asked for (`--out-format` with the sent mark). */
  readonly sent: SentList;
  readonly seconds: number;
  /** Set when rsync could not be started at all (not installed, not executable). */
  readonly spawnError?: string;
}

export interface RunRsyncOptions {
  readonly input?: Buffer;
  readonly signal?: AbortSignal;
  /** After the cancel signal's SIGTERM, SIGKILL after this long. */
  readonly killAfterMs?: number;
  /** `--info=progress2` lines, as they come (they are kept out of the output). */
  readonly onProgress?: (p: RsyncProgress) => void;
}

export type RunRsync = (command: string, argv: readonly string[], options: RunRsyncOptions) => Promise<RsyncResult>;

/** Output lines kept for the log; past them only a tail is kept, for the stats block. */
const KEPT_LINES = 2000;
const TAIL_LINES = 40;

export const runRsync: RunRsync = async (command, argv, options) => {
  const started = performance.now();
  const [program, args] = dieWithParent(command, argv);
  const child = execa(program, args, {
    input: options.input ?? '',
    reject: false,
    stripFinalNewline: true,
    cleanup: true,
    // stdout is read here line by line: a -v run or a sent list over a million files must
    // neither fill memory nor hit a buffer limit that would kill rsync.
    buffer: { stdout: false, stderr: true },
    forceKillAfterDelay: options.killAfterMs ?? 5000,
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    // Messages must be rsync's own words, in English, for the log and the tests.
    env: { LC_ALL: 'C' },
  });
  const kept: string[] = [];
  const tail: string[] = [];
  const sent = new SentCollector();
  const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
  const reading = (async () => {
    for await (const line of lines) {
      if (sent.take(line)) continue;
      const progress = parseProgress(line);
      if (progress) {
        options.onProgress?.(progress);
        continue;
      }
      if (kept.length < KEPT_LINES) kept.push(line);
      else {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
      }
    }
  })();
  const result = await child;
  await reading;
  const seconds = (performance.now() - started) / 1000;
  const stdout = [...kept, ...tail].join('\n');
  const stderr = typeof result.stderr === 'string' ? result.stderr : '';
  if (result.exitCode === undefined) {
    const failedToStart = result.cause instanceof Error && 'code' in result.cause && result.signal === undefined;
    return {
      exit: rsyncExit(result.signal === 'SIGKILL' || result.signal === 'SIGTERM' ? 20 : 13),
      stats: parseRsyncStats(''),
      stderr,
      output: '',
      sent: sent.result(),
      seconds,
      ...(failedToStart ? { spawnError: result.shortMessage } : {}),
    };
  }
  return { exit: rsyncExit(result.exitCode), stats: parseRsyncStats(stdout), stderr, output: withoutStats(stdout), sent: sent.result(), seconds };
};
