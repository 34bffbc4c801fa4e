/** src/slave/restrict.ts and inside-roots.ts: the forced command's decisions, on a real scratch tree. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkRequest, type Restricted } from '../../src/slave/restrict.js';

const reasonOf = (r: Restricted): string => (r.kind === 'refused' ? r.reason : `not refused: ${r.kind}`);
import { resolveExisting } from '../../src/slave/inside-roots.js';

describe('checkRequest', () => {
  let tmp = '';
  let root = '';
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'gsyncd-restrict-'));
    root = path.join(tmp, 'mirror');
    mkdirSync(path.join(root, 'sub'), { recursive: true });
    mkdirSync(path.join(tmp, 'outside'));
    symlinkSync(path.join(tmp, 'outside'), path.join(root, 'link-out'));
    symlinkSync('sub', path.join(root, 'link-in'));
  });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });
  const rsync = (dest: string): string => `rsync --server -logDtpre.iLsfxCIvu . ${dest}`;

  it('lets the channel through, without options', async () => {
    assert.deepEqual(await checkRequest('gsyncd slave', [root], tmp), { kind: 'channel' });
    assert.deepEqual(await checkRequest('/opt/gsyncd/bin/gsyncd slave', [root], tmp), { kind: 'channel' });
  });

  it('refuses options to the channel: the forced command sets them', async () => {
    const r = await checkRequest('gsyncd slave --root /', [root], tmp);
    assert.match(reasonOf(r), /options to "gsyncd slave" are not accepted/);
  });

  it('lets a receiving rsync into the root through, resolved', async () => {
    assert.deepEqual(await checkRequest(rsync(`${root}/sub/`), [root], tmp), { kind: 'rsync', options: ['-logDtpre.iLsfxCIvu'], dest: `${root}/sub/` });
    assert.deepEqual(await checkRequest(rsync(`${root}/new/deeper`), [root], tmp), { kind: 'rsync', options: ['-logDtpre.iLsfxCIvu'], dest: `${root}/new/deeper` });
    // A symlink that stays inside is resolved to where it points.
    assert.deepEqual(await checkRequest(rsync(`${root}/link-in/`), [root], tmp), { kind: 'rsync', options: ['-logDtpre.iLsfxCIvu'], dest: `${root}/sub/` });
    // Relative to the home directory, as ssh runs it.
    assert.deepEqual(await checkRequest(rsync('mirror/sub'), [root], tmp), { kind: 'rsync', options: ['-logDtpre.iLsfxCIvu'], dest: `${root}/sub` });
  });

  const REFUSED: readonly (readonly [string, (root: string) => string | undefined, RegExp])[] = [
    ['no command (an interactive login)', () => undefined, /interactive/],
    ['an empty command', () => '  ', /interactive/],
    ['id', () => 'id', /not "id"/],
    ['sh -c', () => "sh -c 'touch /tmp/x'", /not "sh"/],
    ['echo; id', () => 'echo; id', /not "echo;"/],
    ['an unterminated quote', () => "rsync --server '", /cannot parse/],
    ['an absolute target outside', () => rsync('/etc/'), /outside the allowed roots/],
    ['a target with ..', (r) => rsync(`${r}/../outside/`), /outside the allowed roots/],
    ['a symlink inside pointing out', (r) => rsync(`${r}/link-out/`), /outside the allowed roots/],
    ['below a symlink pointing out', (r) => rsync(`${r}/link-out/new/dir`), /outside the allowed roots/],
    ['a sender', (r) => `rsync --server --sender -logDtpre.iLsfxCIvu . ${r}/`, /--sender/],
    ['rsync named otherwise', (r) => `rsynx --server -a . ${r}/`, /not "rsynx"/],
  ];
  for (const [what, command, reason] of REFUSED) {
    it(`refuses ${what}`, async () => {
      assert.match(reasonOf(await checkRequest(command(root), [root], tmp)), reason);
    });
  }

  it('resolves what exists, and keeps what does not without any ..', async () => {
    assert.equal(await resolveExisting(`${root}/link-in/a/../b`), `${root}/sub/b`);
    assert.equal(await resolveExisting(`${root}/link-out/x`), path.join(tmp, 'outside', 'x'));
  });
});
