/**
 * The session's snapshots of the master tree: listings (listing.ts) written to its state
 * directory, and what changed since one, by a fresh listing merged with it (listing-diff.ts).
 * Neither step holds the tree in memory, and neither runs a process of gsyncd's own.
 */
import { rename, rm } from 'node:fs/promises';
import type { ChangeEvent } from './change-source.js';
import { writeListing, type ListingOptions } from './listing.js';
import { diffListings } from './listing-diff.js';
import { unsharedRecords } from './listing-comm.js';
import { createReadStream } from 'node:fs';
import { isListing, ListingFormatError } from './listing-read.js';
import { decodeName } from '../sync/names.js';

let scans = 0;

/**
 * `signal`, here and below: a stop does not wait for a scan under way. The listing is written
 * beside `file` and renamed over it when whole: a reader never finds half of one.
 */
export async function writeTreeSnapshot(root: string, file: string, ignoredDirNames: readonly string[], o: ListingOptions = {}): Promise<void> {
  const part = `${file}.part`;
  await writeListing(root, part, ignoredDirNames, o);
  await rename(part, file);
}

/** What changed from the snapshot `older` to the snapshot `newer`: what they do not share, merged. */
export async function changesBetween(older: string, newer: string, signal?: AbortSignal): Promise<ChangeEvent[]> {
  for (const file of [older, newer]) if (!(await isListing(file))) throw new ListingFormatError(`${file} is not a gsyncd listing`);
  const { older: was, newer: is } = await unsharedRecords(older, newer, signal);
  return diffListings(oneBatch(was), oneBatch(is));
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async iterable of what is at hand
async function* oneBatch<T>(items: readonly T[]): AsyncGenerator<readonly T[]> {
  yield items;
}

/**
 * The entries of the listing `file` modified at `sinceSeconds` or later (its records' mtime),
 * as updates: a listing taken while they changed may hold them as they became. Directories
 * are left out: what changed in one is an entry of its own here, and a directory judged
 * changed would be resent whole.
 */
export async function modifiedSince(file: string, sinceSeconds: number, signal?: AbortSignal): Promise<ChangeEvent[]> {
  if (!(await isListing(file))) throw new ListingFormatError(`${file} is not a gsyncd listing`);
  const out: ChangeEvent[] = [];
  let rest: Buffer = Buffer.alloc(0);
  // Read as bytes, a record at a time, making nothing of those that are older: a million
  // records as objects left 50 MB more of RSS behind.
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let end = buf.indexOf(0, start); end >= 0; end = buf.indexOf(0, start)) {
      const recent = recordModifiedSince(buf, start, end, sinceSeconds);
      if (recent !== undefined) out.push({ path: decodeName(recent), kind: 'update' });
      start = end + 1;
    }
    rest = Buffer.from(buf.subarray(start));
  }
  return out;
}

/** The path of the record `buf[start, end)` when it is no directory and its mtime is `since` or later. */
function recordModifiedSince(buf: Buffer, start: number, end: number, since: number): Buffer | undefined {
  // `./PATH//DEV INO TYPE SIZE MTIME`: the fields hold no space, the path may.
  const mtimeAt = buf.lastIndexOf(0x20, end - 1);
  if (mtimeAt <= start) return undefined; // the header
  let seconds = 0;
  let i = mtimeAt + 1;
  const negative = buf[i] === 0x2d;
  if (negative) i++;
  for (; i < end && buf[i] !== 0x2e; i++) seconds = seconds * 10 + ((buf[i] ?? 0x30) - 0x30);
  if (negative || seconds < since) return undefined;
  const sizeAt = buf.lastIndexOf(0x20, mtimeAt - 1);
  if (buf[sizeAt - 1] === 0x64) return undefined; // type d
  const sep = buf.indexOf('//', start + 2);
  return sep < 0 || sep >= end ? undefined : Buffer.from(buf.subarray(start + 2, sep));
}

/** What changed since the snapshot `file`: the tree is listed afresh beside it and the two merged. */
export async function changesSinceSnapshot(root: string, file: string, ignoredDirNames: readonly string[], o: ListingOptions = {}): Promise<ChangeEvent[]> {
  // A name of its own: a reconciliation and a snapshot's check may overlap.
  const now = `${file}.scan-${String(++scans)}`;
  await writeListing(root, now, ignoredDirNames, o);
  try {
    return await changesBetween(file, now, o.signal);
  } finally {
    await rm(now, { force: true });
  }
}
