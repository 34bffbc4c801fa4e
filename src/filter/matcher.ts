/**
 * A matcher for include/exclude rules, used to skip events and unwatched directories
 * before rsync sees them. It must agree with rsync exactly: with --files-from, rsync does
 * not apply an excluded parent directory to a listed path, so this matcher is what keeps
 * an excluded directory's contents off the slave. Rules it does not model are refused at
 * start (see `problems`), never guessed at. Pure.
 */
import { globToRegexSource, hasWildcards } from './glob.js';
import type { FilterArg } from './rules.js';

interface Rule {
  readonly include: boolean;
  readonly regex: RegExp;
  readonly dirOnly: boolean;
  /** Matched against the last component only (no slash and no ** in the pattern). */
  readonly basename: boolean;
  /** The pattern as given, for plain names the watcher can ignore outright. */
  readonly pattern: string;
}

/** `clear`: rsync's `!` rule, which discards every rule before it. */
type Step = Rule | 'clear';

export type Verdict = 'include' | 'exclude';
/** For a path whose type is unknown (deleted): the verdict, or "it depends on the type". */
export type UntypedVerdict = Verdict | 'depends-on-type';

export interface Matcher {
  /** Whether a path (relative, no leading slash) is sent. */
  verdict(path: string, isDir: boolean): Verdict;
  verdictUntyped(path: string): UntypedVerdict;
  /** Directory paths or names that can be left unwatched (exact, wildcard-free excludes). */
  readonly ignoredDirNames: readonly string[];
  readonly empty: boolean;
  /** Rules this version cannot apply exactly: the caller refuses to start. */
  readonly problems: readonly string[];
}

function compileRule(include: boolean, rawPattern: string): Rule {
  let pattern = rawPattern;
  let dirOnly = false;
  const anchored = pattern.startsWith('/');
  if (anchored) pattern = pattern.slice(1);
  let subtree = false;
  if (pattern.endsWith('/***')) {
    // "dir/***" matches dir itself and everything inside it.
    subtree = true;
    pattern = pattern.slice(0, -4);
  } else if (pattern.endsWith('/') && pattern.length > 1) {
    dirOnly = true;
    pattern = pattern.replace(/\/+$/, '');
  }
  const basename = !anchored && !pattern.includes('/') && !pattern.includes('**') && !subtree;
  // A leading **/ also matches no directory at all: rsync's **/foo excludes a top-level foo.
  const leadingAny = hasWildcards(pattern) && pattern.startsWith('**/');
  let source = leadingAny ? `(?:.*/)?${globToRegexSource(pattern.slice(3))}` : globToRegexSource(pattern);
  if (subtree) source += '(?:/.*)?';
  const prefix = anchored || basename || leadingAny ? '' : '(?:.*/)?';
  return { include, regex: new RegExp(`^${prefix}${source}$`, 's'), dirOnly, basename, pattern: rawPattern };
}

/** A --filter rule: `- PAT`, `+ PAT`, `exclude PAT`, `include PAT`, `!` or `clear`. */
function parseFilterRule(rule: string): Step | { readonly problem: string } {
  if (rule === '!' || rule === 'clear') return 'clear';
  const m = /^(-|\+|exclude|include)[ _](.+)$/s.exec(rule);
  if (!m?.[2]) {
    return {
      problem: `filter rule "${rule}": only "- PATTERN", "+ PATTERN", "exclude PATTERN", "include PATTERN", "!" and "clear" are supported in this version (no merge, dir-merge, hide, show, protect, risk or modifiers yet)`,
    };
  }
  return compileRule(m[1] === '+' || m[1] === 'include', m[2]);
}

/** An --exclude/--include value: rsync honours a leading "+ " or "- ", and "!" alone clears. */
function parseOldStyle(include: boolean, value: string): Step {
  if (value === '!') return 'clear';
  const prefixed = /^([-+]) (.*)$/s.exec(value);
  return prefixed ? compileRule(prefixed[1] === '+', prefixed[2] ?? '') : compileRule(include, value);
}

/** Lines of an --exclude-from/--include-from file, as rsync reads them. */
export function patternFileLines(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#') && !l.startsWith(';'));
}

/**
 * `files` gives the contents of each --*-from file, read by the caller.
 */
export function compileMatcher(args: readonly FilterArg[], files: ReadonlyMap<string, string>): Matcher {
  const steps: Step[] = [];
  const problems: string[] = [];
  for (const a of args) {
    switch (a.kind) {
      case 'exclude':
      case 'include':
        steps.push(parseOldStyle(a.kind === 'include', a.value));
        break;
      case 'exclude-from':
      case 'include-from':
        // In these files "- " and "+ " prefixes are honoured, and "!" clears, as in rsync.
        for (const line of patternFileLines(files.get(a.value) ?? '')) steps.push(parseOldStyle(a.kind === 'include-from', line));
        break;
      case 'filter': {
        const step = parseFilterRule(a.value);
        if (typeof step === 'object' && 'problem' in step) problems.push(step.problem);
        else steps.push(step);
        break;
      }
    }
  }
  // "!" discards every rule before it.
  const lastClear = steps.lastIndexOf('clear');
  const rules = steps.slice(lastClear + 1).filter((s): s is Rule => s !== 'clear');

  const single = (path: string, isDir: boolean): Verdict => {
    const slash = path.lastIndexOf('/');
    const base = slash < 0 ? path : path.slice(slash + 1);
    for (const step of rules) {
      if (step.dirOnly && !isDir) continue;
      if (step.regex.test(step.basename ? base : path)) return step.include ? 'include' : 'exclude';
    }
    return 'include';
  };

  const ancestorsExcluded = (path: string): boolean => {
    // rsync does not descend into an excluded directory: everything under it is excluded.
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
      if (single(path.slice(0, i), true) === 'exclude') return true;
    }
    return false;
  };

  const verdict = (path: string, isDir: boolean): Verdict =>
    rules.length === 0 || path === '' ? 'include' : ancestorsExcluded(path) ? 'exclude' : single(path, isDir);

  // Only wildcard-free excludes that match files and directories alike: a watcher's ignore
  // list cannot tell a directory `cache/` from a file named `cache`, and must not drop the file.
  // Their pattern text as given (rule.pattern) is what the watcher translates.
  const hasInclude = rules.some((s) => s.include);
  const ignoredDirNames = hasInclude
    ? []
    : rules.flatMap((s) => (!s.dirOnly && !/[*?[\\]/.test(s.pattern) && !/^[-+] /.test(s.pattern) ? [s.pattern] : []));

  return {
    verdict,
    verdictUntyped(path: string): UntypedVerdict {
      const asDir = verdict(path, true);
      const asFile = verdict(path, false);
      return asDir === asFile ? asDir : 'depends-on-type';
    },
    ignoredDirNames,
    empty: rules.length === 0,
    problems,
  };
}
