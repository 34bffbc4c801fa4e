// `gsyncd status` and `gsyncd stop` against real sessions: Full Crawl and Changelog Crawl in
// the JSON, the table's columns, Stopped after a clean stop and after kill -9, and a session
// that does not exist.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { exec, type ExecResult } from '../helpers/exec.js';
import { gsyncdBin, startGsyncd } from '../helpers/gsyncd.js';
import { heldRsync } from '../helpers/held-rsync.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { makeSmallTree, makeWideTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

interface Row {
  session: string;
  status: string;
  crawl_status: string;
  totals: { full_syncs: number };
}

describe('gsyncd status and stop', () => {
  it('follows a session from Full Crawl to Changelog Crawl, then Stopped (clean stop, kill -9)', { timeout: 120_000 }, async (t) => {
    const layout = await makeLayout(scopeFor(t), 'status');
    makeWideTree(layout.master, 400, 20);
    const state = path.join(layout.outside, 'state');
    // Plain runs: the helper's leftover sweep would take the live session for a leftover.
    const gsyncd = (...args: string[]): Promise<ExecResult> => exec(process.execPath, [gsyncdBin, ...args]);
    const status = (...args: string[]): Promise<ExecResult> => gsyncd('status', '--state-dir', state, ...args);
    const json = async (): Promise<Row[]> => {
      const r = await status('--json');
      assert.equal(r.code, 0, `status --json: exit ${r.code}\n${r.stderr}`);
      return JSON.parse(r.stdout) as Row[];
    };

    // The Full Crawl's rsync waits for the test: the status is read while it surely runs.
    const rsync = await heldRsync(layout.outside);
    const g = await startGsyncd(['--session', 'web', '--rsync-command', rsync.command, layout.master, layout.slave], { stateDir: state });
    t.after(() => g.dispose());
    await g.waitForLog('Full Crawl started', 30_000);
    const during = await json();
    assert.deepEqual(during.map((r) => [r.session, r.status, r.crawl_status]), [['web', 'Initializing', 'Full Crawl']]);
    await rsync.release();
    await g.waitForLog('Changelog Crawl started', 90_000);
    const live = await json();
    assert.deepEqual(live.map((r) => [r.status, r.crawl_status, r.totals.full_syncs]), [['Active', 'Changelog Crawl', 1]]);

    const table = await status('--detail', 'web');
    assert.match(table.stdout, /^SESSION +MASTER +SLAVE +STATUS +CRAWL STATUS +LAST SYNCED +PENDING +FAILURES +CHECKPOINT TIME +CHECKPOINT COMPLETED +CHECKPOINT COMPLETION TIME +FILES +BYTES +BATCHES +FULL SYNCS\n/);
    assert.match(table.stdout, /\nweb +\S+master +\S+slave +Active +Changelog Crawl +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d +0 +0 +N\/A +N\/A +N\/A /);

    const stop = await gsyncd('stop', '--state-dir', state, 'web');
    assert.equal(stop.code, 0, `stop: exit ${stop.code}\n${stop.stderr}`);
    assert.match(stop.stdout, /session web stopped/);
    await g.waitForExit(10_000);
    assert.deepEqual((await json()).map((r) => [r.status, r.crawl_status]), [['Stopped', 'N/A']]);

    // kill -9 leaves the file saying Active: status must not believe it.
    makeSmallTree(path.join(layout.master, 'more'));
    const g2 = await startGsyncd(['--session', 'web', layout.master, layout.slave], { stateDir: state });
    t.after(() => g2.dispose());
    await g2.waitForLog('Changelog Crawl started', 60_000);
    assert.equal((await json())[0]?.status, 'Active');
    await g2.stop('SIGKILL');
    await pollUntil(async () => ((await json())[0]?.status === 'Stopped' ? true : undefined), () => 'Stopped after kill -9', { timeoutMs: 10_000 });

    const missing = await status('nosuch');
    assert.equal(missing.code, 1, `exit ${missing.code}`);
    assert.match(missing.stderr, /^gsyncd: status: no session "nosuch"/m);
  });
});
