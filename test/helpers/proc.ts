// Process bookkeeping from /proc: who descends from a pid, whether a recorded process is
// still the same living process (pids get reused, so the start time is part of the id),
// and which processes mention a path on their command line.
import { closeSync, existsSync, openSync, readdirSync, readSync } from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  /** Field 22 of /proc/PID/stat, in clock ticks since boot: with the pid, a unique id. */
  startTime: string;
  comm: string;
}

export interface ProcessRecord extends ProcInfo {
  cmdline: string;
}

/**
 * One /proc file, read into a buffer kept for the purpose. readFileSync sizes its buffer from
 * stat, which says 0 for /proc files: it then allocates 64 KiB per read, and the scans of the
 * process helper read thousands of these files a second across the suite (a tenth of a live
 * differential test's CPU went to those allocations).
 */
const procBuffer = Buffer.allocUnsafe(64 * 1024);
function readProcFile(file: string): string {
  const fd = openSync(file, 'r');
  try {
    let length = 0;
    for (let n = -1; n !== 0 && length < procBuffer.length; length += n) n = readSync(fd, procBuffer, length, procBuffer.length - length, null);
    return procBuffer.toString('latin1', 0, length);
  } finally {
    closeSync(fd);
  }
}

export function readProc(pid: number): ProcInfo | undefined {
  let stat: string;
  try {
    stat = readProcFile(`/proc/${pid}/stat`);
  } catch {
    return undefined;
  }
  // comm sits in parentheses and may itself hold spaces or ')': split after the last ')'.
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  const state = fields[0];
  const ppid = fields[1];
  const startTime = fields[19];
  if (state === undefined || ppid === undefined || startTime === undefined) {
    return undefined;
  }
  return { pid, ppid: Number(ppid), state, startTime, comm: stat.slice(open + 1, close) };
}

export function readCmdline(pid: number): string {
  try {
    return readProcFile(`/proc/${pid}/cmdline`).split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

export function allPids(): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** One read of every process's stat: who is whose child, right now. */
export function processTable(): Map<number, ProcInfo> {
  const infos = new Map<number, ProcInfo>();
  for (const pid of allPids()) {
    const info = readProc(pid);
    if (info !== undefined) {
      infos.set(pid, info);
    }
  }
  return infos;
}

/** Whether the kernel lists each thread's children (CONFIG_PROC_CHILDREN): then no scan of all /proc is needed. */
const childrenListed = existsSync(`/proc/${process.pid}/task/${process.pid}/children`);

/** The children of `pid`, from every one of its threads (a child belongs to the thread that forked it). */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((task) => {
    try {
      return readProcFile(`/proc/${pid}/task/${task}/children`).split(' ').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/** Descendants by walking down from `root`: a few reads per descendant instead of one per process. */
function walkDown(root: number): ProcInfo[] {
  const found: ProcInfo[] = [];
  const todo = childrenOf(root);
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    const info = readProc(pid);
    if (info === undefined) continue;
    found.push(info);
    todo.push(...childrenOf(pid));
  }
  return found;
}

/** Descendants from one read of every process's stat (where the kernel lists no children). */
function scanUp(root: number): ProcInfo[] {
  const table = processTable();
  const found: ProcInfo[] = [];
  for (const info of table.values()) {
    let ppid = info.ppid;
    for (let hops = 0; ppid > 1 && hops < 64; hops += 1) {
      if (ppid === root) {
        found.push(info);
        break;
      }
      ppid = table.get(ppid)?.ppid ?? 0;
    }
  }
  return found;
}

/**
 * Every living process that descends from `root` (not `root` itself), read now. `known` holds
 * records already read (by pid and start time): their command line is not read again while
 * the program stays the same.
 */
export function descendantsOf(root: number, known?: ReadonlyMap<string, ProcessRecord>): ProcessRecord[] {
  return (childrenListed ? walkDown(root) : scanUp(root)).map((info) => {
    // Read again when it was empty (read while the process was in execve) or the program
    // changed since (setpriv execs ssh under the same pid and start time).
    const before = known?.get(`${info.pid}:${info.startTime}`);
    const reuse = before !== undefined && before.comm === info.comm && before.cmdline !== '';
    return { ...info, cmdline: reuse ? before.cmdline : readCmdline(info.pid) };
  });
}

/** True when the recorded process still runs (a zombie or a reused pid does not count). */
export function isAlive(record: ProcInfo): boolean {
  const now = readProc(record.pid);
  return now !== undefined && now.startTime === record.startTime && now.state !== 'Z';
}

/** Living processes (other than this one) whose command line contains any of `needles`. */
export function processesMentioning(needles: readonly string[]): ProcessRecord[] {
  const found: ProcessRecord[] = [];
  if (needles.length === 0) {
    return found;
  }
  for (const pid of allPids()) {
    if (pid === process.pid) {
      continue;
    }
    const cmdline = readCmdline(pid);
    if (needles.some((needle) => cmdline.includes(needle))) {
      const info = readProc(pid);
      if (info !== undefined && info.state !== 'Z') {
        found.push({ ...info, cmdline });
      }
    }
  }
  return found;
}

export function describeProcesses(records: readonly ProcessRecord[]): string {
  return records.map((r) => `  pid ${r.pid} (${r.comm}, ppid ${r.ppid}): ${r.cmdline}`).join('\n');
}

/** Sends `signal` to each record that is still the same living process. */
export function killRecords(records: readonly ProcInfo[], signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const record of records) {
    if (isAlive(record)) {
      try {
        process.kill(record.pid, signal);
      } catch {
        // Gone between the check and the kill: what we wanted.
      }
    }
  }
}
