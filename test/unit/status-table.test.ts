/** src/status/table.ts: gluster's columns, and CLI.md's JSON. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderJson, renderTable, shownTime } from '../../src/status/table.js';
import type { StatusRecord } from '../../src/status/status.js';

const record = (over: Partial<StatusRecord> = {}): StatusRecord => ({
  session: 'web',
  master: '/srv/www',
  slave: 'backup@example.com:/srv/www',
  status: 'Active',
  crawl_status: 'Changelog Crawl',
  last_synced: '2026-11-27T06:14:44.000Z',
  pending: 3,
  failures: 1,
  checkpoint: { time: null, completed: false, completion_time: null },
  totals: { files: 1234, bytes: 567890, batches: 17, full_syncs: 1, renames: 0, renames_sent: 0 },
  pid: 4242,
  ...over,
});

describe('status rendering', () => {
  it('shows times as gluster does, N/A when unset', () => {
    assert.equal(shownTime('2026-11-27T06:14:44.000Z'), '2026-11-27 06:14:44');
    assert.equal(shownTime('2026-11-27T06:14:44Z'), '2026-11-27 06:14:44');
    assert.equal(shownTime(null), 'N/A');
  });

  it('a table with gluster column names, aligned', () => {
    const text = renderTable([record(), record({ session: 'db', master: '/var/lib/db', status: 'Stopped', crawl_status: 'N/A', last_synced: null })], false);
    const lines = text.trimEnd().split('\n');
    assert.equal(lines[0], 'SESSION    MASTER         SLAVE                          STATUS     CRAWL STATUS       LAST SYNCED');
    assert.match(lines[1] ?? '', /^-{7} {4}-{11} {4}-{27}/);
    assert.equal(lines[2], 'web        /srv/www       backup@example.com:/srv/www    Active     Changelog Crawl    2026-11-27 06:14:44');
    assert.equal(lines[3], 'db         /var/lib/db    backup@example.com:/srv/www    Stopped    N/A                N/A');
  });

  it('--detail adds pending, failures, checkpoint and totals', () => {
    const text = renderTable([record({ checkpoint: { time: '2026-11-27T06:00:00.000Z', completed: true, completion_time: '2026-11-27T06:01:00.000Z' } })], true);
    const [header = '', , row = ''] = text.split('\n');
    for (const col of ['PENDING', 'FAILURES', 'CHECKPOINT TIME', 'CHECKPOINT COMPLETED', 'CHECKPOINT COMPLETION TIME', 'FILES', 'BYTES', 'BATCHES', 'FULL SYNCS']) {
      assert.ok(header.includes(col), `${col} in ${header}`);
    }
    assert.match(row, /\s3\s+1\s+2026-11-27 06:00:00\s+Yes\s+2026-11-27 06:01:00\s+1234\s+567890\s+17\s+1$/);
  });

  it('says why a Faulty session is Faulty, under the table', () => {
    const text = renderTable([record({ status: 'Faulty', reason: 'slave unreachable: Connection refused' })], false);
    assert.match(text, /\nweb: slave unreachable: Connection refused\n$/);
  });

  it('JSON: an array of CLI.md records, without the pid', () => {
    const parsed = JSON.parse(renderJson([record()])) as Record<string, unknown>[];
    assert.equal(parsed.length, 1);
    assert.deepEqual(Object.keys(parsed[0] ?? {}).sort(), ['checkpoint', 'crawl_status', 'failed_paths', 'failures', 'last_synced', 'master', 'pending', 'session', 'slave', 'status', 'totals']);
  });

  it('--detail lists the failed paths with rsync\'s reason under the table', () => {
    const failed = [{ path: 'd/b', reason: 'send_files failed to open "/srv/www/d/b": Permission denied (13)', attempts: 6, since: '2026-11-27T06:00:00.000Z' }];
    const text = renderTable([record({ failures: 1, failed_paths: failed })], true);
    assert.match(text, /\nweb: failed d\/b: send_files failed to open "\/srv\/www\/d\/b": Permission denied \(13\) \(6 attempts since 2026-11-27 06:00:00\)\n$/);
    assert.doesNotMatch(renderTable([record({ failed_paths: failed })], false), /failed d\/b/);
    const json = JSON.parse(renderJson([record({ failed_paths: failed })])) as { failed_paths: unknown }[];
    assert.deepEqual(json[0]?.failed_paths, failed);
  });
});
