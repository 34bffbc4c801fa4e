/**
 * The session's snapshots of the master tree: listings (listing.ts) written to its state
 * directory, and what changed since one, by a fresh listing merged with it (listing-diff.ts).
 * Neither step holds the tree in memory, and neither runs a process of gsyncd's own.
 */
import { rm } from 'node:fs/promises';
import type { ChangeEvent } from './change-source.js';
import { writeListing } from './listing.js';
import { diffListings } from './listing-diff.js';
import { readListingBatches } from './listing-read.js';

let scans = 0;

/** `signal`, here and below: a stop does not wait for a scan under way. */
export async function writeTreeSnapshot(root: string, file: string, ignoredDirNames: readonly string[], signal?: AbortSignal): Promise<void> {
  await writeListing(root, file, ignoredDirNames, signal);
}

/** What changed from the snapshot `older` to the snapshot `newer`: the two merged. */
export function changesBetween(older: string, newer: string, signal?: AbortSignal): Promise<ChangeEvent[]> {
  return diffListings(readListingBatches(older, signal), readListingBatches(newer, signal));
}

/** What changed since the snapshot `file`: the tree is listed afresh beside it and the two merged. */
export async function changesSinceSnapshot(root: string, file: string, ignoredDirNames: readonly string[], signal?: AbortSignal): Promise<ChangeEvent[]> {
  // A name of its own: a reconciliation and a snapshot's check may overlap.
  const now = `${file}.scan-${String(++scans)}`;
  await writeListing(root, now, ignoredDirNames, signal);
  try {
    return await changesBetween(file, now, signal);
  } finally {
    await rm(now, { force: true });
  }
}
