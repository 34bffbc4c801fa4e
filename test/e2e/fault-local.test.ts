// Faults around a local session, injected for real (DESIGN.md invariants 4 to 6): the
// slave's filesystem full, then grown; the slave read-only, then writable; the master root
// unmounted, then mounted back; the kernel's inotify watch limit reached, at start and while
// live (the event queue overflowing is in test/serial/: it lowers a machine-wide limit). gsyncd keeps running, says what is wrong in
// `status`, and converges once the fault is gone. Mounts need root: skipped otherwise.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { exec, execOk } from '../helpers/exec.js';
import { startGsyncd, stopAndAssertClean, type GsyncdProcess, type StartOptions } from '../helpers/gsyncd.js';
import { makeLayout, type Scope, scopeFor } from '../helpers/scope.js';
import { makeSmallTree, snapshot, writeFiles } from '../helpers/tree.js';
import { waitForStatus } from '../helpers/status.js';
import { umountWhenFree } from '../helpers/umount.js';

const isRoot = process.getuid?.() === 0;
const NEEDS_ROOT = isRoot ? false : 'needs root (mounts)';
const CONVERGE_MS = 90_000;

async function live(scope: Scope, args: readonly string[], options: StartOptions = {}): Promise<GsyncdProcess> {
  const g = await startGsyncd(['--batch-delay', '0.2', '--retry-max-delay', '2', ...args], options);
  scope.defer(() => g.dispose());
  await g.waitForLog('Changelog Crawl started', 60_000);
  return g;
}

function stillRunning(g: GsyncdProcess): void {
  assert.equal(g.exit, undefined, `gsyncd exited during the fault:\n${g.tail()}`);
}

async function mount(scope: Scope, args: readonly string[], dir: string): Promise<void> {
  await execOk('mount', [...args, dir]);
  scope.defer(async () => {
    await exec('umount', ['-l', dir]);
  });
}


