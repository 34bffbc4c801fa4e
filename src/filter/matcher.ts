/**
 * Which paths rsync's sender would send, under the user's filter rules: used to drop events
 * and to leave excluded directories unwatched. It must agree with rsync exactly: batches go
 * through `--files-from`, and rsync neither applies an excluded parent directory to a listed
 * path nor reads the per-directory merge files of its parents, so this matcher is what keeps
 * an excluded directory's contents off the slave.
 *
 * Like rsync's sender, a path is sent when no directory on the way down is excluded and the
 * path itself is not, each judged by the first matching rule of the list in force in its
 * parent directory: the global rules, with each dir-merge rule standing for the rules of that
 * directory's merge file followed by those inherited from above. Receiver-side rules (P, R,
 * `r`) and xattr rules (`x`) do not decide what is sent; rsync applies them to deletes itself.
 *
 * Pure apart from `read`, through which merge files are read (and cached per directory).
 */
import { compilePattern, type CompiledPattern } from './pattern.js';
import { FilterSyntaxError, PLAIN, parseRuleFile, parseRuleText, type DirMergeRule, type ParseContext, type PatternRule, type Rule } from './parse.js';
import type { FilterArg } from './rules.js';

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
  /** Rules that cannot be used: the caller refuses to start (exit 2). */
  readonly problems: readonly string[];
  /** The names of per-directory merge files: a change to one changes what is sent below it. */
  readonly mergeFileNames: ReadonlySet<string>;
  /** Problems met in per-directory merge files since the last call (for the log). */
  takeWarnings(): string[];
  /** Forgets what was read of the merge files in `dir` and below. */
  invalidate(dir: string): void;
  /**
   * The rules for an rsync run of a batch (--files-from), as --filter values: merge files
   * and --exclude-from files written out, since with --from0 rsync would read those files
   * NUL-separated, and the CVS rules of -C in place. For a run recursing into `dir`, each
   * dir-merge rule stays, followed by what `dir` inherits from the merge files above it
   * (rsync does not read those in such a run). For a run of listed paths (`dir` undefined)
   * the matcher has judged every path already: the rules go to the receiver alone (to protect
   * what they protect from the deletes), and the dir-merge rules are left out. `withMerges`
   * false leaves them out of a recursive run too.
   */
  batchFilters(dir: string | undefined, withMerges?: boolean): readonly string[];
  /**
   * For listed deletes in `dir`: the receiver's rules, each dir-merge rule replaced by the
   * rules in force in `dir` from the merge files (which rsync's receiver would read from the
   * slave's copies in a full run), so that what they protect stays protected.
   */
  deleteFilters(dir: string): readonly string[];
  /** Whether per-directory merge files are in force. */
  readonly hasDirMerge: boolean;
}

export interface MatcherOptions {
  /** Reads a file, or undefined when it cannot (merge files, $HOME/.cvsignore). */
  readonly read?: (path: string) => string | undefined;
  /** The master root (absolute): per-directory merge files are read below it. */
  readonly root?: string;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly deleteExcluded?: boolean;
  /** -C: rsync appends ":C" and "-C" to the rules. */
  readonly cvsExclude?: boolean;
}

interface Compiled {
  readonly rule: PatternRule;
  readonly test: CompiledPattern;
  /** The rule as rsync reads it again on its command line (for batchFilters). */
  readonly text: string;
  /** The same for the receiver alone, or undefined for a sender-only rule. */
  readonly receiverText: string | undefined;
}

type Step = { readonly kind: 'rule'; readonly c: Compiled } | { readonly kind: 'merge'; readonly index: number; readonly rule: DirMergeRule };

const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');

const sideMod = (side: string): string => (side === 'sender' ? 's' : side === 'receiver' ? 'r' : '');

