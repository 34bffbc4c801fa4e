/**
 * A session's own config file (`STATE/NAME/gsyncd.conf`), which `gsyncd config set|reset`
 * edits, as gluster keeps one per geo-replication session. Pure: text in, text out; the
 * user's comments and other lines stay as they were.
 */
import { ENTRY } from './file.js';
import { findTunable, type Tunable } from './tunables.js';

export const SESSION_CONFIG = 'gsyncd.conf';

/** Escapes what the reader would take for a comment or quoting (`ini`'s rules). */
export function encodeValue(value: string): string {
  const escaped = value.replace(/\\/g, '\\\\').replace(/([#;])/g, '\\$1');
  // Quotes or spaces at the ends would be taken off by the reader: quote the whole.
  return /^\s|\s$|^["']/.test(escaped) ? JSON.stringify(value) : escaped;
}

const isLineOf = (line: string, t: Tunable): boolean => {
  const m = ENTRY.exec(line.trim());
  return m !== null && findTunable(m[1] ?? '')?.name === t.name;
};

/** Sets `t` to `values` (one line each, for a list), where it was, else at the end. */
export function setOption(text: string, t: Tunable, values: readonly string[]): string {
  const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => isLineOf(l, t));
  const kept = lines.filter((l) => !isLineOf(l, t));
  const added = values.map((v) => `${t.name}: ${encodeValue(v)}`);
  const index = at === -1 ? kept.length : at;
  return `${[...kept.slice(0, index), ...added, ...kept.slice(index)].join('\n')}\n`;
}

/** Removes every line of `t`: the session inherits it again. */
export function resetOption(text: string, t: Tunable): string {
  const kept = (text === '' ? [] : text.replace(/\n$/, '').split('\n')).filter((l) => !isLineOf(l, t));
  return kept.length === 0 ? '' : `${kept.join('\n')}\n`;
}

/** Tunables a stored session config cannot hold: they say where that config is, or which session it is. */
export const NOT_PER_SESSION = new Set(['config-file', 'session', 'state-dir']);
