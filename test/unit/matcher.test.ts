/**
 * src/filter/matcher.ts. rsync is the oracle: every row of VERDICTS was checked with rsync 3.5
 * (`rsync -r --list-only RULES tree/` on a scratch tree holding the path).
 *
 * Why the matcher must answer exactly as rsync does: batches go through `--files-from`, and
 * rsync does not apply an excluded parent directory to a listed path (it sends `foo/bar`
 * with `--exclude=foo/`), so the matcher is what keeps an excluded directory's contents off
 * the slave; and where it says "exclude" for a path rsync would send, the change is lost.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileMatcher, type Verdict } from '../../src/filter/matcher.js';
import type { FilterArg } from '../../src/filter/rules.js';

const ex = (value: string): FilterArg => ({ kind: 'exclude', value });
const inc = (value: string): FilterArg => ({ kind: 'include', value });
const filt = (value: string): FilterArg => ({ kind: 'filter', value });
const exFrom = (value: string): FilterArg => ({ kind: 'exclude-from', value });
const incFrom = (value: string): FilterArg => ({ kind: 'include-from', value });

interface Case {
  readonly rules: readonly FilterArg[];
  /** Contents of the --*-from files. */
  readonly files?: Readonly<Record<string, string>>;
  readonly path: string;
  readonly dir: boolean;
  readonly expected: Verdict;
}

const c = (rules: readonly FilterArg[], path: string, dir: boolean, expected: Verdict, files?: Record<string, string>): Case =>
  files ? { rules, path, dir, expected, files } : { rules, path, dir, expected };
const F = false;
const D = true;

