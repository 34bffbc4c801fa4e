/**
 * Filter arguments as the user gave them, in order: rsync's first-match-wins depends on
 * the order of --exclude/--include/--filter across kinds, so they travel as one list.
 */

export const FILTER_KINDS = ['exclude', 'include', 'exclude-from', 'include-from', 'filter'] as const;
export type FilterKind = (typeof FILTER_KINDS)[number];

export interface FilterArg {
  readonly kind: FilterKind;
  readonly value: string;
}

export const isFilterKind = (name: string): name is FilterKind => (FILTER_KINDS as readonly string[]).includes(name);

/** The settings key that holds the ordered list, each item `kind=value`. */
export const FILTER_RULES_KEY = 'filter-rules';

export const encodeFilterArg = (a: FilterArg): string => `${a.kind}=${a.value}`;

export function decodeFilterArg(item: string): FilterArg {
  const eq = item.indexOf('=');
  const kind = item.slice(0, eq);
  if (eq < 0 || !isFilterKind(kind)) throw new Error(`bad filter item ${item}`);
  return { kind, value: item.slice(eq + 1) };
}

/** The same rules, for rsync, unchanged. */
export const filterRsyncArgs = (args: readonly FilterArg[]): string[] => args.map((a) => `--${a.kind}=${a.value}`);
