/**
 * What a restricted slave lets rsync do: receive, with the options gsyncd's own transfers
 * use, into an allowed root. Modelled on rsync's rrsync, stricter where rrsync is lenient:
 * no sender, no -s (its arguments would arrive later, unchecked), no option that names a
 * path outside the root (--log-file, --files-from …; --temp-dir and --backup-dir only relative
 * and without `..`, as rrsync checks them). -K passes here, and is refused where the slave's
 * roots are limited (rsync-request.ts): rsync would follow links on the slave, which the master
 * may have made, out of the root. The rsync flags gsyncd passes on (config/rsync-flags.ts) arrive in the
 * forms the client gives the server: -u -S -W -O -J -U -b in the cluster, the rest long. Pure.
 */

/** Short options of a receiving server that gsyncd's transfers produce. */
const SHORT_NOT_ALLOWED = /[^logDtprRHAXczInvqduSWOJUbK]/;
const LONG_ALLOWED = new Set([
  '--delete', '--delete-missing-args', '--force', '--partial', '--numeric-ids', '--mkpath', '--stats', '--ignore-times', '--no-r',
  '--delete-excluded', '--delete-before', '--delete-during', '--delete-delay', '--delete-after', '--delay-updates',
  '--inplace', '--append', '--size-only', '--copy-unsafe-links', '--safe-links', '--super', '--existing', '--ignore-existing',
]);
const MAPPING = /^[\w.*:,-]+$/;
const LONG_WITH_VALUE: ReadonlyMap<string, RegExp> = new Map([
  ['--max-delete', /^\d+$/],
  ['--timeout', /^\d+$/],
  ['--bwlimit', /^\d+(\.\d+)?[bBkKmMgG]?$/],
  // rsync passes it on when the client asks for --out-format with %i (gsyncd's sent-paths), X for -P.
  ['--log-format', /^(%i|X)$/],
  ['--modify-window', /^-?\d+$/],
  ['--compress-level', /^-?\d+$/],
  ['--max-size', /^\d+$/],
  ['--min-size', /^\d+$/],
  ['--usermap', MAPPING],
  ['--groupmap', MAPPING],
  ['--suffix', /^[\w.~+-]*$/],
  // The remote half of --iconv=LOCAL,REMOTE: a charset name.
  ['--iconv', /^[A-Za-z0-9._:+-]+$/],
]);
/** Options whose value, the next word, is a path the server resolves against the destination. */
const LONG_WITH_PATH = new Set(['--temp-dir', '--backup-dir']);

/** A path inside the destination: relative, no `..`, none of the characters a destination may not hold. */
const insidePath = (p: string): boolean => p !== '' && !p.startsWith('/') && !p.split('/').includes('..') && !DEST_FORBIDDEN.test(p);

/** Characters a destination may not hold: shell syntax, quotes, globbing, control characters. */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const DEST_FORBIDDEN = /[`$;|&<>'"\\*?[\]\n\r\t\x00-\x1f\x7f]/;

export type RsyncCheck =
  | {
      readonly ok: true;
      readonly options: readonly string[];
      readonly dest: string;
      /** The options that name a path (--temp-dir, --backup-dir) and their values, for the caller to place. */
      readonly paths: readonly (readonly [string, string])[];
      /** -K: the receiver writes through the slave's symlinks to directories. */
      readonly keepDirlinks: boolean;
      /** --iconv: the receiver converts the names it is sent into a charset the master chose. */
      readonly convertsNames: boolean;
    }
  | { readonly ok: false; readonly reason: string };

const refuse = (reason: string): RsyncCheck => ({ ok: false, reason });

/** `words` is the whole requested command, already split: `rsync --server … . DEST`. */
export function checkRsyncServer(words: readonly string[]): RsyncCheck {
  if (words[1] !== '--server') return refuse('only "rsync --server" may run');
  const rest = words.slice(2);
  const options: string[] = [];
  const pathOptions: [string, string][] = [];
  let keepDirlinks = false;
  let i = 0;
  for (; i < rest.length; i++) {
    const w = rest[i] ?? '';
    if (w === '.' || w === '--' || !w.startsWith('-')) break;
    if (w === '--sender') return refuse('reading from the slave (rsync --sender) is not allowed');
    if (w === '-s' || w === '--secluded-args' || w === '--protect-args') {
      return refuse(`rsync ${w} is not allowed: its arguments would arrive unchecked`);
    }
    if (LONG_WITH_PATH.has(w)) {
      const value = rest[i + 1] ?? '';
      if (!insidePath(value)) return refuse(`rsync ${w} ${JSON.stringify(value)} is not allowed: give a path relative to the slave root, without ..`);
      options.push(w, value);
      pathOptions.push([w, value]);
      i++;
      continue;
    }
    if (w.startsWith('--')) {
      const eq = w.indexOf('=');
      const name = eq < 0 ? w : w.slice(0, eq);
      const valueRule = LONG_WITH_VALUE.get(name);
      if (eq < 0 && LONG_ALLOWED.has(name)) options.push(w);
      else if (eq >= 0 && valueRule?.test(w.slice(eq + 1))) options.push(w);
      else return refuse(`rsync option ${w} is not allowed`);
      continue;
    }
    const cluster = /^-([A-Za-z]*?)(e[.A-Za-z]*)?$/.exec(w);
    if (!cluster) return refuse(`rsync argument ${JSON.stringify(w)} is not allowed`);
    const letters = cluster[1] ?? '';
    if (letters.includes('s')) return refuse('rsync -s (--secluded-args) is not allowed: its arguments would arrive unchecked');
    const bad = SHORT_NOT_ALLOWED.exec(letters);
    if (bad) return refuse(`rsync option -${bad[0]} is not allowed`);
    if (letters.includes('K')) keepDirlinks = true;
    options.push(w);
  }
  if (rest[i] === '--') i++;
  const paths = rest.slice(i);
  if (paths.length !== 2 || paths[0] !== '.') return refuse('rsync must be given exactly ". DEST"');
  const dest = paths[1] ?? '';
  if (dest === '' || DEST_FORBIDDEN.test(dest)) return refuse(`destination ${JSON.stringify(dest)} holds characters that are not allowed`);
  const convertsNames = options.some((o) => o.startsWith('--iconv='));
  return { ok: true, options, dest, paths: pathOptions, keepDirlinks, convertsNames };
}
