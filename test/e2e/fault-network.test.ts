// Network faults over SSH, injected for real while changes keep coming: the sshd dies and
// comes back on the same port (status shows Faulty with the reason meanwhile); a proxy of
// the test's own adds latency, stalls and cuts connections; a running rsync and the ssh
// ControlMaster are SIGKILLed mid-batch. Each time gsyncd must keep running, the slave must
// end up mirroring the master, and SIGTERM must still end gsyncd cleanly.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readlinkSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ChangeStream, COUNTER_FILE } from '../helpers/change-stream.js';
import { waitForMirror } from '../helpers/compare.js';
import { exec, execOk } from '../helpers/exec.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import {
  gsyncdBin,
  remoteGsyncdArgs,
  startGsyncd,
  stopAndAssertClean,
  type GsyncdProcess,
} from '../helpers/gsyncd.js';
import { describeProcesses, isAlive, type ProcessRecord } from '../helpers/proc.js';
import { prng } from '../helpers/prng.js';
import { makeLayout, scopeFor, type Layout, type Scope } from '../helpers/scope.js';
import { sshWords } from '../helpers/slave.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

// Seeds of the proxy's random cuts and of the big file: a failure replays with the same ones.
const SEED = 20_241_127;

/**
 * The user's -e command through `port`: keepalives notice a dead path within about 6 s
 * (gsyncd's own are 15 s x 4), and a connect that hangs gives up after 5 s. ssh takes the
 * first value of an option, so these win over the ones gsyncd appends.
 */
function faultRsh(sshd: Sshd, port: number): string {
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

interface Session {
  layout: Layout;
  g: GsyncdProcess;
  /** The directory the change stream works in. */
  stream: string;
}

/** A small master tree mirrored live over SSH; resolves once gsyncd is in the Changelog Crawl. */
async function startSession(scope: Scope, sshd: Sshd, label: string, rsh: string, extra: readonly string[] = []): Promise<Session> {
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
    ...extra,
    layout.master,
    sshd.slaveSpec(layout.slave),
  ]);
  scope.defer(() => g.dispose());
  await g.waitForLog('Changelog Crawl started', 90_000);
  return { layout, g, stream };
}

/** Starts a change stream in the session's stream directory, stopped with the scope. */
function startChanges(scope: Scope, session: Session): ChangeStream {
  const changes = new ChangeStream(session.stream, 40);
  scope.defer(() => changes.stop().catch(() => undefined));
  return changes;
}

