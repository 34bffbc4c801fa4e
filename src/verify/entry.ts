/**
 * One path of a tree as `gsyncd verify` sees it, and the slave's answer about one path.
 * Plain JSON objects: they travel as JSON lines over the slave channel.
 *
 * Keys are paths relative to the root, held as the latin1 string of their raw bytes (one
 * char per byte), so a name that is not valid UTF-8 survives. The root itself is the key
 * '.', which sorts before everything (rsync compares the root's mode and mtime too, and
 * prints it as `./`); no other key is '.' or '', or has an empty, '.' or '..' component.
 */
import type { BigIntStats } from 'node:fs';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

/** What an 'other' entry is. rsync shows chr/blk as `D` (devices), fifo/sock as `S`. */
export type SpecialKind = 'chr' | 'blk' | 'fifo' | 'sock';

export interface TreeEntry {
  key: string;
  type: EntryType;
  size: number;
  mtimeSec: number;
  /** st_mode & 0o7777 */
  mode: number;
  /** A symlink's target, as a latin1 byte string like the key. */
  target?: string;
  /** Hex sha256 of a file's content, when a checksum was asked for. */
  sha256?: string;
  /** For type 'other'. */
  special?: SpecialKind;
  /** For chr/blk devices: st_rdev. */
  rdev?: number;
}

export interface MissingReport {
  key: string;
  type: 'missing';
}

export type PathReport = TreeEntry | MissingReport;

export const ROOT_KEY = '.';

/** The key of `name` (a latin1 byte string) inside the directory `parent`. */
export const childKey = (parent: string, name: string): string => (parent === ROOT_KEY ? name : `${parent}/${name}`);

/** The filesystem path of `key` under `root`, as bytes. */
export function keyPath(root: string | Buffer, key: string): Buffer {
  const base = typeof root === 'string' ? Buffer.from(root) : root;
  if (key === ROOT_KEY) return base;
  const sep = base.length > 0 && base[base.length - 1] === 0x2f ? '' : '/';
  return Buffer.concat([base, Buffer.from(`${sep}${key}`, 'latin1')]);
}

/** Whether `key` names a path inside the root (what a slave accepts from the channel). */
export function isValidKey(key: string): boolean {
  if (key === ROOT_KEY) return true;
  // A char above 0xff is not a byte: such a string is not a byte string.
  if (key === '' || key.includes('\0') || /[\u0100-\uffff]/.test(key)) return false;
  return key.split('/').every((c) => c !== '' && c !== '.' && c !== '..');
}

/** A key as people read it in a message: its bytes as UTF-8, invalid bytes replaced. */
export const displayKey = (key: string): string => Buffer.from(key, 'latin1').toString('utf8');

/**
 * st_mtim.tv_sec: rsync compares whole seconds. From nanoseconds, because a float mtimeMs
 * rounds 12:00:00.999999999 up to the next second.
 */
export function floorSeconds(ns: bigint): number {
  const s = ns / 1_000_000_000n;
  return Number(ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s);
}

function typeOf(st: BigIntStats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function specialOf(st: BigIntStats): SpecialKind {
  if (st.isCharacterDevice()) return 'chr';
  if (st.isBlockDevice()) return 'blk';
  if (st.isFIFO()) return 'fifo';
  return 'sock';
}

/** lstat's answer → an entry. Only the fields that matter for the type are added. */
export function entryFromStats(key: string, st: BigIntStats, extra: { target?: string; sha256?: string } = {}): TreeEntry {
  const type = typeOf(st);
  const entry: TreeEntry = {
    key,
    type,
    size: Number(st.size),
    mtimeSec: floorSeconds(st.mtimeNs),
    mode: Number(st.mode & 0o7777n),
  };
  if (type === 'symlink' && extra.target !== undefined) entry.target = extra.target;
  if (type === 'file' && extra.sha256 !== undefined) entry.sha256 = extra.sha256;
  if (type === 'other') {
    const special = specialOf(st);
    entry.special = special;
    if (special === 'chr' || special === 'blk') entry.rdev = Number(st.rdev);
  }
  return entry;
}

/** Columns of rsync's itemized line, in its order; 'type' stands alone. */
export type Attribute = 'type' | 'checksum' | 'target' | 'special' | 'size' | 'mtime' | 'mode';

/*
 * What counts as different follows `rsync -a`: type; a file's size and mtime (content
 * too when both sides carry a sha256, as with --checksum); every type's mtime in whole
 * seconds (directories and symlinks included: rsync sets them with lutimes on Linux);
 * permissions of everything but symlinks; a symlink's target; a device's numbers or a
 * special file's kind. Not compared: owner, group, hard links, ACLs, xattrs (what -a
 * without -H -A -X leaves out, and owners, which only root can mirror).
 *
 * rsync files chr and blk devices alike, and fifos and sockets alike: within a class a
 * difference is a change of the item (`cDc…`), across classes a new item (`cD+++…`).
 */
const specialClass = (e: TreeEntry): string => (e.special === 'chr' || e.special === 'blk' ? 'device' : 'special');

/**
 * Which attributes of `slave` differ from `master` (same key). Content is compared only
 * when `checksum` and both sides carry a sha256.
 */
export function changedAttributes(master: TreeEntry, slave: TreeEntry, checksum: boolean): Attribute[] {
  if (master.type !== slave.type) return ['type'];
  if (master.type === 'other' && specialClass(master) !== specialClass(slave)) return ['type'];
  const out: Attribute[] = [];
  switch (master.type) {
    case 'file':
      if (checksum && master.sha256 !== undefined && slave.sha256 !== undefined && master.sha256 !== slave.sha256) {
        out.push('checksum');
      }
      break;
    case 'symlink':
      if (master.target !== slave.target) out.push('target');
      break;
    case 'other':
      // rsync 3.5 keeps a block device where a char device with the same numbers is due.
      if (specialClass(master) === 'device' ? master.rdev !== slave.rdev : master.special !== slave.special) out.push('special');
      break;
    case 'dir':
      break;
  }
  if (master.type === 'file' && master.size !== slave.size) out.push('size');
  if (master.mtimeSec !== slave.mtimeSec) out.push('mtime');
  // Symlinks have no permissions of their own on Linux; rsync leaves them alone.
  if (master.type !== 'symlink' && master.mode !== slave.mode) out.push('mode');
  return out;
}

const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;
const quoted = (s: string | undefined): string => (s === undefined ? 'none' : JSON.stringify(displayKey(s)));
const specialText = (e: TreeEntry): string => (e.rdev === undefined ? (e.special ?? 'other') : `${e.special ?? 'device'} ${e.rdev}`);

/** One attribute's difference, for people: "size 10 != 12". */
export function describeAttribute(a: Attribute, master: TreeEntry, slave: TreeEntry): string {
  switch (a) {
    case 'type':
      return `type ${master.type === 'other' ? specialText(master) : master.type} != ${slave.type === 'other' ? specialText(slave) : slave.type}`;
    case 'checksum':
      return 'content differs (sha256)';
    case 'target':
      return `target ${quoted(master.target)} != ${quoted(slave.target)}`;
    case 'special':
      return `${specialText(master)} != ${specialText(slave)}`;
    case 'size':
      return `size ${master.size} != ${slave.size}`;
    case 'mtime':
      return `mtime ${master.mtimeSec} != ${slave.mtimeSec}`;
    case 'mode':
      return `mode ${octal(master.mode)} != ${octal(slave.mode)}`;
  }
}

