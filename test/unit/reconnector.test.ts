/** src/session/reconnector.ts: the first connection, and a lost one reopened with backoff while the session shows why. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Reconnector } from '../../src/session/reconnector.js';
import { Lifecycle } from '../../src/session/lifecycle.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import type { SessionEvent } from '../../src/session/machine.js';
import type { SshMaster } from '../../src/transport/ssh-master.js';
import { ExitCode, GsyncdError } from '../../src/errors.js';
import type { StatusRecord } from '../../src/status/status.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

/** How a start ends: the connection comes up, or ssh's words for why not. */
type Answer = 'up' | { readonly refused: string };

/**
 * The part of SshMaster the Reconnector uses, behaving as the real one does: start resolves
 * once the connection is up or rejects with ssh's reason; stop closes it; onLost is called
 * when an open connection ends by itself. Starts past the scripted answers wait for open() or refuse().
 */
class FakeSsh implements Pick<SshMaster, 'start' | 'stop' | 'alive' | 'onLost'> {
  onLost: ((reason: string) => void) | undefined;
  /** `start TIMEOUT` and `stop`, in order. */
  readonly calls: string[] = [];
  private up = false;
  private readonly answers: Answer[];
  private held: { open(): void; refuse(reason: string): void } | undefined;
  private startWaiters: (() => void)[] = [];

  constructor(...answers: Answer[]) {
    this.answers = answers;
  }

  alive(): boolean {
    return this.up;
  }

  start(timeoutMs?: number): Promise<void> {
    this.calls.push(`start ${timeoutMs === undefined ? 'default' : String(timeoutMs)}`);
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const w of waiters) w();
    const answer = this.answers.shift();
    if (answer === 'up') {
      this.up = true;
      return Promise.resolve();
    }
    if (answer !== undefined) return Promise.reject(new Error(answer.refused));
    return new Promise<void>((resolve, reject) => {
      this.held = {
        open: () => {
          this.up = true;
          resolve();
        },
        refuse: (reason) => {
          reject(new Error(reason));
        },
      };
    });
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    this.up = false;
    return Promise.resolve();
  }

  /** Resolves when start is next called. */
  nextStart(): Promise<void> {
    return new Promise((resolve) => {
      this.startWaiters.push(resolve);
    });
  }

  /** Answers the start that waits. */
  open(): void {
    assert.ok(this.held, 'no start waits');
    this.held.open();
    this.held = undefined;
  }

  /** The open connection ends without stop(): ssh exited (a dead link). */
  drop(reason: string): void {
    assert.ok(this.up, 'the connection was not up');
    this.up = false;
    this.onLost?.(reason);
  }

  get starts(): number {
    return this.calls.filter((c) => c.startsWith('start')).length;
  }
}

interface Rig {
  readonly ssh: FakeSsh;
  readonly r: Reconnector;
  readonly logger: RecordingLogger;
  readonly fired: SessionEvent[];
  readonly backoffs: number[];
  readonly stop: AbortController;
  kicks(): number;
  /** Resolves at the next fired event. */
  nextFire(): Promise<SessionEvent>;
  /** Resolves at the next kick. */
  nextKick(): Promise<void>;
}

const SLAVE = 'backup.example.org:/srv/slave';

function rig(ssh: FakeSsh, o: { backoffMs?: number; fire?: (e: SessionEvent) => Promise<void> } = {}): Rig {
  const logger = new RecordingLogger();
  const fired: SessionEvent[] = [];
  const backoffs: number[] = [];
  const stop = new AbortController();
  let kicks = 0;
  let fireWaiters: ((e: SessionEvent) => void)[] = [];
  let kickWaiters: (() => void)[] = [];
  const r = new Reconnector({
    ssh,
    slave: SLAVE,
    logger,
    fire: async (e) => {
      fired.push(e);
      await o.fire?.(e);
      const w = fireWaiters;
      fireWaiters = [];
      for (const resolve of w) resolve(e);
    },
    stopSignal: stop.signal,
    backoff: (attempt) => {
      backoffs.push(attempt);
      return o.backoffMs ?? 0;
    },
    kick: () => {
      kicks++;
      const w = kickWaiters;
      kickWaiters = [];
      for (const resolve of w) resolve();
    },
  });
  return {
    ssh,
    r,
    logger,
    fired,
    backoffs,
    stop,
    kicks: () => kicks,
    nextFire: () =>
      new Promise((resolve) => {
        fireWaiters.push(resolve);
      }),
    nextKick: () =>
      new Promise((resolve) => {
        kickWaiters.push(resolve);
      }),
  };
}

