/**
 * A matcher for plain include/exclude rules, used to skip events and unwatched directories
 * before rsync sees them. rsync gets the same rules and stays the authority: where this
 * matcher meets a rule it does not model, it stops and answers "include", so it can never
 * drop a change that rsync would have sent. Pure.
 */
import { globToRegexSource } from './glob.js';
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

type Step = Rule | 'opaque';

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
  let source = globToRegexSource(pattern);
  if (subtree) source += '(?:/.*)?';
  const prefix = anchored || basename ? '' : '(?:.*/)?';
  return { include, regex: new RegExp(`^${prefix}${source}$`, 's'), dirOnly, basename, pattern: rawPattern };
}

/** `- PAT`, `+ PAT`, `exclude PAT`, `include PAT`; anything else is opaque to this matcher. */
function parseFilterRule(rule: string): Step {
  const m = /^(-|\+|exclude|include)[ _](.+)$/.exec(rule);
  if (!m?.[2]) return 'opaque';
  return compileRule(m[1] === '+' || m[1] === 'include', m[2]);
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
  for (const a of args) {
    switch (a.kind) {
      case 'exclude':
      case 'include':
        steps.push(compileRule(a.kind === 'include', a.value));
        break;
      case 'exclude-from':
      case 'include-from':
        for (const line of patternFileLines(files.get(a.value) ?? '')) {
          // In these files, "- " and "+ " prefixes are honoured as in rsync.
          const explicit = /^([-+]) (.+)$/.exec(line);
          if (explicit?.[2]) steps.push(compileRule(explicit[1] === '+', explicit[2]));
          else steps.push(compileRule(a.kind === 'include-from', line));
        }
        break;
      case 'filter':
        steps.push(parseFilterRule(a.value));
        break;
    }
  }

  const single = (path: string, isDir: boolean): Verdict => {
    const slash = path.lastIndexOf('/');
    const base = slash < 0 ? path : path.slice(slash + 1);
    for (const step of steps) {
      if (step === 'opaque') return 'include';
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
    steps.length === 0 || path === '' ? 'include' : ancestorsExcluded(path) ? 'exclude' : single(path, isDir);

  // Only wildcard-free excludes that match files and directories alike: a watcher's ignore
  // list cannot tell a directory `cache/` from a file named `cache`, and must not drop the file.
  const hasIncludeOrOpaque = steps.some((s) => s === 'opaque' || s.include);
  const ignoredDirNames = hasIncludeOrOpaque
    ? []
    : steps.flatMap((s) => (s !== 'opaque' && !s.dirOnly && !/[*?[\\]/.test(s.pattern) ? [s.pattern] : []));

  return {
    verdict,
    verdictUntyped(path: string): UntypedVerdict {
      const asDir = verdict(path, true);
      const asFile = verdict(path, false);
      return asDir === asFile ? asDir : 'depends-on-type';
    },
    ignoredDirNames,
    empty: steps.length === 0,
  };
}
