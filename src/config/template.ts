/** conf/gsyncd_template.conf, rendered from the tunables table so the two never disagree. Pure. */
import { TUNABLES, envName } from './tunables.js';

const shown = (v: boolean | number | string | readonly string[] | undefined): string =>
  v === undefined || typeof v === 'object' ? '' : String(v);

export function renderTemplate(): string {
  const out = [
    '# gsyncd configuration: every tunable with its default, commented out.',
    '#',
    '# Lines are "option: value" (gsyncd style) or "option = value" (INI); "-" and "_" are',
    '# interchangeable in names. Precedence: command-line flag > GSYNCD_* environment variable >',
    '# the [session NAME] section > the top of this file (or [vars]) > built-in default.',
    '# List options (exclude, include, filter, ...) may be given on several lines; their order is kept.',
    '# Quote a value, or escape \\# and \\;, to keep a "#" or ";" in it.',
    '',
  ];
  for (const t of TUNABLES) {
    if (t.flagOnly) continue;
    out.push(`# ${t.help} [${envName(t)}]`);
    out.push(`#${t.name}: ${shown(t.default)}`.trimEnd());
    out.push('');
  }
  out.push('# A session of its own, chosen with --session web (and run by `gsyncd monitor`):');
  out.push('#[session web]');
  out.push('#sync-jobs: 4');
  out.push('#exclude: *.tmp');
  out.push('');
  return out.join('\n');
}