const refused = (why: string): Answer => ({ refused: why });

describe('Reconnector: the first connection', () => {
  it('opens the connection and logs it', async () => {
    const { ssh, r, logger, fired } = rig(new FakeSsh('up'));
    await r.connectFirst();
    assert.deepEqual(ssh.calls, ['start default']);
    assert.equal(r.alive(), true);
    assert.deepEqual(logger.said('ssh connection up').map((l) => [l.level, l.fields]), [['info', { slave: SLAVE }]]);
    assert.equal(typeof ssh.onLost, 'function', 'it listens for the link dying while idle');
    assert.deepEqual(fired, []);
  });

  it('fails with exit status 3 and ssh\'s words when the slave cannot be reached', async () => {
    const { ssh, r, fired } = rig(new FakeSsh(refused('Permission denied (publickey).')));
    await assert.rejects(
      r.connectFirst(),
      (e: unknown) => e instanceof GsyncdError && e.exitCode === ExitCode.unreachable && e.message === `slave ${SLAVE} unreachable: Permission denied (publickey).`,
    );
    assert.equal(ssh.onLost, undefined);
    assert.equal(r.alive(), false);
    assert.deepEqual(fired, []);
  });
});

describe('Reconnector: reconnecting', () => {
  it('retries with backoff, Faulty with the reason each time, until the link is back', async () => {
    const { ssh, r, fired, backoffs, logger } = rig(new FakeSsh(refused('Connection refused'), refused('No route to host'), 'up'));
    assert.equal(await r.reconnect(), true);
    assert.deepEqual(fired, [
      { type: 'fault', reason: 'slave unreachable: Connection refused' },
      { type: 'fault', reason: 'slave unreachable: No route to host' },
      { type: 'linkBack' },
    ]);
    assert.deepEqual(backoffs, [0, 1], 'one backoff per failed attempt, growing');
    assert.deepEqual(ssh.calls, ['stop', 'start 20000', 'stop', 'start 20000', 'stop', 'start 20000'], 'the old connection is closed before each start');
    assert.deepEqual(logger.said('ssh connection up again').map((l) => l.fields), [{ attempt: 3 }]);
    assert.equal(r.alive(), true);
    assert.equal(r.busy(), false);
  });

  it('waits out each backoff before the next attempt', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const r = rig(new FakeSsh(refused('Connection refused'), 'up'), { backoffMs: 5000 });
    const faulted = r.nextFire();
    const done = r.r.reconnect();
    await faulted;
    // Let the attempt reach its sleep (setImmediate is not mocked: it runs what is due).
    await new Promise((resolve) => setImmediate(resolve));
    t.mock.timers.tick(4999);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(r.ssh.starts, 1, 'not before the backoff is over');
    const started = r.ssh.nextStart();
    t.mock.timers.tick(1);
    await started;
    assert.equal(await done, true);
    assert.equal(r.ssh.starts, 2);
  });

  it('is busy while reconnecting, and shares one attempt among its callers', async () => {
    const { ssh, r, fired } = rig(new FakeSsh());
    assert.equal(r.busy(), false);
    const started = ssh.nextStart();
    const first = r.reconnect();
    const second = r.reconnect();
    assert.equal(first, second);
    assert.equal(r.busy(), true);
    await started;
    assert.equal(r.busy(), true);
    ssh.open();
    assert.equal(await first, true);
    assert.equal(r.busy(), false);
    assert.equal(ssh.starts, 1);
    assert.deepEqual(fired, [{ type: 'linkBack' }]);
  });

  it('stays busy through a backoff, and gives up when the session stops in the middle of it', async () => {
    const t = rig(new FakeSsh(refused('Connection refused')), { backoffMs: 3_600_000 });
    const faulted = t.nextFire();
    const done = t.r.reconnect();
    assert.deepEqual(await faulted, { type: 'fault', reason: 'slave unreachable: Connection refused' });
    assert.equal(t.r.busy(), true);
    t.stop.abort();
    assert.equal(await done, false);
    assert.equal(t.r.busy(), false);
    assert.equal(t.ssh.starts, 1);
    assert.deepEqual(t.fired, [{ type: 'fault', reason: 'slave unreachable: Connection refused' }]);
  });

  it('does not try once the session is stopping', async () => {
    const t = rig(new FakeSsh('up'));
    t.stop.abort();
    assert.equal(await t.r.reconnect(), false);
    assert.deepEqual(t.ssh.calls, []);
    assert.equal(t.r.busy(), false);
  });

  it('lets batches go (kick) once reconnected in the background', async () => {
    const t = rig(new FakeSsh(refused('Connection reset by peer'), 'up'));
    const kicked = t.nextKick();
    t.r.again();
    await kicked;
    assert.equal(t.kicks(), 1);
    assert.equal(t.r.alive(), true);
    assert.deepEqual(t.fired.map((e) => e.type), ['fault', 'linkBack']);
  });
});

