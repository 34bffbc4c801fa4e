/** src/sync/scheduler.ts: when batches start. A fake clock and a batch handler that ends when told. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChangeSet, type Entry } from '../../src/sync/change-set.js';
import { Scheduler, type Clock, type SchedulerOptions } from '../../src/sync/scheduler.js';

interface Timer {
  readonly at: number;
  readonly fn: () => void;
  readonly unref?: () => void;
}

/** Time moves only when advance() says; due timers fire in order. */
class FakeClock implements Clock {
  t = 0;
  timers: Timer[] = [];

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer = { at: this.t + ms, fn };
    this.timers.push(timer);
    return timer;
  }

  clearTimeout(t: unknown): void {
    this.timers = this.timers.filter((x) => x !== t);
  }

  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

interface Call {
  readonly paths: readonly string[];
  readonly finish: () => void;
  readonly fail: (e: Error) => void;
}

/** Records each batch; a batch ends when the test calls finish(). */
class Batches {
  readonly calls: Call[] = [];

  readonly handle = (entries: readonly Entry[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.calls.push({ paths: entries.map((e) => e.path), finish: resolve, fail: reject });
    });

  get paths(): (readonly string[])[] {
    return this.calls.map((c) => c.paths);
  }

  call(i: number): Call {
    const c = this.calls[i];
    assert.ok(c, `no batch ${i}`);
    return c;
  }
}

/** Lets promise callbacks (a finished batch's bookkeeping) run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Rig {
  readonly clock: FakeClock;
  readonly changes: ChangeSet;
  readonly batches: Batches;
  readonly scheduler: Scheduler;
  /** Queues changes at the clock's time and kicks, as the session does. */
  change(...paths: string[]): void;
}

function rig(o: Partial<SchedulerOptions> = {}, resume = true): Rig {
  const clock = new FakeClock();
  const changes = new ChangeSet(1000);
  const batches = new Batches();
  const scheduler = new Scheduler(changes, { jobs: 3, batchSize: 100, batchDelayMs: 1000, ...o }, batches.handle, clock);
  if (resume) scheduler.resume();
  return {
    clock,
    changes,
    batches,
    scheduler,
    change(...paths: string[]): void {
      for (const p of paths) changes.add(p, false, clock.now());
      scheduler.kick();
    },
  };
}

