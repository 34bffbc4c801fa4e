/**
 * What the confirmation after a batch may expect of the slave's copy, given the rsync flags
 * the session runs with (config/rsync-flags.ts): an attribute rsync was told not to keep is
 * not compared, and a difference a flag makes by design (-u keeps a newer slave file,
 * --existing creates nothing, --max-size sends nothing bigger) is no mismatch. Pure.
 */
import type { Options } from '../config/options.js';
import { usesArchive } from '../sync/rsync-argv.js';
import { changedAttributes, describeAttribute, type Attribute, type PathReport, type TreeEntry } from '../verify/entry.js';

export interface ConfirmScope {
  /** Attributes never compared. */
  readonly ignored: ReadonlySet<Attribute>;
  /** Directories' times are not compared (-O). */
  readonly dirTimes: boolean;
  /** Seconds two times may differ by and still match (--modify-window). */
  readonly window: number;
  /** Why the master's entry may differ from the slave's by design, or undefined. */
  readonly allowed: (master: PathReport, slave: PathReport) => boolean;
}

/** rsync's size suffixes: K/KB (1000) and KiB (1024) in 3.x, K alone is 1024. */
export function parseRsyncSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([kmgtp]?)(i?b)?([+-]1)?$/i.exec(text.trim());
  if (!m) return undefined;
  const power = 'bkmgtp'.indexOf((m[2] ?? '').toLowerCase() || 'b');
  const unit = m[3] !== undefined && m[3].toLowerCase() === 'b' ? 1000 : 1024;
  const bytes = Math.floor(Number(m[1]) * unit ** power);
  return bytes + (m[4] === '+1' ? 1 : m[4] === '-1' ? -1 : 0);
}

const isFile = (r: PathReport): r is TreeEntry => r.type === 'file';

export function confirmScope(o: Options): ConfirmScope {
  const flags = o.rsyncFlags;
  const ignored = new Set<Attribute>();
  const archive = usesArchive(flags);
  // Modes are rsync's to set only with -p and no --chmod rule (-E alone keeps only the x bits).
  if (!(archive || flags.has('perms')) || o.rsyncValues.has('chmod')) ignored.add('mode');
  if (!(archive || flags.has('times'))) ignored.add('mtime');
  const max = o.rsyncValues.has('max-size') ? parseRsyncSize(o.rsyncValues.get('max-size') ?? '') : undefined;
  const min = o.rsyncValues.has('min-size') ? parseRsyncSize(o.rsyncValues.get('min-size') ?? '') : undefined;
  const allowed = (m: PathReport, s: PathReport): boolean => {
    // A file rsync was told not to send: the slave keeps whatever it has.
    if (isFile(m) && ((max !== undefined && m.size > max) || (min !== undefined && m.size < min))) return true;
    if (flags.has('existing') && s.type === 'missing') return true;
    if (flags.has('ignore-existing') && s.type !== 'missing') return true;
    if (flags.has('update') && s.type !== 'missing' && m.type !== 'missing' && s.mtimeSec > m.mtimeSec) return true;
    // --append-verify leaves a slave file as long as the master's or longer alone.
    if (flags.has('append-verify') && isFile(m) && isFile(s) && s.size >= m.size) return true;
    // --safe-links skips a link out of the tree; --copy-unsafe-links, -L and -k make one a file or directory.
    if (['safe-links', 'copy-unsafe-links', 'copy-links', 'copy-dirlinks'].some((f) => flags.has(f)) && m.type === 'symlink') return true;
    return false;
  };
  return { ignored, dirTimes: !flags.has('omit-dir-times'), window: Math.max(0, Number(o.rsyncValues.get('modify-window') ?? 0)), allowed };
}

/** Why the slave's copy differs from the master's beyond what the scope allows, or undefined. */
export function differs(master: PathReport, slave: PathReport, scope: ConfirmScope, checksum: boolean): string | undefined {
  if (scope.allowed(master, slave)) return undefined;
  if (master.type === 'missing') return slave.type === 'missing' ? undefined : 'extra on slave';
  if (slave.type === 'missing') return 'missing on slave';
  const changed = changedAttributes(master, slave, checksum).filter((a) => {
    if (scope.ignored.has(a)) return false;
    if (a !== 'mtime') return true;
    if (master.type === 'dir' && !scope.dirTimes) return false;
    return Math.abs(master.mtimeSec - slave.mtimeSec) > scope.window;
  });
  return changed.length === 0 ? undefined : changed.map((a) => describeAttribute(a, master, slave)).join(', ');
}
