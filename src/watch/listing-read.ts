/**
 * Reads a listing (listing.ts) as a stream of entries: a chunk at a time, never the whole file.
 */
import { createReadStream } from 'node:fs';
import type { ListingEntry } from './listing-diff.js';

/** The first record of every listing: a file without it is of another format (an older gsyncd's). */
export const LISTING_HEADER = 'gsyncd-listing 2';

export class ListingFormatError extends Error {}

/** `//`, which ends a record's path: no path holds it. */
const SEPARATOR = Buffer.from('//');
/** Every path is written as `./PATH` (listing.ts). */
const PREFIX = 2;

/**
 * Listing order: of two paths, the one before the other with `//` after each, as bytes
 * (what sort(1) does with whole records in the C locale).
 */
export const listingOrder = (a: Buffer, b: Buffer): number => Buffer.compare(Buffer.concat([a, SEPARATOR]), Buffer.concat([b, SEPARATOR]));

/**
 * One record, `./PATH//DEV INO TYPE SIZE MTIME`, as offsets into the buffer of its batch. The
 * diff compares records whole, as bytes, in place: a million entries then make no strings and
 * no buffer views (a view per record made the garbage collector half of a diff's time). Fields
 * and key are made when asked for.
 */
export class RecordEntry implements ListingEntry {
  private fields: readonly string[] | undefined;

  constructor(
    private readonly buf: Buffer,
    private readonly start: number,
    /** Where the `//` after the path is. */
    private readonly sep: number,
    private readonly end: number,
  ) {}

  get key(): Buffer {
    return this.buf.subarray(this.start + PREFIX, this.sep);
  }
  get dev(): string {
    return this.field(0);
  }
  get ino(): string {
    return this.field(1);
  }
  get type(): string {
    return this.field(2);
  }
  get size(): string {
    return this.field(3);
  }
  get mtime(): string {
    return this.field(4);
  }

  /** listingOrder of the two keys, without making either. */
  compareKey(o: RecordEntry): number {
    return this.buf.compare(o.buf, o.start, o.sep + SEPARATOR.length, this.start, this.sep + SEPARATOR.length);
  }

  /** The same bytes: the same entry, path, size and mtime. */
  sameRecord(o: RecordEntry): boolean {
    return this.end - this.start === o.end - o.start && this.buf.compare(o.buf, o.start, o.end, this.start, this.end) === 0;
  }

  private field(i: number): string {
    this.fields ??= this.buf.toString('latin1', this.sep + SEPARATOR.length, this.end).split(' ');
    return this.fields[i] ?? '';
  }
}

/** The record from `from` to `end` (its NUL) of `buf`. */
export function parseRecord(buf: Buffer, from: number, end: number, file: string): RecordEntry {
  const sep = buf.indexOf(SEPARATOR, from + PREFIX);
  if (buf[from] !== 0x2e || buf[from + 1] !== 0x2f || sep < 0 || sep >= end) throw new ListingFormatError(`${file}: a record is not ./PATH//FIELDS`);
  return new RecordEntry(buf, from, sep, end);
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
      const from = start;
      start = end + 1;
      if (header) {
        if (buf.toString('latin1', from, end) !== LISTING_HEADER) throw new ListingFormatError(`${file} is not a gsyncd listing`);
        header = false;
        continue;
      }
      batch.push(parseRecord(buf, from, end, file));
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
