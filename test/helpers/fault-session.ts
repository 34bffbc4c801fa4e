// The network fault tests' shared rig: a live session over SSH through an -e command of the
// test's own (keepalives that notice a dead path within seconds), a change stream, and ways
// to find and wait for gsyncd's processes and status. The tests are in fault-network-*.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ChangeStream, COUNTER_FILE } from './change-stream.js';
import { exec } from './exec.js';
import {
  remoteGsyncdArgs,
  startGsyncd,
  type GsyncdProcess,
} from './gsyncd.js';
import { describeProcesses, isAlive, type ProcessRecord } from './proc.js';
import { prng } from './prng.js';
import { makeLayout, type Layout, type Scope } from './scope.js';
import { sshWords } from './slave.js';
import { type Sshd } from './sshd.js';
import { makeSmallTree } from './tree.js';
import { pollUntil } from './wait.js';
import { waitForStatus, type StatusRow } from './status.js';

// Seeds of the proxy's random cuts and of the big file: a failure replays with the same ones.
export const SEED = 20_241_127;

/**
 * The user's -e command through `port`: keepalives notice a dead path within about 6 s
 * (gsyncd's own are 15 s x 4), and a connect that hangs gives up after 5 s. ssh takes the
 * first value of an option, so these win over the ones gsyncd appends.
 */
export function faultRsh(sshd: Sshd, port: number): string {
  return [
    sshd.rshNoPort,
    '-p',
    String(port),
    '-o',
    'ConnectTimeout=5',
    '-o',
    'ServerAliveInterval=2',
    '-o',
    'ServerAliveCountMax=3',
  ].join(' ');
}

export interface Session {
  layout: Layout;
  g: GsyncdProcess;
  /** The directory the change stream works in. */
  stream: string;
}

/** A small master tree mirrored live over SSH; resolves once gsyncd is in the Changelog Crawl. */
export async function startSession(scope: Scope, sshd: Sshd, label: string, rsh: string, extra: readonly string[] = []): Promise<Session> {
  const layout = await makeLayout(scope, label);
  makeSmallTree(layout.master);
  // The stream's directory exists before gsyncd starts (see slave-reconnect.test.ts).
  const stream = path.join(layout.master, 'stream');
  mkdirSync(stream);
  const g = await startGsyncd([
    '-e',
    rsh,
    ...remoteGsyncdArgs(),
    '--batch-delay',
    '0.2',
    // Reconnects and retries at least every 2 s: the link coming back is noticed within
    // seconds, not after a backoff grown to a minute while the test waits.
    '--retry-max-delay',
    '2',
    ...extra,
    layout.master,
    sshd.slaveSpec(layout.slave),
  ]);
  scope.defer(() => g.dispose());
  await g.waitForLog('Changelog Crawl started', 90_000);
  return { layout, g, stream };
}

/** Starts a change stream in the session's stream directory, stopped with the scope. */
export function startChanges(scope: Scope, session: Session): ChangeStream {
  const changes = new ChangeStream(session.stream, 40);
  scope.defer(() => changes.stop().catch(() => undefined));
  return changes;
}

/** Waits until the slave's copy of the stream's counter has reached step `n`. */
export async function waitForSlaveStep(session: Session, n: number, timeoutMs: number): Promise<void> {
  const file = path.join(session.layout.slave, 'stream', COUNTER_FILE);
  let seen = 'nothing';
  await pollUntil(
    () => {
      try {
        seen = readFileSync(file, 'utf8').trim();
      } catch {
        seen = 'no file';
      }
      return Number(seen) >= n ? true : undefined;
    },
    () => `the slave's ${COUNTER_FILE} to reach step ${n} (it has: ${seen}); gsyncd:\n${session.g.tail()}`,
    { timeoutMs, intervalMs: 100 },
  );
}

export function assertRunning(g: GsyncdProcess, when: string): void {
  assert.equal(g.exit, undefined, `gsyncd exited ${when}:\n${g.tail()}`);
}

/** Waits until `gsyncd status` shows the session as `wanted`. */
export async function waitForStatusOf(g: GsyncdProcess, wanted: string, timeoutMs: number): Promise<StatusRow> {
  return waitForStatus(g.stateDir, wanted, (r) => r.status === wanted, { timeoutMs, g });
}

/** A living descendant of gsyncd that `match` picks; waits for one. */
export async function waitForDescendant(
  g: GsyncdProcess,
  what: string,
  match: (r: ProcessRecord) => boolean,
  timeoutMs: number,
): Promise<ProcessRecord> {
  return pollUntil(
    () => [...g.descendants.values()].find((r) => isAlive(r) && match(r)),
    () => `${what} among gsyncd's processes; seen:\n${describeProcesses([...g.descendants.values()].filter(isAlive))}\ngsyncd:\n${g.tail()}`,
    { timeoutMs, intervalMs: 25 },
  );
}

/** Whether process `pid` has `file` open: an rsync reading it is sending it right now. */
export function hasOpen(pid: number, file: string): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`) === file;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * Puts a big file into the master in one rename (a file written in place would raise events,
 * and batches, while half written); returns its path.
 */
export function dropBigFile(layout: Layout, name: string, bytes: number): string {
  const random = prng(SEED);
  const content = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) {
    content.writeUInt32LE(Math.floor(random() * 0x1_0000_0000), i);
  }
  mkdirSync(path.join(layout.outside, 'big'), { recursive: true });
  const staged = path.join(layout.outside, 'big', name);
  writeFileSync(staged, content);
  mkdirSync(path.join(layout.master, 'big'), { recursive: true });
  const file = path.join(layout.master, 'big', name);
  renameSync(staged, file);
  return file;
}

/** The rsync that is sending `file` (it has it open), once there is one. */
export async function rsyncSending(g: GsyncdProcess, file: string): Promise<ProcessRecord> {
  return waitForDescendant(g, `an rsync sending ${file}`, (r) => r.comm === 'rsync' && hasOpen(r.pid, file), 30_000);
}

/** gsyncd's shared connection: `ssh -M -N -o ControlPath=…` (see ssh-master.ts). */
export function isControlMaster(r: ProcessRecord): boolean {
  return r.comm === 'ssh' && r.cmdline.split(' ').includes('-M') && r.cmdline.includes('ControlPath=');
}

export function controlPathOf(master: ProcessRecord): string {
  const controlPath = /ControlPath=(\S+)/.exec(master.cmdline)?.[1];
  assert.ok(controlPath !== undefined, `no ControlPath in ${master.cmdline}`);
  return controlPath;
}

/** `ssh -O check` through the ControlMaster's socket: the connection can be shared. */
export async function assertControlMasterAnswers(sshd: Sshd, master: ProcessRecord): Promise<void> {
  const controlPath = controlPathOf(master);
  const check = await exec('ssh', [...sshWords(sshd).slice(1), '-o', `ControlPath=${controlPath}`, '-O', 'check', 'root@127.0.0.1']);
  assert.equal(check.code, 0, `the new ControlMaster ${master.pid} does not answer on ${controlPath}: ${check.stderr.trim()}`);
}

