// --http-listen over real HTTP: /healthz answers while the process runs, /readyz is ready
// only once live and while the slave is reachable, /metrics (Prometheus text) moves after a
// batch. An SSH slave, so that "unreachable" is real: the sshd is stopped and its
// connections cut.
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import path from 'node:path';
import { describe, it } from 'node:test';
import { waitForMirror } from '../helpers/compare.js';
import { remoteGsyncdArgs, startGsyncd, stopAndAssertClean } from '../helpers/gsyncd.js';
import { makeLayout, scopeFor } from '../helpers/scope.js';
import { startSshd } from '../helpers/sshd.js';
import { makeSmallTree } from '../helpers/tree.js';
import { pollUntil } from '../helpers/wait.js';

interface Reply {
  status: number;
  type: string;
  body: string;
}

function get(address: string, urlPath: string): Promise<Reply> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new Error(`not an address: ${address}`);
  return new Promise((resolve, reject) => {
    const req = request({ host: m[1], port: Number(m[2]), path: urlPath, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body });
      });
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath}: timeout`)));
    req.end();
  });
}

/** The value of a sample line `NAME{…labels…} VALUE` whose labels include `labels`, or undefined. */
function sample(metrics: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

describe('--http-listen: health, readiness and metrics', () => {
  it('answers /healthz, is ready when live and not while the slave is down, and counts batches', { timeout: 120_000 }, async (t) => {
    const scope = scopeFor(t);
    const layout = await makeLayout(scope, 'http');
    makeSmallTree(layout.master);
    const sshd = await startSshd();
    scope.defer(() => sshd.stop());
    const rsh = `${sshd.rsh} -o ConnectTimeout=3`;
    const g = await startGsyncd(['--http-listen', '127.0.0.1:0', '--batch-delay', '0.2', '--retry-max-delay', '2', '-e', rsh, ...remoteGsyncdArgs(), layout.master, sshd.slaveSpec(layout.slave)]);
    scope.defer(() => g.dispose());
    const listening = await g.waitForLog('http listening', 30_000);
    const address = /address=(\S+)/.exec(listening.line)?.[1];
    assert.ok(address !== undefined, listening.line);

    const health = await get(address, '/healthz');
    assert.deepEqual([health.status, health.body], [200, 'ok\n']);
    await g.waitForLog('Changelog Crawl started', 60_000);
    const ready = await pollUntil(async () => {
      const r = await get(address, '/readyz');
      return r.status === 200 ? r : undefined;
    }, () => 'readyz 200', { timeoutMs: 30_000, intervalMs: 200 });
    assert.match(ready.body, /Active, Changelog Crawl/);

    const before = await get(address, '/metrics');
    assert.equal(before.status, 200);
    assert.match(before.type, /^text\/plain/);
    const batches0 = sample(before.body, 'gsyncd_batches_total') ?? 0;
    const files0 = sample(before.body, 'gsyncd_files_total') ?? 0;
    const exits0 = sample(before.body, 'gsyncd_rsync_exits_total', { code: '0' }) ?? 0;
    assert.equal(sample(before.body, 'gsyncd_crawl_status', { crawl: 'Changelog Crawl' }), 1);
    assert.equal(sample(before.body, 'gsyncd_status', { status: 'Active' }), 1);
    for (const line of before.body.split('\n')) {
      if (line !== '' && !line.startsWith('#')) assert.match(line, /^gsyncd_/, `every metric is named gsyncd_…: ${line}`);
    }

    writeFileSync(path.join(layout.master, 'new.txt'), 'a change\n');
    await waitForMirror(layout.master, layout.slave, 30_000);
    const after = await pollUntil(async () => {
      const r = await get(address, '/metrics');
      return (sample(r.body, 'gsyncd_batches_total') ?? 0) > batches0 ? r.body : undefined;
    }, () => 'gsyncd_batches_total to move', { timeoutMs: 30_000, intervalMs: 250 });
    assert.ok((sample(after, 'gsyncd_files_total') ?? 0) > files0, 'gsyncd_files_total moved');
    assert.ok((sample(after, 'gsyncd_rsync_exits_total', { code: '0' }) ?? 0) > exits0, 'exit code 0 counted');
    assert.ok((sample(after, 'gsyncd_batch_duration_seconds_count') ?? 0) >= 1, 'the duration histogram has the batch');
    const since = sample(after, 'gsyncd_seconds_since_last_sync');
    assert.ok(since !== undefined && since >= 0 && since < 600, `seconds since the last sync: ${String(since)}`);
    assert.equal(sample(after, 'gsyncd_failed_paths'), 0);
    // The root's own times may follow the file in a batch of their own: pending drains to 0.
    await pollUntil(async () => (sample((await get(address, '/metrics')).body, 'gsyncd_pending') === 0 ? true : undefined), () => 'gsyncd_pending 0', {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    // A rename replayed on the slave is an entry operation, counted by result.
    renameSync(path.join(layout.master, 'new.txt'), path.join(layout.master, 'renamed.txt'));
    await waitForMirror(layout.master, layout.slave, 30_000);
    await pollUntil(
      async () => ((sample((await get(address, '/metrics')).body, 'gsyncd_entry_ops_total', { op: 'rename', result: 'done' }) ?? 0) >= 1 ? true : undefined),
      () => 'gsyncd_entry_ops_total{op="rename",result="done"} to count the rename',
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    // The slave host goes down: its sshd and every connection to it.
    await sshd.stop();
    const notReady = await pollUntil(async () => {
      const r = await get(address, '/readyz');
      return r.status === 503 ? r : undefined;
    }, () => `readyz 503 with the slave down\n${g.tail()}`, { timeoutMs: 60_000, intervalMs: 250 });
    assert.match(notReady.body, /Faulty|SSH connection/);
    assert.equal((await get(address, '/healthz')).status, 200, 'alive all the same');
    assert.equal((await get(address, '/nothing')).status, 404);
    await stopAndAssertClean(g);
  });
});
