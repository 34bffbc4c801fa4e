/**
 * The inotify helper's protocol (inotify-helper.ts) and the kernel's event records: encoding
 * the requests, and splitting what comes back into answers and events. Pure.
 */
import { endianness } from 'node:os';

// <sys/inotify.h>: the same values on every Linux architecture.
export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  ONLYDIR: 0x1000000,
  DONT_FOLLOW: 0x2000000,
  EXCL_UNLINK: 0x4000000,
  ISDIR: 0x40000000,
} as const;

/**
 * What a directory's watch asks for: its entries made, changed, removed and moved, and its
 * own removal. Not IN_CLOSE_WRITE: IN_MODIFY comes first, and the batch waits for quiet.
 * Never through a symlink, never a file.
 */
export const WATCH_MASK =
  IN.MODIFY | IN.ATTRIB | IN.MOVED_FROM | IN.MOVED_TO | IN.CREATE | IN.DELETE | IN.DELETE_SELF | IN.MOVE_SELF | IN.ONLYDIR | IN.DONT_FOLLOW | IN.EXCL_UNLINK;

export interface InotifyEvent {
  readonly wd: number;
  readonly mask: number;
  readonly cookie: number;
  /** The entry's name in the watched directory, as bytes ('' for the directory itself). */
  readonly name: Buffer;
}

export interface AddAnswer {
  readonly id: number;
  /** -1 when the watch could not be placed. */
  readonly wd: number;
  readonly errno: number;
}

export function encodeAdd(id: number, mask: number, path: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.write('a', 0, 'latin1');
  head.writeUInt32BE(id, 1);
  head.writeUInt32BE(mask >>> 0, 5);
  return Buffer.concat([head, path, Buffer.from([0])]);
}

export function encodeRemove(wd: number): Buffer {
  const b = Buffer.alloc(5);
  b.write('r', 0, 'latin1');
  b.writeUInt32BE(wd, 1);
  return b;
}

const LE = endianness() === 'LE';

/** The kernel's `struct inotify_event` records in `buf` (whole records: read() never splits one). */
export function parseEvents(buf: Buffer): InotifyEvent[] {
  const out: InotifyEvent[] = [];
  for (let at = 0; at + 16 <= buf.length; ) {
    const wd = LE ? buf.readInt32LE(at) : buf.readInt32BE(at);
    const mask = LE ? buf.readUInt32LE(at + 4) : buf.readUInt32BE(at + 4);
    const cookie = LE ? buf.readUInt32LE(at + 8) : buf.readUInt32BE(at + 8);
    const len = LE ? buf.readUInt32LE(at + 12) : buf.readUInt32BE(at + 12);
    const raw = buf.subarray(at + 16, at + 16 + len);
    // The name is padded with NULs to an aligned length.
    const end = raw.indexOf(0);
    out.push({ wd, mask, cookie, name: Buffer.from(end < 0 ? raw : raw.subarray(0, end)) });
    at += 16 + len;
  }
  return out;
}

/** Splits the helper's output into its messages, across chunk boundaries. */
export class HelperReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly on: { answer(a: AddAnswer): void; events(records: Buffer): void }) {}

  push(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    for (;;) {
      if (buf.length < 1) break;
      const op = buf[0];
      if (op === 0x41 /* A */) {
        if (buf.length < 13) break;
        this.on.answer({ id: buf.readUInt32BE(1), wd: buf.readInt32BE(5), errno: buf.readUInt32BE(9) });
        buf = buf.subarray(13);
      } else if (op === 0x45 /* E */) {
        if (buf.length < 5) break;
        const len = buf.readUInt32BE(1);
        if (buf.length < 5 + len) break;
        this.on.events(buf.subarray(5, 5 + len));
        buf = buf.subarray(5 + len);
      } else {
        throw new Error(`the inotify helper sent an unknown message (byte ${String(op)})`);
      }
    }
    this.pending = Buffer.from(buf);
  }
}
