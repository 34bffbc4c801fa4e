// Runs the built gsyncd as a user would: a real process, real signals, its log lines
// collected as they come. While it runs, its descendants are recorded from /proc so that
// after it exits the test can check that none of them survived it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  describeProcesses,
  descendantsOf,
  isAlive,
  killRecords,
  processesMentioning,
  type ProcessRecord,
} from './proc.js';
import { pollUntil, withTimeout } from './wait.js';

/** The repository root: this file is dist/test/helpers/gsyncd.js once built. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const gsyncdBin = path.join(repoRoot, 'bin', 'gsyncd');

/** How a loopback "remote" host runs gsyncd: the built shim, found by absolute path. */
export function remoteGsyncdArgs(): string[] {
  // The slave's log would otherwise go to the machine's state directory.
  return ['--remote-gsyncd', `${gsyncdBin} --log-file /dev/null`];
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** Use this state dir instead of a fresh temporary one. */
  stateDir?: string;
  /** Do not add `--state-dir` (for tests of the flag itself). */
  noStateDir?: boolean;
  /** Run gsyncd through this command (`unshare …`, `setpriv …`), which must exec what follows it. */
  prefix?: readonly string[];
  /** The gsyncd shim to run; default this checkout's bin/gsyncd. */
  bin?: string;
}

export interface LogMatch {
  line: string;
  index: number;
}

const STOP_TIMEOUT_MS = 15_000;
// A child killed as gsyncd exits needs a moment to be reaped; a remote `rsync --server`
// needs its connection to close first.
const REAP_GRACE_MS = 5_000;

/**
 * One timer every 100 ms records the descendants of all the gsyncd processes of a test file:
 * a child that lives shorter cannot outlive gsyncd unnoticed (stop() records once more before
 * its signal, and survivors are also found by their command line). Each record walks down
 * from its gsyncd (proc.ts): a scan of all /proc per tick cost the suite about a tenth of its CPU.
 */
const watchers = new Set<() => void>();
let scanner: NodeJS.Timeout | undefined;

function watchProcesses(record: () => void): () => void {
  watchers.add(record);
  scanner ??= setInterval(() => {
    for (const w of watchers) w();
  }, 100);
  return () => {
    watchers.delete(record);
    if (watchers.size === 0 && scanner !== undefined) {
      clearInterval(scanner);
      scanner = undefined;
    }
  };
}

