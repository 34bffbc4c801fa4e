// Child processes the bench owns: one-shot commands timed to the millisecond, and
// long-running daemons whose log lines we wait on. Every child is registered so that
// `killAll()` can end it (and its process group) whatever way the bench exits.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { processGroupMembers } from './proctree.js';

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

const live = new Set<ChildProcess>();

/** Runs a command to completion; `seconds` is spawn to exit. */
export function run(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      live.delete(child);
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (performance.now() - t0) / 1000 });
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Like `run`, but a non-zero exit is an error carrying the command's stderr. */
export async function runOk(
  cmd: string,
  args: readonly string[],
  opts: { input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    const why = r.signal === null ? `exit ${String(r.code)}` : `signal ${r.signal}`;
    throw new Error(`${cmd} ${args.join(' ')}: ${why}\n${r.stderr.trim()}`);
  }
  return r;
}

export interface LogLine {
  readonly at: number; // performance.now() when the line arrived
  readonly text: string;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface StopResult extends Exit {
  readonly seconds: number; // signal to exit
  readonly forced: boolean; // had to be SIGKILLed
  readonly leftovers: readonly string[]; // processes of its group still running after it exited
  readonly zombies: readonly string[]; // children it never waited for (PID 1 here does not reap them)
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A long-running process in its own process group (so its rsync and ssh children can be
 * found and ended with it), with its stdout and stderr split into timestamped lines.
 */
export class Daemon {
  readonly lines: LogLine[] = [];
  readonly startedAt: number;
  readonly exited: Promise<Exit>;
  private readonly closed: Promise<void>;
  private exit: Exit | undefined;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private waiters: (() => void)[] = [];

  constructor(
    readonly name: string,
    cmd: string,
    args: readonly string[],
    logFile: string,
    private readonly echo = false,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
    this.log.write(`# ${cmd} ${args.join(' ')}\n`);
    this.startedAt = performance.now();
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(this.child);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let partial = '';
      stream?.setEncoding('utf8').on('data', (d: string) => {
        const at = performance.now();
        const parts = (partial + d).split('\n');
        partial = parts.pop() ?? '';
        for (const text of parts) this.addLine({ at, text });
      });
    }
    this.closed = new Promise((resolve) => {
      this.child.on('close', () => {
        resolve();
      });
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this.addLine({ at: performance.now(), text: `[bench] spawn failed: ${err.message}` });
      });
      // 'exit', not 'close': a grandchild that inherited stdout (sshd's per-connection
      // processes, a ControlPersist ssh) can hold the pipes open long after.
      this.child.on('exit', (code, signal) => {
        live.delete(this.child);
        this.exit = { code, signal };
        this.wake();
        resolve(this.exit);
      });
    });
  }

  /** After exit: wait briefly for the last output, then let go of the pipes. */
  private async release(): Promise<void> {
    await Promise.race([this.closed, sleep(500)]);
    this.child.stdout?.destroy();
    this.child.stderr?.destroy();
    if (!this.log.writableEnded) this.log.end();
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name}: not started`);
    return pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  private addLine(line: LogLine): void {
    this.lines.push(line);
    if (!this.log.writableEnded) this.log.write(`${((line.at - this.startedAt) / 1000).toFixed(3)} ${line.text}\n`);
    if (this.echo) console.error(`[${this.name}] ${line.text}`);
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The first line at or after `from` matching `re`; rejects on timeout or exit. */
  async waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<LogLine & { index: number }> {
    const deadline = performance.now() + timeoutMs;
    let i = from;
    for (;;) {
      for (; i < this.lines.length; i++) {
        const line = this.lines[i]!;
        if (re.test(line.text)) return { ...line, index: i };
      }
      if (this.exit !== undefined) {
        throw new Error(
          `${this.name} exited (${describeExit(this.exit)}) before logging ${String(re)}\n` +
            this.tail(),
        );
      }
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(`${this.name}: no line matching ${String(re)} within ${timeoutMs} ms\n${this.tail()}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  tail(n = 15): string {
    return this.lines
      .slice(-n)
      .map((l) => `  | ${l.text}`)
      .join('\n');
  }

  /** SIGTERM, then SIGKILL to the whole group after `graceMs`; reports stragglers. */
  async stop(graceMs = 10_000): Promise<StopResult> {
    const t0 = performance.now();
    let forced = false;
    if (this.exit === undefined) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = sleep(graceMs).then(() => 'timeout' as const);
      if ((await Promise.race([this.exited, timer])) === 'timeout') {
        forced = true;
        killGroup(this.pid);
      }
    }
    const exit = await this.exited;
    const seconds = (performance.now() - t0) / 1000;
    await this.release();
    // Children that outlive the daemon are a finding in themselves (orphans).
    await sleep(200);
    const members = processGroupMembers(this.pid);
    const leftovers = members.filter((p) => p.state !== 'Z').map((p) => `${p.pid} ${p.comm}`);
    const zombies = members.filter((p) => p.state === 'Z').map((p) => `${p.pid} ${p.comm}`);
    if (leftovers.length > 0) killGroup(this.pid);
    return { ...exit, seconds, forced, leftovers, zombies };
  }
}

export function describeExit(e: Exit): string {
  return e.signal === null ? `exit ${String(e.code)}` : `signal ${e.signal}`;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // group already empty
  }
}

/** Ends every child the bench started that is still running (their groups too). */
export function killAll(): void {
  for (const child of live) {
    if (child.pid === undefined) continue;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // not a group leader (a one-shot command): kill the process itself
      child.kill('SIGKILL');
    }
  }
  live.clear();
}
