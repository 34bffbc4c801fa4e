/**
 * The records two listings (listing.ts) do not share, by comm(1): most of a tree is the same
 * from one listing to the next, and comm skips equal records at the speed of a byte compare,
 * where reading and comparing every record in Node took about a second a million files.
 * Only what differs reaches the diff (listing-diff.ts), so its memory grows with the changes.
 */
import { spawn } from 'node:child_process';
import { dieWithParent } from '../sync/no-orphans.js';
import { parseRecord, type RecordEntry } from './listing-read.js';

export interface Unshared {
  /** Records only the older listing has, in listing order. */
  readonly older: RecordEntry[];
  /** Records only the newer listing has, in listing order. */
  readonly newer: RecordEntry[];
}

/** comm prefixes the lines of its second column with this; no record starts with it (each is `./…`). */
const NEWER = 0x2f;

/**
 * The records of `older` and `newer` that are not in both. Both headers must already have been
 * checked: comm pairs them as equal records (and is told not to check the order, which the
 * header, first in each, does not follow).
 */
export async function unsharedRecords(older: string, newer: string, signal?: AbortSignal): Promise<Unshared> {
  const comm = spawn(...dieWithParent('comm', ['-z', '-3', '--nocheck-order', '--output-delimiter=/', '--', older, newer]), {
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  let stderr = '';
  comm.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  const exited = new Promise<void>((resolve, reject) => {
    comm.once('error', (e) => {
      reject(new Error(`comm of two listings: ${e.message}`));
    });
    comm.once('close', (code, sig) => {
      if (code === 0) resolve();
      else reject(new Error(`comm of two listings failed (${sig ?? `exit ${String(code)}`}): ${stderr.trim().split('\n')[0] ?? ''}`));
    });
  });
  // Awaited after the output is read; a stop (the signal) may end both first.
  exited.catch(() => undefined);
  const result: Unshared = { older: [], newer: [] };
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of comm.stdout as AsyncIterable<Buffer>) {
    const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
    let start = 0;
    for (let end = buf.indexOf(0, start); end >= 0; end = buf.indexOf(0, start)) {
      if (buf[start] === NEWER) result.newer.push(parseRecord(buf, start + 1, end, newer));
      else result.older.push(parseRecord(buf, start, end, older));
      start = end + 1;
    }
    rest = buf.subarray(start);
  }
  await exited;
  if (rest.length > 0) throw new Error('comm of two listings ended in the middle of a record');
  return result;
}
