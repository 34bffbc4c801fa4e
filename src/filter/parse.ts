/**
 * Filter rule text → rules, as rsync's parse_rule_tok() and parse_filter_str() read it.
 * Pure: files (merge files, $HOME/.cvsignore) come through `read`, which returns undefined
 * for a file that cannot be read.
 *
 *   RULE[,MODIFIERS] PATTERN   RULE: - + . : H S P R ! or exclude include merge dir-merge
 *                              hide show protect risk clear; one space or `_` before the pattern
 */
import { CVS_DEFAULT_IGNORE } from './cvs.js';

export type Side = 'both' | 'sender' | 'receiver';

/** What a merge rule passes on to the rules it reads (rsync's rule template). */
export interface Template {
  readonly include: boolean;
  /** `-` or `+`: the file holds patterns only, all of that kind. */
  readonly noPrefixes: boolean;
  readonly wordSplit: boolean;
  readonly noInherit: boolean;
  /** `C`: CVS syntax (no prefixes, word split, `!` clears). */
  readonly cvs: boolean;
  readonly absolute: boolean;
  readonly perishable: boolean;
  readonly side: Side;
}

export const PLAIN: Template = { include: false, noPrefixes: false, wordSplit: false, noInherit: false, cvs: false, absolute: false, perishable: false, side: 'both' };

export interface PatternRule {
  readonly type: 'pattern';
  readonly include: boolean;
  readonly side: Side;
  readonly negate: boolean;
  readonly absolute: boolean;
  readonly perishable: boolean;
  /** `x`: an xattr-name rule, never matched against paths. */
  readonly xattr: boolean;
  readonly pattern: string;
}

export interface DirMergeRule {
  readonly type: 'dir-merge';
  /** The file name as given: a leading `/` (or any slash) also scans the master's parents. */
  readonly name: string;
  readonly template: Template;
}

export type Rule = PatternRule | DirMergeRule | { readonly type: 'clear' };

export interface ParseContext {
  read(path: string): string | undefined;
  /** Where a relative merge file name is found (rsync's current directory). */
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** --delete-excluded: rules without a side become sender-side. */
  readonly deleteExcluded: boolean;
  /** How deep merge files may nest before it is taken for a loop. */
  readonly depth?: number;
}

export class FilterSyntaxError extends Error {}

const LONG: Readonly<Record<string, string>> = {
  clear: '!', 'dir-merge': ':', exclude: '-', hide: 'H', include: '+', merge: '.', protect: 'P', risk: 'R', show: 'S',
};

const isSpace = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);

interface Token {
  readonly ch: string;
  readonly include: boolean;
  readonly noPrefixes: boolean;
  readonly wordSplit: boolean;
  readonly noInherit: boolean;
  readonly cvs: boolean;
  readonly absolute: boolean;
  readonly negate: boolean;
  readonly perishable: boolean;
  readonly xattr: boolean;
  readonly excludeSelf: boolean;
  readonly side: Side;
  readonly clear: boolean;
  readonly pattern: string;
}

