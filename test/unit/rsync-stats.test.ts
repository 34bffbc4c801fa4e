/** src/sync/rsync-stats.ts: rsync's --stats block (printed with --no-human-readable). */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseRsyncStats, withoutStats } from '../../src/sync/rsync-stats.js';

// rsync 3.5.0, `rsync -av --delete --stats --no-human-readable t/ d/`
const VERBOSE = `sending incremental file list
deleting extra
./
keep
other

Number of files: 33 (reg: 23, dir: 10)
Number of created files: 1 (reg: 1)
Number of deleted files: 1 (reg: 1)
Number of regular files transferred: 2
Total file size: 6 bytes
Total transferred file size: 6 bytes
Literal data: 6 bytes
Matched data: 0 bytes
File list size: 0
File list generation time: 0.001 seconds
File list transfer time: 0.000 seconds
Total bytes sent: 785
Total bytes received: 82

sent 785 bytes  received 82 bytes  1734.00 bytes/sec
total size is 6  speedup is 0.01`;

// rsync 3.5.0 without --no-human-readable: thousands separators
const HUMAN = `Number of files: 3,301 (reg: 3,023, dir: 278)
Number of created files: 1,200 (reg: 1,100, dir: 100)
Number of deleted files: 0
Number of regular files transferred: 1,100
Total file size: 12,345,678 bytes
Total transferred file size: 1,234,567 bytes
sent 1,635 bytes  received 496 bytes  4,262.00 bytes/sec`;

describe('parseRsyncStats', () => {
  it('reads the counts and the bytes transferred', () => {
    assert.deepEqual(parseRsyncStats(VERBOSE), { filesTransferred: 2, filesCreated: 1, filesDeleted: 1, bytes: 6, literal: 6 });
  });

  it('reads numbers with thousands separators', () => {
    assert.deepEqual(parseRsyncStats(HUMAN), { filesTransferred: 1100, filesCreated: 1200, filesDeleted: 0, bytes: 1234567, literal: 0 });
  });

  it('answers zeros without a stats block', () => {
    assert.deepEqual(parseRsyncStats(''), { filesTransferred: 0, filesCreated: 0, filesDeleted: 0, bytes: 0, literal: 0 });
    assert.deepEqual(parseRsyncStats('rsync error: some files could not be transferred (code 23)'), {
      filesTransferred: 0,
      filesCreated: 0,
      filesDeleted: 0,
      bytes: 0,
      literal: 0,
    });
  });

  it('reads a field only at the start of a line', () => {
    assert.equal(parseRsyncStats('x Number of deleted files: 5\n').filesDeleted, 0);
  });
});

describe('withoutStats', () => {
  it("keeps rsync's own lines and drops the stats block and blank lines", () => {
    assert.equal(withoutStats(VERBOSE), 'sending incremental file list\ndeleting extra\n./\nkeep\nother');
  });

  it('gives nothing for a stats block alone', () => {
    assert.equal(withoutStats(HUMAN), '');
    assert.equal(withoutStats(''), '');
  });
});
