/** src/sync/sent-paths.ts: what a recursive run sent, read back from rsync's --out-format lines. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SentCollector, decodeRsyncName, sentPaths } from '../../src/sync/sent-paths.js';
import { SENT_MARK, batchArgv, fullSyncArgv, type RsyncPlan } from '../../src/sync/rsync-argv.js';

const line = (flags: string, name: string): string => `${SENT_MARK}${flags} ${name}`;

describe('sentPaths', () => {
  it('keeps what was sent (< to a remote, > locally) or created, without trailing slashes', () => {
    const out = [
      line('cd+++++++++', 'new/'),
      line('<f+++++++++', 'new/a b'),
      line('>f.st......', 'new/changed'),
      line('cL+++++++++', 'new/link -> target'),
      line('*deleting  ', 'old'),
      line('.d..t......', './'),
      'Number of files: 3',
      'rsync: some message',
    ].join('\n');
    assert.deepEqual(sentPaths(out), { paths: ['new', 'new/a b', 'new/changed', 'new/link -> target'] });
  });

  it('decodes rsync\'s \\#ooo escapes, names that are not UTF-8 with their bytes as escapes', () => {
    assert.deepEqual(decodeRsyncName('a\\#012b'), Buffer.from('a\nb'));
    assert.deepEqual(decodeRsyncName('\\#303\\#251t\\#351'), Buffer.from([0xc3, 0xa9, 0x74, 0xe9]));
    assert.deepEqual(decodeRsyncName('plain\\#x'), Buffer.from('plain\\#x'));
    const out = [line('<f+++++++++', 'nl\\#012name'), line('<f+++++++++', 'bad\\#377')].join('\n');
    assert.deepEqual(sentPaths(out), { paths: ['nl\nname', 'bad\udcff'] });
  });

  it('gives up past the bound', () => {
    const out = [line('<f+++++++++', 'a'), line('<f+++++++++', 'b'), line('<f+++++++++', 'c')].join('\n');
    assert.equal(sentPaths(out, 2), undefined);
    assert.deepEqual(sentPaths(out, 3)?.paths, ['a', 'b', 'c']);
  });

  it('consumes the marked lines as they stream, and only them', () => {
    const c = new SentCollector();
    assert.equal(c.take(line('<f+++++++++', 'a')), true);
    assert.equal(c.take(line('*deleting  ', 'b')), true);
    assert.equal(c.take('sent 10 bytes'), false);
    assert.deepEqual(c.result(), { paths: ['a'] });
  });

  it('is asked for in recursive runs and live Full Crawls only', () => {
    const plan: RsyncPlan = {
      flags: new Set(), bwlimit: undefined, timeout: undefined, extra: [], filters: [], ignoreDeletes: false,
      maxDelete: undefined, rsh: undefined, rsyncPath: undefined, source: '/m/', dest: '/s/',
    };
    const mark = `--out-format=${SENT_MARK}%i %n`;
    assert.ok(batchArgv(plan, { recursive: true, listSent: true }).includes(mark));
    assert.ok(!batchArgv(plan, { ignoreTimes: true }).includes(mark));
    assert.ok(fullSyncArgv(plan, true).includes(mark));
    assert.ok(!fullSyncArgv(plan).includes(mark));
  });
});