/** One token of `text` from `start`: the rule and where the next one begins (word-split), or undefined at the end. */
function nextToken(text: string, start: number, t: Template, oldPrefixes: boolean): { token: Token; next: number } | undefined {
  let i = start;
  if (t.wordSplit) while (isSpace(text[i])) i++;
  if (i >= text.length) return undefined;
  const ruleStart = i;
  const whole = text.slice(ruleStart);
  let include = t.include;
  let ch = '';
  let clear = false;
  let noPrefixes = t.noPrefixes;
  let wordSplit = false;
  let noInherit = false;
  let cvs = false;
  let absolute = t.absolute;
  let negate = false;
  let perishable = t.perishable;
  let xattr = false;
  let excludeSelf = false;
  let sides: Side | undefined;

  if (t.noPrefixes) {
    // A pattern file of one kind: only CVS syntax knows "!".
    if (text[i] === '!' && t.cvs) clear = true;
  } else if (oldPrefixes) {
    if ((text[i] === '-' || text[i] === '+') && text[i + 1] === ' ') {
      include = text[i] === '+';
      i += 2;
    } else if (text[i] === '!') clear = true;
  } else {
    // `i` ends where rsync's pointer does: on the last letter of a long name or the comma
    // after it, on a short rule letter or the comma after it.
    const word = /^[a-z-]+/.exec(whole)?.[0] ?? '';
    const longCh = Object.hasOwn(LONG, word) ? LONG[word] : undefined;
    const after = text[i + word.length];
    if (longCh !== undefined && (after === undefined || isSpace(after) || after === '_' || after === ',')) {
      ch = longCh;
      i += after === ',' ? word.length : word.length - 1;
    } else {
      ch = text[i] ?? '';
      if (text[i + 1] === ',') i++;
    }
    let sideFromPrefix = false;
    switch (ch) {
      case ':':
      case '.':
        break;
      case '+':
        include = true;
        break;
      case '-':
        include = false;
        break;
      case 'S':
      case 'H':
        include = ch === 'S';
        sides = 'sender';
        sideFromPrefix = true;
        break;
      case 'R':
      case 'P':
        include = ch === 'R';
        sides = 'receiver';
        sideFromPrefix = true;
        break;
      case '!':
        clear = true;
        break;
      default:
        throw new FilterSyntaxError(`unknown filter rule "${whole}"`);
    }
    const merge = ch === '.' || ch === ':';
    // Modifiers follow the rule letter until a space or "_" (or, word-splitting, whitespace).
    while (ch !== '!') {
      i++;
      const m = text[i];
      if (m === undefined || m === ' ' || m === '_') break;
      if (t.wordSplit && isSpace(m)) {
        i--;
        break;
      }
      const invalid = (): FilterSyntaxError => new FilterSyntaxError(`invalid modifier "${m}" at position ${i - ruleStart} in filter rule "${whole}"`);
      switch (m) {
        case '-':
        case '+':
          if (!merge || noPrefixes) throw invalid();
          noPrefixes = true;
          include = m === '+';
          break;
        case '/':
          absolute = true;
          break;
        case '!':
          if (merge) throw invalid();
          negate = true;
          break;
        case 'C':
          if (noPrefixes || sideFromPrefix) throw invalid();
          noPrefixes = true;
          wordSplit = true;
          noInherit = true;
          cvs = true;
          break;
        case 'e':
          if (!merge) throw invalid();
          excludeSelf = true;
          break;
        case 'n':
          if (!merge) throw invalid();
          noInherit = true;
          break;
        case 'p':
          perishable = true;
          break;
        case 'r':
        case 's':
          if (sideFromPrefix) throw invalid();
          sides = sides === undefined || sides === (m === 's' ? 'sender' : 'receiver') ? (m === 's' ? 'sender' : 'receiver') : 'both';
          break;
        case 'w':
          if (!merge) throw invalid();
          wordSplit = true;
          break;
        case 'x':
          xattr = true;
          break;
        default:
          throw invalid();
      }
    }
    // Past the separator (or the "!").
    if (i < text.length) i++;
  }
  if (t.side !== 'both') {
    if (sides !== undefined) throw new FilterSyntaxError(`specified-side merge file contains specified-side filter "${whole}"`);
    sides = t.side;
  }
  let end: number;
  if (t.wordSplit) {
    end = i;
    while (end < text.length && !isSpace(text[end])) end++;
  } else end = text.length;
  const pattern = text.slice(i, end);
  if (clear) {
    if (!noPrefixes && !oldPrefixes && pattern.length > 0) throw new FilterSyntaxError(`"!" rule has trailing characters: "${whole}"`);
    // "!foo" in an old-style list is the pattern "!foo".
    if (pattern.length > 1) clear = false;
  } else if (pattern === '' && !cvs) {
    throw new FilterSyntaxError(`unexpected end of filter rule "${whole}"`);
  }
  const token: Token = {
    ch, include, noPrefixes, wordSplit, noInherit, cvs, absolute, negate, perishable, xattr, excludeSelf, clear, pattern,
    side: sides ?? 'both',
  };
  return { token, next: end };
}

/** The CVS list of -C (rsync's get_cvs_excludes): built-in, ~/.cvsignore, $CVSIGNORE. */
function cvsRules(ctx: ParseContext, t: Template): Rule[] {
  const words = (text: string | undefined): string[] => (text ?? '').split(/\s+/).filter((w) => w !== '');
  const base = { type: 'pattern' as const, include: false, side: t.side, negate: false, absolute: t.absolute, xattr: false };
  const home = ctx.env['HOME'];
  return [
    ...words(CVS_DEFAULT_IGNORE).map((pattern) => ({ ...base, perishable: true, pattern })),
    ...words(home === undefined ? undefined : ctx.read(`${home.replace(/\/$/, '')}/.cvsignore`)).map((pattern) => ({ ...base, perishable: t.perishable, pattern })),
    ...words(ctx.env['CVSIGNORE']).map((pattern) => ({ ...base, perishable: t.perishable, pattern })),
  ];
}

