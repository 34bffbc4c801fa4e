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
import { isListing, ListingFormatError, readListingBatches } from './listing-read.js';
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
  const out: ChangeEvent[] = [];
  for await (const batch of readListingBatches(file, signal)) {
    for (const e of batch) if (e.type !== 'd' && Number(e.mtime) >= sinceSeconds) out.push({ path: decodeName(e.key), kind: 'update' });
  }
  return out;
}

/** What changed since the snapshot `file`: the tree is listed afresh beside it and the two merged. */
export async function changesSinceSnapshot(root: string, file: string, ignoredDirNames: readonly string[], signal?: AbortSignal): Promise<ChangeEvent[]> {
  // A name of its own: a reconciliation and a snapshot's check may overlap.
  const now = `${file}.scan-${String(++scans)}`;
  await writeListing(root, now, ignoredDirNames, { signal });
  try {
    return await changesBetween(file, now, signal);
  } finally {
    await rm(now, { force: true });
  }
}