describe('Reconnector: a link that dies while idle', () => {
  it('is noticed from the connection itself: Faulty, reconnect, kick', async () => {
    const t = rig(new FakeSsh('up', 'up'));
    await t.r.connectFirst();
    const kicked = t.nextKick();
    t.ssh.drop('Broken pipe');
    await kicked;
    assert.deepEqual(t.logger.said('ssh connection lost; reconnecting').map((l) => [l.level, l.fields]), [['warn', { reason: 'Broken pipe' }]]);
    assert.deepEqual(t.fired, [{ type: 'fault', reason: 'connection to the slave lost: Broken pipe' }, { type: 'linkBack' }]);
    assert.equal(t.r.alive(), true);
    assert.equal(t.ssh.starts, 2);
  });

  it('leaves a loss reported during a reconnect to that reconnect', async () => {
    const t = rig(new FakeSsh('up'));
    await t.r.connectFirst();
    const started = t.ssh.nextStart();
    t.ssh.drop('Broken pipe');
    await started;
    assert.equal(t.r.busy(), true);
    t.ssh.onLost?.('Connection reset by peer');
    assert.equal(t.logger.said('ssh connection lost; reconnecting').length, 1);
    assert.deepEqual(t.fired, [{ type: 'fault', reason: 'connection to the slave lost: Broken pipe' }]);
    const kicked = t.nextKick();
    t.ssh.open();
    await kicked;
    assert.equal(t.ssh.starts, 2);
    assert.equal(t.kicks(), 1);
  });

  it('ignores a loss once the session is stopping', async () => {
    const t = rig(new FakeSsh('up'));
    await t.r.connectFirst();
    t.stop.abort();
    t.ssh.drop('Broken pipe');
    assert.equal(t.r.busy(), false);
    assert.deepEqual(t.fired, []);
    assert.equal(t.logger.said('ssh connection lost; reconnecting').length, 0);
    assert.equal(t.ssh.starts, 1);
  });
});

describe('Reconnector and the session state', () => {
  it('shows the slave unreachable while it is, and healthy once the link is back', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-reconnector-'));
    const file = path.join(dir, 'status.json');
    const status = await StatusWriter.open(file, {
      session: 'web',
      master: '/srv/master',
      slave: SLAVE,
      status: 'Created',
      crawl_status: 'N/A',
      last_synced: null,
      pending: 0,
      failures: 0,
      checkpoint: { time: null, completed: false, completion_time: null },
    });
    try {
      const life = new Lifecycle(status, new RecordingLogger(), 'web');
      for (const type of ['start', 'history', 'crawled'] as const) await life.fire({ type });
      /** What the status file shows after each event. */
      const seen: string[] = [];
      const t = rig(new FakeSsh(refused('Connection refused'), 'up'), {
        fire: async (e) => {
          await life.fire(e);
          const r = JSON.parse(await readFile(file, 'utf8')) as StatusRecord;
          seen.push(`${r.status}${r.reason === undefined ? '' : `: ${r.reason}`}`);
        },
      });
      assert.equal(await t.r.reconnect(), true);
      assert.deepEqual(seen, ['Faulty: slave unreachable: Connection refused', 'Active']);
    } finally {
      await status.flush();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
