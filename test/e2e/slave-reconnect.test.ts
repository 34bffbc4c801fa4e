// A lost slave channel is reopened and costs no change: live over SSH, the remote
// `gsyncd slave` is SIGKILLed (twice) while changes keep coming, and the master logs
// `slave channel lost`, then `slave channel up`, never exits, and the slave converges.
// Keepalive: a slave whose master falls silent for --slave-timeout seconds exits (the
// master stopped with SIGSTOP, and a bare `gsyncd slave` that hears nothing), and the
// master, resumed, reconnects.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { waitForMirror } from '../helpers/compare.js';
import { gsyncdBin, startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { describeProcesses, isAlive, type ProcessRecord } from '../helpers/proc.js';
import { makeLayout, Scope, scopeFor, type Layout } from '../helpers/scope.js';
import { readFrom, remoteSlaveProcesses, shellQuote } from '../helpers/slave.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

/** Changes the master every `intervalMs` until stopped: new files, rewrites, deletes. */
class ChangeStream {
  #stopped = false;
  readonly #done: Promise<void>;
  count = 0;

  constructor(dir: string, intervalMs: number) {
    this.#done = (async () => {
      while (!this.#stopped) {
        const n = this.count;
        writeFileSync(path.join(dir, `f-${String(n).padStart(5, '0')}.txt`), `file ${n}\n`);
        writeFileSync(path.join(dir, 'counter.txt'), `${n}\n`);
        if (n % 5 === 4) {
          rmSync(path.join(dir, `f-${String(n - 3).padStart(5, '0')}.txt`));
        }
        if (n % 10 === 9) {
          mkdirSync(path.join(dir, `d-${n}/inner`), { recursive: true });
          writeFileSync(path.join(dir, `d-${n}/inner/x.txt`), `${n}\n`);
        }
        this.count += 1;
        await delay(intervalMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

/** The one `gsyncd slave` this sshd runs (waits for it). */
async function theRemoteSlave(sshd: Sshd, g: GsyncdProcess, other?: ProcessRecord): Promise<ProcessRecord> {
  let last: ProcessRecord[] = [];
  return pollUntil(
    async () => {
      last = (await remoteSlaveProcesses(sshd)).filter((p) => other === undefined || p.pid !== other.pid);
      return last.length === 1 ? last[0] : undefined;
    },
    () => `exactly one remote "gsyncd slave" process of sshd port ${sshd.port}; found:\n${describeProcesses(last)}\ngsyncd:\n${g.tail()}`,
    { timeoutMs: 20_000, intervalMs: 100 },
  );
}

describe('the slave channel over SSH: lost, reopened, kept alive', () => {
  const scope = new Scope();
  let sshd: Sshd;

  before(async () => {
    sshd = await startSshd();
    scope.defer(() => sshd.stop());
  });
  after(() => scope.close());

  async function startLive(layout: Layout, extra: readonly string[]): Promise<GsyncdProcess> {
    makeSmallTree(layout.master);
    // The stream's directory exists before gsyncd starts: a file created and deleted at
    // once in a directory that is itself brand new is another race than the one here.
    mkdirSync(path.join(layout.master, 'stream'));
    const g = await startGsyncd([
      '-e',
      sshd.rsh,
      '--remote-gsyncd',
      `${gsyncdBin} --log-file ${shellQuote(path.join(layout.base, 'slave.log'))}`,
      '--batch-delay',
      '0.2',
      ...extra,
      layout.master,
      sshd.slaveSpec(layout.slave),
    ]);
    return g;
  }

  it('SIGKILL of the remote gsyncd slave mid-run: lost, up again, no exit, converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'reconnect-kill');
    const g = await startLive(layout, []);
    scope.defer(() => g.dispose());
    let up = await g.waitForLog('slave channel up', 60_000);
    await g.waitForLog('Changelog Crawl started', 60_000);

    const changes = new ChangeStream(path.join(layout.master, 'stream'), 40);
    scope.defer(() => changes.stop());
    let victim: ProcessRecord | undefined;
    for (let round = 1; round <= 2; round += 1) {
      await delay(700);
      victim = await theRemoteSlave(sshd, g, victim);
      process.kill(victim.pid, 'SIGKILL');
      const lost = await g.waitForLog('slave channel lost', 30_000, up.index + 1);
      up = await g.waitForLog('slave channel up', 30_000, lost.index + 1);
      assert.equal(g.exit, undefined, `gsyncd exited after the slave was killed (round ${round}):\n${g.tail()}`);
      const next = await theRemoteSlave(sshd, g, victim);
      assert.notEqual(next.pid, victim.pid, `round ${round}: the reopened channel runs the killed process?`);
      assert.equal(isAlive(victim), false, `round ${round}: the killed slave ${victim.pid} still runs`);
    }
    await delay(700);
    await changes.stop();
    assert.ok(changes.count > 20, `only ${changes.count} changes were made while the channel was cut`);
    await waitForMirror(layout.master, layout.slave, 60_000);
    assert.equal(g.exit, undefined, `gsyncd exited:\n${g.tail()}`);
    await stopAndAssertClean(g);
  });

  it('a silent master (SIGSTOP) loses its slave after --slave-timeout; resumed, it reconnects and converges', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'reconnect-silent');
    const timeoutSeconds = 3;
    const g = await startLive(layout, ['--slave-timeout', String(timeoutSeconds)]);
    scope.defer(() => g.dispose());
    scope.defer(() => {
      if (g.exit === undefined) {
        g.child.kill('SIGCONT');
      }
    });
    const up = await g.waitForLog('slave channel up', 60_000);
    await g.waitForLog('Changelog Crawl started', 60_000);
    const slave = await theRemoteSlave(sshd, g);

    g.child.kill('SIGSTOP');
    try {
      writeFileSync(path.join(layout.master, 'while-silent.txt'), 'written while the master was stopped\n');
      await pollUntil(
        () => (isAlive(slave) ? undefined : true),
        () => `the remote slave ${slave.pid} to exit after ${timeoutSeconds} s of silence`,
        { timeoutMs: (timeoutSeconds + 10) * 1000, intervalMs: 100 },
      ).catch(async (error: unknown) => {
        const log = await readFrom(path.join(layout.base, 'slave.log'), 0);
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nslave log:\n${log}`);
      });
      // It went because its silence timer ran out, as its log says: the timer starts at the
      // last message heard (a ping), which may come well before SIGSTOP on a busy machine,
      // so the time since SIGSTOP bounds nothing.
      const slaveLog = await readFrom(path.join(layout.base, 'slave.log'), 0);
      assert.match(slaveLog, new RegExp(`master silent; exiting timeout_s=${String(timeoutSeconds)}\\b`), `the slave's log:\n${slaveLog}`);
    } finally {
      g.child.kill('SIGCONT');
    }

    const lost = await g.waitForLog('slave channel lost', 30_000, up.index + 1);
    await g.waitForLog('slave channel up', 30_000, lost.index + 1);
    writeFileSync(path.join(layout.master, 'after-resume.txt'), 'after the resume\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    assert.equal(g.exit, undefined, `gsyncd exited:\n${g.tail()}`);
    await stopAndAssertClean(g);
  });

  it('a bare gsyncd slave that hears nothing exits after --slave-timeout', { timeout: 30_000 }, async (t) => {
    const scope = scopeFor(t);
    const dir = await scope.tempDir('slave-silent');
    const timeoutSeconds = 2;
    const started = Date.now();
    const child = spawn(
      process.execPath,
      [gsyncdBin, 'slave', '--slave-timeout', String(timeoutSeconds), '--log-file', path.join(dir, 'slave.log')],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GSYNCD_STATE_DIR: dir } },
    );
    const stderr: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => {
        resolve(code);
      });
    });
    scope.defer(() => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
      }
    });
    // stdin stays open and silent.
    const code = await Promise.race([exited, delay((timeoutSeconds + 8) * 1000).then(() => 'still running' as const)]);
    const seconds = (Date.now() - started) / 1000;
    assert.notEqual(code, 'still running', `gsyncd slave still runs ${seconds} s after start with a silent master`);
    assert.ok(seconds >= timeoutSeconds - 0.5, `gsyncd slave exited after ${seconds} s (code ${String(code)}), before its timeout:\n${stderr.join('')}`);
  });
});