export class GsyncdProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly args: readonly string[];
  readonly stateDir: string;
  readonly stdoutLines: string[] = [];
  readonly stderrLines: string[] = [];
  /** Every descendant seen while gsyncd ran, keyed by pid and start time. */
  readonly descendants = new Map<string, ProcessRecord>();
  readonly exited: Promise<Exit>;
  /** Both output pipes have ended (every line has been read). */
  readonly closed: Promise<void>;
  #exit: Exit | undefined;
  readonly #waiters = new Set<() => void>();
  readonly #ownsStateDir: boolean;
  readonly #unwatch: () => void;

  constructor(args: readonly string[], stateDir: string, ownsStateDir: boolean, options: StartOptions) {
    if (!existsSync(path.join(repoRoot, 'dist', 'bundle', 'cli', 'main.js'))) {
      throw new Error(`the CLI is not built (${repoRoot}dist/bundle/cli/main.js missing): run npm run build`);
    }
    this.stateDir = stateDir;
    this.#ownsStateDir = ownsStateDir;
    this.args = options.noStateDir === true ? [...args] : ['--state-dir', stateDir, ...args];
    const command: readonly string[] = [...(options.prefix ?? []), process.execPath, options.bin ?? gsyncdBin, ...this.args];
    this.child = spawn(command[0] ?? process.execPath, command.slice(1), {
      // The checkout of the shim it runs (a user other than the owner may not enter this one).
      cwd: options.bin === undefined ? repoRoot : path.resolve(options.bin, '..', '..'),
      // GSYNCD_STATE_DIR as a second guard: a test never writes to /var/lib.
      env: { ...process.env, GSYNCD_STATE_DIR: stateDir, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (this.child.pid === undefined) {
      throw new Error('gsyncd did not start');
    }
    this.pid = this.child.pid;
    this.#collect(this.child.stdout, this.stdoutLines);
    this.#collect(this.child.stderr, this.stderrLines);
    this.#unwatch = watchProcesses(() => {
      this.#recordDescendants();
    });
    this.closed = new Promise((resolve) => {
      this.child.on('close', () => {
        resolve();
      });
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#unwatch();
        this.#exit = { code, signal };
        this.#notify();
        resolve(this.#exit);
      });
    });
  }

  get exit(): Exit | undefined {
    return this.#exit;
  }

  /** The last lines of both streams, for failure messages. */
  tail(lines = 30): string {
    const out = this.stdoutLines.slice(-lines).map((l) => `  [stdout] ${l}`);
    const err = this.stderrLines.slice(-lines).map((l) => `  [stderr] ${l}`);
    return [...out, ...err].join('\n');
  }

  /** Index of the first stderr line (from `from` on) that matches, or -1. */
  findLog(pattern: RegExp | string, from = 0): number {
    for (let i = from; i < this.stderrLines.length; i += 1) {
      const line = this.stderrLines[i] ?? '';
      if (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line)) {
        return i;
      }
    }
    return -1;
  }

  countLog(pattern: RegExp | string): number {
    let count = 0;
    for (let i = this.findLog(pattern); i !== -1; i = this.findLog(pattern, i + 1)) {
      count += 1;
    }
    return count;
  }

  /**
   * Waits for a stderr line matching `pattern` (substring or regex), looking at lines from
   * index `from` on. Fails at once if gsyncd exits first.
   */
  async waitForLog(pattern: RegExp | string, timeoutMs: number, from = 0): Promise<LogMatch> {
    const what = `gsyncd log line ${String(pattern)}`;
    return new Promise((resolve, reject) => {
      // Each check reads only the lines that came since the last one.
      let next = from;
      const check = (): void => {
        const index = this.findLog(pattern, next);
        next = Math.max(next, this.stderrLines.length);
        if (index !== -1) {
          done();
          resolve({ line: this.stderrLines[index] ?? '', index });
        } else if (this.#exit !== undefined) {
          done();
          reject(new Error(`gsyncd exited (${describeExit(this.#exit)}) before ${what}; output:\n${this.tail()}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output:\n${this.tail()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
      };
      this.#waiters.add(check);
      check();
    });
  }

  async waitForExit(timeoutMs: number): Promise<Exit> {
    return withTimeout(this.exited, timeoutMs, `gsyncd (pid ${this.pid}) to exit; output:\n${this.tail()}`);
  }

  /** Sends `signal` and waits for the exit; SIGKILLs and fails if it takes too long. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    if (this.#exit !== undefined) {
      return this.#exit;
    }
    this.#recordDescendants();
    this.child.kill(signal);
    try {
      return await this.waitForExit(timeoutMs);
    } catch {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(`gsyncd did not exit within ${timeoutMs} ms of ${signal}; output:\n${this.tail()}`);
    }
  }

  /**
   * Living processes that gsyncd left behind: recorded descendants that still run, and any
   * process whose command line names this run's state dir or one of its path arguments
   * (an ssh ControlMaster daemonizes away from its parent; a remote rsync hangs off sshd).
   */
  survivors(): ProcessRecord[] {
    const alive = [...this.descendants.values()].filter(isAlive);
    const seen = new Set(alive.map((r) => r.pid));
    const mentioning = processesMentioning(this.#needles()).filter((r) => !seen.has(r.pid) && r.pid !== this.pid);
    return [...alive, ...mentioning];
  }

  /** After the exit, waits out the reaping grace and returns what still survives. */
  async leftoversAfterGrace(): Promise<ProcessRecord[]> {
    try {
      await pollUntil(() => (this.survivors().length === 0 ? true : undefined), () => 'gsyncd children to exit', {
        timeoutMs: REAP_GRACE_MS,
        intervalMs: 50,
      });
      return [];
    } catch {
      return this.survivors();
    }
  }

  /** Asserts that gsyncd has exited and, after a short grace, that nothing of it survives. */
  async assertNoChildrenLeft(): Promise<void> {
    assert.ok(this.#exit !== undefined, 'assertNoChildrenLeft: gsyncd is still running');
    const left = await this.leftoversAfterGrace();
    assert.deepEqual(
      left.map((r) => r.pid),
      [],
      `processes started by gsyncd (pid ${this.pid}) outlived it by ${REAP_GRACE_MS} ms:\n${describeProcesses(left)}`,
    );
  }

  /** Cleanup for `after` hooks: kill gsyncd and anything it left, remove its state dir. */
  async dispose(): Promise<void> {
    if (this.#exit === undefined) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    killRecords(this.survivors());
    if (this.#ownsStateDir) {
      await rm(this.stateDir, { recursive: true, force: true });
    }
  }

  #needles(): string[] {
    const needles = new Set<string>([this.stateDir]);
    for (const arg of this.args) {
      for (const word of arg.split(/\s+/)) {
        // Only per-test temporary paths: the shared bin/gsyncd path would match other
        // tests' processes, also when the checkout itself lies in the temporary directory.
        const candidate = localPart(word);
        if (candidate.startsWith(`${tmpdir()}/`) && candidate.length > tmpdir().length + 4 && !candidate.startsWith(repoRoot)) {
          needles.add(candidate);
        }
      }
    }
    return [...needles];
  }

  #recordDescendants(): void {
    if (this.#exit !== undefined) {
      return;
    }
    for (const record of descendantsOf(this.pid, this.descendants)) {
      this.descendants.set(`${record.pid}:${record.startTime}`, record);
    }
  }

  #collect(stream: NodeJS.ReadableStream | null, into: string[]): void {
    if (stream === null) {
      return;
    }
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      into.push(line);
      this.#notify();
    });
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) {
      waiter();
    }
  }
}

/** The path in `/p`, `file:///p`, `host:/p` or `ssh://host:port/p`. */
function localPart(word: string): string {
  if (/^(ssh|file):\/\//.test(word)) {
    try {
      return decodeURIComponent(new URL(word).pathname);
    } catch {
      return word;
    }
  }
  return word.replace(/^[^/]*:(?=\/)/, '');
}

export function describeExit(exit: Exit): string {
  return exit.signal !== null ? `signal ${exit.signal}` : `code ${String(exit.code)}`;
}

async function newStateDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'gsyncd-e2e-state-'));
}

/** Starts gsyncd in the background. Pair with `t.after(() => g.dispose())`. */
export async function startGsyncd(args: readonly string[], options: StartOptions = {}): Promise<GsyncdProcess> {
  const own = options.stateDir === undefined;
  const stateDir = options.stateDir ?? (await newStateDir());
  return new GsyncdProcess(args, stateDir, own, options);
}

export interface RunResult extends Exit {
  stdout: string;
  stderr: string;
  process: GsyncdProcess;
  /** What outlived gsyncd (after the reaping grace); see `assertNoChildrenLeft`. */
  leftovers: ProcessRecord[];
}

/**
 * Runs gsyncd to completion (a `--once` run, a usage error), then cleans up after it
 * (its state dir and anything it left behind, recorded first in `leftovers`).
 */
export async function runGsyncd(
  args: readonly string[],
  options: StartOptions & { timeoutMs?: number } = {},
): Promise<RunResult> {
  const g = await startGsyncd(args, options);
  try {
    const exit = await g.waitForExit(options.timeoutMs ?? 120_000);
    // Output still in the pipes when 'exit' fired comes with 'close' (unless a leftover
    // child holds the pipe open: that is for the leftovers check to report).
    await Promise.race([g.closed, new Promise((resolve) => setTimeout(resolve, 2_000))]);
    const leftovers = await g.leftoversAfterGrace();
    return { ...exit, stdout: g.stdoutLines.join('\n'), stderr: g.stderrLines.join('\n'), process: g, leftovers };
  } finally {
    await g.dispose();
  }
}

/** Asserts that nothing started by a finished gsyncd run outlived it. */
export async function assertNoChildrenLeft(run: GsyncdProcess | RunResult): Promise<void> {
  if (run instanceof GsyncdProcess) {
    await run.assertNoChildrenLeft();
    return;
  }
  assert.deepEqual(
    run.leftovers.map((r) => r.pid),
    [],
    `processes started by gsyncd (pid ${run.process.pid}) outlived it:\n${describeProcesses(run.leftovers)}`,
  );
}

/** Signals gsyncd, asserts the documented clean exit (code 0) and that no child survives. */
export async function stopAndAssertClean(g: GsyncdProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const exit = await g.stop(signal);
  assert.deepEqual(exit, { code: 0, signal: null }, `gsyncd exited ${describeExit(exit)} on ${signal}; output:\n${g.tail()}`);
  await g.assertNoChildrenLeft();
}

/** Waits until gsyncd has a running rsync child (so a signal finds work in flight). */
export async function waitForRsyncChild(g: GsyncdProcess, timeoutMs: number): Promise<ProcessRecord> {
  return pollUntil(
    () => [...g.descendants.values()].find((r) => r.comm === 'rsync' && isAlive(r)),
    () => `gsyncd (pid ${g.pid}) to run rsync; output:\n${g.tail()}`,
    { timeoutMs, intervalMs: 25 },
  );
}
