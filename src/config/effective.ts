/**
 * What a session's stored configuration amounts to, tunable by tunable, and where each value
 * comes from (`gsyncd config list|get`). Pure. Flags and GSYNCD_* variables given when the
 * session starts still override these.
 */
import { FILTER_RULES_KEY, decodeFilterArg, isFilterKind } from '../filter/rules.js';
import type { Settings } from './file.js';
import { TUNABLES } from './tunables.js';
import type { Value } from './value.js';

export interface Layer {
  /** Where the values come from, in words: `default`, a file, a section. */
  readonly source: string;
  readonly settings: Settings;
}

export interface Effective {
  readonly name: string;
  /** One item per line for a list, one otherwise. */
  readonly values: readonly string[];
  readonly source: string;
}

const render = (v: Value): string[] => (Array.isArray(v) ? [...(v as readonly string[])] : [String(v)]);

/** Every tunable with a value, lowest layer first in `layers`, the last one holding it wins. */
export function effectiveSettings(layers: readonly Layer[]): Effective[] {
  const out: Effective[] = [];
  for (const t of TUNABLES) {
    if (t.flagOnly) continue;
    if (isFilterKind(t.name)) {
      // Filter rules of all kinds are one ordered list; a layer that has any replaces the rest.
      const layer = [...layers].reverse().find((l) => l.settings[FILTER_RULES_KEY] !== undefined);
      const rules = ((layer?.settings[FILTER_RULES_KEY] ?? []) as readonly string[]).map(decodeFilterArg).filter((r) => r.kind === t.name);
      if (layer && rules.length > 0) out.push({ name: t.name, values: rules.map((r) => r.value), source: layer.source });
      continue;
    }
    let found: Effective | undefined = t.default === undefined ? undefined : { name: t.name, values: render(t.default), source: 'default' };
    for (const l of layers) {
      const v = l.settings[t.name];
      if (v !== undefined) found = { name: t.name, values: render(v), source: l.source };
    }
    if (found) out.push(found);
  }
  return out;
}

/** `option: value  # source` lines: valid config, the source a comment. */
export function renderEffective(list: readonly Effective[]): string {
  const lines = list.flatMap((e) => e.values.map((v) => [`${e.name}: ${v}`, e.source] as const));
  const width = Math.max(0, ...lines.map(([l]) => l.length));
  return lines.map(([l, src]) => `${l.padEnd(width)}  # ${src}\n`).join('');
}