describe('faults on the slave side', () => {
  it('the slave filesystem full: Faulty with the reason, nothing lost; grown again, it converges', { skip: NEEDS_ROOT, timeout: 150_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'full');
    await mount(scope, ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs'], layout.slave);
    makeSmallTree(layout.master);
    const g = await live(scope, [layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);

    // 3 MB does not fit in 2 MB: the write fails on the slave.
    writeFileSync(path.join(layout.master, 'big.bin'), Buffer.alloc(3 * 1024 * 1024, 7));
    writeFiles(path.join(layout.master, 'more'), 'small', 20);
    const faulty = await waitForStatus(g.stateDir, 'Faulty: no space', (s) => s.status === 'Faulty', { timeoutMs: CONVERGE_MS, g });
    assert.match(faulty.reason ?? '', /slave refused writes: .*No space left on device/, JSON.stringify(faulty));
    stillRunning(g);

    await execOk('mount', ['-o', 'remount,size=16m', layout.slave]);
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    await waitForStatus(g.stateDir, 'Active again', (s) => s.status === 'Active', { timeoutMs: CONVERGE_MS, g });
    stillRunning(g);
    await stopAndAssertClean(g);
    await assertMirrored(layout.master, layout.slave);
  });

  it('the slave read-only: Faulty with the reason; writable again, it converges', { skip: NEEDS_ROOT, timeout: 150_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'ro');
    await mount(scope, ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs'], layout.slave);
    makeSmallTree(layout.master);
    const g = await live(scope, [layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);

    await execOk('mount', ['-o', 'remount,ro', layout.slave]);
    writeFiles(path.join(layout.master, 'while-ro'), 'f', 10);
    writeFileSync(path.join(layout.master, 'top.txt'), 'changed while read-only\n');
    const faulty = await waitForStatus(g.stateDir, 'Faulty: read-only', (s) => s.status === 'Faulty', { timeoutMs: CONVERGE_MS, g });
    assert.match(faulty.reason ?? '', /slave refused writes: .*Read-only file system/, JSON.stringify(faulty));
    stillRunning(g);

    await execOk('mount', ['-o', 'remount,rw', layout.slave]);
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    await waitForStatus(g.stateDir, 'Active again', (s) => s.status === 'Active', { timeoutMs: CONVERGE_MS, g });
    await stopAndAssertClean(g);
    await assertMirrored(layout.master, layout.slave);
  });
});

describe('the master root', () => {
  it('unmounted: nothing deleted on the slave, Faulty; mounted back: watched again and converged', { skip: NEEDS_ROOT, timeout: 150_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'unmount');
    // The master is a bind mount of `real`: unmounted, the master path is an empty directory
    // on the same filesystem as before (only its inode tells it apart).
    const real = path.join(layout.outside, 'real');
    mkdirSync(real);
    makeSmallTree(real);
    await mount(scope, ['--bind', real], layout.master);
    const g = await live(scope, [layout.master, layout.slave]);
    await assertMirrored(layout.master, layout.slave);
    const before = snapshot(layout.slave);

    await umountWhenFree(layout.master);
    const faulty = await waitForStatus(g.stateDir, 'Faulty: master root lost', (s) => s.status === 'Faulty', { timeoutMs: CONVERGE_MS, g });
    assert.match(faulty.reason ?? '', /master root .*(is gone|unmounted)/, JSON.stringify(faulty));
    // Changes on the real tree while it is not mounted at the master path, and one in the
    // empty directory that stands in for it: none of it may reach the slave now.
    writeFileSync(path.join(real, 'added-while-unmounted.txt'), 'added\n');
    rmSync(path.join(real, 'a.txt'), { force: true });
    writeFileSync(path.join(layout.master, 'stray.txt'), 'written into the empty mount point\n');
    await g.waitForLog('master root lost', 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    assert.deepEqual(snapshot(layout.slave), before, 'the slave changed while the master root was unmounted');
    stillRunning(g);

    rmSync(path.join(layout.master, 'stray.txt'));
    await execOk('mount', ['--bind', real, layout.master]);
    await g.waitForLog('master root is back', 30_000);
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    await waitForStatus(g.stateDir, 'Active again', (s) => s.status === 'Active', { timeoutMs: CONVERGE_MS, g });
    // Watched again: a change after the return arrives too.
    writeFiles(path.join(layout.master, 'after'), 'x', 5);
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    await stopAndAssertClean(g);
    await assertMirrored(layout.master, layout.slave);
  });
});

/**
 * Runs gsyncd in a user namespace of its own whose inotify watch limit is `limit`: the
 * machine's limit (fs.inotify.max_user_watches) and every other process are left alone.
 */
async function watchLimitPrefix(limit: number): Promise<string[] | undefined> {
  const probe = await exec('unshare', ['--user', '--map-root-user', 'sh', '-c', `echo ${limit} > /proc/sys/user/max_inotify_watches`]);
  if (probe.code !== 0) return undefined;
  return ['unshare', '--user', '--map-root-user', 'sh', '-c', `echo ${limit} > /proc/sys/user/max_inotify_watches && exec "$0" "$@"`];
}

describe('the inotify watch limit', () => {
  for (const watcher of ['native', 'inotify']) {
  it(`--watcher ${watcher}: reached at start: a WARNING naming fs.inotify.max_user_watches, and rescans find every change`, { timeout: 150_000 }, async (t) => {
    const prefix = await watchLimitPrefix(20);
    if (!prefix) {
      t.skip('user namespaces are not available here');
      return;
    }
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, `limit-start-${watcher}`);
    for (let i = 0; i < 40; i++) writeFiles(path.join(layout.master, `d${i}`, 'inner'), 'f', 2);
    const g = await live(scope, ['--watcher', watcher, '--poll-interval', '1', layout.master, layout.slave], { prefix });
    const warning = await g.waitForLog('inotify watch limit reached', 10_000);
    assert.match(warning.line, /fs\.inotify\.max_user_watches/);
    assert.match(warning.line, /sysctl/);
    await assertMirrored(layout.master, layout.slave);

    // Nothing is watched: only the rescans can find these.
    writeFiles(path.join(layout.master, 'd39', 'inner'), 'later', 3);
    writeFileSync(path.join(layout.master, 'd5', 'inner', 'f-0.txt'), 'rewritten\n');
    rmSync(path.join(layout.master, 'd7'), { recursive: true });
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    stillRunning(g);
    await stopAndAssertClean(g);
  });

  it(`--watcher ${watcher}: reached while live: the WARNING, and files written into unwatched directories arrive`, { timeout: 150_000 }, async (t) => {
    const prefix = await watchLimitPrefix(30);
    if (!prefix) {
      t.skip('user namespaces are not available here');
      return;
    }
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, `limit-live-${watcher}`);
    writeFiles(path.join(layout.master, 'start'), 'f', 3);
    const g = await live(scope, ['--watcher', watcher, '--poll-interval', '1', layout.master, layout.slave], { prefix });
    for (let i = 0; i < 60; i++) mkdirSync(path.join(layout.master, `new${i}`));
    await g.waitForLog('inotify watch limit reached', 30_000);
    // Directories past the limit are not watched: these writes raise no event.
    for (let i = 0; i < 60; i += 10) writeFiles(path.join(layout.master, `new${i}`), 'late', 2);
    await waitForMirror(layout.master, layout.slave, CONVERGE_MS);
    stillRunning(g);
    await stopAndAssertClean(g);
    await assertMirrored(layout.master, layout.slave);
  });
  }
});