/** A pattern rule as a --filter value that means the same on rsync's command line. */
function ruleText(r: PatternRule, pattern: string, absolute: boolean): string {
  const mods = `${absolute ? '/' : ''}${r.negate ? '!' : ''}${sideMod(r.side)}${r.perishable ? 'p' : ''}${r.xattr ? 'x' : ''}`;
  return `${r.include ? '+' : '-'}${mods} ${pattern}`;
}

/** A dir-merge rule as a --filter value (its "e" exclude was already emitted as a rule of its own). */
function mergeText(r: DirMergeRule): string {
  const t = r.template;
  const kind = t.cvs ? 'C' : `${t.noInherit ? 'n' : ''}${t.wordSplit ? 'w' : ''}${t.noPrefixes ? (t.include ? '+' : '-') : ''}`;
  return `:${kind}${t.absolute ? '/' : ''}${t.perishable ? 'p' : ''}${sideMod(t.side)} ${r.name}`;
}

export function compileMatcher(args: readonly FilterArg[], files: ReadonlyMap<string, string>, options: MatcherOptions = {}): Matcher {
  const root = options.root ?? '/';
  const read = options.read ?? ((): undefined => undefined);
  const ctx: ParseContext = { read, cwd: options.cwd ?? '/', env: options.env ?? {}, deleteExcluded: options.deleteExcluded === true };
  const problems: string[] = [];
  const compile = (r: PatternRule, pattern = r.pattern, absolute = r.absolute): Compiled => ({
    rule: r,
    test: compilePattern(pattern, { negate: r.negate, absolute }, root),
    text: ruleText(r, pattern, absolute),
    receiverText: r.side === 'sender' ? undefined : r.side === 'receiver' || r.xattr ? ruleText(r, pattern, absolute) : ruleText({ ...r, side: 'receiver' }, pattern, absolute),
  });

  // The global list, as rsync builds it from the options in order.
  const global: Rule[] = [];
  const add = (what: string, parse: () => Rule[]): void => {
    try {
      global.push(...parse());
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
      problems.push(`${what}: ${e.message}`);
    }
  };
  for (const a of args) {
    switch (a.kind) {
      case 'exclude':
      case 'include':
        add(`--${a.kind} ${a.value}`, () => parseRuleText(a.value, { ...PLAIN, include: a.kind === 'include' }, ctx, true));
        break;
      case 'exclude-from':
      case 'include-from':
        if (a.value === '-') {
          problems.push(`--${a.kind} -: standard input cannot be used (gsyncd runs rsync many times); name a file`);
          break;
        }
        add(`--${a.kind} ${a.value}`, () => parseRuleFile(files.get(a.value) ?? '', { ...PLAIN, include: a.kind === 'include-from' }, ctx, true));
        break;
      case 'filter':
        add(`filter rule "${a.value}"`, () => parseRuleText(a.value, PLAIN, ctx));
        break;
    }
  }
  if (options.cvsExclude) add('--cvs-exclude', () => [...parseRuleText(':C', PLAIN, ctx), ...parseRuleText('-C', PLAIN, ctx)]);

  // "!" in the global list discards every rule before it.
  const lastClear = global.map((r) => r.type).lastIndexOf('clear');
  const live = global.slice(lastClear + 1);
  const steps: Step[] = [];
  const mergeNames = new Set<string>();
  // rsync activates one merge list per file name; a repeated name adds nothing.
  /** The list again for rsync's command line, xattr rules included. */
  const rendered: (Compiled | Extract<Step, { kind: 'merge' }>)[] = [];
  for (const r of live) {
    if (r.type === 'pattern') {
      const c = compile(r);
      rendered.push(c);
      if (!r.xattr) steps.push({ kind: 'rule', c });
    } else if (r.type === 'dir-merge') {
      const base = r.name.slice(r.name.lastIndexOf('/') + 1);
      if (mergeNames.has(base)) continue;
      if (r.name.includes('/') && !r.name.startsWith('/')) {
        problems.push(`filter rule "dir-merge ${r.name}": a per-directory file name with a relative path is not supported; use a plain name, or /NAME to also read the master's parent directories`);
        continue;
      }
      mergeNames.add(base);
      const step = { kind: 'merge' as const, index: steps.length, rule: r };
      steps.push(step);
      rendered.push(step);
    }
  }

  /** The rules of one merge file in `dir` ('' the root; an absolute path for a parent of the root). */
  const fileRules = (rule: DirMergeRule, dir: string, absDir: string): Rule[] | undefined => {
    const base = rule.name.slice(rule.name.lastIndexOf('/') + 1);
    const content = read(`${absDir === '/' ? '' : absDir}/${base}`);
    if (content === undefined) return undefined;
    try {
      return parseRuleFile(content, rule.template, { ...ctx, cwd: absDir });
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
      // rsync stops the transfer with a syntax error; here the file is ignored, loudly, once.
      warnings.add(`${absDir}/${base}: ${e.message}`);
      return [];
    }
  };
  const warnings = new Set<string>();
  /** Each warning is logged once. */
  const reported = new Set<string>();

  /** A per-directory rule, anchored patterns made relative to its directory (rsync's ANCHORED2ABS). */
  const localize = (r: PatternRule, absDir: string): Compiled => {
    if (!r.pattern.startsWith('/') || r.absolute) return compile(r);
    const prefix = absDir === '/' ? '' : absDir;
    return compile(r, `${prefix}${r.pattern}`, true);
  };

  const toCompiled = (rules: readonly Rule[], absDir: string): { list: Compiled[]; cleared: boolean } => {
    const lastLocalClear = rules.map((r) => r.type).lastIndexOf('clear');
    const list: Compiled[] = [];
    for (const r of rules.slice(lastLocalClear + 1)) {
      if (r.type === 'pattern' && !r.xattr) list.push(localize(r, absDir));
      // A dir-merge inside a merge file of the same name adds nothing (rsync); another name is not modelled.
      else if (r.type === 'dir-merge' && !mergeNames.has(r.name.slice(r.name.lastIndexOf('/') + 1))) {
        warnings.add(`${absDir}: a per-directory merge file names another one (${r.name}); gsyncd does not follow it`);
      }
    }
    return { list, cleared: lastLocalClear >= 0 };
  };

  const absOf = (dir: string): string => (dir === '' ? root : `${root === '/' ? '' : root}/${dir}`);

  /** What rsync has inherited into the root's list: the parents' files, for a /NAME rule. */
  const parentScan = (rule: DirMergeRule): Compiled[] => {
    if (!rule.name.startsWith('/') || root === '/') return [];
    let inherited: Compiled[] = [];
    const parts = root.split('/').filter((p) => p !== '');
    for (let i = 0; i < parts.length; i++) {
      const absDir = `/${parts.slice(0, i).join('/')}`;
      const rules = fileRules(rule, '', absDir);
      if (rules === undefined) continue;
      const local = toCompiled(rules, absDir);
      inherited = rule.template.noInherit ? [] : local.cleared ? local.list : [...local.list, ...inherited];
    }
    return inherited;
  };

  // The list in force in each directory, per merge rule: its own file's rules, then the inherited.
  const lists = new Map<string, Map<number, { readonly own: readonly Compiled[]; readonly all: readonly Compiled[] }>>();
  const mergeList = (step: Extract<Step, { kind: 'merge' }>, dir: string): { readonly own: readonly Compiled[]; readonly all: readonly Compiled[] } => {
    let perDir = lists.get(dir);
    if (!perDir) {
      perDir = new Map();
      lists.set(dir, perDir);
    }
    const cached = perDir.get(step.index);
    if (cached) return cached;
    const inherited = step.rule.template.noInherit ? [] : dir === '' ? parentScan(step.rule) : mergeList(step, parentOf(dir)).all;
    const rules = fileRules(step.rule, dir, absOf(dir));
    const local = rules === undefined ? { list: [], cleared: false } : toCompiled(rules, absOf(dir));
    // A "!" in a directory's file clears what that merge file's list inherited.
    const entry = { own: local.list, all: local.cleared ? local.list : [...local.list, ...inherited] };
    perDir.set(step.index, entry);
    return entry;
  };

  /** The first rule in force in `dir` that decides for `path`: true to send, false not, undefined no rule. */
  const decide = (dir: string, path: string, isDir: boolean): boolean | undefined => {
    for (const step of steps) {
      const candidates = step.kind === 'rule' ? [step.c] : mergeList(step, dir).all;
      for (const c of candidates) {
        // Receiver-side rules protect or risk slave files; they do not decide what is sent.
        if (c.rule.side === 'receiver') continue;
        if (c.test.matches(path, isDir)) return c.rule.include;
      }
    }
    return undefined;
  };

  const hasRules = steps.length > 0;
  const verdict = (path: string, isDir: boolean): Verdict => {
    if (!hasRules || path === '') return 'include';
    // Down from the root: every directory on the way must be sent for the path to be.
    const parts = path.split('/');
    for (let i = 0; i < parts.length; i++) {
      const sub = parts.slice(0, i + 1).join('/');
      const last = i === parts.length - 1;
      if (decide(parentOf(sub), sub, last ? isDir : true) === false) return 'exclude';
    }
    return 'include';
  };

  // Only wildcard-free sender excludes that match files and directories alike, and only
  // without include rules or merge files that could bring something back: a watcher's ignore
  // list cannot tell a directory `cache/` from a file named `cache`, and must not drop the file.
  const simple = steps.every((s) => s.kind === 'rule' && (s.c.rule.side === 'receiver' || !s.c.rule.include));
  const ignoredDirNames = simple
    ? steps.flatMap((s) => {
        if (s.kind !== 'rule') return [];
        const r = s.c.rule;
        const plain = !/[*?[\\]/.test(r.pattern) && !r.pattern.endsWith('/') && r.pattern !== '/';
        return r.side !== 'receiver' && plain && !r.negate && !r.absolute ? [r.pattern] : [];
      })
    : [];

  return {
    verdict,
    verdictUntyped(path: string): UntypedVerdict {
      const asDir = verdict(path, true);
      const asFile = verdict(path, false);
      return asDir === asFile ? asDir : 'depends-on-type';
    },
    ignoredDirNames,
    empty: !hasRules,
    problems,
    mergeFileNames: mergeNames,
    takeWarnings(): string[] {
      const out = [...warnings].filter((w) => !reported.has(w));
      for (const w of out) reported.add(w);
      return out;
    },
    invalidate(dir: string): void {
      for (const key of [...lists.keys()]) if (dir === '' || key === dir || key.startsWith(`${dir}/`)) lists.delete(key);
    },
    hasDirMerge: mergeNames.size > 0,
    deleteFilters(dir: string): readonly string[] {
      const receiver = (c: Compiled): string[] => (c.receiverText === undefined ? [] : [c.receiverText]);
      return rendered.flatMap((item) => ('kind' in item ? mergeList(item, dir).all.flatMap(receiver) : receiver(item)));
    },
    batchFilters(dir: string | undefined, withMerges = true): readonly string[] {
      return rendered.flatMap((item) => {
        if (!('kind' in item)) return dir === undefined ? (item.receiverText === undefined ? [] : [item.receiverText]) : [item.text];
        if (dir === undefined || !withMerges) return [];
        if (item.rule.template.noInherit) return [mergeText(item.rule)];
        // What rsync reads itself, in `dir` and below, comes first; then what it no longer sees.
        const inherited = dir === '' ? parentScan(item.rule) : mergeList(item, parentOf(dir)).all;
        return [mergeText(item.rule), ...inherited.map((c) => c.text)];
      });
    },
  };
}
