/**
 * What changed between two listings of the tree (listing.ts), by a merge of the two sorted
 * streams: neither is ever held whole, and memory grows with the changes alone.
 *
 * A path in both, the same entry (device, inode number and type), is an update when its size
 * or mtime differ (a directory's own mtime is not reported: an entry added or removed inside
 * it is an event of its own). An entry gone from one path and found at another is a rename
 * (chains and swaps included); the renames of a renamed directory's entries are implied by
 * it and not reported (an entry that also changed is then an update at its new path). A file
 * replaced in place by one from nowhere else is an update. An inode with several names (hard
 * links) is never paired: its paths stay deletes and creates.
 */
import type { ChangeEvent } from './change-source.js';
import { listingOrder, RecordEntry } from './listing-read.js';
import { decodeName } from '../sync/names.js';

export interface ListingEntry {
  /** The path's bytes, relative to the root: what the listing is sorted by. */
  readonly key: Buffer;
  readonly dev: string;
  readonly ino: string;
  /** find's %y: f, d, l, s, p, c or b. */
  readonly type: string;
  readonly size: string;
  readonly mtime: string;
}

/** Key order; entries read from listings compare in place. */
const compareKeys = (x: ListingEntry, y: ListingEntry): number =>
  x instanceof RecordEntry && y instanceof RecordEntry ? x.compareKey(y) : listingOrder(x.key, y.key);

/** Whether two entries read from listings are the same record: nothing about them changed. */
const sameRecord = (x: ListingEntry, y: ListingEntry): boolean => x instanceof RecordEntry && y instanceof RecordEntry && x.sameRecord(y);

/** The path as the session has it: bytes that are not valid UTF-8 as escapes (sync/names.ts). */
const text = (e: ListingEntry): string => decodeName(e.key);
const inode = (e: ListingEntry): string => `${e.dev}:${e.ino}:${e.type}`;
const contentDiffers = (a: ListingEntry, b: ListingEntry): boolean => a.size !== b.size || a.mtime !== b.mtime;

/** Entries keyed by inode; an inode met twice is kept as `undefined` (ambiguous: hard links). */
type ByInode = Map<string, ListingEntry | undefined>;

function note(map: ByInode, e: ListingEntry): void {
  const k = inode(e);
  map.set(k, map.has(k) ? undefined : e);
}

/** An entry only one listing has at its path, or whose path holds another entry in the other. */
interface Unmatched {
  readonly entry: ListingEntry;
  /** Another file of the same type is at this path in the other listing: its content changed. */
  readonly inPlace: boolean;
}

/** Walks a stream of batches entry by entry, awaiting only when a batch is used up. */
class Cursor {
  private batch: readonly ListingEntry[] = [];
  private i = 0;
  private readonly it: AsyncIterator<readonly ListingEntry[]>;

  constructor(batches: AsyncIterable<readonly ListingEntry[]>) {
    this.it = batches[Symbol.asyncIterator]();
  }

  /** The next entry of the current batch, or undefined when it is used up (then: refill). */
  step(): ListingEntry | undefined {
    return this.batch[++this.i];
  }

  /** The first entry of the next batch that has one, or undefined at the end. */
  async refill(): Promise<ListingEntry | undefined> {
    for (;;) {
      const r = await this.it.next();
      if (r.done === true) return undefined;
      this.batch = r.value;
      this.i = 0;
      if (this.batch.length > 0) return this.batch[0];
    }
  }
}

/** A copy of the entry whose key no longer points into its batch's buffer (its fields read). */
const kept = (e: ListingEntry): ListingEntry => ({ key: Buffer.from(e.key), dev: e.dev, ino: e.ino, type: e.type, size: e.size, mtime: e.mtime });

