// A real network cut between master and slave. The slave host is a network namespace
// joined by a veth pair, its sshd listening on the namespace's address; gsyncd runs on the
// host and mirrors over SSH to it. While changes keep coming (new files, rewrites, deletes,
// renames, new and removed directories) the link goes dead twice, a short cut and a longer
// one: gsyncd turns Faulty with a reason, keeps running, and once the link is back the slave
// converges, the status is Active again, and SIGTERM leaves no process behind.
// A second test cuts the link of an idle session, which turns Faulty too (it learns of the
// dead link from its SSH connection, not from a batch). Root only (namespaces and veth
// pairs); skipped otherwise.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { remoteGsyncdArgs, startGsyncd, stopAndAssertClean, type GsyncdProcess } from '../helpers/gsyncd.js';
import { createNetNs, netnsUnavailable, type CutKind, type NetNs } from '../helpers/netns.js';
import { makeLayout, Scope, scopeFor, type Layout } from '../helpers/scope.js';
import { startSshd, type Sshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';
import { statusOf, waitForStatus } from '../helpers/status.js';

interface Row {
  session: string;
  status: string;
  crawl_status: string;
  reason?: string;
  pending: number;
}

const STREAMS = ['live', 'first-cut', 'second-cut'] as const;

const FAULTY_REASON = /^(slave unreachable: |connection to the slave lost: )\S/;

/**
 * Changes the master every `intervalMs` until stopped: a new file every time, rewrites,
 * deletes, renames, new directories with content and removals of whole directories.
 */
class ChangeStream {
  count = 0;
  #stopped = false;
  readonly #done: Promise<void>;
  readonly #files: string[] = [];
  readonly #dirs: string[] = [];

  constructor(
    private readonly root: string,
    subdir: (typeof STREAMS)[number],
    intervalMs: number,
  ) {
    const stream = path.join(root, subdir);
    mkdirSync(stream, { recursive: true });
    this.#done = (async () => {
      while (!this.#stopped) {
        this.#step(stream, this.count);
        this.count += 1;
        await delay(intervalMs);
      }
    })();
  }

  /** Resolves once `more` changes have been made from now on. */
  async made(more: number, timeoutMs = 60_000): Promise<void> {
    const target = this.count + more;
    await pollUntil(() => (this.count >= target ? true : undefined), () => `${more} more changes (at ${this.count})`, {
      timeoutMs,
      intervalMs: 50,
    });
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }

  #step(stream: string, n: number): void {
    const name = `f-${String(n).padStart(5, '0')}.txt`;
    writeFileSync(path.join(stream, name), `file ${n}\n`.repeat(1 + (n % 7)));
    this.#files.push(name);
    writeFileSync(path.join(stream, 'counter.txt'), `${n}\n`);
    if (n % 3 === 2) {
      appendFileSync(path.join(this.root, 'docs/guide.txt'), `line ${n}\n`);
    }
    if (n % 5 === 4) {
      const victim = this.#files.splice(this.#files.length - 4, 1)[0];
      if (victim !== undefined) rmSync(path.join(stream, victim));
    }
    if (n % 7 === 6) {
      const dir = `d-${n}`;
      mkdirSync(path.join(stream, dir, 'inner'), { recursive: true });
      writeFileSync(path.join(stream, dir, 'inner/x.txt'), `${n}\n`);
      writeFileSync(path.join(stream, dir, 'top.txt'), `top ${n}\n`);
      this.#dirs.push(dir);
    }
    if (n % 11 === 10 && this.#dirs.length > 1) {
      const gone = this.#dirs.shift();
      if (gone !== undefined) rmSync(path.join(stream, gone), { recursive: true });
    }
    if (n % 13 === 12) {
      const from = this.#files.shift();
      if (from !== undefined) {
        const to = `moved-${from}`;
        renameSync(path.join(stream, from), path.join(stream, to));
      }
    }
  }
}

/**
 * Cuts the link while the stream runs, waits for Faulty (with a reason) and for `during` more
 * changes made while cut, restores it and waits for the slave to converge and Active again.
 */
async function cutAndRecover(
  t: TestContext,
  label: string,
  kind: CutKind,
  g: GsyncdProcess,
  netns: NetNs,
  changes: ChangeStream,
  master: string,
  slave: string,
  during: (faulty: Row) => Promise<void>,
): Promise<void> {
  const from = g.stderrLines.length;
  await netns.cut(kind);
  const faulty = await waitForStatus(g.stateDir, `${label}: Faulty with a reason`, (r) => r.status === 'Faulty', { timeoutMs: 60_000, g });
  assert.match(faulty.reason ?? '', FAULTY_REASON, `${label}: the Faulty reason`);
  t.diagnostic(`${label}: Faulty: ${faulty.reason ?? ''}`);
  await during(faulty);
  assert.equal(g.exit, undefined, `${label}: gsyncd exited while the link was cut:\n${g.tail()}`);
  const cutLog = g.stderrLines.slice(from).filter((l) => /Faulty|lost|unreachable|failed|still down/.test(l));
  t.diagnostic(`${label}: while cut:\n${cutLog.slice(0, 12).join('\n')}`);

  await netns.restore();
  await changes.made(10);
  await changes.stop();
  await waitForMirror(master, slave, 90_000);
  const active = await waitForStatus(g.stateDir, `${label}: Active again`, (r) => r.status === 'Active', { timeoutMs: 60_000, g });
  assert.equal(active.reason, undefined, `${label}: an Active status keeps a reason`);
  assert.equal(g.exit, undefined, `${label}: gsyncd exited:\n${g.tail()}`);
}

