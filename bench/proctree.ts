// Reading /proc for a daemon's process tree: who its descendants are, their resident
// memory and CPU time. Linux only, which is where the bench runs.
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string; // R, S, D, Z (zombie: exited, never waited for) …
  readonly ppid: number;
  readonly pgrp: number;
  readonly cpuTicks: number; // utime + stime + cutime + cstime
  readonly rssPages: number;
}

// Kernel clock ticks per second (USER_HZ); 100 on every Linux the bench targets.
export const CLOCK_TICKS = 100;
const PAGE_KB = 4;

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // comm is in parentheses and may itself contain spaces or parentheses.
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const comm = text.slice(open + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5).
  const num = (field: number): number => Number(f[field - 3] ?? 0);
  return {
    pid,
    comm,
    state: f[0] ?? '?',
    ppid: num(4),
    pgrp: num(5),
    cpuTicks: num(14) + num(15) + num(16) + num(17),
    rssPages: num(24),
  };
}

function allStats(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s !== undefined) out.push(s);
  }
  return out;
}

/** `root` and all its live descendants. */
export function processTree(root: number): ProcStat[] {
  const stats = allStats();
  const byParent = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const list = byParent.get(s.ppid) ?? [];
    list.push(s);
    byParent.set(s.ppid, list);
  }
  const rootStat = stats.find((s) => s.pid === root);
  if (rootStat === undefined) return [];
  const out = [rootStat];
  for (let i = 0; i < out.length; i++) {
    out.push(...(byParent.get(out[i]!.pid) ?? []));
  }
  return out;
}

export function processGroupMembers(pgid: number): ProcStat[] {
  return allStats().filter((s) => s.pgrp === pgid);
}

export function treeRssKb(root: number): number {
  return processTree(root).reduce((sum, s) => sum + s.rssPages * PAGE_KB, 0);
}

export function treeCpuSeconds(root: number): number {
  return processTree(root).reduce((sum, s) => sum + s.cpuTicks, 0) / CLOCK_TICKS;
}

/** The kernel's exact peak RSS of one process (VmHWM), in kB. */
export function peakRssKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] === undefined ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Samples the tree's total RSS every `intervalMs` and keeps the peak. */
export class RssSampler {
  peakKb = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly root: number,
    intervalMs = 250,
  ) {
    this.timer = setInterval(() => {
      this.sample();
    }, intervalMs);
    this.timer.unref();
  }

  sample(): number {
    const kb = treeRssKb(this.root);
    if (kb > this.peakKb) this.peakKb = kb;
    return kb;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
