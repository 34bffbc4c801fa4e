/**
 * Names as bytes in a string. A file name is bytes; gsyncd's paths are strings, UTF-8 where
 * the bytes are. A byte that is not part of valid UTF-8 becomes the lone surrogate
 * U+DC80 + byte (Python's "surrogateescape"), which no valid UTF-8 decodes to, so every name
 * comes back to its own bytes: `encodeName(decodeName(b))` equals `b`. Node would write such a
 * string as U+FFFD, so every path that meets the file system, rsync's `--files-from` or the
 * slave goes through encodeName. Pure.
 */

/** The escape of a byte that is not valid UTF-8. */
const ESCAPE_BASE = 0xdc00;
/** An escape: a low surrogate in the escapes' range that is not the second half of a pair. */
const RAW_BYTE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;

/** The length of the valid UTF-8 sequence at `i`, or 0. */
function sequenceAt(b: Buffer, i: number): number {
  const c = b[i] ?? 0;
  if (c < 0x80) return 1;
  const cont = (k: number): boolean => ((b[i + k] ?? 0) & 0xc0) === 0x80;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const c1 = b[i + 1] ?? 0;
    // No overlong forms (E0 80–9F) and no surrogates (ED A0–BF).
    if ((c === 0xe0 && c1 < 0xa0) || (c === 0xed && c1 >= 0xa0)) return 0;
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const c1 = b[i + 1] ?? 0;
    if ((c === 0xf0 && c1 < 0x90) || (c === 0xf4 && c1 >= 0x90)) return 0;
    return cont(1) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

/** Bytes → string: UTF-8, each byte outside valid UTF-8 as its escape. */
export function decodeName(b: Buffer): string {
  // Valid UTF-8 (nearly every name) round-trips through Node's decoder as it is.
  const plain = b.toString('utf8');
  if (!plain.includes('\ufffd') || Buffer.from(plain).equals(b)) return plain;
  let out = '';
  let start = 0;
  for (let i = 0; i < b.length; ) {
    const n = sequenceAt(b, i);
    if (n > 0) {
      i += n;
      continue;
    }
    out += b.toString('utf8', start, i) + String.fromCharCode(ESCAPE_BASE + (b[i] ?? 0));
    i += 1;
    start = i;
  }
  return out + b.toString('utf8', start);
}

/** String → bytes: UTF-8, each escape as its byte. */
export function encodeName(s: string): Buffer {
  if (!RAW_BYTE.test(s)) return Buffer.from(s);
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    // A lone low surrogate: a high one before it would make a pair, which the escapes never are.
    const prev = s.charCodeAt(i - 1);
    if (i > 0 && prev >= 0xd800 && prev <= 0xdbff) continue;
    parts.push(Buffer.from(s.slice(start, i)), Buffer.from([c - ESCAPE_BASE]));
    start = i + 1;
  }
  parts.push(Buffer.from(s.slice(start)));
  return Buffer.concat(parts);
}

/** Whether `s` holds a byte that is not valid UTF-8 (it cannot be an argument of rsync's). */
export const hasRawBytes = (s: string): boolean => RAW_BYTE.test(s);
