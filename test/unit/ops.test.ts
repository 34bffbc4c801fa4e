/** Day-two pure parts: --http-listen addresses, rsync's progress lines, `gsyncd health`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen } from '../../src/status/http.js';
import { describeProgress, parseProgress } from '../../src/sync/rsync-progress.js';
import { healthOf } from '../../src/cli/health.js';
import type { StatusRecord } from '../../src/status/status.js';
import { ProgressReporter } from '../../src/session/progress.js';
import { memoryLogger } from '../../src/log/logger.js';

describe('parseListen', () => {
  const CASES: readonly (readonly [string, { host: string | undefined; port: number } | undefined])[] = [
    ['127.0.0.1:9910', { host: '127.0.0.1', port: 9910 }],
    [':9910', { host: undefined, port: 9910 }],
    ['[::1]:9910', { host: '::1', port: 9910 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['9910', undefined],
    ['host:', undefined],
    ['host:99999', undefined],
    ['::1:9910', undefined],
    ['host:port', undefined],
  ];
  for (const [text, want] of CASES) {
    it(text, () => {
      assert.deepEqual(parseListen(text), want);
    });
  }
});

describe('parseProgress', () => {
  it("reads rsync's progress2 lines, with and without the file counts", () => {
    assert.deepEqual(parseProgress('        8683520  43%    7.85MB/s    0:00:01  '), { bytes: 8683520, percent: 43, rate: '7.85MB/s', time: '0:00:01' });
    assert.deepEqual(parseProgress('       20000000 100%    7.84MB/s    0:00:02 (xfr#1, to-chk=0/1)'), {
      bytes: 20000000, percent: 100, rate: '7.84MB/s', time: '0:00:02', files: 1, toCheck: 0, total: 1, scanning: false,
    });
    assert.equal(parseProgress('     1000  10%  1.00kB/s   0:00:01 (xfr#3, ir-chk=1020/1100)')?.scanning, true);
  });

  it('leaves every other line alone', () => {
    for (const line of ['', 'sending incremental file list', 'Number of files: 3 (reg: 2, dir: 1)', 'a 12% b', '>f+++++++++ 12 3%']) {
      assert.equal(parseProgress(line), undefined, line);
    }
  });

  it('says it in one line', () => {
    const p = parseProgress('     1000  10%  1.00kB/s   0:00:01 (xfr#3, ir-chk=1020/1100)');
    assert.ok(p);
    assert.equal(describeProgress(p), '1000 bytes (10%), 1.00kB/s, 3 files sent, 1020 of 1100+ left to check');
  });
});

describe('healthOf', () => {
  const record = (over: Partial<StatusRecord>): StatusRecord => ({
    session: 'web', master: '/m', slave: '/s', status: 'Active', crawl_status: 'Changelog Crawl', last_synced: null,
    pending: 0, failures: 0, checkpoint: { time: null, completed: false, completion_time: null },
    totals: { files: 0, bytes: 0, batches: 0, full_syncs: 0, renames: 0, renames_sent: 0 }, ...over,
  });
  it('healthy while running and not Faulty; says why otherwise', () => {
    assert.deepEqual(healthOf(record({})), { ok: true, line: 'web: Active (Changelog Crawl)' });
    assert.deepEqual(healthOf(record({ status: 'Initializing', crawl_status: 'Full Crawl' })), { ok: true, line: 'web: Initializing (Full Crawl)' });
    assert.equal(healthOf(record({ status: 'Paused' })).ok, true);
    assert.deepEqual(healthOf(record({ status: 'Faulty', reason: 'slave unreachable: x' })), { ok: false, line: 'web: Faulty: slave unreachable: x' });
    assert.equal(healthOf(record({ status: 'Stopped', crawl_status: 'N/A' })).ok, false);
  });
});

describe('ProgressReporter', () => {
  it('without a terminal: one INFO line per interval, with the numbers', () => {
    const logger = memoryLogger();
    let t = 0;
    const r = new ProgressReporter(logger, 30_000, undefined, () => t);
    const p = parseProgress('     1000  10%  1.00kB/s   0:00:01 (xfr#3, to-chk=97/100)');
    assert.ok(p);
    for (t = 1000; t < 29_000; t += 1000) r.update(p);
    assert.equal(logger.lines.length, 0);
    t = 30_000;
    r.update(p);
    t = 31_000;
    r.update(p);
    assert.deepEqual(logger.lines, ['INFO Full Crawl progress {"bytes":1000,"percent":10,"rate":"1.00kB/s","files":3,"to_check":97,"of":100}']);
  });
});
