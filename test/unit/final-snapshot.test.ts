/**
 * src/session/snapshots.ts and sent-journal.ts: a clean stop lists nothing. It saves the
 * pending set beside the last snapshot and the journal of what was sent since; the next
 * start sends the changes of the snapshot diff that no journalled run covers. On a real tree
 * with real find and sort.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { Options } from '../../src/config/options.js';
import { compileMatcher } from '../../src/filter/matcher.js';
import type { FailedPaths } from '../../src/session/failed-paths.js';
import type { SessionQueue } from '../../src/session/queue.js';
import { SavedState } from '../../src/session/saved-state.js';
import { loadJournal } from '../../src/session/sent-journal.js';
import { SentSince } from '../../src/session/sent-since.js';
import { Snapshots } from '../../src/session/snapshots.js';
import type { ChangeEvent } from '../../src/watch/change-source.js';
import { changesSinceSnapshot } from '../../src/watch/snapshot.js';
import { RecordingLogger } from '../helpers/session-fakes.js';

interface Run {
  readonly saved: SavedState;
  readonly snapshots: Snapshots;
  readonly logger: RecordingLogger;
}

/** One run of a session on `master`, with its state in `state`. */
function run(master: string, state: string): Run {
  const saved = new SavedState(state);
  const logger = new RecordingLogger();
  const queued: ChangeEvent[] = [];
  const snapshots = new Snapshots({
    saved,
    master,
    matcher: compileMatcher([], new Map(), { root: master }),
    options: { snapshotInterval: 300, rsyncFlags: new Set<string>() } as unknown as Options,
    logger,
    queue: { has: (p: string) => queued.some((e) => e.path === p), kick: () => undefined } as unknown as SessionQueue,
    failed: { has: () => false } as unknown as FailedPaths,
    queueEvent: (e) => {
      queued.push(e);
    },
    idle: () => true,
    lastEventAt: () => 0,
    marker: (at) => ({ version: 1, master, slave: '/s', slaveId: null, snapshotAt: at.toISOString() }),
  });
  return { saved, snapshots, logger };
}

function tree(): { dir: string; master: string; state: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-final-'));
  const master = path.join(dir, 'master');
  mkdirSync(path.join(master, 'd'), { recursive: true });
  writeFileSync(path.join(master, 'a'), 'a\n');
  writeFileSync(path.join(master, 'd', 'b'), 'b\n');
  mkdirSync(path.join(dir, 'state'));
  return { dir, master, state: path.join(dir, 'state') };
}

const entry = (p: string): { path: string; recursive: boolean; since: number; origin: number; attempts: number; notBefore: number } => ({
  path: p,
  recursive: false,
  since: 0,
  origin: 0,
  attempts: 0,
  notBefore: 0,
});

/** A run live after a Full Crawl: its baseline written, snapshots started. */
async function liveRun(t: { master: string; state: string }): Promise<Run> {
  const r = run(t.master, t.state);
  await r.snapshots.writeBaseline();
  r.snapshots.start();
  return r;
}

/** A clean stop of `first` with nothing pending, then the next start with the journal loaded. */
async function restarted(t: { master: string; state: string }, first: Run): Promise<Run> {
  await first.snapshots.saveFinal(() => []);
  const marker = await first.saved.marker();
  assert.ok(marker !== undefined);
  const second = run(t.master, t.state);
  await second.snapshots.loadJournal(new Date(marker.snapshotAt));
  return second;
}

