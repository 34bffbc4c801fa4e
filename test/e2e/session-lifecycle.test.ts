// A session's state as gluster's geo-replication keeps it: `gsyncd delete SESSION` removes a
// stopped session (refused while it runs, one line for each mistake), a --once run leaves
// no state, and neither does a start that fails before anything was saved.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree } from '../helpers/tree.js';

const gsyncd = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, ...args]);

/** Asserts the exit status and that stderr is exactly `line`. */
function assertOneLine(r: ExecResult, code: number, line: string): void {
  assert.equal(r.code, code, `exit ${String(r.code)}:\n${r.stderr}`);
  assert.equal(r.stderr.trimEnd(), line);
}

describe('session lifecycle', () => {
  it('--once and a failed first start leave no state; a stopped session can be deleted, a running one not', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'lifecycle');
    makeSmallTree(layout.master);
    const state = path.join(layout.outside, 'state');
    const env = { ...process.env, GSYNCD_STATE_DIR: state };

    const once = await exec(process.execPath, [gsyncdBin, '--once', '--state-dir', state, '--session', 'one-shot', layout.master, layout.slave], { env });
    assert.equal(once.code, 0, once.stderr);
    assert.deepEqual(existsSync(state) ? readdirSync(state) : [], [], '--once leaves no session behind');

    const unreachable = await exec(process.execPath, [gsyncdBin, '--state-dir', state, '--session', 'failed', '-e', 'ssh -p 1 -o BatchMode=yes', layout.master, `127.0.0.1:${layout.slave}`], { env });
    assert.equal(unreachable.code, 3, unreachable.stderr);
    assert.deepEqual(readdirSync(state), [], 'a first start that failed leaves no session behind');

    const g = await startGsyncd(['--session', 'web', layout.master, layout.slave], { stateDir: state });
    try {
      await g.waitForLog('Changelog Crawl started', 30_000);
      assertOneLine(await gsyncd('delete', '--state-dir', state, 'web'), 1, `gsyncd: delete: session web is running (pid ${String(g.pid)}); stop it first: gsyncd stop web`);
      assert.ok(existsSync(path.join(state, 'web', 'status.json')), 'a refused delete changes nothing');
      const stop = await gsyncd('stop', '--state-dir', state, 'web');
      assert.equal(stop.code, 0, stop.stderr);
    } finally {
      await g.dispose();
    }
    const listed = await gsyncd('status', '--state-dir', state);
    assert.match(listed.stdout, /\bweb\b/);
    const deleted = await gsyncd('delete', '--state-dir', state, 'web');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `session web deleted (${path.join(state, 'web')})\n`);
    assert.deepEqual(readdirSync(state), []);
    assert.doesNotMatch((await gsyncd('status', '--state-dir', state)).stdout, /\bweb\b/);

    assertOneLine(await gsyncd('delete', '--state-dir', state, 'web'), 2, `gsyncd: delete: no session "web" in ${state} (gsyncd status lists them)`);
    assertOneLine(await gsyncd('delete', '--state-dir', state, '../etc'), 2, 'gsyncd: delete: "../etc" is no session name (letters, digits, @ . _ -)');
    assertOneLine(await gsyncd('delete', '--state-dir', path.join(state, 'web'), '..'), 2, 'gsyncd: delete: ".." is no session name (letters, digits, @ . _ -)');
    assertOneLine(await gsyncd('delete', '--state-dir', state), 2, "gsyncd: delete: missing required argument 'SESSION'");
  });
});
