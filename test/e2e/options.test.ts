// Options that change what reaches the slave: --ignore-deletes, the filter options,
// --max-delete, the empty-master guard and --allow-empty-master, the watcher backends and
// the JSON log format. Local slaves: the transport is the SSH suites' business.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { describeExit, runGsyncd, startGsyncd, stopAndAssertClean, waitForRsyncChild, type GsyncdProcess } from '../helpers/gsyncd.js';
import { makeLayout, Scope, scopeFor, type Layout } from '../helpers/scope.js';
import { exec } from '../helpers/exec.js';
import { umountWhenFree } from '../helpers/umount.js';
import { makeSmallTree, snapshot } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

const LIVE_TIMEOUT_MS = 30_000;

function put(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
}

async function live(scope: Scope, args: readonly string[]): Promise<GsyncdProcess> {
  const g = await startGsyncd(['--batch-delay', '0.2', ...args]);
  scope.defer(() => g.dispose());
  await g.waitForLog('Changelog Crawl started', 60_000);
  return g;
}

/** A change that must reach the slave, so that what came before it has been processed. */
async function barrier(layout: Layout, name: string): Promise<void> {
  writeFileSync(path.join(layout.master, name), `${name}\n`);
  const target = path.join(layout.slave, name);
  await pollUntil(() => (existsSync(target) ? true : undefined), () => `${target} on the slave`, {
    timeoutMs: LIVE_TIMEOUT_MS,
  });
}

/** Fails as soon as `root` changes during `ms`: for changes that must not happen. */
async function assertUnchangedFor(root: string, ms: number, what: string): Promise<void> {
  const before = snapshot(root);
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    await delay(250);
    assert.deepEqual(snapshot(root), before, `${what}: the slave changed`);
  }
}

describe('--ignore-deletes', () => {
  it('--once: a slave-only file survives, everything else is sent', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'ignore-once');
    put(layout.master, { 'a.txt': 'a\n', 'dir/b.txt': 'b\n' });
    put(layout.slave, { 'a.txt': 'stale a, longer\n', 'slave-only.txt': 'keep me\n', 'old-dir/c.txt': 'c\n' });
    const run = await runGsyncd(['--once', '--ignore-deletes', layout.master, layout.slave]);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    assert.ok(existsSync(path.join(layout.slave, 'slave-only.txt')), 'slave-only.txt was deleted');
    assert.ok(existsSync(path.join(layout.slave, 'old-dir/c.txt')), 'old-dir/c.txt was deleted');
    await assertMirrored(layout.master, layout.slave, { allowExtraneous: true });
  });

  it('live: a file or directory deleted on the master stays on the slave', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'ignore-live');
    makeSmallTree(layout.master);
    const g = await live(scope, ['--ignore-deletes', layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);
    rmSync(path.join(layout.master, 'README'));
    rmSync(path.join(layout.master, 'docs'), { recursive: true });
    writeFileSync(path.join(layout.master, 'src/added.c'), 'added\n');
    await barrier(layout, 'barrier-1');
    await waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS, { allowExtraneous: true });
    assert.ok(existsSync(path.join(layout.slave, 'README')), 'README was deleted on the slave');
    assert.ok(existsSync(path.join(layout.slave, 'docs/old/v1.txt')), 'docs/ was deleted on the slave');
    await stopAndAssertClean(g);
  });
});

