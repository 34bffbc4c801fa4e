/**
 * Reads a listing (listing.ts) as a stream of entries: a chunk at a time, never the whole file.
 */
import { createReadStream } from 'node:fs';
import type { ListingEntry } from './listing-diff.js';

/** The first record of every listing: a file without it is of another format (an older gsyncd's). */
export const LISTING_HEADER = 'gsyncd-listing 1';

export class ListingFormatError extends Error {}

const SPACE = 0x20;

/** `DEV INO TYPE SIZE MTIME PATH`: the path is the rest of the record, spaces included. */
function parse(record: Buffer, file: string): ListingEntry {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < 5; i++) {
    const end = record.indexOf(SPACE, start);
    if (end < 0) throw new ListingFormatError(`${file}: a record has too few fields`);
    fields.push(record.toString('latin1', start, end));
    start = end + 1;
  }
  const [dev = '', ino = '', type = '', size = '', mtime = ''] = fields;
  return { dev, ino, type, size, mtime, key: record.subarray(start) };
}

/**
 * The entries of a listing, a read's worth at a time (a megabyte): the diff walks each batch
 * without awaiting per entry. An entry's key is a view into the batch's buffer: whoever keeps
 * an entry past its batch copies the key (listing-diff.ts keeps).
 */
export async function* readListingBatches(file: string, signal?: AbortSignal): AsyncGenerator<ListingEntry[]> {
  let rest: Buffer = Buffer.alloc(0);
  let header = true;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    signal?.throwIfAborted();
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    const batch: ListingEntry[] = [];
    let start = 0;
    for (let end = buf.indexOf(0, start); end >= 0; end = buf.indexOf(0, start)) {
      const record = buf.subarray(start, end);
      start = end + 1;
      if (header) {
        if (record.toString('latin1') !== LISTING_HEADER) throw new ListingFormatError(`${file} is not a gsyncd listing`);
        header = false;
        continue;
      }
      batch.push(parse(record, file));
    }
    rest = buf.subarray(start);
    if (batch.length > 0) yield batch;
  }
  if (header) throw new ListingFormatError(`${file} is not a gsyncd listing`);
  if (rest.length > 0) throw new ListingFormatError(`${file} ends in the middle of a record`);
}

/** The entries of a listing one by one. */
export async function* readListing(file: string): AsyncGenerator<ListingEntry> {
  for await (const batch of readListingBatches(file)) yield* batch;
}

/** Whether `file` is a listing this gsyncd can read (its header), without reading further. */
export async function isListing(file: string): Promise<boolean> {
  const entries = readListing(file);
  try {
    await entries.next();
    return true;
  } catch {
    return false;
  } finally {
    await entries.return(undefined);
  }
}
