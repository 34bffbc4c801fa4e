/**
 * rsync wildcard patterns → RegExp source, as rsync's wildmatch reads them (without the
 * slash rules, which the matcher applies). Pure.
 *
 * `*` matches within one path component, `**` across components, `?` one non-slash
 * character, `[...]` a class (`[!...]` and `[^...]` negate, `[:digit:]` and the other POSIX
 * names inside), `\x` a literal x. A pattern with none of `*?[` is a plain string, its
 * backslashes included, as in rsync.
 */

const NEVER = '(?!)';

const escapeChar = (c: string): string => (/[\\^$.|+(){}[\]*?]/.test(c) ? `\\${c}` : c);

export const hasWildcards = (pattern: string): boolean => /[*?[]/.test(pattern);

/** Returns the RegExp source, or a source that never matches where wildmatch aborts. */
export function globToRegexSource(glob: string): string {
  if (!hasWildcards(glob)) return glob.replace(/[\\^$.|+(){}[\]*?]/g, '\\$&');
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeChar(glob[++i] ?? '');
    } else if (c === '*') {
      if (glob[i + 1] === '*') {
        while (glob[i + 1] === '*') i++;
        out += '.*';
      } else out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const cls = parseClass(glob, i);
      // An unclosed class or an unknown [:name:] makes wildmatch abort: nothing matches.
      if (cls === undefined) return NEVER;
      out += cls.source;
      i = cls.end;
    } else out += escapeChar(c);
  }
  return out;
}

const POSIX: Readonly<Record<string, string>> = {
  alpha: 'a-zA-Z',
  digit: '0-9',
  alnum: 'a-zA-Z0-9',
  upper: 'A-Z',
  lower: 'a-z',
  space: ' \\t\\n\\r\\f\\v',
  blank: ' \\t',
  xdigit: '0-9a-fA-F',
  punct: '!-\\/:-@\\[-`{-~',
  print: ' -~',
  graph: '!-~',
  cntrl: '\\x00-\\x1f\\x7f',
};

const classChar = (c: string): string => (/[\\\]^[-]/.test(c) ? `\\${c}` : c);

/** The class opened at `start`: its source and the index of its closing `]`. */
function parseClass(glob: string, start: number): { source: string; end: number } | undefined {
  let i = start + 1;
  let negate = false;
  if (glob[i] === '!' || glob[i] === '^') {
    negate = true;
    i++;
  }
  let members = '';
  let first = true;
  for (; i < glob.length; i++, first = false) {
    let c = glob[i] ?? '';
    if (c === ']' && !first) {
      // A class never matches the separator, as in rsync.
      return { source: negate ? `[^/${members}]` : `(?!/)[${members}]`, end: i };
    }
    if (c === '[' && glob[i + 1] === ':') {
      const close = glob.indexOf(':]', i + 2);
      if (close < 0) return undefined;
      const name = glob.slice(i + 2, close);
      const range = POSIX[name];
      if (range === undefined) return undefined;
      members += range;
      i = close + 1;
      continue;
    }
    if (c === '\\') {
      i++;
      if (i >= glob.length) return undefined;
      c = glob[i] ?? '';
    }
    if (glob[i + 1] === '-' && glob[i + 2] !== undefined && glob[i + 2] !== ']') {
      let hi = glob[i + 2] ?? '';
      let skip = 2;
      if (hi === '\\') {
        hi = glob[i + 3] ?? '';
        skip = 3;
      }
      // wildmatch: a reversed range matches only its first character.
      members += hi >= c ? `${classChar(c)}-${classChar(hi)}` : classChar(c);
      i += skip;
      continue;
    }
    members += classChar(c);
  }
  return undefined;
}
