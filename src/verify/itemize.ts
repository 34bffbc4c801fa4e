/**
 * A difference → the line `rsync -ani[c] --delete --out-format='%i %n%L' MASTER/ SLAVE/`
 * prints for it, byte for byte (checked against rsync 3.5 in test/unit/verify-rsync.test.ts).
 *
 * `%i` is YXcstpoguax: Y the update (`>` content sent, `c` created or changed locally,
 * `.` attributes only, `*deleting`), X the type (f d L D S), then c (checksum, link
 * target, device), s (size), t (mtime), p (permissions); o g u a x are never ours.
 */
import { ROOT_KEY, type Attribute, type TreeEntry } from './entry.js';
import type { Difference } from './diff.js';

/**
 * How rsync escapes names for the terminal, which depends on the locale's charset: its
 * output passes through iconv(charset → charset), and each byte iconv rejects is printed
 * as `\#ooo` ('utf8': bytes outside valid UTF-8 sequences; 'ascii', the C locale: every
 * byte ≥ 0x80). Control bytes other than tab, and a backslash that would read as such an
 * escape, are escaped too.
 */
export type Charset = 'utf8' | 'ascii';

export interface ItemizeOptions {
  readonly charset?: Charset;
}

const typeLetter = (e: TreeEntry): string => {
  switch (e.type) {
    case 'file':
      return 'f';
    case 'dir':
      return 'd';
    case 'symlink':
      return 'L';
    case 'other':
      return e.special === 'chr' || e.special === 'blk' ? 'D' : 'S';
  }
};

/** `%n%L`: dirs end in '/', the root is './', a symlink shows ` -> target` unless deleted. */
function nameOf(e: TreeEntry, withTarget: boolean): string {
  const name = e.key === ROOT_KEY ? './' : e.type === 'dir' ? `${e.key}/` : e.key;
  return withTarget && e.type === 'symlink' ? `${name} -> ${e.target ?? ''}` : name;
}

function flags(d: Difference): string {
  switch (d.kind) {
    case 'extra':
      return '*deleting  ';
    case 'missing':
      return created(d.master);
    case 'changed': {
      // A different type is replaced: rsync shows only the new item (and deletes what the
      // old directory held, each path its own difference).
      if (d.attributes.includes('type')) return created(d.master);
      const has = (a: Attribute): boolean => d.attributes.includes(a);
      const item = has('checksum') || has('target') || has('special');
      let update: string;
      if (d.master.type !== 'file') update = item ? 'c' : '.';
      // With --checksum (both sides hashed) content decides; else rsync's quick check.
      else if (d.master.sha256 !== undefined && d.slave.sha256 !== undefined) update = has('checksum') ? '>' : '.';
      else update = has('size') || has('mtime') ? '>' : '.';
      return [
        update,
        typeLetter(d.master),
        item ? 'c' : '.',
        has('size') ? 's' : '.',
        has('mtime') ? 't' : '.',
        has('mode') ? 'p' : '.',
        '.....',
      ].join('');
    }
  }
}

const created = (e: TreeEntry): string => `${e.type === 'file' ? '>' : 'c'}${typeLetter(e)}+++++++++`;

/** Length of the valid UTF-8 sequence at `i` as glibc's iconv reads it (up to 6 bytes), or 0. */
function utf8Length(s: string, i: number): number {
  const b = s.charCodeAt(i);
  let n: number;
  let min: number;
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf) [n, min] = [2, 0x80];
  else if (b >= 0xe0 && b <= 0xef) [n, min] = [3, 0x800];
  else if (b >= 0xf0 && b <= 0xf7) [n, min] = [4, 0x10000];
  else if (b >= 0xf8 && b <= 0xfb) [n, min] = [5, 0x200000];
  else if (b >= 0xfc && b <= 0xfd) [n, min] = [6, 0x4000000];
  else return 0;
  if (i + n > s.length) return 0;
  let cp = b & (0xff >> (n + 1));
  for (let k = 1; k < n; k++) {
    const c = s.charCodeAt(i + k);
    if ((c & 0xc0) !== 0x80) return 0;
    cp = cp * 64 + (c & 0x3f);
  }
  // Overlong forms and UTF-16 surrogates are rejected; code points past U+10FFFF are not.
  if (cp < min || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const escapeByte = (c: number): string => `\\#${c.toString(8).padStart(3, '0')}`;

/** A line of bytes (latin1 string) → what rsync writes for it (see Charset). */
export function escapeLine(line: string, charset: Charset = 'utf8'): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const c = line.charCodeAt(i);
    if (c >= 0x80) {
      const n = charset === 'utf8' ? utf8Length(line, i) : 0;
      out += n === 0 ? escapeByte(c) : line.slice(i, i + n);
      i += n === 0 ? 1 : n;
      continue;
    }
    const looksEscaped =
      c === 0x5c && i + 4 < line.length && line[i + 1] === '#' && isDigit(line.charCodeAt(i + 2)) && isDigit(line.charCodeAt(i + 3)) && isDigit(line.charCodeAt(i + 4));
    out += (c < 0x20 && c !== 0x09) || looksEscaped ? escapeByte(c) : String.fromCharCode(c);
    i++;
  }
  return out;
}

/**
 * The itemized line for `d`, without the newline, as a latin1 byte string (one char per
 * byte, like keys): write it with `Buffer.from(line, 'latin1')`.
 */
export function itemize(d: Difference, opts: ItemizeOptions = {}): string {
  const entry = d.kind === 'extra' ? d.slave : d.master;
  return escapeLine(`${flags(d)} ${nameOf(entry, d.kind !== 'extra')}`, opts.charset);
}

/** rsync's charset for an environment: its LC_CTYPE is UTF-8 or else treated as the C locale's ASCII. */
export function charsetOf(env: NodeJS.ProcessEnv): Charset {
  const ctype = env['LC_ALL'] || env['LC_CTYPE'] || env['LANG'] || '';
  return /utf-?8/i.test(ctype) ? 'utf8' : 'ascii';
}
