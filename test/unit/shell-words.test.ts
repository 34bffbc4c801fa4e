/** src/transport/shell-words.ts: command strings → words, as rsync splits -e; and back. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { joinWords, quoteWord, splitWords } from '../../src/transport/shell-words.js';

describe('splitWords', () => {
  // [text, words]
  const CASES: readonly (readonly [string, readonly string[]])[] = [
    ['', []],
    ['   ', []],
    ['ssh', ['ssh']],
    ['ssh -p 2222 -i key', ['ssh', '-p', '2222', '-i', 'key']],
    ['  ssh\t-p\n2222  ', ['ssh', '-p', '2222']],
    ["ssh -o 'ProxyCommand=nc %h %p'", ['ssh', '-o', 'ProxyCommand=nc %h %p']],
    ['ssh -o "ProxyCommand=nc %h %p"', ['ssh', '-o', 'ProxyCommand=nc %h %p']],
    ['a"b c"d', ['ab cd']],
    ["a'b c'd", ['ab cd']],
    ['""', ['']],
    ["''", ['']],
    ["a '' b", ['a', '', 'b']],
    ['a\\ b', ['a b']],
    ['\\"', ['"']],
    ["\\'", ["'"]],
    ['\\\\', ['\\']],
    // in single quotes nothing is special
    ["'a\\b\"c'", ['a\\b"c']],
    ["'$HOME'", ['$HOME']],
    // in double quotes, a backslash escapes only " \\ $ `
    ['"a\\"b"', ['a"b']],
    ['"a\\\\b"', ['a\\b']],
    ['"\\$x \\`y\\`"', ['$x `y`']],
    ['"a\\nb"', ['a\\nb']],
    // no expansion of any kind
    ['$HOME ~ *.txt $(id) `id`', ['$HOME', '~', '*.txt', '$(id)', '`id`']],
    ['a;b|c&d', ['a;b|c&d']],
    // the quote idiom for a single quote
    ["'it'\\''s'", ["it's"]],
    // a trailing backslash is kept
    ['a\\', ['a\\']],
  ];
  for (const [text, words] of CASES) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(words)}`, () => {
      assert.deepEqual(splitWords(text), words);
    });
  }

  for (const [text, message] of [
    ["ssh -o 'x", "unterminated ' quote"],
    ['ssh -o "x', 'unterminated " quote'],
    ["'", "unterminated ' quote"],
    ['"\'', 'unterminated " quote'],
    ['"\\"', 'unterminated " quote'],
  ] as const) {
    it(`refuses ${JSON.stringify(text)}: ${message}`, () => {
      assert.throws(() => splitWords(text), { message });
    });
  }
});

describe('quoteWord and joinWords', () => {
  // [word, quoted]
  const CASES: readonly (readonly [string, string])[] = [
    ['ssh', 'ssh'],
    ['-oControlPath=/tmp/x.sock', '-oControlPath=/tmp/x.sock'],
    ['user@host:/p,q+r%', 'user@host:/p,q+r%'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['$HOME', "'$HOME'"],
    ['*', "'*'"],
    ['a\nb', "'a\nb'"],
    ['\\', "'\\'"],
  ];
  for (const [word, quoted] of CASES) {
    it(`${JSON.stringify(word)} → ${quoted}`, () => {
      assert.equal(quoteWord(word), quoted);
    });
  }

  it('gives back the same words through splitWords', () => {
    const words = ['ssh', '', 'a b', "it's", '"q"', '$HOME', '\\', 'a\\b', 'tab\there', 'new\nline', "''", '`id`', '-o', 'ü'];
    assert.deepEqual(splitWords(joinWords(words)), words);
    for (const w of words) assert.deepEqual(splitWords(quoteWord(w)), [w]);
  });

  it('joins nothing into nothing', () => {
    assert.equal(joinWords([]), '');
  });
});