describe('Scheduler', () => {
  it('starts paused: nothing is sent before resume()', () => {
    const r = rig({}, false);
    r.change('d1/a');
    r.clock.advance(10_000);
    assert.deepEqual(r.batches.paths, []);
    r.scheduler.resume();
    assert.deepEqual(r.batches.paths, [['d1/a']]);
  });

  it('sends a change at once when nothing runs', () => {
    const r = rig();
    r.change('d1/a');
    assert.deepEqual(r.batches.paths, [['d1/a']]);
    assert.equal(r.scheduler.active, 1);
    assert.equal(r.changes.size, 0);
  });

  it('gathers changes while a batch runs, and sends them together when it ends', async () => {
    const r = rig();
    r.change('d1/a');
    r.clock.advance(100);
    r.change('d2/b');
    r.clock.advance(100);
    r.change('d3/c', 'd4/d');
    assert.deepEqual(r.batches.paths, [['d1/a']]);
    r.batches.call(0).finish();
    await settle();
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b', 'd3/c', 'd4/d']]);
  });

  it('starts a parallel batch once the oldest waiting change is batch-delay old', () => {
    const r = rig({ batchDelayMs: 1000 });
    r.change('d1/a');
    r.clock.advance(100);
    r.change('d2/b');
    r.clock.advance(400);
    r.change('d3/c');
    r.clock.advance(599);
    assert.deepEqual(r.batches.paths, [['d1/a']]);
    r.clock.advance(1);
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b', 'd3/c']]);
    assert.equal(r.scheduler.active, 2);
  });

  it('does not gather while told not to (a History Crawl): what waits starts beside the running batch at once', () => {
    let gather = false;
    const r = rig({ batchDelayMs: 1000, gather: () => gather });
    r.change('d1/a');
    r.change('d2/b');
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b']]);
    gather = true;
    r.change('d3/c');
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b']], 'live again: gathers while batches run');
    r.clock.advance(1000);
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b'], ['d3/c']]);
  });

  it('never starts a batch on a path that conflicts with a running one', async () => {
    const r = rig();
    r.change('d1/a');
    // the same path, and a sibling in the same directory
    r.change('d1/a', 'd1/b');
    r.clock.advance(5000);
    assert.deepEqual(r.batches.paths, [['d1/a']]);
    // a free path goes once it is due; the held ones wait
    r.change('d2/x');
    r.clock.advance(1000);
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/x']]);
    r.batches.call(0).finish();
    await settle();
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/x'], ['d1/a', 'd1/b']]);
  });

  it('never runs an ancestor and a descendant at once', async () => {
    const r = rig();
    r.change('d1/a/b');
    r.change('d1');
    r.clock.advance(5000);
    assert.deepEqual(r.batches.paths, [['d1/a/b']]);
    r.batches.call(0).finish();
    await settle();
    assert.deepEqual(r.batches.paths, [['d1/a/b'], ['d1']]);
  });

  it('runs at most `jobs` batches', async () => {
    const r = rig({ jobs: 2, batchSize: 1 });
    r.change('d1/a', 'd2/b', 'd3/c');
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b']]);
    r.clock.advance(10_000);
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b']]);
    assert.equal(r.scheduler.active, 2);
    r.batches.call(1).finish();
    await settle();
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b'], ['d3/c']]);
  });

  it('puts at most batchSize paths in a batch, and starts a full batch without waiting', () => {
    const r = rig({ jobs: 3, batchSize: 2 });
    r.change('d1/a', 'd2/b', 'd3/c', 'd4/d', 'd5/e');
    assert.deepEqual(r.batches.paths, [['d1/a', 'd2/b'], ['d3/c', 'd4/d']]);
    r.clock.advance(999);
    assert.equal(r.batches.calls.length, 2);
    r.clock.advance(1);
    assert.deepEqual(r.batches.paths, [['d1/a', 'd2/b'], ['d3/c', 'd4/d'], ['d5/e']]);
  });

  it('starts nothing while paused, lets running batches finish, and goes on after resume()', async () => {
    const r = rig();
    r.change('d1/a');
    r.scheduler.pause();
    r.change('d2/b');
    r.clock.advance(5000);
    r.batches.call(0).finish();
    await settle();
    assert.deepEqual(r.batches.paths, [['d1/a']]);
    assert.equal(r.scheduler.active, 0);
    r.scheduler.resume();
    assert.deepEqual(r.batches.paths, [['d1/a'], ['d2/b']]);
  });

  it('clears its timer on pause', () => {
    const r = rig();
    r.change('d1/a');
    r.change('d2/b');
    assert.equal(r.clock.timers.length, 1);
    r.scheduler.pause();
    assert.equal(r.clock.timers.length, 0);
  });

  it('sends an entry that is backing off when its time comes', () => {
    const r = rig({}, false);
    r.changes.requeue([{ path: 'd1/a', recursive: false, since: 0, origin: 0, attempts: 0, notBefore: 5000 }], 5000, 0);
    r.scheduler.resume();
    assert.deepEqual(r.batches.paths, []);
    r.clock.advance(4999);
    assert.deepEqual(r.batches.paths, []);
    r.clock.advance(1);
    assert.deepEqual(r.batches.paths, [['d1/a']]);
  });

  it('whenIdle resolves at once when nothing runs, else when the last batch ends', async () => {
    const r = rig();
    let idle = false;
    await r.scheduler.whenIdle();
    r.change('d1/a');
    r.clock.advance(1000);
    r.change('d2/b');
    r.clock.advance(1000);
    assert.equal(r.scheduler.active, 2);
    void r.scheduler.whenIdle().then(() => {
      idle = true;
    });
    r.batches.call(0).finish();
    await settle();
    assert.equal(idle, false);
    r.batches.call(1).finish();
    await settle();
    assert.equal(idle, true);
  });

  it('goes on after a batch handler fails, without an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => {
      unhandled.push(e);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const r = rig();
      r.change('d1/a');
      r.change('d1/b');
      r.batches.call(0).fail(new Error('batch handler failed: if this shows as the test failure, the scheduler left the rejection unhandled'));
      await settle();
      await settle();
      assert.deepEqual(r.batches.paths, [['d1/a'], ['d1/b']]);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
