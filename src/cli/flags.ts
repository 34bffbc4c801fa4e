/**
 * The tunables table → commander options, and commander's answers → a settings layer.
 * Values are validated here so a bad flag is reported with its own name.
 */
import { Command, Option } from 'commander';
import { TUNABLES, findTunable, type Tunable } from '../config/tunables.js';
import { parseValue } from '../config/value.js';
import type { Settings } from '../config/file.js';
import { FILTER_RULES_KEY, encodeFilterArg, isFilterKind } from '../filter/rules.js';
import { usageError } from '../errors.js';

const camel = (name: string): string => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

const takesValue = (t: Tunable | undefined): boolean => t !== undefined && t.type !== 'boolean';
const VALUE_SHORTS = new Set(TUNABLES.filter((t) => t.short !== undefined && takesValue(t)).map((t) => t.short));

/**
 * `--sync_jobs` is `--sync-jobs`, as in config files. Only option names are rewritten:
 * never an option's value (`--exclude --tmp_file`) nor an operand.
 */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  let operands = false;
  let valueNext = false;
  let fCount = 0;
  for (const a of argv) {
    if (operands || valueNext) {
      out.push(a);
      valueNext = false;
      continue;
    }
    if (a === '--') {
      operands = true;
      out.push(a);
    } else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = (eq < 0 ? a : a.slice(0, eq)).replace(/_/g, '-');
      const t = findTunable(name.slice(2));
      out.push(t ? name + (eq < 0 ? '' : a.slice(eq)) : a);
      valueNext = eq < 0 && takesValue(t);
    } else if (/^-[A-Za-z]+$/.test(a)) {
      // rsync's -F: the first is --filter=': /.rsync-filter', a second --filter='- .rsync-filter'.
      // It becomes that rule where it stands, keeping its place among the other filter rules.
      const letters = cutF(a.slice(1));
      // The rules first: the cluster may end with a flag whose value is the next word.
      for (let i = 0; i < letters.fs; i++) out.push(fCount++ === 0 ? '--filter=: /.rsync-filter' : '--filter=- .rsync-filter');
      // rsync's -P is --partial --progress: two tunables, no letter of its own.
      if (letters.ps > 0) out.push('--partial', '--progress');
      if (letters.rest !== '') out.push(`-${letters.rest}`);
      // A cluster of short flags takes the next word as a value when its last flag does (-ae CMD).
      valueNext = letters.rest !== '' && VALUE_SHORTS.has(letters.rest.slice(-1));
    } else {
      out.push(a);
    }
  }
  return out;
}

/**
 * The F and P letters of a short-flag cluster, up to the first flag that takes a value (what follows
 * it is that value: `-fF` is the rule "F").
 */
function cutF(letters: string): { rest: string; fs: number; ps: number } {
  let rest = '';
  let fs = 0;
  let ps = 0;
  for (let i = 0; i < letters.length; i++) {
    const c = letters[i] ?? '';
    if (VALUE_SHORTS.has(c)) return { rest: rest + letters.slice(i), fs, ps };
    if (c === 'F') fs++;
    else if (c === 'P') ps++;
    else rest += c;
  }
  return { rest, fs, ps };
}

/** Filter flags keep their relative order: rsync's first match wins. */
export interface FilterCollector {
  readonly items: string[];
}

function optionFor(t: Tunable, filters: FilterCollector, name = t.name, hidden = false): Option {
  const short = name === t.name && t.short ? `-${t.short}, ` : '';
  const flags = t.type === 'boolean' ? `${short}--${name}` : `${short}--${name} <${t.arg ?? 'VALUE'}>`;
  const opt = new Option(flags, t.help);
  if (hidden) opt.hideHelp();
  if (isFilterKind(t.name)) {
    const kind = t.name;
    opt.argParser((value: string, previous: unknown) => {
      filters.items.push(encodeFilterArg({ kind, value }));
      return [...((previous as string[] | undefined) ?? []), value];
    });
  }
  return opt;
}

/** Adds every tunable (and its aliases, hidden) to a command. */
export function addTunableOptions(cmd: Command, filters: FilterCollector, skip: readonly string[] = []): void {
  for (const t of TUNABLES) {
    if (skip.includes(t.name)) continue;
    cmd.addOption(optionFor(t, filters));
    for (const alias of t.aliases ?? []) cmd.addOption(optionFor(t, filters, alias, true));
  }
}

/** The command line's layer: only what was given. */
export function flagSettings(opts: Record<string, unknown>, filters: FilterCollector): Settings {
  const out: Settings = {};
  for (const [key, raw] of Object.entries(opts)) {
    if (raw === undefined) continue;
    const dashed = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const t = findTunable(dashed);
    if (!t || t.flagOnly || isFilterKind(t.name)) continue;
    if (t.type === 'boolean') {
      out[t.name] = raw === true;
      continue;
    }
    const parsed = parseValue(t, typeof raw === 'string' ? raw : JSON.stringify(raw));
    if (!parsed.ok) throw usageError(`--${dashed}: ${parsed.reason}`);
    out[t.name] = parsed.value;
  }
  if (filters.items.length > 0) out[FILTER_RULES_KEY] = [...filters.items];
  return out;
}

export const optionKey = (name: string): string => camel(name);
