/** src/session/intake.ts: watcher events → queued changes, under real filter rules; lost events and the watch limit. */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Intake } from '../../src/session/intake.js';
import { SETTLE_MS } from '../../src/session/history.js';
import { SessionQueue } from '../../src/session/queue.js';
import { FailedPaths } from '../../src/session/failed-paths.js';
import { StatusWriter } from '../../src/session/status-writer.js';
import { ChangeSet } from '../../src/sync/change-set.js';
import { compileMatcher, type Matcher } from '../../src/filter/matcher.js';
import { encodeFilterArg, type FilterArg } from '../../src/filter/rules.js';
import { layer, toOptions } from '../../src/config/options.js';
import type { Settings } from '../../src/config/file.js';
import type { ChangeEvent, ChangeHandlers } from '../../src/watch/change-source.js';
import { RecordingLogger, statusBase } from '../helpers/session-fakes.js';

const BASE = statusBase();

/** The rules of these tests, as a user gives them: *.tmp files, cache directories, and .rsync-filter files. */
const RULES: readonly FilterArg[] = [
  { kind: 'exclude', value: '*.tmp' },
  { kind: 'exclude', value: 'cache/' },
  { kind: 'filter', value: 'dir-merge .rsync-filter' },
];

interface Rig {
  readonly master: string;
  readonly intake: Intake;
  readonly handlers: ChangeHandlers;
  readonly changes: ChangeSet;
  readonly matcher: Matcher;
  readonly logger: RecordingLogger;
  /** Paths told to `changed`, in order. */
  readonly changed: string[];
  /** Reasons given to coverByRescans. */
  readonly rescans: string[];
  kicks(): number;
  /** Resolves at the next kick. */
  nextKick(): Promise<void>;
  /** Takes everything queued out, as a batch would. */
  send(): void;
  /** What is queued: [path, recursive]. */
  queued(): [string, boolean][];
}

interface RigOptions {
  readonly settings?: Settings;
  readonly coverByRescans?: (reason: string) => Promise<boolean>;
  readonly stopRequested?: () => boolean;
}

async function rig(t: TestContext, o: RigOptions = {}): Promise<Rig> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'gsyncd-intake-'));
  const master = path.join(dir, 'master');
  await mkdir(master);
  const status = await StatusWriter.open(path.join(dir, 'status.json'), BASE);
  t.after(async () => {
    await status.flush();
    await rm(dir, { recursive: true, force: true });
  });
  const options = toOptions(layer({ 'filter-rules': RULES.map(encodeFilterArg) }, o.settings ?? {}));
  const matcher = compileMatcher(options.filters, new Map(), {
    root: master,
    read: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  });
  assert.deepEqual(matcher.problems, []);
  const logger = new RecordingLogger();
  const changes = new ChangeSet(options.maxQueue);
  let kicks = 0;
  let waiting: (() => void)[] = [];
  const queue = new SessionQueue({
    changes,
    failed: new FailedPaths(),
    status,
    logger,
    maxQueue: options.maxQueue,
    kick: () => {
      kicks++;
      const w = waiting;
      waiting = [];
      for (const resolve of w) resolve();
    },
  });
  const changed: string[] = [];
  const rescans: string[] = [];
  const intake = new Intake({
    options,
    masterRoot: '/nonexistent',
    matcher,
    logger,
    queue,
    changed: (p) => {
      changed.push(p);
    },
    coverByRescans: (reason) => {
      rescans.push(reason);
      return o.coverByRescans?.(reason) ?? Promise.resolve(false);
    },
    stopRequested: o.stopRequested ?? ((): boolean => false),
  });
  return {
    master,
    intake,
    handlers: intake.handlers(),
    changes,
    matcher,
    logger,
    changed,
    rescans,
    kicks: () => kicks,
    nextKick: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
      }),
    send: () => {
      changes.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, () => false);
    },
    queued: () => changes.snapshot().map((e) => [e.path, e.recursive]),
  };
}

/** Lets promise callbacks that are already due run. */
const settle = (): Promise<void> =>
  new Promise((resolve) => {
    setImmediate(resolve);
  });

