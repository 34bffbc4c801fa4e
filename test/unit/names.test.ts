/** src/sync/names.ts: names as bytes in a string, every name back to its own bytes. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeName, encodeName, hasRawBytes } from '../../src/sync/names.js';
import { prng } from '../helpers/prng.js';

describe('decodeName / encodeName', () => {
  it('keeps valid UTF-8 as it is, U+FFFD and astral characters included', () => {
    for (const s of ['plain', 'é-accent', '日本', 'Ω.txt', 'a\ufffdb', '😀', '\u{10080}', 'new\nline']) {
      assert.equal(decodeName(Buffer.from(s)), s);
      assert.deepEqual(encodeName(s), Buffer.from(s));
      assert.equal(hasRawBytes(s), false, s);
    }
  });

  it('gives each byte outside valid UTF-8 as U+DC80 + byte', () => {
    assert.equal(decodeName(Buffer.from([0x66, 0x6f, 0x80, 0xff, 0xfe, 0x2e])), 'fo\udc80\udcff\udcfe.');
    // Overlong, surrogate and truncated sequences are bytes of their own.
    assert.equal(decodeName(Buffer.from([0xc0, 0xaf])), '\udcc0\udcaf');
    assert.equal(decodeName(Buffer.from([0xed, 0xa0, 0x80])), '\udced\udca0\udc80');
    assert.equal(decodeName(Buffer.from([0x64, 0xc3, 0x28])), 'd\udcc3(');
    assert.equal(decodeName(Buffer.from([0xe6, 0x97])), '\udce6\udc97');
    assert.equal(hasRawBytes('d\udcc3('), true);
  });

  it('brings every byte string back to its bytes (seeded, 2,000 names)', () => {
    const rnd = prng(17);
    for (let n = 0; n < 2000; n++) {
      const b = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 12) }, () => Math.floor(rnd() * 256)));
      assert.deepEqual(encodeName(decodeName(b)), b, b.toString('hex'));
    }
  });
});
