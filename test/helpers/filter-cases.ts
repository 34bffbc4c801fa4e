// Trees and rule sets for the filter differential tests: real rsync is the oracle, and
// gsyncd (its matcher, --once and live) must leave the same slave as `rsync -a --delete RULES`.
import { mkdirSync, readdirSync, lstatSync, writeFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { exec } from './exec.js';

/** Paths of the fixed tree (a trailing / is a directory); contents are the path itself. */
export const TREE: readonly string[] = [
  'a.tmp', 'keep.tmp', 'b.txt', 'core', 'x.o', 'notes.log', '.hidden', '.git/', '.git/config', 'CVS/', 'CVS/Entries',
  'cache/', 'cache/blob', 'cache/sub/', 'cache/sub/deep.txt', 'build/', 'build/out.o', 'build/keep.txt', 'build/cache/', 'build/cache/x',
  'a/', 'a/b/', 'a/b/c/', 'a/b/c/d.txt', 'a/b/c.tmp', 'a/x', 'a/core', 'a/cache', 'a/b/cache/', 'a/b/cache/f',
  'foo/', 'foo/bar/', 'foo/bar/baz', 'foo/x/', 'foo/x/bar', 'foo/y/', 'foo/y/z/', 'foo/y/z/bar',
  'x/', 'x/y/', 'x/y/file.txt', 'x/y/zzz.txt', 'x/z/', 'x/z/file.txt', 'x/file.txt',
  'src/', 'src/main.c', 'src/util.h', 'src/util.o', 'src/old.bak', 'src/lib/', 'src/lib/a.c', 'src/lib/a.o', 'src/lib/tags',
  'with space', 'dir with space/', 'dir with space/f 1', 'br[ack]et', 'q?mark', 'star*name', 'back\\slash', 'sub/', 'sub/foo', 'sub/foo2', 'sub/nested/', 'sub/nested/foo',
  'nums/', 'nums/1', 'nums/22', 'nums/abc', 'nums/A9', 'empty/', 'link', 'dlink', '~backup~', '#auto#', '.#lock',
];
/** Symlinks of the tree: name → target. */
const LINKS: Readonly<Record<string, string>> = { link: 'b.txt', dlink: 'a' };

/** Extra files only the slave holds at first: what deletes, protects and risks act on. */
export const SLAVE_EXTRAS: readonly string[] = [
  'extra.txt', 'extra.tmp', 'gone/', 'gone/inner.txt', 'gone/inner.o', 'a/extra.o', 'a/b/extra.bak', 'cache/extra', 'build/extra.o', 'keep-on-slave.log',
];

export function makeTree(root: string, paths: readonly string[], links: Readonly<Record<string, string>> = LINKS): void {
  mkdirSync(root, { recursive: true });
  for (const p of paths) {
    const abs = path.join(root, p);
    if (p.endsWith('/')) mkdirSync(abs, { recursive: true });
    else if (links[p] !== undefined) {
      mkdirSync(path.dirname(abs), { recursive: true });
      symlinkSync(links[p], abs);
    } else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, `${p}\n`);
    }
  }
}

export function makeFixedTree(root: string): void {
  makeTree(root, TREE);
}

/** Every path below `root`, directories with a trailing /, sorted. */
export function listTree(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(root, rel)).sort()) {
    const p = rel === '' ? name : `${rel}/${name}`;
    const isDir = lstatSync(path.join(root, p)).isDirectory();
    out.push(isDir ? `${p}/` : p);
    if (isDir) out.push(...listTree(root, p));
  }
  return out;
}

/** What differs between two trees by content, type and link target (rsync -rlc --delete, dry run); '' when equal. */
export async function treeDifferences(expected: string, actual: string): Promise<string> {
  const r = await exec('rsync', ['-rlcn', '--delete', '--out-format=%i %n%L', `${expected}/`, `${actual}/`]);
  if (r.code !== 0) return `rsync exited ${String(r.code)}: ${r.stderr}`;
  return r.stdout.trim();
}

export interface FilterCase {
  readonly name: string;
  /** Arguments for both rsync and gsyncd, in order. */
  readonly args: readonly string[];
  /** Files put in the master tree before the run (per-directory merge files). */
  readonly masterFiles?: Readonly<Record<string, string>>;
  /** Files outside the tree, in the case's own directory (merge and exclude-from files); `@` in args stands for that directory. */
  readonly outsideFiles?: Readonly<Record<string, string>>;
  /** Environment for both (CVSIGNORE). */
  readonly env?: Readonly<Record<string, string>>;
}

const f = (rule: string): string[] => ['-f', rule];