// ORACLE-START
const VERDICTS: readonly Case[] = [
  c([], 'a', F, 'include'),
  // a basename pattern matches in any directory
  c([ex('*.tmp')], 'a.tmp', F, 'exclude'),
  c([ex('*.tmp')], 'd/sub/a.tmp', F, 'exclude'),
  c([ex('*.tmp')], 'x.tmp', D, 'exclude'),
  c([ex('*.tmp')], 'a.tmpx', F, 'include'),
  c([ex('*')], 'a', F, 'exclude'),
  c([ex('*')], '.hidden', F, 'exclude'),
  c([ex('.*')], '.git/config', F, 'exclude'),
  c([ex('.*')], 'a.b', F, 'include'),
  // anchored: from the root only
  c([ex('/x')], 'x', F, 'exclude'),
  c([ex('/x')], 'd/x', F, 'include'),
  c([ex('/x')], 'x/y', F, 'exclude'),
  c([ex('/d/x')], 'd/x', F, 'exclude'),
  c([ex('/d/x')], 'e/d/x', F, 'include'),
  // directory-only
  c([ex('cache/')], 'cache', D, 'exclude'),
  c([ex('cache/')], 'cache', F, 'include'),
  c([ex('cache/')], 'cache/f', F, 'exclude'),
  c([ex('cache/')], 'd/cache', D, 'exclude'),
  c([ex('cache/')], 'd/cache/sub/f', F, 'exclude'),
  c([ex('/cache/')], 'cache', D, 'exclude'),
  c([ex('/cache/')], 'd/cache', D, 'include'),
  // a pattern with a slash matches the end of the path, at a component boundary
  c([ex('foo/bar')], 'foo/bar', F, 'exclude'),
  c([ex('foo/bar')], 'x/foo/bar', F, 'exclude'),
  c([ex('foo/bar')], 'xfoo/bar', F, 'include'),
  c([ex('foo/bar')], 'foo/bar/baz', F, 'exclude'),
  c([ex('foo/bar')], 'foo', D, 'include'),
  // * does not cross a slash, even with the slash rules; ** does
  c([ex('/q*r')], 'q/r', F, 'include'),
  c([ex('/q?r')], 'q/r', F, 'include'),
  c([ex('/q[!x]r')], 'q/r', F, 'include'),
  c([ex('x**f')], 'x/dir/f', F, 'exclude'),
  c([ex('**/foo')], 'x/foo', D, 'exclude'),
  c([ex('**/foo')], 'x/y/foo', F, 'exclude'),
  // rsync matches a leading ** at the top level too
  c([ex('**/foo')], 'foo', D, 'exclude'),
  c([ex('**/foo')], 'foo/bar', F, 'exclude'),
  // dir/*** is the directory and everything in it
  c([ex('dir/***')], 'dir', D, 'exclude'),
  c([ex('dir/***')], 'dir/f', F, 'exclude'),
  c([ex('dir/***')], 'x/dir/y/z', F, 'exclude'),
  c([ex('dir/***')], 'dirx', D, 'include'),
  c([ex('/dir/***')], 'x/dir', D, 'include'),
  c([ex('/dir/***')], 'dir/y/z', F, 'exclude'),
  // first match wins: include before exclude
  c([inc('keep.log'), ex('*.log')], 'keep.log', F, 'include'),
  c([inc('keep.log'), ex('*.log')], 'd/keep.log', F, 'include'),
  c([inc('keep.log'), ex('*.log')], 'a.log', F, 'exclude'),
  c([ex('*.log'), inc('keep.log')], 'keep.log', F, 'exclude'),
  // the classic: every directory, the .c files, nothing else
  c([inc('*/'), inc('*.c'), ex('*')], 'sub/a.c', F, 'include'),
  c([inc('*/'), inc('*.c'), ex('*')], 'sub/a.h', F, 'exclude'),
  c([inc('*/'), inc('*.c'), ex('*')], 'sub', D, 'include'),
  c([inc('*/'), inc('*.c'), ex('*')], 'README', F, 'exclude'),
  // an excluded directory hides its contents, whatever comes after
  c([inc('sub/a.c'), ex('*')], 'sub/a.c', F, 'exclude'),
  c([ex('sub/'), inc('*.c')], 'sub/a.c', F, 'exclude'),
  // filter rules
  c([filt('- *.o')], 'a.o', F, 'exclude'),
  c([filt('- *.o')], 'a.c', F, 'include'),
  c([filt('+ keep.o'), filt('- *.o')], 'keep.o', F, 'include'),
  c([filt('exclude *.o')], 'a.o', F, 'exclude'),
  c([filt('-_keep')], 'keep', F, 'exclude'),
  c([filt('exclude_keep')], 'keep', F, 'exclude'),
  c([filt('include keep'), filt('- *')], 'keep', F, 'include'),
  c([filt('- /x/')], 'x', D, 'exclude'),
  c([filt('- /x/')], 'x', F, 'include'),
  // rules before one the matcher does not model still apply
  c([ex('*.tmp'), filt('-! keep')], 'a.tmp', F, 'exclude'),
  // --exclude-from / --include-from files: comments, blank lines, "+ " and "- " prefixes
  c([exFrom('ef')], 'keep.tmp', F, 'include', { ef: '# comment\n; comment\n\n+ keep.tmp\n*.tmp\n- *.bak\n' }),
  c([exFrom('ef')], 'a.tmp', F, 'exclude', { ef: '# comment\n; comment\n\n+ keep.tmp\n*.tmp\n- *.bak\n' }),
  c([exFrom('ef')], 'a.bak', F, 'exclude', { ef: '# comment\n; comment\n\n+ keep.tmp\n*.tmp\n- *.bak\n' }),
  c([exFrom('ef')], '#comment', F, 'include', { ef: '#comment\n' }),
  c([exFrom('ef')], 'a.tmp', F, 'exclude', { ef: 'x\r\n*.tmp\r\n' }),
  c([incFrom('if'), ex('*')], 'other', F, 'include', { if: 'other\n- keep\n' }),
  c([incFrom('if'), ex('*')], 'keep', F, 'exclude', { if: 'other\n- keep\n' }),
  c([incFrom('if'), ex('*')], 'x', F, 'exclude', { if: 'other\n- keep\n' }),
  // --exclude/--include also read a "+ " or "- " prefix as the rule's type
  c([ex('+ keep'), ex('*')], 'keep', F, 'include'),
  c([inc('- keep')], 'keep', D, 'exclude'),
  // and "!" clears the rules before it
  c([ex('*.tmp'), ex('!')], 'a.tmp', F, 'include'),
  c([ex('*.tmp'), exFrom('ef')], 'a.tmp', F, 'include', { ef: '!\n' }),
  c([ex('*.tmp'), filt('!')], 'a.tmp', F, 'include'),
  c([ex('*.tmp'), filt('clear')], 'a.tmp', F, 'include'),
  // classes: a POSIX class the matcher does not know must not turn into "any character"
  c([ex('b[![:blank:]]')], 'b1', F, 'exclude'),
  c([ex('b[![:blank:]]')], 'b ', F, 'include'),
  c([ex('b[[:print:]]c')], 'b c', F, 'exclude'),
  c([ex('b[![:foo:]]')], 'b1', F, 'include'),
  // an unterminated class matches nothing in rsync
  c([ex('a[b')], 'a[b', F, 'include'),
  c([ex('[')], '[', F, 'include'),
  c([ex('[!]')], '[!]', F, 'include'),
  // a lone ] is literal
  c([ex(']')], ']', F, 'exclude'),
  c([ex('a]*')], 'a]b', F, 'exclude'),
  // a backslash escapes only in a pattern with a wildcard; without one, it is literal
  c([ex('\\[')], '[', F, 'exclude'),
  c([ex('a\\*')], 'a*', F, 'exclude'),
  c([ex('a\\*')], 'ab', F, 'include'),
  c([ex('a\\b')], 'a\\b', F, 'exclude'),
  c([ex('a\\b')], 'ab', F, 'include'),
  c([ex('\\]')], ']', F, 'include'),
  // a reversed range is no error: [z-a] is just z
  c([ex('[z-a]')], 'm', F, 'include'),
  c([ex('[z-a]')], 'z', F, 'exclude'),
];
// ORACLE-END

