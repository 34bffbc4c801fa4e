// Faults while files move: a master file rsync cannot read (a counted failure that holds
// back nothing else, listed by status, sent once it changes), a file appended to while rsync
// sends it, and files that vanish before they are sent (no error at all).
//
// Root reads every file, mode 000 or not: as root, gsyncd runs as nobody (setpriv), and the
// trees it mirrors belong to nobody, so that the owners on both sides still match.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { assertMirrored, waitForMirror } from '../helpers/compare.js';
import { exec, execOk } from '../helpers/exec.js';
import {
  assertNoChildrenLeft,
  describeExit,
  gsyncdBin,
  runGsyncd,
  startGsyncd,
  stopAndAssertClean,
  waitForRsyncChild,
  type GsyncdProcess,
} from '../helpers/gsyncd.js';
import { prng } from '../helpers/prng.js';
import { isAlive } from '../helpers/proc.js';
import { makeLayout, scopeFor, type Layout, type Scope } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';
import { statusOf, waitForStatus as waitForStatusOf, type StatusRow } from '../helpers/status.js';
import type { FailedPath } from '../../src/status/status.js';
import { NOBODY, UNPRIVILEGED, asRoot, removeUnprivilegedCopy, unprivilegedBin } from '../helpers/unprivileged.js';

const LIVE_TIMEOUT_MS = 60_000;
const SESSION = 'motion';
/** Two attempts, at most a second apart: a path is given up on within seconds. */
const FAST_RETRIES = ['--retry-attempts', '2', '--retry-max-delay', '1'];
const SECRET = 'inbox/secret.txt';
const READABLE = ['inbox/a.txt', 'inbox/b.txt', 'inbox/c.txt', 'inbox/d.txt'];

after(removeUnprivilegedCopy);


interface Tree extends Layout {
  state: string;
}

/** base/{master,slave,outside,state}, the master a small tree with inbox/, all nobody's when root. */
async function makeTree(scope: Scope, label: string, extra: (master: string) => void = () => undefined): Promise<Tree> {
  const layout = await makeLayout(scope, label);
  const state = path.join(layout.base, 'state');
  mkdirSync(state);
  makeSmallTree(layout.master);
  mkdirSync(path.join(layout.master, 'inbox'));
  writeFileSync(path.join(layout.master, 'inbox/first.txt'), 'first\n');
  extra(layout.master);
  if (asRoot) await execOk('chown', ['-R', `${NOBODY}:${NOBODY}`, layout.base]);
  return { ...layout, state };
}

/** inbox/secret.txt, mode 000: gsyncd (nobody, or the user running the tests) cannot read it. */
function writeSecret(master: string): void {
  writeFileSync(path.join(master, SECRET), 'top secret\n');
  chmodSync(path.join(master, SECRET), 0o000);
}

/**
 * Writes `rel` beside the master first, with its mode and owner, then renames it in: the
 * watcher never sees it half made (readable for a moment, or root's).
 */
function place(tree: Tree, rel: string, content: string, mode = 0o644): void {
  const temp = path.join(tree.outside, path.basename(rel));
  writeFileSync(temp, content);
  chmodSync(temp, mode);
  if (asRoot) chownSync(temp, NOBODY, NOBODY);
  renameSync(temp, path.join(tree.master, rel));
}

async function startSession(scope: Scope, tree: Tree, args: readonly string[] = []): Promise<GsyncdProcess> {
  const g = await startGsyncd(['--session', SESSION, '--batch-delay', '0.2', ...FAST_RETRIES, ...args, tree.master, tree.slave], {
    stateDir: tree.state,
    prefix: UNPRIVILEGED,
    bin: await unprivilegedBin(),
  });
  scope.defer(() => g.dispose());
  return g;
}

/** `gsyncd status` as a user runs it (root reads nobody's status file). */
async function gsyncdStatus(stateDir: string, ...args: string[]): Promise<string> {
  const r = await exec(process.execPath, [gsyncdBin, 'status', '--state-dir', stateDir, ...args, SESSION]);
  assert.equal(r.code, 0, `gsyncd status ${args.join(' ')}: exit ${String(r.code ?? r.signal)}\n${r.stderr}`);
  return r.stdout;
}

const waitForStatus = (stateDir: string, what: string, ok: (s: StatusRow) => boolean, timeoutMs = LIVE_TIMEOUT_MS): Promise<StatusRow> =>
  waitForStatusOf(stateDir, what, ok, { timeoutMs });

/** status.json always lists failed_paths; the record's type has it optional. */
const failedOf = (s: StatusRow): readonly FailedPath[] => s.failed_paths ?? [];
const lists = (s: StatusRow, p: string): boolean => failedOf(s).some((f) => f.path === p);

async function waitForFile(file: string, content: string): Promise<void> {
  await pollUntil(
    () => (existsSync(file) && readFileSync(file, 'utf8') === content ? true : undefined),
    () => `${file} on the slave with its content`,
    { timeoutMs: LIVE_TIMEOUT_MS },
  );
}