describe('a clean stop', () => {
  it('saves the pending set and the journal, and the next start sends only what no run sent', async () => {
    const t = tree();
    try {
      const first = run(t.master, t.state);
      // A Full Crawl's baseline, then live: no snapshot saved yet.
      await first.snapshots.writeBaseline();
      first.snapshots.start();
      writeFileSync(path.join(t.master, 'a'), 'a, changed\n');
      first.snapshots.sent(['a'], Date.now() + 1);
      // Changed, never sent (its event had not arrived, or came after the watcher stopped).
      writeFileSync(path.join(t.master, 'd', 'b'), 'b, changed\n');
      await first.snapshots.saveFinal(() => [entry('queued')]);

      assert.equal(first.logger.said('session state saved').length, 1);
      assert.ok(await first.saved.has(first.saved.snapshotFile), 'the baseline became the snapshot');
      const marker = await first.saved.marker();
      assert.ok(marker !== undefined, 'with its marker');
      assert.deepEqual((await first.saved.pending()).map((e) => e.path), ['queued']);
      assert.match(readFileSync(first.saved.journalFile, 'utf8'), /"p":\["a"\]/);

      // The next start: the snapshot diff, less what the journal covers.
      writeFileSync(path.join(t.master, 'while-stopped'), 'new\n');
      const second = run(t.master, t.state);
      assert.equal(await second.snapshots.loadJournal(new Date(marker.snapshotAt)), 1);
      const changes = await changesSinceSnapshot(t.master, second.saved.snapshotFile, []);
      assert.deepEqual(changes.map((c) => c.path).sort(), ['a', 'd/b', 'while-stopped']);
      const unsent = await second.snapshots.unsent(changes, { restart: true });
      assert.deepEqual(unsent.map((c) => c.path).sort(), ['d/b', 'while-stopped'], 'a was sent after its change');
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });

  it('sends again a delete made after the path was last sent (the journal lists the path, not its removal)', async () => {
    const t = tree();
    try {
      const first = await liveRun(t);
      // After the baseline, a run sent a; a was deleted after that run started, and gsyncd
      // stopped (or was killed) before the delete went out. The clock moves on between the
      // three, so that their order shows in milliseconds.
      await delay(20);
      first.snapshots.sent(['a'], Date.now());
      await delay(20);
      rmSync(path.join(t.master, 'a'));
      const second = await restarted(t, first);
      const changes = await changesSinceSnapshot(t.master, second.saved.snapshotFile, []);
      assert.deepEqual(changes, [{ path: 'a', kind: 'delete' }]);
      assert.deepEqual(await second.snapshots.unsent(changes, { restart: true }), [{ path: 'a', kind: 'delete' }], 'the delete is sent');
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });

  it('saves nothing to restart from without a snapshot or baseline (the next start runs a Full Crawl)', async () => {
    const t = tree();
    try {
      const r = run(t.master, t.state);
      r.snapshots.start();
      await r.snapshots.saveFinal(() => []);
      assert.equal(await r.saved.has(r.saved.snapshotFile), false);
      assert.equal((await r.saved.marker()), undefined);
      assert.equal(r.logger.said('no snapshot or baseline to restart from; the next start runs a Full Crawl').length, 1);
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });
});

describe("a deleted directory's content", () => {
  it('is covered by the run that listed the directory, live and at a restart', async () => {
    const t = tree();
    try {
      const first = await liveRun(t);
      await delay(20);
      rmSync(path.join(t.master, 'd'), { recursive: true });
      await delay(20);
      // The delete event names d alone; the run that removed d removed d/b with it.
      first.snapshots.sent(['d'], Date.now());
      const changes = await changesSinceSnapshot(t.master, first.saved.baselineFile, []);
      assert.deepEqual(changes.map((c) => c.path).sort(), ['d', 'd/b']);
      assert.deepEqual(await first.snapshots.unsent(changes), [], 'live: no miss');
      const second = await restarted(t, first);
      assert.deepEqual(await second.snapshots.unsent(changes, { restart: true }), [], 'restart: nothing to send again');
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });

  it('is sent again when the run that listed the directory came before its removal', async () => {
    const t = tree();
    try {
      const first = await liveRun(t);
      await delay(20);
      first.snapshots.sent(['d'], Date.now());
      await delay(20);
      rmSync(path.join(t.master, 'd'), { recursive: true });
      const second = await restarted(t, first);
      const changes = await changesSinceSnapshot(t.master, second.saved.snapshotFile, []);
      const unsent = await second.snapshots.unsent(changes, { restart: true });
      assert.deepEqual(unsent.map((c) => c.path).sort(), ['d', 'd/b']);
    } finally {
      rmSync(t.dir, { recursive: true, force: true });
    }
  });
});

describe('the journal of what was sent', () => {
  it('skips a line cut short by a crash and runs older than the snapshot', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-journal-'));
    try {
      const file = path.join(dir, 'sent.journal');
      appendFileSync(file, `${JSON.stringify({ t: 1000, p: ['old'] })}\n${JSON.stringify({ t: 5000, p: ['kept'] })}\n${JSON.stringify({ t: 6000, s: 1, p: ['tree'] })}\n{"t":7000,"p":["cu`);
      const into = new SentSince();
      assert.equal(await loadJournal(file, 2000, into), 2);
      assert.equal(into.covers('old', 500), false, 'before the snapshot: not loaded');
      assert.equal(into.covers('kept', 4000), true);
      assert.equal(into.covers('kept', 5500), false, 'changed after the run started');
      assert.equal(into.covers('tree/inside', 5500), true, 'a subtree sent whole covers what is below it');
      assert.equal(into.covers('cut', undefined), false);
      assert.equal(await loadJournal(path.join(dir, 'missing'), 0, new SentSince()), 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('covers nothing past an overflow line', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gsyncd-journal-'));
    try {
      const file = path.join(dir, 'sent.journal');
      appendFileSync(file, `${JSON.stringify({ t: 5000, p: ['a'] })}\n${JSON.stringify({ overflow: true })}\n`);
      const into = new SentSince();
      await loadJournal(file, 0, into);
      assert.equal(into.covers('a', 1000), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