const title = (k: Case): string =>
  `${JSON.stringify(k.path)}${k.dir ? ' (dir)' : ''} with ${k.rules.map((r) => `--${r.kind}=${r.value}`).join(' ') || 'no rules'}` +
  `${k.files ? ` ${JSON.stringify(k.files)}` : ''} → ${k.expected}`;

describe('compileMatcher: verdict, as rsync decides', () => {
  for (const k of VERDICTS) {
    it(title(k), () => {
      const m = compileMatcher(k.rules, new Map(Object.entries(k.files ?? {})));
      assert.equal(m.verdict(k.path, k.dir), k.expected);
    });
  }

  it('always includes the root', () => {
    const m = compileMatcher([ex('*'), ex('/')], new Map());
    assert.equal(m.verdict('', true), 'include');
  });

  it('reads a missing --*-from file as empty', () => {
    const m = compileMatcher([exFrom('nowhere')], new Map());
    assert.equal(m.verdict('a', false), 'include');
    assert.equal(m.empty, true);
  });

  it('is empty only without rules', () => {
    assert.equal(compileMatcher([], new Map()).empty, true);
    assert.equal(compileMatcher([ex('x')], new Map()).empty, false);
    assert.equal(compileMatcher([ex('x'), filt('!')], new Map()).empty, true);
  });
});