export async function diffListings(before: AsyncIterable<readonly ListingEntry[]>, after: AsyncIterable<readonly ListingEntry[]>): Promise<ChangeEvent[]> {
  const updates: ChangeEvent[] = [];
  const gone: Unmatched[] = [];
  const added: Unmatched[] = [];
  const goneByInode: ByInode = new Map();
  const addedByInode: ByInode = new Map();
  /** Directories another entry took the place of, by path: what stayed below them did not move. */
  const replaced = new Map<string, ListingEntry>();
  const stays: Stay[] = [];
  const b = new Cursor(before);
  const a = new Cursor(after);
  let x = await b.refill();
  let y = await a.refill();
  while (x !== undefined || y !== undefined) {
    const order = x === undefined ? 1 : y === undefined ? -1 : compareKeys(x, y);
    if (order < 0 && x !== undefined) {
      const was = kept(x);
      gone.push({ entry: was, inPlace: false });
      note(goneByInode, was);
      x = b.step() ?? (await b.refill());
    } else if (order > 0 && y !== undefined) {
      const is = kept(y);
      added.push({ entry: is, inPlace: false });
      note(addedByInode, is);
      y = a.step() ?? (await a.refill());
    } else if (x !== undefined && y !== undefined) {
      // Most entries are unchanged: the same record, compared as bytes, needs no field read.
      const same = sameRecord(x, y);
      // The same entry below a directory that was replaced was moved out and back into the
      // new one: a rename of the old directory must not take it along.
      if (replaced.size > 0 && (same || inode(x) === inode(y))) noteStay(replaced, stays, text(y));
      if (same) {
        // Nothing to report.
      } else if (inode(x) !== inode(y)) {
        // Another entry under the same name: either may have been renamed from or to elsewhere.
        const inPlace = x.type === y.type && y.type !== 'd';
        const was = kept(x);
        const is = kept(y);
        gone.push({ entry: was, inPlace });
        added.push({ entry: is, inPlace });
        note(goneByInode, was);
        note(addedByInode, is);
        if (was.type === 'd') replaced.set(text(was), was);
      } else if (y.type !== 'd' && contentDiffers(x, y)) {
        updates.push({ path: text(y), kind: 'update' });
      }
      x = b.step() ?? (await b.refill());
      y = a.step() ?? (await a.refill());
    }
  }
  return [...pairRenames(gone, added, goneByInode, addedByInode, stays), ...updates];
}

/** An entry at the same path in both listings below a directory that was replaced. */
interface Stay {
  readonly path: string;
  /** The replaced directory's path and its old entry. */
  readonly dir: string;
  readonly was: ListingEntry;
}

function noteStay(replaced: ReadonlyMap<string, ListingEntry>, stays: Stay[], path: string): void {
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const dir = path.slice(0, i);
    const was = replaced.get(dir);
    if (was !== undefined) {
      stays.push({ path, dir, was });
      return;
    }
  }
}

/**
 * Deletes first, then renames, then what is new: a directory renamed away and one made under
 * its name come out in the order they can be replayed.
 */
function pairRenames(gone: readonly Unmatched[], added: readonly Unmatched[], goneByInode: ByInode, addedByInode: ByInode, stays: readonly Stay[]): ChangeEvent[] {
  const deletes: ChangeEvent[] = [];
  const renamed: ChangeEvent[] = [];
  const news: ChangeEvent[] = [];
  const pairedFrom = new Set<ListingEntry>();
  const pairedTo = new Set<ListingEntry>();
  /** Directory renames, from → to, for finding the renames they imply. */
  const dirs = new Map<string, string>();
  const renames: { from: string; to: string; was: ListingEntry; is: ListingEntry }[] = [];
  for (const { entry: is } of added) {
    const was = goneByInode.get(inode(is));
    if (was === undefined || addedByInode.get(inode(is)) === undefined) continue;
    pairedFrom.add(was);
    pairedTo.add(is);
    const r = { from: text(was), to: text(is), was, is };
    renames.push(r);
    if (is.type === 'd') dirs.set(r.from, r.to);
  }
  // A file replaced in place by another that came from nowhere else is an update, reported once.
  for (const g of gone) if (!pairedFrom.has(g.entry) && !g.inPlace) deletes.push({ path: text(g.entry), kind: 'delete' });
  for (const r of renames) {
    if (!impliedBy(dirs, r.from, r.to)) renamed.push({ path: r.to, kind: 'rename', from: r.from });
    if (r.is.type !== 'd' && contentDiffers(r.was, r.is)) news.push({ path: r.to, kind: 'update' });
  }
  for (const n of added) if (!pairedTo.has(n.entry)) news.push({ path: text(n.entry), kind: n.inPlace ? 'update' : 'create' });
  // An entry that stayed while its directory was renamed away: the replayed rename takes the
  // slave's copy along. It is sent where it is, and the copy taken along is sent as it is
  // there on the master (gone, or what took its place).
  const renamedTo = new Map(renames.filter((r) => r.is.type === 'd').map((r) => [r.was, r.to]));
  for (const st of stays) {
    news.push({ path: st.path, kind: 'update' });
    const to = renamedTo.get(st.was);
    if (to !== undefined) news.push({ path: to + st.path.slice(st.dir.length), kind: 'update' });
  }
  return [...deletes, ...renamed, ...news];
}
/** Whether a renamed directory above `from` took it to `to` under the same name. */
function impliedBy(dirs: ReadonlyMap<string, string>, from: string, to: string): boolean {
  for (let i = from.lastIndexOf('/'); i > 0; i = from.lastIndexOf('/', i - 1)) {
    const parentTo = dirs.get(from.slice(0, i));
    if (parentTo !== undefined) return to === parentTo + from.slice(i);
  }
  return false;
}
