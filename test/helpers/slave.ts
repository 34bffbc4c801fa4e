// Helpers for the slave-side tests: the forced command of a restricted key, raw commands
// through that key, an rsh that makes a real rsync client talk to a command of the test's
// choosing, the remote `gsyncd slave` processes of one sshd, read-only mounts, log tails.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exec, execOk, type ExecResult } from './exec.js';
import { gsyncdBin } from './gsyncd.js';
import { allPids, readCmdline, readProc, type ProcessRecord } from './proc.js';
import type { Scope } from './scope.js';
import type { Sshd } from './sshd.js';
import { pollUntil } from './wait.js';

/** Quotes a word for sh (and for gsyncd's own word splitting). */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface ForcedCommandOptions {
  roots: readonly string[];
  logFile?: string;
}

/** `command="<bin> slave --restrict --root R… [--log-file F]",restrict`, for authorized_keys. */
export function forcedCommandOptions({ roots, logFile }: ForcedCommandOptions): string {
  const words = [gsyncdBin, 'slave', '--restrict', ...roots.flatMap((r) => ['--root', r])];
  if (logFile !== undefined) {
    words.push('--log-file', logFile);
  }
  const command = words.map(shellQuote).join(' ');
  if (command.includes('"')) {
    throw new Error(`a forced command cannot hold a double quote: ${command}`);
  }
  return `command="${command}",restrict`;
}

/** The ssh client argv (`ssh -p PORT -i KEY -o …`) of an sshd, as words. */
export function sshWords(sshd: Sshd): string[] {
  // The rsh holds only temporary paths and fixed options: no word has a space in it.
  return sshd.rsh.split(' ');
}

/** Runs `command` (one string: SSH_ORIGINAL_COMMAND) through the key, stdin closed. */
export async function sshCommand(sshd: Sshd, command: string, timeoutMs = 30_000): Promise<ExecResult> {
  const [ssh = 'ssh', ...args] = sshWords(sshd);
  return exec(ssh, [...args, 'root@127.0.0.1', command], { timeoutMs });
}

/**
 * Writes an executable rsh for `rsync -e` that ignores the remote command rsync asks for
 * and requests `command` instead, so that a real rsync client speaks its protocol to a
 * command of the test's choosing (data really flows if the slave lets it run).
 */
export async function substitutingRsh(dir: string, sshd: Sshd, command: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  const script = path.join(dir, `rsh-${Date.now()}-${Math.random().toString(36).slice(2)}.sh`);
  const body = ['#!/bin/sh', `exec ${sshWords(sshd).map(shellQuote).join(' ')} root@127.0.0.1 ${shellQuote(command)}`, ''];
  await writeFile(script, body.join('\n'));
  await chmod(script, 0o755);
  return script;
}

/** The size of a file, 0 when it does not exist yet (for reading only what comes after). */
export async function fileSize(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

/** The text of `file` from byte `offset` on ('' when it does not exist). */
export async function readFrom(file: string, offset: number): Promise<string> {
  try {
    return (await readFile(file)).subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** Waits until the part of `file` after `offset` has a line matching `pattern`; returns that line. */
export async function waitForFileLine(file: string, offset: number, pattern: RegExp, timeoutMs: number): Promise<string> {
  let last = '';
  return pollUntil(
    async () => {
      last = await readFrom(file, offset);
      return last.split('\n').find((line) => pattern.test(line));
    },
    () => `a line matching ${String(pattern)} in ${file} after byte ${offset}; it has:\n${last.trimEnd() || '(nothing)'}`,
    { timeoutMs, intervalMs: 50 },
  );
}

/** The pid of the listening sshd (from its pid file). */
export async function sshdListenerPid(sshd: Sshd): Promise<number> {
  return Number((await readFile(path.join(sshd.dir, 'sshd.pid'), 'utf8')).trim());
}

/**
 * The `gsyncd slave` processes that this sshd runs: a command line naming bin/gsyncd and
 * `slave`, whose ancestors (within a few hops) include this sshd's listener.
 */
export async function remoteSlaveProcesses(sshd: Sshd): Promise<ProcessRecord[]> {
  const listener = await sshdListenerPid(sshd);
  const found: ProcessRecord[] = [];
  for (const pid of allPids()) {
    const cmdline = readCmdline(pid);
    const words = cmdline.split(' ');
    if (!words.some((w) => w.endsWith('bin/gsyncd')) || !words.includes('slave')) {
      continue;
    }
    const info = readProc(pid);
    if (info === undefined || info.state === 'Z') {
      continue;
    }
    let sawSshd = false;
    let ppid = info.ppid;
    for (let hops = 0; ppid > 1 && hops < 8; hops += 1) {
      const parent = readProc(ppid);
      if (parent === undefined) {
        break;
      }
      if (parent.comm === 'sshd') {
        sawSshd = true;
      }
      if (ppid === listener) {
        if (sawSshd) {
          found.push({ ...info, cmdline });
        }
        break;
      }
      ppid = parent.ppid;
    }
  }
  return found;
}

/**
 * Mounts a read-only tmpfs on `dir` (created if missing); unmounted when the scope closes.
 * As root, a chmod does not stop writes: a read-only filesystem does.
 */
export async function mountReadOnly(scope: Scope, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await execOk('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]);
  scope.defer(async () => {
    const r = await exec('umount', [dir]);
    if (r.code !== 0) {
      await execOk('umount', ['-l', dir]);
    }
  });
}

/** A unique marker path under /tmp that an injected command would create. */
export function markerPath(label: string): string {
  return `/tmp/gsyncd-e2e-${label}-${process.pid}-${Date.now()}-pwned`;
}

export function assertNoMarker(marker: string): void {
  if (existsSync(marker)) {
    throw new Error(`${marker} exists: a command injected through the key ran`);
  }
}