describe('compileMatcher: a malformed rule is refused with its reason, as rsync refuses it', () => {
  // [rule, the problem reported]
  const CASES: readonly (readonly [FilterArg, string])[] = [
    [filt('- '), 'filter rule "- ": unexpected end of filter rule "- "'],
    [filt('nonsense'), 'filter rule "nonsense": unknown filter rule "nonsense"'],
    [filt('-z x'), 'filter rule "-z x": invalid modifier "z" at position 1 in filter rule "-z x"'],
    [filt('+e x'), 'filter rule "+e x": invalid modifier "e" at position 1 in filter rule "+e x"'],
    [filt('.! x'), 'filter rule ".! x": invalid modifier "!" at position 1 in filter rule ".! x"'],
    [filt('PC'), 'filter rule "PC": invalid modifier "C" at position 1 in filter rule "PC"'],
    [filt('Hs x'), 'filter rule "Hs x": invalid modifier "s" at position 1 in filter rule "Hs x"'],
    [filt('! x'), 'filter rule "! x": "!" rule has trailing characters: "! x"'],
    [filt('merge /nonexistent/rules'), 'filter rule "merge /nonexistent/rules": merge file /nonexistent/rules cannot be read'],
    [filt('. -'), 'filter rule ". -": merge from standard input ("merge -") cannot be used: gsyncd runs rsync many times'],
    [exFrom('-'), '--exclude-from -: standard input cannot be used (gsyncd runs rsync many times); name a file'],
    [filt(': a/.rules'), 'filter rule "dir-merge a/.rules": a per-directory file name with a relative path is not supported; use a plain name, or /NAME to also read the master\'s parent directories'],
  ];
  for (const [rule, problem] of CASES) {
    it(`--${rule.kind}=${rule.value}`, () => {
      const m = compileMatcher([ex('*.tmp'), rule, ex('*')], new Map());
      assert.deepEqual(m.problems, [problem]);
    });
  }
  it('has no problem with any rule kind or modifier rsync accepts', () => {
    const rules = ['- a', '+ b', 'exclude e', 'include f', 'H h', 'S s', 'P p', 'R r', 'hide,/ x', 'show,! y', '-! */', '+/ /abs', '-p perish', '-s snd', '-r rcv', '-x user.*',
      ': .rsync-filter', 'dir-merge,n- .excl', ':C', '-C', ':e /.rules', 'protect_x', '!', 'clear'];
    const m = compileMatcher(rules.map(filt), new Map());
    assert.deepEqual(m.problems, []);
  });
});

describe('compileMatcher: verdictUntyped', () => {
  // [rules, path, expected]
  const CASES: readonly (readonly [readonly FilterArg[], string, string])[] = [
    [[], 'a', 'include'],
    [[ex('*.tmp')], 'a.tmp', 'exclude'],
    [[ex('*.tmp')], 'a.log', 'include'],
    [[ex('cache/')], 'cache', 'depends-on-type'],
    [[ex('cache/')], 'cache/f', 'exclude'],
    [[ex('cache/')], 'other', 'include'],
    [[inc('keep/'), ex('*')], 'keep', 'depends-on-type'],
    [[inc('keep/'), ex('*')], 'other', 'exclude'],
  ];
  for (const [rules, path, expected] of CASES) {
    it(`${JSON.stringify(path)} with ${rules.map((r) => `--${r.kind}=${r.value}`).join(' ') || 'no rules'} → ${expected}`, () => {
      assert.equal(compileMatcher(rules, new Map()).verdictUntyped(path), expected);
    });
  }
});

describe('compileMatcher: ignoredDirNames', () => {
  it('lists only wildcard-free excludes that match files and directories alike', () => {
    const m = compileMatcher(
      [
        ex('node_modules'),
        ex('*.tmp'),
        ex('cache/'),
        ex('/build'),
        ex('a/b'),
        ex('x?'),
        ex('[ab]'),
        ex('esc\\*'),
        ex('dir/***'),
        filt('- .git'),
        filt('exclude .svn'),
        exFrom('ef'),
      ],
      new Map([['ef', 'tmpdir\n- other\n*.bak\n']]),
    );
    assert.deepEqual(m.ignoredDirNames, ['node_modules', '/build', 'a/b', '.git', '.svn', 'tmpdir', 'other']);
  });

  // [rules, files]
  const NONE: readonly (readonly [string, readonly FilterArg[], Record<string, string>])[] = [
    ['an --include', [ex('node_modules'), inc('x')], {}],
    ['an include before', [inc('x'), ex('node_modules')], {}],
    ['a + filter', [ex('node_modules'), filt('+ x')], {}],
    ['an --include-from', [ex('node_modules'), incFrom('if')], { if: 'x\n' }],
    ['a + line in --exclude-from', [ex('node_modules'), exFrom('ef')], { ef: '+ x\n' }],
  ];
  for (const [what, rules, files] of NONE) {
    it(`lists none when there is ${what}`, () => {
      assert.deepEqual(compileMatcher(rules, new Map(Object.entries(files))).ignoredDirNames, []);
    });
  }

  it('lists none without rules', () => {
    assert.deepEqual(compileMatcher([], new Map()).ignoredDirNames, []);
  });
});