const templateOf = (k: Token): Template => ({
  include: k.include,
  noPrefixes: k.noPrefixes,
  wordSplit: k.wordSplit,
  noInherit: k.noInherit,
  cvs: k.cvs,
  absolute: k.absolute,
  perishable: k.perishable,
  side: k.side,
});

const resolve = (cwd: string, name: string): string => (name.startsWith('/') ? name : `${cwd.replace(/\/$/, '')}/${name}`);

/**
 * One rule string (a --filter value, a line of a merge file) → rules. `oldPrefixes` is the
 * --exclude/--include form, where only "- " and "+ " prefixes and a lone "!" are special.
 */
export function parseRuleText(text: string, t: Template, ctx: ParseContext, oldPrefixes = false): Rule[] {
  const out: Rule[] = [];
  for (let pos = 0; ; ) {
    const got = nextToken(text, pos, t, oldPrefixes);
    if (!got) break;
    pos = got.next;
    const k = got.token;
    if (k.clear) {
      out.push({ type: 'clear' });
      continue;
    }
    if (k.ch === '.' || k.ch === ':') {
      const name = k.pattern === '' ? '.cvsignore' : k.pattern;
      if (k.excludeSelf) {
        const base = name.slice(name.lastIndexOf('/') + 1);
        out.push({ type: 'pattern', include: false, side: 'both', negate: false, absolute: false, perishable: false, xattr: false, pattern: base });
      }
      if (k.ch === ':') {
        out.push({ type: 'dir-merge', name, template: templateOf(k) });
        continue;
      }
      if (name === '-') throw new FilterSyntaxError('merge from standard input ("merge -") cannot be used: gsyncd runs rsync many times');
      const depth = ctx.depth ?? 0;
      if (depth > 20) throw new FilterSyntaxError(`merge file ${name}: merge files nest too deep (a loop?)`);
      const file = resolve(ctx.cwd, name);
      const content = ctx.read(file);
      if (content === undefined) throw new FilterSyntaxError(`merge file ${file} cannot be read`);
      out.push(...parseRuleFile(content, templateOf(k), { ...ctx, depth: depth + 1 }));
      continue;
    }
    if (k.cvs && k.pattern === '') {
      // "-C": the CVS list, in place.
      out.push(...cvsRules(ctx, { ...templateOf(k), side: k.side }));
      continue;
    }
    const side: Side = k.side === 'both' && ctx.deleteExcluded ? 'sender' : k.side;
    out.push({ type: 'pattern', include: k.include, side, negate: k.negate, absolute: k.absolute, perishable: k.perishable, xattr: k.xattr, pattern: k.pattern });
  }
  return out;
}

/** A merge file's content: lines (or words), skipping empty ones and, by line, # and ; comments. */
export function parseRuleFile(content: string, t: Template, ctx: ParseContext, oldPrefixes = false): Rule[] {
  const items = t.wordSplit ? content.split(/\s+/) : content.split(/\r\n|\r|\n/);
  const out: Rule[] = [];
  for (const item of items) {
    if (item === '' || (!t.wordSplit && (item.startsWith('#') || item.startsWith(';')))) continue;
    out.push(...parseRuleText(item, t, ctx, oldPrefixes));
  }
  return out;
}

/**
 * Whether one rule as a config file or the command line gives it (`--filter`, `--exclude`,
 * `--include`) parses: the syntax error, or undefined. Checked where the rule is read, so a
 * config file's error names its file:line; merge files are read later, not here.
 */
export function ruleSyntaxError(kind: 'filter' | 'exclude' | 'include', value: string): string | undefined {
  const ctx: ParseContext = { read: () => '', cwd: '/', env: {}, deleteExcluded: false };
  try {
    if (kind === 'filter') parseRuleText(value, PLAIN, ctx);
    else parseRuleText(value, { ...PLAIN, include: kind === 'include' }, ctx, true);
    return undefined;
  } catch (e) {
    if (e instanceof FilterSyntaxError) return e.message;
    throw e;
  }
}
