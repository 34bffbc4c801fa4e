/** rsync wildcard patterns → RegExp source (rsync's wildmatch, without the slash rules). Pure. */

const SPECIAL = /[\\^$.|+(){}]/;

/**
 * `*` matches within one path component, `**` across components, `?` one non-slash
 * character, `[...]` a class (`[!...]` and `[^...]` negate), `\x` a literal x.
 */
export function globToRegexSource(glob: string): string {
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
      const end = classEnd(glob, i);
      if (end < 0) out += '\\[';
      else {
        out += classSource(glob.slice(i + 1, end));
        i = end;
      }
    } else out += escapeChar(c);
  }
  return out;
}

const escapeChar = (c: string): string => (SPECIAL.test(c) || c === '[' || c === ']' || c === '*' || c === '?' ? `\\${c}` : c);

/** Index of the `]` closing the class opened at `start`, or -1 when it is not a class. */
function classEnd(glob: string, start: number): number {
  let i = start + 1;
  if (glob[i] === '!' || glob[i] === '^') i++;
  if (glob[i] === ']') i++; // a leading ] is a literal member
  for (; i < glob.length; i++) {
    if (glob[i] === '\\') i++;
    else if (glob[i] === ']') return i;
  }
  return -1;
}

function classSource(body: string): string {
  let negate = false;
  let rest = body;
  if (rest.startsWith('!') || rest.startsWith('^')) {
    negate = true;
    rest = rest.slice(1);
  }
  let members = '';
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i] ?? '';
    if (c === '\\' && i + 1 < rest.length) members += `\\${rest[++i] ?? ''}`;
    else if (c === '[' && rest[i + 1] === ':') {
      const close = rest.indexOf(':]', i + 2);
      if (close < 0) members += '\\[';
      else {
        members += posixClass(rest.slice(i + 2, close));
        i = close + 1;
      }
    } else if (c === ']' || c === '\\' || c === '^' || c === '[') members += `\\${c}`;
    else members += c;
  }
  // A class never matches the separator, as in rsync.
  return negate ? `[^/${members}]` : `(?!/)[${members}]`;
}

function posixClass(name: string): string {
  switch (name) {
    case 'alpha': return 'a-zA-Z';
    case 'digit': return '0-9';
    case 'alnum': return 'a-zA-Z0-9';
    case 'upper': return 'A-Z';
    case 'lower': return 'a-z';
    case 'space': return ' \\t\\n\\r\\f\\v';
    case 'xdigit': return '0-9a-fA-F';
    case 'punct': return '!-\\/:-@\\[-`{-~';
    default: return '';
  }
}
