/**
 * src/verify/itemize.ts: a difference → rsync's `%i %n%L` line. The shapes here were read
 * off rsync 3.5; verify-rsync.test.ts checks the same against the real rsync.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Difference } from '../../src/verify/diff.js';
import type { Attribute, TreeEntry } from '../../src/verify/entry.js';
import { charsetOf, escapeLine, itemize } from '../../src/verify/itemize.js';

const T = 1_600_000_000;
const file = (key: string, o: Partial<TreeEntry> = {}): TreeEntry => ({ key, type: 'file', size: 1, mtimeSec: T, mode: 0o644, ...o });
const dir = (key: string): TreeEntry => ({ key, type: 'dir', size: 4096, mtimeSec: T, mode: 0o755 });
const link = (key: string, target: string): TreeEntry => ({ key, type: 'symlink', size: target.length, mtimeSec: T, mode: 0o777, target });
const special = (key: string, kind: TreeEntry['special']): TreeEntry => ({ key, type: 'other', size: 0, mtimeSec: T, mode: 0o644, special: kind });

const missing = (master: TreeEntry): Difference => ({ kind: 'missing', master });
const extra = (slave: TreeEntry): Difference => ({ kind: 'extra', slave });
const changed = (master: TreeEntry, attributes: Attribute[], slave: TreeEntry = master): Difference => ({ kind: 'changed', master, slave, attributes });

describe('itemize', () => {
  const hashed = file('f', { sha256: 'aa' });
  // [difference, line]
  const CASES: readonly (readonly [Difference, string])[] = [
    [missing(file('a/new')), '>f+++++++++ a/new'],
    [missing(dir('dir')), 'cd+++++++++ dir/'],
    [missing(dir('.')), 'cd+++++++++ ./'],
    [missing(link('link', 'target')), 'cL+++++++++ link -> target'],
    [missing(special('dev', 'chr')), 'cD+++++++++ dev'],
    [missing(special('pipe', 'fifo')), 'cS+++++++++ pipe'],
    [extra(file('old')), '*deleting   old'],
    [extra(dir('old-dir')), '*deleting   old-dir/'],
    [extra(link('old-link', 'target')), '*deleting   old-link'],
    [changed(file('a/changed'), ['size', 'mtime']), '>f.st...... a/changed'],
    [changed(file('f'), ['size']), '>f.s....... f'],
    [changed(file('f'), ['mtime']), '>f..t...... f'],
    [changed(file('a/chmod'), ['mode']), '.f...p..... a/chmod'],
    [changed(file('f'), ['mtime', 'mode']), '>f..tp..... f'],
    [changed(dir('dir'), ['mtime']), '.d..t...... dir/'],
    [changed(dir('.'), ['mtime', 'mode']), '.d..tp..... ./'],
    [changed(link('l', 'new'), ['target']), 'cLc........ l -> new'],
    [changed(link('l', 'new'), ['target', 'mtime']), 'cLc.t...... l -> new'],
    [changed(link('l', 't'), ['mtime']), '.L..t...... l -> t'],
    [changed(special('d', 'chr'), ['special', 'mtime', 'mode']), 'cDc.tp..... d'],
    [changed(special('s', 'fifo'), ['mtime']), '.S..t...... s'],
    // With --checksum (both sides hashed), content decides whether it is sent.
    [changed(hashed, ['checksum'], file('f', { sha256: 'bb' })), '>fc........ f'],
    [changed(hashed, ['checksum', 'size'], file('f', { sha256: 'bb' })), '>fcs....... f'],
    [changed(hashed, ['mtime'], hashed), '.f..t...... f'],
    // A replaced type shows as the new item alone.
    [changed(file('x'), ['type'], dir('x')), '>f+++++++++ x'],
    [changed(dir('x'), ['type'], file('x')), 'cd+++++++++ x/'],
    [changed(link('x', 'zz'), ['type'], file('x')), 'cL+++++++++ x -> zz'],
    [missing(file('with space')), '>f+++++++++ with space'],
    [missing(file('new\nline\x80')), '>f+++++++++ new\\#012line\\#200'],
    [missing(link('odd', 'tg\nt')), 'cL+++++++++ odd -> tg\\#012t'],
  ];
  for (const [d, line] of CASES) {
    it(JSON.stringify(line), () => {
      assert.equal(itemize(d), line);
    });
  }
});

describe('escapeLine', () => {
  // [bytes as latin1, utf8 locale, C locale]
  const CASES: readonly (readonly [string, string, string])[] = [
    ['plain name', 'plain name', 'plain name'],
    ['tab\there', 'tab\there', 'tab\there'],
    ['nl\n cr\r esc\x1b', 'nl\\#012 cr\\#015 esc\\#033', 'nl\\#012 cr\\#015 esc\\#033'],
    ['del\x7f', 'del\x7f', 'del\x7f'],
    ['\xc3\xa9', '\xc3\xa9', '\\#303\\#251'],
    ['bad\x80\xff', 'bad\\#200\\#377', 'bad\\#200\\#377'],
    // A backslash that would read as an escape is escaped itself; others are not.
    ['back\\#123slash', 'back\\#134#123slash', 'back\\#134#123slash'],
    ['back\\slash', 'back\\slash', 'back\\slash'],
    ['ends\\#12', 'ends\\#12', 'ends\\#12'],
    ['x\\#99x', 'x\\#99x', 'x\\#99x'],
    // glibc's UTF-8: overlongs and surrogates are invalid, 5- and 6-byte forms are not.
    ['\xc0\x80', '\\#300\\#200', '\\#300\\#200'],
    ['\xed\xa0\x80', '\\#355\\#240\\#200', '\\#355\\#240\\#200'],
    ['\xe2\x82', '\\#342\\#202', '\\#342\\#202'],
    ['\xe2\x82x', '\\#342\\#202x', '\\#342\\#202x'],
    ['\xf0\x9f\x98\x80', '\xf0\x9f\x98\x80', '\\#360\\#237\\#230\\#200'],
    ['\xf4\x90\x80\x80', '\xf4\x90\x80\x80', '\\#364\\#220\\#200\\#200'],
    ['\xf8\x88\x80\x80\x80', '\xf8\x88\x80\x80\x80', '\\#370\\#210\\#200\\#200\\#200'],
    ['\xfe\xff', '\\#376\\#377', '\\#376\\#377'],
    ['\xef\xbf\xbe\xc2\x85', '\xef\xbf\xbe\xc2\x85', '\\#357\\#277\\#276\\#302\\#205'],
  ];
  for (const [bytes, utf8, ascii] of CASES) {
    it(JSON.stringify(bytes), () => {
      assert.equal(escapeLine(bytes, 'utf8'), utf8);
      assert.equal(escapeLine(bytes, 'ascii'), ascii);
    });
  }
});

describe('charsetOf', () => {
  const CASES: readonly (readonly [NodeJS.ProcessEnv, string])[] = [
    [{}, 'ascii'],
    [{ LANG: 'C' }, 'ascii'],
    [{ LANG: 'en_US.UTF-8' }, 'utf8'],
    [{ LANG: 'en_US.utf8' }, 'utf8'],
    [{ LANG: 'en_US.UTF-8', LC_CTYPE: 'C' }, 'ascii'],
    [{ LANG: 'C', LC_CTYPE: 'C.UTF-8' }, 'utf8'],
    [{ LC_ALL: 'POSIX', LC_CTYPE: 'C.UTF-8' }, 'ascii'],
    [{ LC_ALL: '', LC_CTYPE: 'C.UTF-8' }, 'utf8'],
  ];
  for (const [env, charset] of CASES) {
    it(`${JSON.stringify(env)} → ${charset}`, () => {
      assert.equal(charsetOf(env), charset);
    });
  }
});