/** Waits until the slave's copy of the stream's counter has reached step `n`. */
async function waitForSlaveStep(session: Session, n: number, timeoutMs: number): Promise<void> {
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

function assertRunning(g: GsyncdProcess, when: string): void {
  assert.equal(g.exit, undefined, `gsyncd exited ${when}:\n${g.tail()}`);
}

/** The one session's record from `gsyncd status --json`, as an operator would read it. */
interface StatusView {
  status: string;
  reason: string | undefined;
}

async function statusOf(g: GsyncdProcess): Promise<StatusView> {
  const { stdout } = await execOk(process.execPath, [gsyncdBin, 'status', '--json', '--state-dir', g.stateDir]);
  const records: unknown = JSON.parse(stdout);
  assert.ok(Array.isArray(records) && records.length === 1, `gsyncd status --json: expected one session, got:\n${stdout}`);
  const record: unknown = records[0];
  assert.ok(typeof record === 'object' && record !== null, `gsyncd status --json: not a record:\n${stdout}`);
  const { status, reason } = record as Record<string, unknown>;
  assert.equal(typeof status, 'string', `gsyncd status --json: no status:\n${stdout}`);
  return { status: String(status), reason: typeof reason === 'string' ? reason : undefined };
}

async function waitForStatus(g: GsyncdProcess, wanted: string, timeoutMs: number): Promise<StatusView> {
  let last: StatusView | undefined;
  return pollUntil(
    async () => {
      last = await statusOf(g);
      return last.status === wanted ? last : undefined;
    },
    () => `gsyncd status to show ${wanted} (last: ${JSON.stringify(last)}); gsyncd:\n${g.tail()}`,
    { timeoutMs, intervalMs: 250 },
  );
}

/** A living descendant of gsyncd that `match` picks; waits for one. */
async function waitForDescendant(
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
function hasOpen(pid: number, file: string): boolean {
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
function dropBigFile(layout: Layout, name: string, bytes: number): string {
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
async function rsyncSending(g: GsyncdProcess, file: string): Promise<ProcessRecord> {
  return waitForDescendant(g, `an rsync sending ${file}`, (r) => r.comm === 'rsync' && hasOpen(r.pid, file), 30_000);
}

/** gsyncd's shared connection: `ssh -M -N -o ControlPath=…` (see ssh-master.ts). */
function isControlMaster(r: ProcessRecord): boolean {
  return r.comm === 'ssh' && r.cmdline.split(' ').includes('-M') && r.cmdline.includes('ControlPath=');
}

function controlPathOf(master: ProcessRecord): string {
  const controlPath = /ControlPath=(\S+)/.exec(master.cmdline)?.[1];
  assert.ok(controlPath !== undefined, `no ControlPath in ${master.cmdline}`);
  return controlPath;
}

/** `ssh -O check` through the ControlMaster's socket: the connection can be shared. */
async function assertControlMasterAnswers(sshd: Sshd, master: ProcessRecord): Promise<void> {
  const controlPath = controlPathOf(master);
  const check = await exec('ssh', [...sshWords(sshd).slice(1), '-o', `ControlPath=${controlPath}`, '-O', 'check', 'root@127.0.0.1']);
  assert.equal(check.code, 0, `the new ControlMaster ${master.pid} does not answer on ${controlPath}: ${check.stderr.trim()}`);
}

/**
 * A confirmed gsyncd bug, kept visible: a ControlMaster killed with SIGKILL leaves its
 * control socket behind, and gsyncd starts every later `ssh -M` on the same ControlPath.
 * Transfers go on (each rsync falls back to a connection of its own), but the shared one
 * never comes back and the session turns Faulty again every 20 s or so.
 */
describe('network faults between gsyncd and an SSH slave', () => {
  it(
    'the sshd dies and comes back on the same port: Faulty with the reason meanwhile, no exit, converges',
    { timeout: 120_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const session = await startSession(scope, sshd, 'fault-sshd-down', faultRsh(sshd, sshd.port));
      const { g } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 10, 30_000);

      // A dead host: the listener and every established session go, the port stops answering.
      const logMark = g.stderrLines.length;
      await sshd.halt();
      const downAt = changes.count;
      const faulty = await waitForStatus(g, 'Faulty', 60_000);
      assert.match(
        faulty.reason ?? '',
        /^(slave unreachable|connection to the slave lost): \S/,
        `the Faulty reason should say the slave cannot be reached, and why: ${JSON.stringify(faulty)}`,
      );
      t.diagnostic(`while the sshd was down: ${faulty.reason ?? ''}`);
      // Changes keep coming while the slave is away (a few seconds, so that gsyncd retries
      // more than once): they must be queued, not lost.
      await pollUntil(
        () => (changes.count >= downAt + 60 ? true : undefined),
        () => `the change stream to go on while the sshd is down (at ${changes.count})`,
        { timeoutMs: 30_000 },
      );
      assertRunning(g, 'while the sshd was down');
      assert.equal((await statusOf(g)).status, 'Faulty', 'the session left Faulty while the sshd was still down');

      await sshd.restart();
      await g.waitForLog('ssh connection up again', 60_000, logMark);
      const upAt = changes.count;
      await waitForSlaveStep(session, upAt + 10, 60_000);
      await changes.stop();
      await waitForMirror(session.layout.master, session.layout.slave, 60_000);
      await waitForStatus(g, 'Active', 30_000);
      assertRunning(g, 'after the sshd came back');
      await stopAndAssertClean(g);
    },
  );

  it(
    'through a proxy: 200 ms latency each way, stalls and random cuts while changes keep coming; converges',
    { timeout: 120_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const proxy = await FaultProxy.start(sshd.port, { latencyMs: 200, seed: SEED });
      scope.defer(() => proxy.close());
      const session = await startSession(scope, sshd, 'fault-proxy', faultRsh(sshd, proxy.port));
      const { g } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 5, 60_000);
      const logMark = g.stderrLines.length;

      // Shorter than the keepalive's 6 s: the connection must live through it, no new one.
      const acceptedBefore = proxy.accepted;
      await proxy.stall(3000);
      assert.equal(proxy.accepted, acceptedBefore, `a 3 s stall made gsyncd connect again:\n${g.tail()}`);
      // Lifetimes long enough for an ssh login at 400 ms round trips, short enough to hit
      // connections in use.
      proxy.randomCuts({ minMs: 2500, maxMs: 7000 });
      await pollUntil(
        () => (proxy.cuts >= 3 ? true : undefined),
        () => `3 connections cut by the proxy (cut ${proxy.cuts}, accepted ${proxy.accepted}); gsyncd:\n${g.tail()}`,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      await proxy.stall(3000);
      proxy.randomCuts(undefined);

      // A host that answers with resets: what is open is cut, what comes is refused.
      proxy.refuse(true);
      proxy.cutAll();
      await pollUntil(
        () => (proxy.refused >= 2 ? true : undefined),
        () => `gsyncd to try the refusing proxy twice (refused ${proxy.refused}); gsyncd:\n${g.tail()}`,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      const refused = await statusOf(g);
      assert.equal(refused.status, 'Faulty', `status while every connection is refused: ${JSON.stringify(refused)}`);
      assert.match(refused.reason ?? '', /^slave unreachable: \S/, `the reason while refused: ${JSON.stringify(refused)}`);
      proxy.refuse(false);
      assertRunning(g, 'during the network faults');
      assert.ok(
        g.findLog('ssh connection up again', logMark) !== -1,
        `the cuts never made gsyncd reopen its ssh connection (cuts ${proxy.cuts}):\n${g.tail()}`,
      );

      // Still behind 200 ms each way: the changes made since must arrive, then all of them.
      const calmAt = changes.count;
      await waitForSlaveStep(session, calmAt + 5, 60_000);
      await changes.stop();
      await waitForMirror(session.layout.master, session.layout.slave, 60_000);
      assertRunning(g, 'after the network faults');
      t.diagnostic(
        `proxy: ${proxy.accepted} connections, ${proxy.cuts} cut, ${proxy.refused} refused; ` +
          `gsyncd reopened its ssh connection ${g.countLog('ssh connection up again')} times`,
      );
      await stopAndAssertClean(g);
    },
  );

  it('SIGKILL of an rsync mid-batch: the batch fails, is retried, no exit, converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    // A bandwidth limit keeps the big file's batch in flight for seconds, long enough to be hit.
    const session = await startSession(scope, sshd, 'fault-kill-rsync', faultRsh(sshd, sshd.port), ['--bwlimit', '4000']);
    const { g, layout } = session;
    const changes = startChanges(scope, session);
    await waitForSlaveStep(session, 5, 30_000);

    const logMark = g.stderrLines.length;
    const big = dropBigFile(layout, 'big-1.bin', 16 * 1024 * 1024);
    const victim = await rsyncSending(g, big);
    process.kill(victim.pid, 'SIGKILL');
    await g.waitForLog(/batch failed/, 30_000, logMark);
    assertRunning(g, 'after its rsync was killed');
    await pollUntil(
      () => (isAlive(victim) ? undefined : true),
      () => `the killed rsync ${victim.pid} to be gone`,
      { timeoutMs: 10_000 },
    );

    const killedAt = changes.count;
    await waitForSlaveStep(session, killedAt + 10, 60_000);
    await changes.stop();
    await waitForMirror(layout.master, layout.slave, 60_000);
    assertRunning(g, 'after the retried batch');
    await stopAndAssertClean(g);
  });

  it('SIGKILL of the ssh ControlMaster mid-batch: the batch fails, no exit, converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    const session = await startSession(scope, sshd, 'fault-kill-master', faultRsh(sshd, sshd.port), ['--bwlimit', '4000']);
    const { g, layout } = session;
    const changes = startChanges(scope, session);
    await waitForSlaveStep(session, 5, 30_000);

    const logMark = g.stderrLines.length;
    const big = dropBigFile(layout, 'big-2.bin', 16 * 1024 * 1024);
    const sending = await rsyncSending(g, big);
    const master = await waitForDescendant(g, 'the ssh ControlMaster', isControlMaster, 10_000);
    process.kill(master.pid, 'SIGKILL');
    // The rsync in flight spoke through the killed connection: it fails, and so does its batch.
    await pollUntil(
      () => (isAlive(sending) ? undefined : true),
      () => `the rsync ${sending.pid} that used the killed ControlMaster to end`,
      { timeoutMs: 30_000 },
    );
    await g.waitForLog(/batch failed/, 30_000, logMark);
    assertRunning(g, 'after its ControlMaster was killed');

    const killedAt = changes.count;
    await waitForSlaveStep(session, killedAt + 10, 60_000);
    await changes.stop();
    await waitForMirror(layout.master, layout.slave, 60_000);
    assertRunning(g, 'after the ControlMaster was killed');
    await stopAndAssertClean(g);
  });

  it(
    'SIGKILL of the ssh ControlMaster: a new shared connection is opened and the session is Active again',
    { timeout: 120_000 },
    async (t) => {
      const scope = scopeFor(t);
      const sshd = await startSshd();
      scope.defer(() => sshd.stop());
      const session = await startSession(scope, sshd, 'fault-master-back', faultRsh(sshd, sshd.port));
      const { g, layout } = session;
      const changes = startChanges(scope, session);
      await waitForSlaveStep(session, 5, 30_000);

      const logMark = g.stderrLines.length;
      const master = await waitForDescendant(g, 'the ssh ControlMaster', isControlMaster, 10_000);
      // gsyncd removes its ControlPath directory when it stops cleanly, not when disposed of.
      const controlDir = path.dirname(controlPathOf(master));
      scope.defer(() => rm(controlDir, { recursive: true, force: true }));
      process.kill(master.pid, 'SIGKILL');
      // On loopback a new connection is up in a second or two; gsyncd gives one 20 s.
      const outcome = await g.waitForLog(/ssh connection up again|ssh connection to .* not up after/, 60_000, logMark);
      assert.match(
        outcome.line,
        /ssh connection up again/,
        `gsyncd could not open a new ControlMaster after the old one was killed:\n${g.tail()}`,
      );
      const again = await waitForDescendant(g, 'a new ssh ControlMaster', (r) => r.pid !== master.pid && isControlMaster(r), 30_000);
      await assertControlMasterAnswers(sshd, again);

      await changes.stop();
      await waitForMirror(layout.master, layout.slave, 60_000);
      await waitForStatus(g, 'Active', 30_000);
      assertRunning(g, 'after the ControlMaster came back');
      await stopAndAssertClean(g);
    },
  );
});
