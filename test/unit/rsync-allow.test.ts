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
    // rsync's everyday flags as the client passes them on (config/rsync-flags.ts), rsync 3.5.0.
    ['rsync --server -ulogDtprSWOJUbe.iLsfxCIvu --inplace --size-only --modify-window=2 --compress-level=3 . /srv/m/', '/srv/m/'],
    ['rsync --server -blogDtpre.iLsfxCIvu --backup-dir B --suffix=.old --temp-dir .tmpd . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpre.iLsfxCIvu --append --append --existing --ignore-existing --max-size=102400 --min-size=10 . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpre.iLsfxCIvu --usermap=\\*:1234 --groupmap=0:4321 --super --safe-links --copy-unsafe-links . /srv/m/', '/srv/m/'],
    ['rsync --server -logDtpre.iLsfxCIvu --log-format=X --partial --delete-after --delay-updates --delete-excluded --delete . /srv/m/', '/srv/m/'],
    ['rsync --server -lKogDtpre.iLsfxCIvu . /srv/m/', '/srv/m/'],
  ];
  for (const [command, dest] of ACCEPTED) {
    it(`accepts ${command}`, () => {
      const r = checkRsyncServer(splitWords(command));
      assert.ok(r.ok, r.ok ? '' : r.reason);
      assert.equal(r.dest, dest);
      // -K is for the caller to refuse where the roots are limited (rsync-request.ts).
      assert.equal(r.keepDirlinks, /^-l?K/.test(splitWords(command)[2] ?? ''));
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
    // A backup or temporary directory only inside the destination, as rrsync checks them.
    ['rsync --server -blogDtpre.iLsfxCIvu --backup-dir /etc . /srv/m/', /--backup-dir "\/etc" is not allowed: give a path relative/],
    ['rsync --server -blogDtpre.iLsfxCIvu --backup-dir a/../../x . /srv/m/', /--backup-dir "a\/..\/..\/x" is not allowed/],
    ['rsync --server -logDtpre.iLsfxCIvu --temp-dir .. . /srv/m/', /--temp-dir "\.\." is not allowed/],
    // "." taken as the value: no ". DEST" is left.
    ['rsync --server -logDtpre.iLsfxCIvu --temp-dir . /srv/m/', /exactly "\. DEST"/],
    ['rsync --server -logDtpre.iLsfxCIvu --usermap=0:1;id . /srv/m/', /--usermap/],
    ['rsync --server -logDtpre.iLsfxCIvu --max-delete=x . /srv/m/', /--max-delete=x/],
    ['rsync --server -LogDtpre.iLsfxCIvu . /srv/m/', /-L is not allowed/],
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