/** The given-up path as status shows it: listed with rsync's reason, counted, the session still Active. */
async function assertGivenUp(tree: Tree, g: GsyncdProcess, rel: string): Promise<void> {
  const s = await waitForStatus(tree.state, `${rel} in failed_paths`, (row) => lists(row, rel));
  const failed = failedOf(s).find((f) => f.path === rel);
  assert.match(failed?.reason ?? '', /Permission denied/, `failed_paths: ${JSON.stringify(failedOf(s))}`);
  assert.ok((failed?.attempts ?? 0) >= 2, `given up after fewer than --retry-attempts 2: ${JSON.stringify(failed)}`);
  assert.ok(s.failures >= 1, `failures is ${s.failures}`);
  assert.deepEqual([s.status, s.crawl_status], ['Active', 'Changelog Crawl'], `an unreadable master file made the session ${s.status}`);
  assert.notEqual(g.findLog('giving up on a path until it changes again'), -1, `no "giving up" line:\n${g.tail()}`);
  const detail = await gsyncdStatus(tree.state, '--detail');
  const line = new RegExp(`^${SESSION}: failed ${rel.replace(/[.]/g, '\\.')}: .*Permission denied.* \\(\\d+ attempts since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\)$`, 'm');
  assert.match(detail, line, 'status --detail has no "failed" line for the path');
}

describe('a master file gsyncd cannot read', () => {
  it('live: counted and listed, the others of its batch arrive, and it is sent once readable', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const tree = await makeTree(scope, 'unread-live');
    const g = await startSession(scope, tree);
    await g.waitForLog('Changelog Crawl started', LIVE_TIMEOUT_MS);
    await assertMirrored(tree.master, tree.slave);

    place(tree, SECRET, 'top secret\n', 0o000);
    for (const rel of READABLE) place(tree, rel, `${rel}\n`);
    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS, { exclude: ['secret.txt'] });
    await assertGivenUp(tree, g, SECRET);
    assert.ok(!existsSync(path.join(tree.slave, SECRET)), `${SECRET} reached the slave while unreadable`);

    chmodSync(path.join(tree.master, SECRET), 0o644);
    await waitForFile(path.join(tree.slave, SECRET), 'top secret\n');
    const after = await waitForStatus(tree.state, 'failed_paths empty once the file was sent', (s) => failedOf(s).length === 0);
    assert.ok(after.failures >= 1, `the failure was uncounted: failures ${after.failures}`);
    assert.equal(after.status, 'Active');
    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS);
    await stopAndAssertClean(g);
  });

  it('live, in a new directory: the file is listed, and nothing stays listed once it is sent', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const tree = await makeTree(scope, 'unread-newdir');
    const g = await startSession(scope, tree);
    await g.waitForLog('Changelog Crawl started', LIVE_TIMEOUT_MS);

    // The whole directory moves in at once, as an unpacked archive or a finished upload does:
    // it is sent as one recursive entry, yet what failed is one file in it.
    const made = path.join(tree.outside, 'drop');
    mkdirSync(made);
    writeFileSync(path.join(made, 'secret.txt'), 'top secret\n');
    chmodSync(path.join(made, 'secret.txt'), 0o000);
    for (const name of ['a.txt', 'b.txt', 'c.txt']) writeFileSync(path.join(made, name), `${name}\n`);
    if (asRoot) await execOk('chown', ['-R', `${NOBODY}:${NOBODY}`, made]);
    renameSync(made, path.join(tree.master, 'drop'));

    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS, { exclude: ['secret.txt'] });
    const listed = await waitForStatus(tree.state, 'a path under drop/ in failed_paths', (s) => failedOf(s).some((f) => f.path.startsWith('drop')));
    const problems: string[] = [];
    const listedPaths = failedOf(listed).map((f) => f.path);
    if (!listedPaths.includes('drop/secret.txt')) {
      problems.push(`failed_paths names ${JSON.stringify(listedPaths)}, not the file rsync could not read (drop/secret.txt)`);
    }
    chmodSync(path.join(tree.master, 'drop/secret.txt'), 0o644);
    await waitForFile(path.join(tree.slave, 'drop/secret.txt'), 'top secret\n');
    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS);
    try {
      await waitForStatus(tree.state, 'failed_paths empty once the file was sent', (s) => failedOf(s).length === 0, 20_000);
    } catch (e: unknown) {
      problems.push(`the file arrived, but ${e instanceof Error ? e.message : String(e)}`);
    }
    assert.deepEqual(problems, [], `log:\n${g.stderrLines.filter((l) => /giving up|batch failed|missed/.test(l)).join('\n')}`);
    await stopAndAssertClean(g);
  });

  it('Full Crawl: the other files arrive, the session goes live, and a restart retries the listed path', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const tree = await makeTree(scope, 'unread-full', (master) => {
      for (const rel of READABLE) writeFileSync(path.join(master, rel), `${rel}\n`);
      writeSecret(master);
    });
    const g = await startSession(scope, tree);
    await g.waitForLog('Full Crawl finished, but for paths rsync could not read', LIVE_TIMEOUT_MS);
    await g.waitForLog('Changelog Crawl started', LIVE_TIMEOUT_MS);
    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS, { exclude: ['secret.txt'] });
    await assertGivenUp(tree, g, SECRET);
    await stopAndAssertClean(g);

    // Readable while no session runs: no event will say so, the saved list must.
    chmodSync(path.join(tree.master, SECRET), 0o644);
    const again = await startSession(scope, tree);
    await again.waitForLog(/History Crawl started .*failed_before=1/, LIVE_TIMEOUT_MS);
    await waitForFile(path.join(tree.slave, SECRET), 'top secret\n');
    await waitForStatus(tree.state, 'failed_paths empty after the restart sent the file', (s) => failedOf(s).length === 0);
    await waitForMirror(tree.master, tree.slave, LIVE_TIMEOUT_MS);
    await stopAndAssertClean(again);
  });

  it('--once: exit 1, with every other file on the slave', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const tree = await makeTree(scope, 'unread-once', (master) => {
      for (const rel of READABLE) writeFileSync(path.join(master, rel), `${rel}\n`);
      writeSecret(master);
    });
    const run = await runGsyncd(['--once', ...FAST_RETRIES, tree.master, tree.slave], { stateDir: tree.state, prefix: UNPRIVILEGED, bin: await unprivilegedBin() });
    assert.equal(run.code, 1, `gsyncd --once exited ${describeExit(run)}:\n${run.stderr}`);
    assert.match(run.stderr, /secret\.txt.*Permission denied/, 'the log does not name the unreadable file');
    await assertMirrored(tree.master, tree.slave, { exclude: ['secret.txt'] });
    assert.ok(!existsSync(path.join(tree.slave, SECRET)), `${SECRET} reached the slave while unreadable`);
    await assertNoChildrenLeft(run);
  });
});

