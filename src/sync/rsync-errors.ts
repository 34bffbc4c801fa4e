/**
 * rsync's error lines → which paths failed, and on which side. Pure.
 *
 * rsync names every path it fails on in one line of stderr, tagged with the process that
 * failed: `[sender]` reads the master, `[receiver]` and `[generator]` write the slave:
 *
 *   rsync: [sender] send_files failed to open "/srv/www/d/b": Permission denied (13)
 *   rsync: [receiver] write failed on "/backup/www/big": No space left on device (28)
 *   rsync: [receiver] mkstemp "/backup/www/d/.b.d6eFWm" failed: Read-only file system (30)
 *
 * A master-side failure belongs to its path (the others of the batch went through); a
 * slave-side one says the slave cannot take writes now. A line that names no path of either
 * root is kept apart: then nobody can say which paths went through, and the caller must
 * assume none did.
 */
import path from 'node:path';
import { decodeName } from './names.js';

export type Side = 'sender' | 'receiver';

export interface PathError {
  /** Relative to the root it was found under ('' is the root). */
  readonly path: string;
  readonly side: Side;
  /** The line, without `rsync: [side] `. */
  readonly message: string;
}

export interface RsyncErrors {
  readonly paths: readonly PathError[];
  /** Error lines that name no path under either root (connection trouble, a crash…). */
  readonly unattributed: readonly string[];
}

const ERROR_LINE = /^rsync: (?:\[(sender|receiver|generator)\] )?(.*)$/;
/** A quoted name ends at a quote followed by what rsync puts after one. */
const QUOTED = /"(.*?)"(?=:| failed| ->| is |\s*$|\s*\()/;
/** rsync's temporary file beside the target: `.NAME.XXXXXX`. */
const TEMP_NAME = /^\.(.+)\.[A-Za-z0-9]{6}$/;
/** Lines that follow another error and add nothing of their own. */
const ECHOES = [/^\[sender\] write error: Broken pipe/, /^write error: Broken pipe/];

/** rsync prints unprintable bytes as `\#ooo` (octal). */
export function unescapeRsyncName(name: string): string {
  if (!name.includes('\\#')) return name;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const m = /^\\#([0-7]{3})/.exec(name.slice(i, i + 5));
    if (m?.[1] !== undefined) {
      bytes.push(parseInt(m[1], 8));
      i += 4;
    } else bytes.push(...Buffer.from(name[i] ?? '', 'utf8'));
  }
  return decodeName(Buffer.from(bytes));
}

/** The path relative to the root it lies in, or undefined. */
function relativeTo(abs: string, roots: readonly string[]): string | undefined {
  const p = path.posix.normalize(abs);
  for (const r of roots) {
    const root = path.posix.normalize(r).replace(/\/+$/, '');
    if (p === root || p === `${root}/`) return '';
    if (p.startsWith(`${root}/`)) return p.slice(root.length + 1).replace(/\/+$/, '');
  }
  return undefined;
}

/**
 * `masterRoot` and `slaveRoot` as rsync prints them (the slave's path as its rsync sees it:
 * for a remote slave, the part after `host:`).
 */
export function parseRsyncErrors(stderr: string, masterRoot: string, slaveRoot: string): RsyncErrors {
  const paths: PathError[] = [];
  const unattributed: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = ERROR_LINE.exec(line.trim());
    if (!m) continue;
    const [, tag, message = ''] = m;
    if (ECHOES.some((e) => e.test(`${tag ? `[${tag}] ` : ''}${message}`))) continue;
    const quoted = QUOTED.exec(message)?.[1];
    const fromSlave = quoted === undefined ? undefined : relativeTo(unescapeRsyncName(quoted), [slaveRoot]);
    const fromMaster = quoted === undefined || fromSlave !== undefined ? undefined : relativeTo(unescapeRsyncName(quoted), [masterRoot]);
    const side: Side = tag === 'sender' ? 'sender' : tag === undefined ? (fromSlave !== undefined ? 'receiver' : 'sender') : 'receiver';
    let rel = fromSlave ?? fromMaster;
    if (rel === undefined) {
      unattributed.push(line.trim());
      continue;
    }
    // A temporary file stands for the file it was to become.
    if (/^(mkstemp|rename) /.test(message)) {
      const base = rel.slice(rel.lastIndexOf('/') + 1);
      const target = TEMP_NAME.exec(base)?.[1];
      if (target !== undefined) rel = `${rel.slice(0, rel.length - base.length)}${target}`;
    }
    paths.push({ path: rel, side, message });
  }
  return { paths, unattributed };
}
