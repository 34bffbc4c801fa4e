/**
 * One rsync filter pattern → a test of a path, as rsync's rule_matches() decides it. Pure.
 *
 * - A pattern without a slash (a trailing one aside) and without `**` is matched against the
 *   last component only; otherwise against the path from the transfer root.
 * - A leading `/` anchors it at the transfer root (in a per-directory file: at that file's
 *   directory, which the caller has put in front); else it may match after any slash.
 * - A trailing `/` matches directories only; a trailing `***` matches the directory as well
 *   as everything inside it; a leading `**` may also match at the very start.
 * - The `/` modifier matches against the absolute path (the master root in front).
 * - The `!` modifier inverts the result, including for a directory-only pattern and a file.
 * - Wildcards (`*?[`) make it a wildmatch; without any, it is a literal, backslashes and all.
 */
import { globToRegexSource, hasWildcards } from './glob.js';

export interface PatternFlags {
  /** `!`: the rule applies where the pattern does not match. */
  readonly negate: boolean;
  /** `/`: match against the absolute path. */
  readonly absolute: boolean;
}

export interface CompiledPattern {
  /** Whether the rule applies to `path` (relative to the master root, no leading slash). */
  matches(path: string, isDir: boolean): boolean;
  readonly dirOnly: boolean;
  /** Matched against the last component alone. */
  readonly basename: boolean;
  readonly anchored: boolean;
  readonly wild: boolean;
}

/**
 * `pattern` as written (after any per-directory prefix); `root` is the master root's
 * absolute path, for the `/` modifier.
 */
export function compilePattern(pattern: string, flags: PatternFlags, root: string): CompiledPattern {
  let p = pattern;
  let dirOnly = false;
  if (p.length > 1 && p.endsWith('/')) {
    p = p.slice(0, -1);
    dirOnly = true;
  }
  const slashes = p.split('/').length - 1;
  const wild = hasWildcards(p);
  const wild2 = wild && p.includes('**');
  const wild2Prefix = wild2 && p.startsWith('**');
  const wild3Suffix = wild2 && p.endsWith('***');
  const basename = slashes === 0 && !wild2;
  const anchored = p.startsWith('/');
  const body = anchored ? p.slice(1) : p;
  // rsync puts the current directory in front of the name only below the filesystem root.
  const absPrefix = flags.absolute && root !== '/' ? `${root.replace(/^\/+/, '')}/` : '';

  // How far along the string a match may start: at the start only, or after any slash (a
  // pattern with an infix slash and no ** covers exactly its last components either way).
  const startAnywhere = !anchored && !basename && !wild2Prefix;
  const source = globToRegexSource(body);
  const regex = new RegExp(`^${startAnywhere ? '(?:.*/)?' : ''}${source}$`, 's');

  const hit = (path: string, isDir: boolean): boolean => {
    if (path === '') return false;
    if (dirOnly && !isDir) return false;
    let subject: string;
    if (basename) {
      const slash = path.lastIndexOf('/');
      subject = slash < 0 ? path : path.slice(slash + 1);
    } else if (flags.absolute && absPrefix !== '') subject = absPrefix + path;
    else if (wild2Prefix) subject = `/${path}`;
    else subject = path;
    if (isDir && wild3Suffix) subject += '/';
    return regex.test(subject);
  };

  return {
    // rule_matches() answers "no match" for the root itself, negated or not.
    matches: (path, isDir) => path !== '' && hit(path, isDir) !== flags.negate,
    dirOnly,
    basename,
    anchored,
    wild,
  };
}