describe('Intake: what an event queues', () => {
  // [what, event, settings, queued as [path, recursive]]
  const CASES: readonly (readonly [string, ChangeEvent, Settings, readonly [string, boolean][]])[] = [
    ['a created path goes whole (it may be a directory that moved in)', { path: 'a/new', kind: 'create' }, {}, [['a/new', true]]],
    ['an updated path too (a file replaced by a directory is an update)', { path: 'a/f', kind: 'update' }, {}, [['a/f', true]]],
    ['a deleted path alone', { path: 'a/f', kind: 'delete' }, {}, [['a/f', false]]],
    ["the root's own update is its attributes only", { path: '', kind: 'update' }, {}, [['', false]]],
    ["an excluded file: its directory's attributes", { path: 'a/x.tmp', kind: 'create' }, {}, [['a', false]]],
    ["an excluded file at the top: the root's attributes", { path: 'x.tmp', kind: 'update' }, {}, [['', false]]],
    ['inside an excluded directory: nothing at all', { path: 'a/cache/x', kind: 'create' }, {}, []],
    ['a name a directory-only rule may exclude: its parent, whole, for rsync to judge', { path: 'a/cache', kind: 'delete' }, {}, [['a', true]]],
    ['a delete with --ignore-deletes: the directory\'s attributes', { path: 'a/f', kind: 'delete' }, { 'ignore-deletes': true }, [['a', false]]],
    ['a delete with delete: no, the same', { path: 'a/f', kind: 'delete' }, { delete: false }, [['a', false]]],
    ['a delete at the top with --ignore-deletes: the root\'s attributes', { path: 'f', kind: 'delete' }, { 'ignore-deletes': true }, [['', false]]],
    ['a create with --ignore-deletes is sent as ever', { path: 'a/f', kind: 'create' }, { 'ignore-deletes': true }, [['a/f', true]]],
    ['a lossy name (U+FFFD): its directory, whole', { path: 'a/b\uFFFDc', kind: 'create' }, {}, [['a', true]]],
    ['a lossy name that is deleted: the same', { path: 'a/b\uFFFDc', kind: 'delete' }, { 'ignore-deletes': true }, [['a', true]]],
    ['a merge file: its directory, whole', { path: 'a/.rsync-filter', kind: 'update' }, {}, [['a', true]]],
    ['a merge file at the top: the whole tree', { path: '.rsync-filter', kind: 'create' }, {}, [['', true]]],
    ['a deleted merge file: its directory, whole', { path: 'a/b/.rsync-filter', kind: 'delete' }, { 'ignore-deletes': true }, [['a/b', true]]],
  ];
  for (const [what, event, settings, expected] of CASES) {
    it(what, async (t) => {
      const r = await rig(t, { settings });
      r.handlers.onEvents([event]);
      assert.deepEqual(r.queued(), expected);
      assert.deepEqual(r.changed, [event.path], 'every event may make a differing slave copy worth resending');
      assert.equal(r.kicks(), 1);
    });
  }
});

describe('Intake: events', () => {
  it('stamps events SETTLE_MS older than their arrival, for checkpoints', async (t) => {
    const r = await rig(t);
    const before = Date.now();
    r.handlers.onEvents([{ path: 'a', kind: 'update' }]);
    const after = Date.now();
    const at = r.intake.lastEventAt();
    assert.ok(before <= at && at <= after, 'lastEventAt is when the events came');
    assert.deepEqual(
      r.changes.snapshot().map((e) => e.origin),
      [at - SETTLE_MS],
    );
  });

  it('queues a whole list of events and kicks once for it', async (t) => {
    const r = await rig(t);
    r.handlers.onEvents([
      { path: 'a/1', kind: 'create' },
      { path: 'a/2.tmp', kind: 'create' },
      { path: 'b', kind: 'delete' },
      { path: 'a/1', kind: 'update' },
    ]);
    assert.deepEqual(r.queued(), [['a/1', true], ['a', false], ['b', false]]);
    assert.equal(r.kicks(), 1);
    assert.deepEqual(r.changed, ['a/1', 'a/2.tmp', 'b', 'a/1']);
    const debug = r.logger.said('events');
    assert.equal(debug.length, 1);
    assert.equal(debug[0]?.fields['count'], 4);
  });

  it('reads a changed merge file afresh: a rule it gained applies to the next event', async (t) => {
    const r = await rig(t);
    await mkdir(path.join(r.master, 'a'));
    r.handlers.onEvents([{ path: 'a/x.log', kind: 'update' }]);
    assert.deepEqual(r.queued(), [['a/x.log', true]], 'no rule for *.log yet');
    r.send();

    await writeFile(path.join(r.master, 'a', '.rsync-filter'), '- *.log\n');
    r.handlers.onEvents([{ path: 'a/.rsync-filter', kind: 'create' }]);
    assert.deepEqual(r.queued(), [['a', true]]);
    assert.deepEqual(
      r.logger.said('filter file changed; resyncing its directory').map((l) => l.fields),
      [{ file: 'a/.rsync-filter', dir: 'a' }],
    );
    r.send();

    r.handlers.onEvents([{ path: 'a/x.log', kind: 'update' }]);
    assert.deepEqual(r.queued(), [['a', false]], 'now excluded: only its directory\'s attributes');
  });

  it('names the root "." when the top merge file changes', async (t) => {
    const r = await rig(t);
    r.handlers.onEvents([{ path: '.rsync-filter', kind: 'update' }]);
    assert.deepEqual(r.logger.said('filter file changed; resyncing its directory').map((l) => l.fields['dir']), ['.']);
  });

  it('logs a merge file it cannot use once, and goes on without it', async (t) => {
    const r = await rig(t);
    await mkdir(path.join(r.master, 'w'));
    await writeFile(path.join(r.master, 'w', '.rsync-filter'), 'bogus rule\n');
    r.handlers.onEvents([{ path: 'w/x', kind: 'update' }]);
    r.handlers.onEvents([{ path: 'w/y', kind: 'update' }]);
    const ignored = r.logger.said('filter file ignored');
    assert.deepEqual(ignored.map((l) => l.level), ['warn']);
    assert.match(ignored.map((l) => String(l.fields['problem'])).join('\n'), /\.rsync-filter: unknown filter rule "bogus rule"/);
    assert.deepEqual(r.queued(), [['w/x', true], ['w/y', true]]);
  });

  it('queues through queueEvent with the origin it is given (a snapshot\'s changes)', async (t) => {
    const r = await rig(t);
    r.intake.queueEvent({ path: 'a/x.tmp', kind: 'create' }, 42);
    assert.deepEqual(r.changes.snapshot().map((e) => [e.path, e.recursive, e.origin]), [['a', false, 42]]);
    assert.equal(r.kicks(), 0, 'its caller kicks');
  });

  it('queues a rename as the delete of the old path and the new path whole, each under the rules', async (t) => {
    const r = await rig(t);
    r.intake.queueEvent({ path: 'new/dir', kind: 'rename', from: 'old/dir' }, 7);
    r.intake.queueEvent({ path: 'b.tmp', kind: 'rename', from: 'a.tmp' }, 7);
    // The .tmp files are excluded: only the root's attributes (its mtime changed).
    assert.deepEqual(r.queued(), [['old/dir', false], ['new/dir', true], ['', false]]);
  });
});

