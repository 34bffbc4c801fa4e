/**
 * Reads the sessions' status files. A session whose process is gone shows Stopped, whatever
 * its file last said (a crash, a kill -9): the pid is checked, and must still be gsyncd.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { StatusRecord } from './status.js';

/**
 * Whether `pid` is a running gsyncd: not gone, not a zombie nobody reaped (a kill -9'd
 * process whose parent is gone can stay one), and not a reused pid of another program.
 */
export async function isGsyncd(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state follows the parenthesised command name, which may itself hold spaces or ')'.
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return /gsyncd/.test(cmdline);
  } catch {
    // No /proc (not Linux): trust the signal check.
    return true;
  }
}

function isRecord(v: unknown): v is StatusRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return typeof r['session'] === 'string' && typeof r['status'] === 'string' && typeof r['totals'] === 'object';
}

export async function readSession(stateDir: string, name: string): Promise<StatusRecord | undefined> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path.join(stateDir, name, 'status.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const alive = parsed.pid !== undefined && (await isGsyncd(parsed.pid));
  if (alive || parsed.status === 'Stopped') return parsed;
  const { reason: _reason, ...rest } = parsed;
  return { ...rest, status: 'Stopped', crawl_status: 'N/A' };
}

/** Every session of the state directory, by name. */
export async function readSessions(stateDir: string): Promise<StatusRecord[]> {
  let names: string[];
  try {
    names = (await readdir(stateDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
  const out: StatusRecord[] = [];
  for (const name of names.sort()) {
    const r = await readSession(stateDir, name);
    if (r) out.push(r);
  }
  return out;
}
