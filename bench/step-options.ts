// The command line of a bench made of steps run against a few daemons (churn-npm, rename):
// where it works, which daemons, how long a step may take, what to keep and echo.
import { parseArgs } from 'node:util';

export interface StepOptions<N extends string> {
  readonly work: string;
  readonly only: readonly N[];
  readonly timeoutMs: number;
  readonly keep: boolean;
  readonly verbose: boolean;
  /** The bench's own boolean flags, by name. */
  readonly flags: ReadonlySet<string>;
}

export function parseStepOptions<N extends string>(
  argv: readonly string[],
  names: readonly N[],
  o: { readonly only: string; readonly timeoutS: number; readonly flags?: readonly string[] },
): StepOptions<N> | 'help' {
  const own = Object.fromEntries((o.flags ?? []).map((f) => [f, { type: 'boolean' as const }]));
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      work: { type: 'string' },
      only: { type: 'string' },
      timeout: { type: 'string' },
      keep: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      ...own,
    },
  });
  if (values.help === true) return 'help';
  const only = (values.only ?? o.only).split(',').map((s): N => {
    const name = names.find((n) => n === s.trim());
    if (name === undefined) throw new Error(`--only: unknown "${s}", expected some of ${names.join(', ')}`);
    return name;
  });
  const timeout = Number(values.timeout ?? o.timeoutS);
  if (!(timeout > 0)) throw new Error(`--timeout: expected a positive number of seconds, got "${values.timeout ?? ''}"`);
  const v = values as Record<string, string | boolean | undefined>;
  return {
    work: values.work ?? '/dev/shm',
    only: [...new Set(only)],
    timeoutMs: timeout * 1000,
    keep: values.keep ?? false,
    verbose: values.verbose ?? false,
    flags: new Set((o.flags ?? []).filter((f) => v[f] === true)),
  };
}