/** At least 60 rule sets, each aimed at one part of rsync's rules. */
export const CORPUS: readonly FilterCase[] = [
  // Basename patterns and wildcards.
  { name: 'a suffix anywhere', args: ['--exclude=*.tmp'] },
  { name: 'several suffixes', args: ['--exclude=*.tmp', '--exclude=*.o', '--exclude=*.log'] },
  { name: 'a plain name at any depth', args: ['--exclude=core'] },
  { name: 'a name matching files and directories', args: ['--exclude=cache'] },
  { name: 'dotfiles', args: ['--exclude=.*'] },
  { name: 'a question mark', args: ['--exclude=?.o'] },
  { name: 'a character class', args: ['--exclude=[ab].*'] },
  { name: 'a negated class', args: ['--exclude=nums/[!0-9]*'] },
  { name: 'a POSIX class', args: ['--exclude=[[:digit:]]*'] },
  { name: 'a range and a literal dash', args: ['--exclude=[a-c-]*'] },
  { name: 'an escaped wildcard', args: ['--exclude=star\\*name', '--exclude=q\\?mark'] },
  { name: 'a literal bracket name', args: ['--exclude=br\\[ack\\]et'] },
  { name: 'a backslash without wildcards is literal', args: ['--exclude=back\\slash'] },
  { name: 'a space in the pattern', args: ['--exclude=with space', '--exclude=f 1'] },
  { name: 'a star matches the empty string', args: ['--exclude=*', '--include=*/'] },
  // Anchoring and slashes.
  { name: 'anchored at the root', args: ['--exclude=/core'] },
  { name: 'anchored directory path', args: ['--exclude=/a/b'] },
  { name: 'an infix slash matches the last components', args: ['--exclude=foo/bar'] },
  { name: 'a wildcard between components', args: ['--exclude=foo/*/bar'] },
  { name: 'anchored with **', args: ['--exclude=/foo/**/bar'] },
  { name: 'a leading **', args: ['--exclude=**/bar'] },
  { name: 'a trailing **', args: ['--exclude=foo/**'] },
  { name: 'a trailing ***', args: ['--exclude=x/***'] },
  { name: '** inside a name', args: ['--exclude=**.txt'] },
  { name: 'an anchored wildcard at the root only', args: ['--exclude=/*.tmp'] },
  // Directory-only.
  { name: 'a directory-only name', args: ['--exclude=cache/'] },
  { name: 'a directory-only anchored path', args: ['--exclude=/build/'] },
  { name: 'a directory-only wildcard', args: ['--exclude=*/'] },
  { name: 'a directory-only name does not match a file', args: ['--exclude=core/', '--exclude=a/cache/'] },
  // Include before exclude.
  { name: 'an include before a broad exclude', args: ['--include=keep.tmp', '--exclude=*.tmp'] },
  { name: 'the manual: only x/y/file.txt', args: [...f('+ x/'), ...f('+ x/y/'), ...f('+ x/y/file.txt'), ...f('- *')] },
  { name: 'all directories and .c files', args: [...f('+ */'), ...f('+ *.c'), ...f('- *')] },
  { name: 'an include after the exclude has no effect', args: ['--exclude=*.tmp', '--include=keep.tmp'] },
  { name: 'an excluded directory hides an included file', args: ['--include=build/keep.txt', '--exclude=build/'] },
  { name: 'an include of a file inside an excluded-by-star tree', args: [...f('+ src/'), ...f('+ src/lib/'), ...f('+ *.c'), ...f('- *')] },
  { name: 'old-style prefixes in --exclude', args: ['--exclude=+ keep.tmp', '--exclude=*.tmp'] },
  // Long names, sides, modifiers.
  { name: 'long rule names', args: [...f('include keep.tmp'), ...f('exclude *.tmp'), ...f('exclude,/ /nowhere')] },
  { name: 'underscore separator', args: [...f('-_*.o'), ...f('+_keep.tmp'), ...f('-_*.tmp')] },
  { name: 'hide and show', args: [...f('S keep.tmp'), ...f('H *.tmp')] },
  { name: 'protect slave files from deletion', args: [...f('P *.o'), ...f('P gone/')] },
  { name: 'protect, then risk some of them', args: [...f('R extra.tmp'), ...f('P *.tmp'), ...f('P extra.txt')] },
  { name: 'sender-only and receiver-only modifiers', args: [...f('-s *.log'), ...f('-r *.bak')] },
  { name: 'a negated rule', args: [...f('-! */')] },
  { name: 'a negated pattern on names', args: [...f('+ */'), ...f('-! *.c')] },
  { name: 'the absolute-path modifier', args: [...f('-/ /nowhere/*'), ...f('- *.o')] },
  { name: 'a perishable exclude', args: [...f('-p *.o')] },
  { name: 'an xattr rule does not filter names', args: [...f('-x user.*'), ...f('- *.log')] },
  // Clearing.
  { name: 'clear discards the rules before it', args: ['--exclude=*', ...f('!'), '--exclude=*.tmp'] },
  { name: 'clear by its long name', args: ['--exclude=*.o', ...f('clear'), '--exclude=core'] },
  // Files of rules.
  { name: 'an exclude-from file', args: ['--exclude-from=@/ex.txt'], outsideFiles: { 'ex.txt': '# comment\n; comment\n*.tmp\n\n+ keep.tmp\ncache/\n' } },
  { name: 'an include-from file then exclude all', args: ['--include-from=@/in.txt', '--exclude=*'], outsideFiles: { 'in.txt': '*/\n*.txt\n- build/\n' } },
  { name: 'a merge file', args: [...f('merge @/rules')], outsideFiles: { 'rules': '+ keep.tmp\n- *.tmp\n# a comment\n- /core\nP extra.txt\n' } },
  { name: 'a nested merge file', args: [...f('. @/outer')], outsideFiles: { outer: '- *.o\nmerge @/inner\n', inner: '- *.log\n' } },
  { name: 'a merge file with the - modifier', args: [...f('merge,- @/plain')], outsideFiles: { plain: '*.tmp\n+ keep.tmp\n' } },
  { name: 'a merge file with the + modifier', args: [...f('merge,+ @/plain'), ...f('- *.txt')], outsideFiles: { plain: 'b.txt\nx/\nx/y/\nx/y/file.txt\n' } },
  { name: 'a word-split merge file', args: [...f('merge,w- @/words')], outsideFiles: { words: '*.tmp *.o\ncore' } },
  // Per-directory merge files.
  {
    name: 'dir-merge files, inherited', args: [...f(': .rules')],
    masterFiles: { '.rules': '- *.tmp\n', 'a/.rules': '- *.txt\n', 'src/.rules': '+ keep.o\n- *.o\n' },
  },
  {
    name: 'dir-merge with anchored rules relative to their directory', args: [...f('dir-merge .rules')],
    masterFiles: { '.rules': '- /core\n', 'a/.rules': '- /core\n- /b/c/\n', 'foo/.rules': '- /bar\n' },
  },
  {
    name: 'dir-merge not inherited (n)', args: [...f('dir-merge,n .rules')],
    masterFiles: { '.rules': '- *.txt\n', 'x/.rules': '- file.txt\n' },
  },
  {
    name: 'dir-merge excluding itself (e)', args: [...f(':e .rules')],
    masterFiles: { '.rules': '- *.o\n', 'src/.rules': '- *.h\n' },
  },
  {
    name: 'a clear in a per-directory file clears what it inherited', args: [...f(': .rules'), '--exclude=*.log'],
    masterFiles: { '.rules': '- *.txt\n', 'x/.rules': '!\n- zzz.txt\n' },
  },
  {
    name: 'global rules before the dir-merge win', args: ['--include=d.txt', ...f(': .rules'), '--exclude=*.o'],
    masterFiles: { '.rules': '- *.txt\n+ *.o\n' },
  },
  {
    name: '-F reads .rsync-filter files', args: ['-F'],
    masterFiles: { '.rsync-filter': '- *.tmp\n', 'build/.rsync-filter': '- *.o\n+ keep.txt\n- *\n' },
  },
  {
    name: '-FF also excludes the .rsync-filter files', args: ['-F', '-F'],
    masterFiles: { '.rsync-filter': '- cache/\n', 'a/b/.rsync-filter': '- c/\n' },
  },
  { name: 'dir-merge without any file in the tree', args: [...f(': .none'), '--exclude=*.o'] },
  {
    name: 'a dir-merge file excluding a directory above other merge files', args: [...f(': .rules')],
    masterFiles: { '.rules': '- a/\n', 'a/.rules': '+ *\n' },
  },
  // CVS.
  { name: '-C, the CVS list', args: ['-C'] },
  { name: '-C with .cvsignore files', args: ['-C'], masterFiles: { '.cvsignore': 'notes.log\n', 'src/.cvsignore': 'util.h\n' } },
  { name: '-C with $CVSIGNORE', args: ['-C'], env: { CVSIGNORE: 'b.txt *.c' } },
  { name: 'an include before -C overrides it', args: ['--include=x.o', '-C'] },
  { name: 'the -C rule in place', args: [...f('+ src/util.o'), ...f('-C'), ...f('- *.txt')] },
  // --delete-excluded.
  { name: '--delete-excluded removes excluded slave files', args: ['--delete-excluded', '--exclude=*.tmp', '--exclude=*.o'] },
  { name: '--delete-excluded keeps protected ones', args: ['--delete-excluded', '--exclude=*.o', ...f('P build/extra.o')] },
  { name: '--delete-excluded with a directory', args: ['--delete-excluded', '--exclude=gone/', '--exclude=cache/'] },
];
