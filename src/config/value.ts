/** Text → typed tunable value, with the reason in words when it does not fit. Pure. */
import type { Tunable } from './tunables.js';

export type Value = boolean | number | string | readonly string[];
export type Parsed = { readonly ok: true; readonly value: Value } | { readonly ok: false; readonly reason: string };

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

const range = (t: Tunable): string => {
  if (t.min !== undefined && t.max !== undefined) return ` from ${t.min} to ${t.max}`;
  if (t.min !== undefined) return ` of at least ${t.min}`;
  return '';
};

const fail = (reason: string): Parsed => ({ ok: false, reason });

export function parseValue(t: Tunable, raw: string): Parsed {
  const text = raw.trim();
  switch (t.type) {
    case 'boolean': {
      const lower = text.toLowerCase();
      if (TRUE.has(lower)) return { ok: true, value: true };
      if (FALSE.has(lower)) return { ok: true, value: false };
      return fail(`expected true or false, got "${raw}"`);
    }
    case 'integer': {
      const n = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || (t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) {
        return fail(`expected an integer${range(t)}, got "${raw}"`);
      }
      return { ok: true, value: n };
    }
    case 'number': {
      const n = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(text) ? Number(text) : NaN;
      if (!Number.isFinite(n) || (t.min !== undefined && n < t.min) || (t.max !== undefined && n > t.max)) {
        return fail(`expected a number${range(t)}, got "${raw}"`);
      }
      return { ok: true, value: n };
    }
    case 'choice': {
      const choices = t.choices ?? [];
      const hit = choices.find((c) => c.toLowerCase() === text.toLowerCase());
      // gsyncd's own configs say WARN; accept it for WARNING.
      const alias = t.name === 'log-level' && text.toUpperCase() === 'WARN' ? 'WARNING' : undefined;
      const value = hit ?? alias;
      if (value === undefined) return fail(`expected one of ${choices.join(', ')}, got "${raw}"`);
      return { ok: true, value };
    }
    case 'string':
      if (text === '' && t.default !== '') return fail('expected a value, got nothing');
      if (t.pattern && !t.pattern.re.test(text)) return fail(`expected ${t.pattern.what}, got "${raw}"`);
      return { ok: true, value: text };
    case 'list':
      if (text === '') return fail('expected a value, got nothing');
      return { ok: true, value: [text] };
  }
}