describe('files in motion', () => {
  it('a file appended to while rsync sends it ends up complete on the slave', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'append');
    makeSmallTree(layout.master);
    // 6 MB at 2000 KB/s: each send takes seconds, long enough to append into it.
    const g = await startGsyncd(['--batch-delay', '0.2', '--bwlimit', '2000', layout.master, layout.slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', LIVE_TIMEOUT_MS);

    const big = path.join(layout.master, 'big.bin');
    writeFileSync(big, randomBytes(6 * 1024 * 1024));
    let appendsDuringSend = 0;
    // Two sends: the first of the file as written, the next of the file the appends made.
    for (let round = 0; round < 2; round++) {
      const rsync = await waitForRsyncChild(g, LIVE_TIMEOUT_MS);
      for (let n = 0; n < 100 && isAlive(rsync); n++) {
        appendFileSync(big, randomBytes(32 * 1024));
        appendsDuringSend += 1;
        await delay(50);
      }
    }
    assert.ok(appendsDuringSend > 0, 'no append happened while rsync ran: the test did not test anything');
    t.diagnostic(`appends while rsync ran: ${appendsDuringSend}`);
    await waitForMirror(layout.master, layout.slave, 90_000);
    await stopAndAssertClean(g);
  });

  it('files and directories that vanish before they are sent are no error', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'vanish');
    makeSmallTree(layout.master);
    const g = await startGsyncd(['--session', SESSION, '--batch-delay', '0.2', layout.master, layout.slave]);
    scope.defer(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', LIVE_TIMEOUT_MS);

    const seed = 0x5eed_0f1a;
    const random = prng(seed);
    const kept = path.join(layout.master, 'kept');
    const flash = path.join(layout.master, 'flash');
    mkdirSync(kept);
    mkdirSync(flash);
    // Lifetimes from nothing to a few batch delays: some die before their event is read,
    // some between being queued and being sent, some while rsync sends them.
    for (let i = 0; i < 120; i++) {
      const file = path.join(flash, `f-${i}.txt`);
      writeFileSync(file, `flash ${i}\n`);
      if (i % 4 === 0) {
        const dir = path.join(layout.master, `gone-${i}`);
        mkdirSync(path.join(dir, 'sub'), { recursive: true });
        for (let k = 0; k < 5; k++) writeFileSync(path.join(dir, k % 2 === 0 ? `x${k}` : `sub/y${k}`), `${i}.${k}\n`);
        await delay(Math.floor(random() * 400));
        rmSync(dir, { recursive: true });
      }
      writeFileSync(path.join(kept, `k-${i}.txt`), `kept ${i}\n`);
      await delay(Math.floor(random() * 150));
      rmSync(file);
    }
    writeFileSync(path.join(layout.master, 'last.txt'), 'last\n');
    await waitForFile(path.join(layout.slave, 'last.txt'), 'last\n');
    await waitForMirror(layout.master, layout.slave, LIVE_TIMEOUT_MS);

    const s = await statusOf(g.stateDir);
    t.diagnostic(`batches ${g.countLog('batch done')}, of which rsync exit 24 (vanished) ${g.countLog('rsync_exit=24')}`);
    const failureLines = g.stderrLines.filter((l) => /batch failed|giving up|could not send/.test(l));
    assert.deepEqual(failureLines, [], `vanished files were taken for failures (seed ${seed})`);
    assert.deepEqual([s.failures, failedOf(s), s.status], [0, [], 'Active'], `status after vanishing files (seed ${seed})`);
    await stopAndAssertClean(g);
  });
});