// Why this machine cannot run these tests (not root, no `ip`), or undefined.
const unavailable = netnsUnavailable();

describe('a real network cut to an SSH slave (network namespace)', () => {
  const scope = new Scope();
  let netns: NetNs;
  let sshd: Sshd;
  // Client keepalives and a connect timeout, as a deployment over a real network has:
  // a dead link is then noticed in seconds, not by TCP after minutes.
  let rsh: string;

  before(async () => {
    if (unavailable !== undefined) return;
    netns = await createNetNs(scope);
    sshd = await startSshd({
      listenAddress: netns.peerAddress,
      commandPrefix: netns.execPrefix,
      // The slave host drops sessions of a client that went away, as a server on a real
      // network is set to: their remote rsync would otherwise wait for input forever (no
      // FIN may ever come: the client's socket can give up retrying while the link is cut).
      extraConfig: ['ClientAliveInterval 2', 'ClientAliveCountMax 3'],
    });
    scope.defer(() => sshd.stop());
    rsh = [sshd.rsh, '-o ConnectTimeout=5', '-o ServerAliveInterval=2', '-o ServerAliveCountMax=2'].join(' ');
  });
  after(() => scope.close());

  /** gsyncd mirroring `layout` to the namespace's sshd, live (Changelog Crawl) and mirrored. */
  async function startMirror(testScope: Scope, layout: Layout): Promise<GsyncdProcess> {
    // Retries at least every 2 s: the link coming back is noticed within seconds.
    const g = await startGsyncd(['-e', rsh, ...remoteGsyncdArgs(), '--batch-delay', '0.2', '--retry-max-delay', '2', layout.master, sshd.slaveSpec(layout.slave)]);
    testScope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 60_000);
    await assertMirrored(layout.master, layout.slave);
    assert.equal((await statusOf(g.stateDir)).status, 'Active');
    return g;
  }

  it('goes Faulty with a reason, keeps running, and converges once the link is back (twice)', { timeout: 180_000, skip: unavailable }, async (t) => {
    const testScope = scopeFor(t);
    const layout = await makeLayout(testScope, 'fault-netns');
    makeSmallTree(layout.master);
    // The streams' directories exist before gsyncd starts (the new directories that matter
    // here are the ones made inside them while the link is down).
    for (const dir of STREAMS) mkdirSync(path.join(layout.master, dir));
    const g = await startMirror(testScope, layout);

    // Live changes arrive while the link is up.
    let changes = new ChangeStream(layout.master, 'live', 50);
    testScope.defer(() => changes.stop());
    await changes.made(20);
    await changes.stop();
    await waitForMirror(layout.master, layout.slave, 60_000);

    // A short cut, as of a host gone from the LAN: Faulty, a few more changes, link back.
    changes = new ChangeStream(layout.master, 'first-cut', 100);
    await changes.made(5);
    await cutAndRecover(t, 'first cut', 'gone', g, netns, changes, layout.master, layout.slave, async () => {
      await changes.made(10);
    });

    // A longer, silent cut: reconnects time out (nothing answers) until the link is back.
    changes = new ChangeStream(layout.master, 'second-cut', 100);
    await changes.made(5);
    await cutAndRecover(t, 'second cut', 'silent', g, netns, changes, layout.master, layout.slave, async () => {
      await waitForStatus(g.stateDir, 'second cut: slave unreachable', (r) => r.status === 'Faulty' && (r.reason ?? '').startsWith('slave unreachable: '), { timeoutMs: 60_000, g });
      await changes.made(40);
    });

    await stopAndAssertClean(g);
  });

  // Nothing to send: the session must still notice that its SSH connection died.
  it('an idle session whose link dies turns Faulty', { timeout: 120_000, skip: unavailable }, async (t) => {
    const testScope = scopeFor(t);
    const layout = await makeLayout(testScope, 'fault-netns-idle');
    makeSmallTree(layout.master);
    const g = await startMirror(testScope, layout);
    const from = g.stderrLines.length;
    await netns.cut('silent');
    testScope.defer(() => netns.restore());
    // The connection is gone once ssh's keepalives give up (2 × 2 s); the session has had
    // ample time to notice by the end of this wait.
    const lost = await g.waitForLog('slave channel lost', 60_000, from);
    try {
      const faulty = await waitForStatus(g.stateDir, 'Faulty while idle', (r) => r.status === 'Faulty', { timeoutMs: 30_000, g });
      assert.match(faulty.reason ?? '', FAULTY_REASON);
    } catch (error: unknown) {
      throw new Error(`${lost.line}\nbut the idle session did not turn Faulty:\n${error instanceof Error ? error.message : String(error)}`);
    }
    await netns.restore();
    writeFileSync(path.join(layout.master, 'after-the-cut.txt'), 'after the cut\n');
    await waitForMirror(layout.master, layout.slave, 90_000);
    await waitForStatus(g.stateDir, 'Active again', (r) => r.status === 'Active', { timeoutMs: 60_000, g });
    await stopAndAssertClean(g);
  });
});
