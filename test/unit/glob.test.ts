/**
 * src/filter/glob.ts: rsync wildcards → RegExp source. The expected matches were checked
 * against rsync 3.5 on a scratch tree (rsync is the oracle).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegexSource } from '../../src/filter/glob.js';

const matches = (glob: string, text: string): boolean => new RegExp(`^${globToRegexSource(glob)}$`, 's').test(text);

describe('globToRegexSource: source', () => {
  // [glob, expected source]
  const CASES: readonly (readonly [string, string])[] = [
    ['abc', 'abc'],
    ['*.tmp', '[^/]*\\.tmp'],
    ['**', '.*'],
    ['a/**/b', 'a/.*/b'],
    ['***', '.*'],
    ['?', '[^/]'],
    ['[abc]', '(?!/)[abc]'],
    ['[!a]', '[^/a]'],
    ['[^a]', '[^/a]'],
    ['[[:digit:]]', '(?!/)[0-9]'],
    ['[]a]', '(?!/)[\\]a]'],
    ['[!]a]', '[^/\\]a]'],
    [']', '\\]'],
    ['\\*', '\\*'],
    ['\\?', '\\?'],
    ['\\[', '\\['],
    ['a+b(c){1}|$^.', 'a\\+b\\(c\\)\\{1\\}\\|\\$\\^\\.'],
  ];
  for (const [glob, expected] of CASES) {
    it(`${JSON.stringify(glob)} → ${JSON.stringify(expected)}`, () => {
      assert.equal(globToRegexSource(glob), expected);
    });
  }
});

describe('globToRegexSource: what matches', () => {
  // [glob, text, matches]
  const CASES: readonly (readonly [string, string, boolean])[] = [
    // * stays within one component, and matches a leading dot
    ['*.tmp', 'a.tmp', true],
    ['*.tmp', '.tmp', true],
    ['*', '.hidden', true],
    ['*.tmp', 'dir/a.tmp', false],
    ['a*b', 'a/b', false],
    ['a*', '', false],
    // ** crosses components
    ['**.tmp', 'dir/sub/a.tmp', true],
    ['x**f', 'x/dir/f', true],
    ['a/**/b', 'a/x/y/b', true],
    ['a/**/b', 'a/b', false],
    // ? is one character, never a slash
    ['a?b', 'a:b', true],
    ['a?b', 'ab', false],
    ['a?b', 'a/b', false],
    ['a?b', 'a\nb', true],
    // classes
    ['a[bc]', 'ab', true],
    ['a[bc]', 'ad', false],
    ['a[!1]', 'ab', true],
    ['a[!1]', 'a1', false],
    ['a[^1]', 'ab', true],
    ['a[^1]', 'a1', false],
    ['a[a-c]', 'ab', true],
    ['a[a-c]', 'ad', false],
    ['[[:digit:]]', '7', true],
    ['[[:digit:]]', 'x', false],
    ['a[[:alpha:]]', 'ab', true],
    ['a[[:alpha:]]', 'a1', false],
    ['[[:upper:]][[:lower:]]', 'Ab', true],
    ['[[:alnum:]]', '_', false],
    ['[[:xdigit:]]', 'f', true],
    ['[[:xdigit:]]', 'g', false],
    ['[[:space:]]', '\t', true],
    ['[[:punct:]]', '!', true],
    ['[[:punct:]]', '~', true],
    ['[[:punct:]]', 'a', false],
    ['[[:digit:]x]', 'x', true],
    ['a[]b]', 'a]', true],
    ['a[]b]', 'ab', true],
    ['a[!]b]', 'a]', false],
    ['a[!]b]', 'ac', true],
    ['a[\\]]', 'a]', true],
    ['[.-0]', '0', true],
    // a class never matches the separator
    ['x[!x]dir', 'x/dir', false],
    ['x[/]dir', 'x/dir', false],
    ['q[.-0]r', 'q/r', false],
    // a lone ] is literal
    [']', ']', true],
    ['a]b', 'a]b', true],
    // escapes make wildcards literal
    ['\\*', '*', true],
    ['\\*', 'x', false],
    ['a\\?', 'a?', true],
    ['a\\?', 'ab', false],
    ['\\[x]', '[x]', true],
    ['\\[x]', 'x', false],
    // regex metacharacters are plain characters
    ['a.b', 'a.b', true],
    ['a.b', 'axb', false],
    ['a+', 'a+', true],
    ['a+', 'aa', false],
    ['(a|b)', '(a|b)', true],
    ['(a|b)', 'a', false],
    ['$x^', '$x^', true],
    ['{1,2}', '{1,2}', true],
  ];
  for (const [glob, text, expected] of CASES) {
    it(`${JSON.stringify(glob)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(text)}`, () => {
      assert.equal(matches(glob, text), expected);
    });
  }

  it('always compiles to a valid RegExp', () => {
    for (const glob of ['[', '[!', '[]', '[!]', '[[:', '[[:x', '[[:digit:', 'a\\', '\\', '[a-', '[\\', '***/***', '[[:foo:]]']) {
      assert.doesNotThrow(() => new RegExp(`^${globToRegexSource(glob)}$`, 's'), glob);
    }
  });

  // rsync takes a reversed range without complaint: [z-a] matches only z (checked with rsync 3.5).
  for (const glob of ['[z-a]', 'x[9-0]']) {
    it(`compiles the reversed range ${JSON.stringify(glob)} to a valid RegExp`, () => {
      assert.doesNotThrow(() => new RegExp(`^${globToRegexSource(glob)}$`, 's'));
    });
  }
});