describe('Intake: the watcher\'s troubles', () => {
  it('resyncs the subtree whose events were lost, of unknown age, at once', async (t) => {
    const r = await rig(t);
    const before = Date.now();
    r.handlers.onLost('a/b', 'kernel event queue overflowed');
    assert.deepEqual(r.changes.snapshot().map((e) => [e.path, e.recursive, e.origin]), [['a/b', true, 0]]);
    assert.equal(r.kicks(), 1);
    assert.ok(r.intake.lastEventAt() >= before, 'a loss holds back snapshots like any change');
    assert.deepEqual(
      r.logger.said('watcher lost events; resyncing the subtree').map((l) => [l.level, l.fields]),
      [['warn', { path: 'a/b', reason: 'kernel event queue overflowed' }]],
    );
  });

  it('names the root "." when its events were lost', async (t) => {
    const r = await rig(t);
    r.handlers.onLost('', 'overflow');
    assert.deepEqual(r.queued(), [['', true]]);
    assert.deepEqual(r.logger.said('watcher lost events; resyncing the subtree').map((l) => l.fields['path']), ['.']);
  });

  it('on the watch limit, covers the tree by rescans and resyncs it all the first time', async (t) => {
    const r = await rig(t, { coverByRescans: () => Promise.resolve(true) });
    const kicked = r.nextKick();
    r.handlers.onLimit('inotify watch limit reached');
    await kicked;
    assert.deepEqual(r.rescans, ['inotify watch limit reached']);
    assert.deepEqual(r.changes.snapshot().map((e) => [e.path, e.recursive, e.origin]), [['', true, 0]]);
    assert.ok(r.intake.lastEventAt() > 0);
  });

  it('on the watch limit again, leaves it to the rescans', async (t) => {
    let answered: Promise<boolean> = Promise.resolve(false);
    const r = await rig(t, {
      coverByRescans: () => {
        answered = Promise.resolve(false);
        return answered;
      },
    });
    r.handlers.onLimit('again');
    await answered;
    await settle();
    assert.deepEqual(r.rescans, ['again']);
    assert.deepEqual(r.queued(), []);
    assert.equal(r.kicks(), 0);
  });

  it('ignores the watch limit once a stop was asked', async (t) => {
    const r = await rig(t, { coverByRescans: () => Promise.resolve(true), stopRequested: () => true });
    r.handlers.onLimit('limit');
    await settle();
    assert.deepEqual(r.rescans, []);
    assert.deepEqual(r.queued(), []);
  });

  it('resyncAll queues the whole tree as a change of unknown age seen now', async (t) => {
    const r = await rig(t);
    r.handlers.onEvents([{ path: 'a/b', kind: 'update' }]);
    const before = Date.now();
    r.intake.resyncAll();
    assert.deepEqual(r.changes.snapshot().map((e) => [e.path, e.recursive, e.origin]), [['', true, 0]]);
    assert.equal(r.kicks(), 2);
    assert.ok(r.intake.lastEventAt() >= before);
  });
});
