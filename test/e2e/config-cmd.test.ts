// `gsyncd config` against a real session: set validates and stores in the session's own
// config, a session run as `gsyncd --session NAME` (master: and slave: from the file) obeys
// it, list says where each value comes from, reset restores the inherited value, and check
// and a start both report a broken line as file:line, exit 2.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { pollUntil } from '../helpers/wait.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

describe('gsyncd config', () => {
  it('stores a validated value that the session obeys, shows its source, and resets it', { timeout: 90_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'config-cmd');
    const state = path.join(layout.outside, 'state');
    const conf = path.join(layout.outside, 'gsyncd.conf');
    writeFileSync(conf, `sync-jobs: 2\n[session cs]\nmaster: ${layout.master}\nslave: ${layout.slave}\nbatch-delay: 0.5\n`);
    const config = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, 'config', '-c', conf, '--state-dir', state, ...args]);
    makeSmallTree(layout.master);
    writeFileSync(path.join(layout.master, 'doomed.txt'), 'delete me on the master only\n');

    const set = await config('set', 'cs', 'ignore-deletes', 'yes');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'session cs: ignore-deletes: yes\n');
    const own = path.join(state, 'cs', 'gsyncd.conf');
    assert.equal(readFileSync(own, 'utf8'), 'ignore-deletes: yes\n');

    const bad = await config('set', 'cs', 'sync-jobs', 'lots');
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'gsyncd: config set: sync-jobs: expected an integer from 1 to 100, got "lots"\n');
    assert.equal(readFileSync(own, 'utf8'), 'ignore-deletes: yes\n', 'a refused value changes nothing');
    const unknown = await config('set', 'nosuch', 'sync-jobs', '2');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^gsyncd: config: no session "nosuch" in .*; sessions of the file: cs$/m);

    const list = await config('list', 'cs');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`^ignore-deletes: true +# ${own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    assert.match(list.stdout, /^batch-delay: 0\.5 +# .*gsyncd\.conf \[session cs\]$/m);
    assert.match(list.stdout, /^sync-jobs: 2 +# .*gsyncd\.conf$/m);
    assert.match(list.stdout, /^watcher: inotify +# default$/m);
    assert.equal((await config('get', 'cs', 'sync_jobs')).stdout, '2\n');

    // The session, started by name alone, obeys its own config: the delete stays on the master.
    const g = await startGsyncd(['-c', conf, '--session', 'cs'], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Changelog Crawl started', 30_000);
    await waitForMirror(layout.master, layout.slave, 30_000);
    rmSync(path.join(layout.master, 'doomed.txt'));
    writeFileSync(path.join(layout.master, 'after.txt'), 'after\n');
    // The delete came first: once after.txt is on the slave, its event has been handled too.
    await pollUntil(() => (existsSync(path.join(layout.slave, 'after.txt')) ? true : undefined), () => `after.txt on the slave; gsyncd:\n${g.tail()}`, { timeoutMs: 30_000 });
    assert.ok(existsSync(path.join(layout.slave, 'doomed.txt')), 'ignore-deletes from config set was not applied');
    const running = await config('set', 'cs', 'batch-size', '500');
    assert.match(running.stdout, /^session cs: batch-size: 500; the running session \(pid \d+\) applies it when it restarts/);
    await stopAndAssertClean(g);

    const reset = await config('reset', 'cs', 'ignore-deletes');
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(reset.stdout, 'session cs: ignore-deletes: false (from default)\n');
    assert.equal(readFileSync(own, 'utf8'), 'batch-size: 500\n');

    // A broken line in the session's own config: check and a start both name it, exit 2.
    writeFileSync(own, 'batch-size: 500\nverify: sometimes\n');
    const check = await config('check');
    assert.equal(check.code, 2);
    assert.equal(check.stderr, `gsyncd: ${own}:2: verify: expected one of all, sample, off, got "sometimes"\n`);
    const start = await exec(process.execPath, [gsyncdBin, '-c', conf, '--state-dir', state, '--session', 'cs']);
    assert.equal(start.code, 2);
    assert.equal(start.stderr, `gsyncd: ${own}:2: verify: expected one of all, sample, off, got "sometimes"\n`);
    writeFileSync(own, 'batch-size: 500\n');
    const ok = await config('check');
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /gsyncd\.conf: ok \(\d+ options known; 1 session\(s\), 1 with master and slave; 0 volume\(s\); 1 session config\(s\) checked\)/);
  });
});
