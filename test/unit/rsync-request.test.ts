/** src/slave/rsync-request.ts: a checked rsync --server request placed inside the slave's roots, on a real scratch tree. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRsyncServer } from '../../src/slave/rsync-allow.js';
import { allowedRoots, placeRsyncRequest, sessionRoot, type Placed } from '../../src/slave/rsync-request.js';
import { splitWords } from '../../src/transport/shell-words.js';

describe('placeRsyncRequest', () => {
  let tmp = '';
  let a = '';
  let b = '';
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-place-'));
    a = path.join(tmp, 'a');
    b = path.join(tmp, 'b');
    mkdirSync(path.join(a, 'mirror'), { recursive: true });
    mkdirSync(b);
    mkdirSync(path.join(tmp, 'outside'));
    // What a master can make in its mirror with -l, then name in --temp-dir or --backup-dir.
    symlinkSync(path.join(tmp, 'outside'), path.join(a, 'mirror', 'link-out'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  const place = async (command: string, root: string, roots: readonly string[]): Promise<Placed> => {
    const check = checkRsyncServer(splitWords(command));
    assert.ok(check.ok, check.ok ? '' : check.reason);
    return placeRsyncRequest(check, { base: root, within: roots.length > 0 ? [sessionRoot(root), allowedRoots(roots)] : [sessionRoot(root)], confined: roots.length > 0 });
  };

  it('a stream into a session root held by any one of several allowed roots', async () => {
    const root = path.join(a, 'mirror');
    assert.deepEqual(await place(`rsync --server -logDtpre.iLsfxCIvu . ${root}/`, root, [b, a]), { options: ['-logDtpre.iLsfxCIvu'], dest: `${root}/` });
  });

  it('refuses a destination outside the session root, or outside every allowed root', async () => {
    const root = path.join(a, 'mirror');
    assert.deepEqual(await place(`rsync --server -logDtpre.iLsfxCIvu . ${b}/`, root, []), { reason: `destination ${b}/ is outside the root ${root}` });
    assert.deepEqual(await place(`rsync --server -logDtpre.iLsfxCIvu . ${root}/link-out/`, root, []), { reason: `destination ${root}/link-out/ is outside the root ${root}` });
  });

  it('refuses --backup-dir and --temp-dir where the roots are limited: rsync would follow a link the master made', async () => {
    const root = path.join(a, 'mirror');
    const r = await place(`rsync --server -blogDtpre.iLsfxCIvu --backup-dir old . ${root}/`, root, [a]);
    assert.match('reason' in r ? r.reason : 'placed', /rsync --backup-dir is not allowed where the slave's roots are limited/);
  });

  it('refuses -K where the roots are limited, and lets it through elsewhere', async () => {
    const root = path.join(a, 'mirror');
    const r = await place(`rsync --server -lKogDtpre.iLsfxCIvu . ${root}/`, root, [a]);
    assert.match('reason' in r ? r.reason : 'placed', /rsync -K \(--keep-dirlinks\) is not allowed where the slave's roots are limited/);
    assert.deepEqual(await place(`rsync --server -lKogDtpre.iLsfxCIvu . ${root}/`, root, []), { options: ['-lKogDtpre.iLsfxCIvu'], dest: `${root}/` });
  });

  it('refuses --iconv where the roots are limited, and lets it through elsewhere', async () => {
    const root = path.join(a, 'mirror');
    const r = await place(`rsync --server -logDtpre.iLsfxCIvu --iconv=latin1 . ${root}/`, root, [a]);
    assert.match('reason' in r ? r.reason : 'placed', /rsync --iconv is not allowed where the slave's roots are limited/);
    assert.deepEqual(await place(`rsync --server -logDtpre.iLsfxCIvu --iconv=latin1 . ${root}/`, root, []), { options: ['-logDtpre.iLsfxCIvu', '--iconv=latin1'], dest: `${root}/` });
  });

  it('elsewhere places them inside the root too: a link out of it is refused', async () => {
    const root = path.join(a, 'mirror');
    assert.deepEqual(await place(`rsync --server -blogDtpre.iLsfxCIvu --backup-dir old --temp-dir .tmp . ${root}/`, root, []), {
      options: ['-blogDtpre.iLsfxCIvu', '--backup-dir', 'old', '--temp-dir', '.tmp'],
      dest: `${root}/`,
    });
    assert.deepEqual(await place(`rsync --server -logDtpre.iLsfxCIvu --temp-dir link-out . ${root}/`, root, []), { reason: `rsync --temp-dir link-out is outside the root ${root}` });
  });
});
