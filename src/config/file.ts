/**
 * Config files: gsyncd's `option: value` lines and INI's `key = value`, with `[section]`s.
 * Pure: text in, typed settings (or `file:line` problems) out. Values are unquoted and
 * stripped of inline comments by `ini` (quote a value, or escape `\#` `\;`, to keep them).
 */
import ini from 'ini';
import { allNames, findTunable, normaliseName } from './tunables.js';
import { parseValue, type Value } from './value.js';
import { didYouMean } from './suggest.js';
import { ruleSyntaxError } from '../filter/parse.js';
import { FILTER_RULES_KEY, encodeFilterArg, isFilterKind } from '../filter/rules.js';

export type Settings = Record<string, Value>;

export interface ConfigProblem {
  readonly line: number;
  readonly message: string;
}

export interface ConfigFile {
  readonly file: string;
  /** Top level, `[vars]` or `[defaults]`. */
  readonly defaults: Settings;
  readonly sessions: ReadonlyMap<string, Settings>;
  /** `master:` and `slave:` of each `[session NAME]` that names them: what `gsyncd monitor` runs. */
  readonly endpoints: ReadonlyMap<string, SessionEndpoints>;
  /** `[volume NAME]`: a `path` plus tunables for sessions that use it. */
  readonly volumes: ReadonlyMap<string, { readonly path: string | undefined; readonly settings: Settings }>;
  readonly problems: readonly ConfigProblem[];
}

export interface SessionEndpoints {
  master?: string;
  slave?: string;
  /** The line of the section header, for messages. */
  readonly line: number;
}

type Section = { kind: 'defaults' } | { kind: 'session'; name: string } | { kind: 'volume'; name: string };

const SECTION = /^\[\s*([^\]]*?)\s*\]\s*(?:[#;].*)?$/;
export const ENTRY = /^([A-Za-z0-9_.-]+)\s*[:=]\s*(.*)$/;

function parseSection(header: string): Section | string {
  const [kind = '', ...rest] = header.split(/\s+/);
  const name = rest.join(' ');
  const lower = kind.toLowerCase();
  if ((lower === 'vars' || lower === 'defaults') && name === '') return { kind: 'defaults' };
  if ((lower === 'session' || lower === 'volume') && name !== '') return { kind: lower, name };
  return `unknown section [${header}]; expected [vars], [session NAME] or [volume NAME]`;
}

const merge = (into: Settings, key: string, value: Value): void => {
  if (isFilterKind(key) && Array.isArray(value)) {
    // Kept in line order across kinds: rsync's first match wins.
    const rules = (into[FILTER_RULES_KEY] ?? []) as string[];
    into[FILTER_RULES_KEY] = [...rules, ...(value as string[]).map((v) => encodeFilterArg({ kind: key, value: v }))];
    return;
  }
  const prev = into[key];
  into[key] = Array.isArray(prev) && Array.isArray(value) ? [...(prev as string[]), ...(value as string[])] : value;
};

export function parseConfig(text: string, file: string): ConfigFile {
  const defaults: Settings = {};
  const sessions = new Map<string, Settings>();
  const endpoints = new Map<string, SessionEndpoints>();
  const volumes = new Map<string, { path: string | undefined; settings: Settings }>();
  const problems: ConfigProblem[] = [];
  let section: Section = { kind: 'defaults' };
  let target: Settings = defaults;

  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = index + 1;
    const trimmed = rawLine.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) return;

    const header = SECTION.exec(trimmed);
    if (header) {
      const parsed = parseSection(header[1] ?? '');
      if (typeof parsed === 'string') {
        problems.push({ line, message: parsed });
        // Entries below a broken header must not leak into the defaults.
        target = {};
        return;
      }
      section = parsed;
      if (parsed.kind === 'defaults') target = defaults;
      else if (parsed.kind === 'session') {
        target = sessions.get(parsed.name) ?? {};
        sessions.set(parsed.name, target);
        if (!endpoints.has(parsed.name)) endpoints.set(parsed.name, { line });
      } else {
        const vol = volumes.get(parsed.name) ?? { path: undefined, settings: {} };
        volumes.set(parsed.name, vol);
        target = vol.settings;
      }
      return;
    }

    const entry = ENTRY.exec(trimmed);
    if (!entry) {
      problems.push({ line, message: `cannot parse "${trimmed}"; expected "option: value"` });
      return;
    }
    const key = normaliseName(entry[1] ?? '');
    const rawValue = ini.unsafe(entry[2] ?? '');

    if (section.kind === 'volume' && key === 'path') {
      const vol = volumes.get(section.name);
      if (vol) vol.path = rawValue;
      if (rawValue === '') problems.push({ line, message: 'path: expected a directory, got nothing' });
      return;
    }
    if (section.kind === 'session' && (key === 'master' || key === 'slave')) {
      const ends = endpoints.get(section.name);
      if (ends) ends[key] = rawValue;
      if (rawValue === '') problems.push({ line, message: `${key}: expected ${key === 'master' ? 'a directory' : 'a slave (/path, host:/path, ssh://…, host::NAME)'}, got nothing` });
      return;
    }
    const tunable = findTunable(key);
    if (!tunable && (key === 'master' || key === 'slave')) {
      problems.push({ line, message: `${key}: only valid in a [session NAME] section` });
      return;
    }
    if (!tunable) {
      problems.push({ line, message: `${entry[1] ?? key}: unknown option${didYouMean(key, allNames())}` });
      return;
    }
    if (tunable.flagOnly) {
      problems.push({ line, message: `${tunable.name}: only valid on the command line` });
      return;
    }
    const parsed = parseValue(tunable, rawValue);
    if (!parsed.ok) {
      problems.push({ line, message: `${tunable.name}: ${parsed.reason}` });
      return;
    }
    const name = tunable.name;
    if ((name === 'filter' || name === 'exclude' || name === 'include') && Array.isArray(parsed.value)) {
      const bad = (parsed.value as string[]).map((v) => ruleSyntaxError(name, v)).find((e) => e !== undefined);
      if (bad !== undefined) {
        problems.push({ line, message: `${name}: ${bad}` });
        return;
      }
    }
    merge(target, tunable.name, parsed.value);
  });

  return { file, defaults, sessions, endpoints, volumes, problems };
}

export const formatProblem = (file: string, p: ConfigProblem): string => `${file}:${p.line}: ${p.message}`;