describe('filters', () => {
  it('--once with --exclude, --exclude-from and --filter: excluded names are neither sent nor deleted', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'exclude-once');
    put(layout.master, {
      'keep.txt': 'keep\n',
      'skip.tmp': 'tmp\n',
      'sub/also.tmp': 'tmp\n',
      'sub/kept.txt': 'kept\n',
      'cache/blob': 'cached\n',
      'debug.log': 'log\n',
      'notes.bak': 'bak\n',
    });
    put(layout.slave, { 'old.tmp': 'slave copy of an excluded name\n', 'cache/old-blob': 'slave cache\n', 'gone.txt': 'x\n' });
    const excludeFile = path.join(layout.base, 'excludes');
    writeFileSync(excludeFile, '# comment\n*.log\n');
    const run = await runGsyncd([
      '--once',
      '--exclude',
      '*.tmp',
      '--exclude',
      'cache',
      '--exclude-from',
      excludeFile,
      '-f',
      '- *.bak',
      layout.master,
      layout.slave,
    ]);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    for (const sent of ['skip.tmp', 'sub/also.tmp', 'cache/blob', 'debug.log', 'notes.bak']) {
      assert.ok(!existsSync(path.join(layout.slave, sent)), `excluded ${sent} was sent`);
    }
    for (const kept of ['old.tmp', 'cache/old-blob']) {
      assert.ok(existsSync(path.join(layout.slave, kept)), `excluded slave file ${kept} was deleted`);
    }
    assert.ok(!existsSync(path.join(layout.slave, 'gone.txt')), 'gone.txt (not excluded) was not deleted');
    await assertMirrored(layout.master, layout.slave, { exclude: ['*.tmp', 'cache', '*.log', '*.bak'] });
  });

  it('live --exclude: new excluded files are not sent, slave copies are not deleted', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'exclude-live');
    makeSmallTree(layout.master);
    put(layout.slave, { 'old.tmp': 'slave copy\n' });
    const g = await live(scope, ['--log-level', 'DEBUG', '--exclude', '*.tmp', '--exclude', 'cache', layout.master, layout.slave]);
    put(layout.master, { 'new.tmp': 'tmp\n', 'src/x.tmp': 'tmp\n', 'cache/blob': 'blob\n', 'src/real.c': 'real\n' });
    mkdirSync(path.join(layout.master, 'docs/cache'));
    writeFileSync(path.join(layout.master, 'docs/cache/deep'), 'deep\n');
    await barrier(layout, 'barrier-1');
    rmSync(path.join(layout.master, 'new.tmp'));
    rmSync(path.join(layout.master, 'README'));
    const readme = path.join(layout.slave, 'README');
    await pollUntil(() => (existsSync(readme) ? undefined : true), () => `${readme} to be deleted`, {
      timeoutMs: LIVE_TIMEOUT_MS,
    });
    await barrier(layout, 'barrier-2');
    for (const sent of ['new.tmp', 'src/x.tmp', 'cache', 'docs/cache']) {
      assert.ok(!existsSync(path.join(layout.slave, sent)), `excluded ${sent} was sent`);
    }
    assert.ok(existsSync(path.join(layout.slave, 'old.tmp')), 'excluded slave file old.tmp was deleted');
    // Last, the whole mirror as rsync with the same excludes sees it, directory times included.
    await waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS, { exclude: ['*.tmp', 'cache'] }).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${g.stderrLines.filter((l) => /docs|batch|rsync run|events/.test(l)).join('\n')}`);
    });
    await stopAndAssertClean(g);
  });
});

describe('--max-delete', () => {
  it('--once with more deletions than N: at most N slave files go, and the run says so', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'max-delete');
    const keep: Record<string, string> = { k1: '1\n', k2: '2\n', k3: '3\n' };
    put(layout.master, keep);
    put(layout.slave, keep);
    const extras = Array.from({ length: 10 }, (_, i) => `extra${i}`);
    put(layout.slave, Object.fromEntries(extras.map((name) => [name, `${name}\n`])));
    const run = await runGsyncd(['--once', '--max-delete', '3', layout.master, layout.slave]);
    const left = readdirSync(layout.slave).filter((name) => name.startsWith('extra'));
    assert.ok(
      extras.length - left.length <= 3,
      `--max-delete 3 deleted ${extras.length - left.length} files; left: ${left.join(' ')}\n${run.stderr}`,
    );
    for (const name of Object.keys(keep)) {
      assert.ok(existsSync(path.join(layout.slave, name)), `${name} missing on the slave`);
    }
    assert.ok(
      run.code === 1 || (run.code === 0 && /max.?delete/i.test(run.stderr)),
      `expected exit 1, or exit 0 with a warning naming max-delete; got ${describeExit(run)}:\n${run.stderr}`,
    );
  });
});

describe('empty master guard', () => {
  it('--once with an empty master root: refused with exit 1, slave untouched', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'empty-master');
    put(layout.slave, { 'precious.txt': 'precious\n', 'dir/more.txt': 'more\n' });
    const before = snapshot(layout.slave);
    const run = await runGsyncd(['--once', layout.master, layout.slave]);
    assert.equal(run.code, 1, `expected exit 1, got ${describeExit(run)}:\n${run.stderr}`);
    assert.match(run.stderr, /--allow-empty-master/, 'the refusal should name --allow-empty-master');
    assert.deepEqual(snapshot(layout.slave), before, 'the slave was changed');
  });

  it('--once --allow-empty-master with an empty master: the slave is emptied', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'allow-empty');
    put(layout.slave, { 'precious.txt': 'precious\n', 'dir/more.txt': 'more\n' });
    const run = await runGsyncd(['--once', '--allow-empty-master', layout.master, layout.slave]);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    await assertMirrored(layout.master, layout.slave);
  });

  it('live: the master root vanishing does not wipe the slave', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'vanish');
    makeSmallTree(layout.master);
    const g = await live(scope, [layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);
    renameSync(layout.master, path.join(layout.outside, 'master-moved-away'));
    // Nothing to wait for: the slave must stay as it is for a while.
    await assertUnchangedFor(layout.slave, 5_000, 'after the master root vanished');
    await g.stop('SIGTERM');
    await g.assertNoChildrenLeft();
  });

  it('live: the master filesystem unmounted does not wipe the slave', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'unmount');
    await mountTmpfs(scope, layout.master);
    makeSmallTree(layout.master);
    const g = await live(scope, [layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);
    await umountWhenFree(layout.master);
    await assertUnchangedFor(layout.slave, 5_000, 'after the master filesystem was unmounted');
    await g.stop('SIGTERM');
    await g.assertNoChildrenLeft();
  });
});

async function mountTmpfs(scope: Scope, dir: string): Promise<void> {
  const mount = await exec('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
  assert.equal(mount.code, 0, `mount tmpfs on ${dir}: ${mount.stderr}`);
  scope.defer(async () => {
    // Lazy: gsyncd may still have the tree open if the test failed early.
    await exec('umount', ['-l', dir]);
  });
}

describe('watcher backends', () => {
  const backends: readonly (readonly string[])[] = [
    ['--watcher', 'native'],
    ['--watcher', 'inotify'],
    ['--watcher', 'chokidar'],
    ['--watcher', 'poll', '--poll-interval', '0.5'],
  ];
  for (const backend of backends) {
    it(`${backend.join(' ')}: create, change, rename and delete reach the slave`, { timeout: 90_000 }, async (t) => {
      const scope = scopeFor(t);
    const layout = await makeLayout(scope, `watcher-${backend[1] ?? ''}`);
      makeSmallTree(layout.master);
      const g = await live(scope, [...backend, layout.master, layout.slave]);
      const settle = (): Promise<void> => waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS);
      put(layout.master, { 'new/file.txt': 'new\n' });
      await settle();
      writeFileSync(path.join(layout.master, 'README'), 'changed, and longer than before\n');
      renameSync(path.join(layout.master, 'docs'), path.join(layout.master, 'documentation'));
      await settle();
      rmSync(path.join(layout.master, 'src'), { recursive: true });
      rmSync(path.join(layout.master, 'new/file.txt'));
      await settle();
      await stopAndAssertClean(g);
    });
  }
});

describe('queue bound and parallel batches', () => {
  it('--max-queue: a burst past the bound folds into subtree resyncs, says so, and converges', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'max-queue');
    makeSmallTree(layout.master);
    const files = (round: number): Record<string, string> => {
      const out: Record<string, string> = {};
      for (let d = 0; d < 5; d++) for (let f = 0; f < 20; f++) out[`burst${d}/sub/f${f}`] = `${round}: ${d}-${f}\n`;
      return out;
    };
    put(layout.master, files(0));
    // One slow batch holds the queue while 100 existing files change: they gather past the bound.
    put(layout.master, { 'big/blob': 'x'.repeat(4 << 20) });
    const g = await live(scope, ['--max-queue', '10', '--sync-jobs', '1', '--bwlimit', '2000', layout.master, layout.slave]);
    writeFileSync(path.join(layout.master, 'big/blob'), 'y'.repeat(4 << 20));
    await waitForRsyncChild(g, 30_000);
    put(layout.master, files(1));
    await g.waitForLog('queue bound reached', LIVE_TIMEOUT_MS);
    await waitForMirror(layout.master, layout.slave, 60_000);
    await stopAndAssertClean(g);
  });

  it('--sync-jobs 4 --batch-size 10: a burst across many directories converges', { timeout: 90_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'sync-jobs');
    makeSmallTree(layout.master);
    const g = await live(scope, ['--sync-jobs', '4', '--batch-size', '10', '--batch-delay', '0', layout.master, layout.slave]);
    for (let d = 0; d < 20; d++) mkdirSync(path.join(layout.master, `d${d}`));
    await waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS);
    for (let d = 0; d < 20; d++) {
      for (let f = 0; f < 15; f++) writeFileSync(path.join(layout.master, `d${d}`, `f${f}`), `${d}/${f}\n`);
    }
    await waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS);
    await stopAndAssertClean(g);
  });
});

describe('--log-format json', () => {
  it('every log line is a JSON object with level and message', { timeout: 60_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'json');
    makeSmallTree(layout.master);
    const run = await runGsyncd(['--once', '--log-format', 'json', layout.master, layout.slave]);
    assert.equal(run.code, 0, `gsyncd exited ${describeExit(run)}:\n${run.stderr}`);
    const lines = run.stderr.split('\n').filter((line) => line.trim() !== '');
    assert.ok(lines.length > 0, 'no log lines at all');
    const messages: string[] = [];
    for (const line of lines) {
      let entry: unknown;
      try {
        entry = JSON.parse(line);
      } catch {
        assert.fail(`not a JSON line: ${line}`);
      }
      assert.ok(typeof entry === 'object' && entry !== null, `not a JSON object: ${line}`);
      const { level, message } = entry as { level?: unknown; message?: unknown };
      assert.equal(typeof level, 'string', `no string "level" in ${line}`);
      assert.equal(typeof message, 'string', `no string "message" in ${line}`);
      messages.push(message as string);
    }
    assert.ok(
      messages.some((m) => m.includes('Full Crawl started')),
      `no "Full Crawl started" message among:\n${messages.join('\n')}`,
    );
    await assertMirrored(layout.master, layout.slave);
  });
});
