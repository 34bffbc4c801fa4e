/** src/sync/entry-queue.ts and the scheduler: renames replayed before the data queued after them. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import { EntryQueue, type QueuedStep } from '../../src/sync/entry-queue.js';
import { Scheduler, type Clock } from '../../src/sync/scheduler.js';
import { laggingMoves } from '../../src/session/renames.js';

const step = (from: string, to: string): QueuedStep => ({ from, to, origin: { from, to }, origin_ms: 0, verify: false });
const clock: Clock = { now: () => 1000, setTimeout: () => ({}), clearTimeout: () => undefined };

describe('EntryQueue', () => {
  it('holds back data on the paths of a queued step, and nothing else', () => {
    const q = new EntryQueue();
    q.add([step('a/b', 'c/d')]);
    // Its paths, what lies in them or above them; not their siblings.
    assert.ok(q.blocks('a/b') && q.blocks('a/b/x') && q.blocks('a') && q.blocks('c/d') && q.blocks('c') && q.blocks(''));
    assert.ok(!q.blocks('a/sibling') && !q.blocks('e') && !q.blocks('cc') && !q.blocks('c2/d'));
    q.takeAll();
    assert.ok(!q.blocks('a/b'));
  });

  it('takes steps in order up to the first one a running batch holds', () => {
    const q = new EntryQueue();
    q.add([step('a', 'b'), step('c', 'd'), step('e', 'f')]);
    assert.deepEqual(
      q.take((p) => p === 'd').map((s) => s.from),
      ['a'],
    );
    assert.equal(q.size, 2);
  });

  it('takes out the steps that touch a step not replayed, and those touching theirs', () => {
    const q = new EntryQueue();
    q.add([step('b', 'c'), step('x', 'y'), step('c/f', 'z'), step('z', 'w')]);
    assert.deepEqual(
      q.takeTouching(['a', 'b']).map((s) => `${s.from}>${s.to}`),
      ['b>c', 'c/f>z', 'z>w'],
    );
    assert.deepEqual(
      q.takeAll().map((s) => s.from),
      ['x'],
    );
  });
});

describe('Scheduler with renames', () => {
  it('replays a rename before the data queued on its paths, and data elsewhere beside it', async () => {
    const changes = new ChangeSet(100);
    const steps = new EntryQueue();
    const order: string[] = [];
    let endReplay: () => void = () => undefined;
    const s = new Scheduler(
      changes,
      { jobs: 2, batchSize: 10, batchDelayMs: 0 },
      (entries: readonly Entry[]) => {
        order.push(`data ${entries.map((e) => e.path).join(',')}`);
        return Promise.resolve();
      },
      clock,
      undefined,
      {
        queue: steps,
        run: (taken) => {
          order.push(`rename ${taken.map((t) => `${t.from}>${t.to}`).join(',')}`);
          return new Promise((r) => (endReplay = r));
        },
      },
    );
    steps.add([step('a', 'b')]);
    changes.add('b', false, 1000);
    changes.add('other/x', false, 1000);
    s.resume();
    assert.deepEqual(order, ['rename a>b', 'data other/x']);
    endReplay();
    await s.whenIdle();
    assert.deepEqual(order, ['rename a>b', 'data other/x', 'data b']);
  });

  it('leaves the steps waiting while the slave cannot replay, and looks again a second later', () => {
    const changes = new ChangeSet(100);
    const steps = new EntryQueue();
    const taken: string[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const timed: Clock = { now: () => 1000, setTimeout: (fn, ms) => (timers.push({ fn, ms }), {}), clearTimeout: () => undefined };
    let ready = false;
    const s = new Scheduler(changes, { jobs: 2, batchSize: 10, batchDelayMs: 0 }, () => Promise.resolve(), timed, undefined, {
      queue: steps,
      run: (t) => {
        taken.push(...t.map((x) => `${x.from}>${x.to}`));
        return Promise.resolve();
      },
      ready: () => ready,
    });
    steps.add([step('a', 'b')]);
    s.resume();
    assert.deepEqual(taken, [], 'not taken while the channel is down');
    assert.equal(steps.size, 1);
    assert.equal(timers.at(-1)?.ms, 1000);
    ready = true;
    timers.at(-1)?.fn();
    assert.deepEqual(taken, ['a>b']);
  });
});

describe('Scheduler: paths a batch sends beside its entries (-H names)', () => {
  it('holds those no batch or queued rename holds, and leaves the rest to later batches', async () => {
    const changes = new ChangeSet(100);
    const steps = new EntryQueue();
    const claims: string[][] = [];
    const ends: (() => void)[] = [];
    let claimNext: ((paths: readonly string[]) => string[]) | undefined;
    const s = new Scheduler(
      changes,
      { jobs: 3, batchSize: 1, batchDelayMs: 0 },
      (_entries, claim) => {
        claimNext = claim;
        return new Promise((r) => ends.push(r));
      },
      clock,
      undefined,
      { queue: steps, run: () => new Promise(() => undefined), ready: () => false },
    );
    steps.add([step('r/from', 'r/to')]);
    changes.add('a/one', false, 1000);
    s.resume();
    const first = claimNext;
    changes.add('b/two', false, 1000);
    s.kick();
    assert.ok(first && claimNext && first !== claimNext, 'two batches running');
    // The first batch's path, a name a queued rename moves, a free name.
    claims.push(claimNext(['a/one', 'r/to', 'c/peer']));
    assert.deepEqual(claims, [['c/peer']]);
    // Held now: nobody else gets it while that batch runs.
    assert.deepEqual(first(['c/peer']), []);
    for (const end of ends) end();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(first(['c/peer']), ['c/peer'], 'released when its batch ended');
  });
});

describe('renames whose slave copy may lag', () => {
  const mv = (from: string, to: string): { from: string; to: string } => ({ from, to });

  it('a rename of a name a batch is sending, and the renames its copy goes on through (a swap)', () => {
    const moves = [mv('b/c', 'swap.tmp'), mv('b/n', 'b/c'), mv('swap.tmp', 'b/n'), mv('x', 'y')];
    const lag = laggingMoves(moves, (p) => p === 'b/c');
    assert.deepEqual(
      moves.filter((m) => lag.has(m)).map((m) => `${m.from}>${m.to}`),
      ['b/c>swap.tmp', 'swap.tmp>b/n'],
    );
  });
});
