/** src/slave/rsync-allow.ts: what a restricted slave lets rsync do. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRsyncServer } from '../../src/slave/rsync-allow.js';
import { splitWords } from '../../src/transport/shell-words.js';

describe('checkRsyncServer', () => {
  // What gsyncd's own transfers send (captured from rsync 3.5.0 as the server command line).
  const ACCEPTED: readonly (readonly [string, string])[] = [
    ['rsync --server -lHogDtpAXrcze.iLsfxCIvu --timeout=30 --bwlimit=10240 --max-delete=5 --delete --force --stats --partial --numeric-ids --mkpath . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpIRe.LsfxCIvu --force --delete-missing-args . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtprRe.iLsfxCIvu --delete --force --delete-missing-args . /srv/m/', '/srv/m/'],
    // A run of deletes: the parents listed one level (--files-from implies --dirs), --delete.
    ['rsync --server -ldogDtpRe.LsfxCIvu --no-r --delete --force . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpre.iLsfxCIvu --log-format=%i --delete --force --stats --mkpath . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpre.iLsfxCIvu . /srv/m\\ with\\ space/', '/srv/m with space/'],
    ['/usr/bin/rsync --server -vlogDtpre.iLsfxCIvu -- . relative/dir', 'relative/dir'],
  ];
  for (const [command, dest] of ACCEPTED) {
    it(`accepts ${command}`, () => {
      const r = checkRsyncServer(splitWords(command));
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.equal(r.dest, dest);
    });
  }

  const REFUSED: readonly (readonly [string, RegExp])[] = [
    ['rsync --server --sender -logDtpre.iLsfxCIvu . /srv/m/', /--sender/],
    ['rsync --server -slogDtpre.iLsfxCIvu . /srv/m/', /-s \(--secluded-args\)/],
    ['rsync --server -s . /srv/m/', /-s/],
    ['rsync --server --secluded-args -logDtpr . /srv/m/', /--secluded-args/],
    ['rsync --server --protect-args -logDtpr . /srv/m/', /--protect-args/],
    ['rsync --server -logDtpre.iLsfxCIvu --remove-source-files . /srv/m/', /--remove-source-files is not allowed/],
    ['rsync --server -logDtpre.iLsfxCIvu --log-file=/tmp/x . /srv/m/', /--log-file=\/tmp\/x is not allowed/],
    ['rsync --server -logDtpre.iLsfxCIvu --temp-dir=/etc . /srv/m/', /--temp-dir/],
    ['rsync --server -logDtpre.iLsfxCIvu --log-format=%f%L . /srv/m/', /--log-format=%f%L is not allowed/],
    ['rsync --server -logDtpre.iLsfxCIvu --backup-dir=/etc . /srv/m/', /--backup-dir/],
    ['rsync --server -logDtpre.iLsfxCIvu --files-from=/etc/x . /srv/m/', /--files-from/],
    ['rsync --server -logDtpre.iLsfxCIvu --max-delete=x . /srv/m/', /--max-delete=x/],
    ['rsync --server -LogDtpre.iLsfxCIvu . /srv/m/', /-L is not allowed/],
    ['rsync --server -KogDtpre.iLsfxCIvu . /srv/m/', /-K is not allowed/],
    ['rsync --server -logDtpre.iLs$fxCIvu . /srv/m/', /argument "-logDtpre.iLs\$fxCIvu" is not allowed/],
    ['rsync --server -a . /srv/m/', /-a is not allowed/],
    ['rsync --daemon', /only "rsync --server"/],
    ['rsync --server -logDtpr . /srv/m/ /srv/other/', /exactly "\. DEST"/],
    ['rsync --server -logDtpr /srv/m/', /exactly "\. DEST"/],
    ['rsync --server -logDtpr x /srv/m/', /exactly "\. DEST"/],
    ['rsync --server -logDtpr . ', /exactly "\. DEST"/],
    ["rsync --server -logDtpr . '/srv/m/$(touch /tmp/p)'", /holds characters that are not allowed/],
    ["rsync --server -logDtpr . '/srv/m/a;id'", /holds characters that are not allowed/],
    ["rsync --server -logDtpr . '/srv/m/`id`'", /holds characters that are not allowed/],
    ["rsync --server -logDtpr . '/srv/m/a|b'", /holds characters that are not allowed/],
    ['rsync --server -logDtpr . "/srv/m/a\nb"', /holds characters that are not allowed/],
    ['rsync --server -logDtpr . /srv/m/*', /holds characters that are not allowed/],
  ];
  for (const [command, reason] of REFUSED) {
    it(`refuses ${JSON.stringify(command)}`, () => {
      const r = checkRsyncServer(splitWords(command));
      assert.match(r.ok ? 'accepted' : r.reason, reason);
    });
  }
});
