/**
 * Flow control for an rsync stream carried over the slave channel: each end sends at most
 * STREAM_WINDOW bytes the other has not taken yet, then pauses its source until credit
 * comes back. So neither end buffers a whole transfer, and a slow stream never holds up the
 * channel's other messages (keepalives, entry operations, other streams).
 */
import type { Readable, Writable } from 'node:stream';
import { STREAM_CHUNK, STREAM_WINDOW } from '../slave/protocol.js';

/** Bytes from `source`, sent in pieces while the other end has room. */
export class Outflow {
  private unacked = 0;
  private paused = false;

  constructor(
    private readonly source: Readable,
    send: (chunk: Buffer) => void,
    private readonly window = STREAM_WINDOW,
  ) {
    source.on('data', (d: Buffer) => {
      for (let at = 0; at < d.length; at += STREAM_CHUNK) {
        const piece = d.subarray(at, at + STREAM_CHUNK);
        this.unacked += piece.length;
        send(piece);
      }
      if (this.unacked >= this.window && !this.paused) {
        this.paused = true;
        source.pause();
      }
    });
  }

  /** The other end took `bytes`. */
  credit(bytes: number): void {
    this.unacked = Math.max(0, this.unacked - bytes);
    if (this.paused && this.unacked < this.window) {
      this.paused = false;
      this.source.resume();
    }
  }
}

/** Writes what arrives into `dest`, and grants credit once it is written. */
export function inflow(dest: Writable, chunk: Buffer, credit: (bytes: number) => void): void {
  dest.write(chunk, (e) => {
    if (!e) credit(chunk.length);
  });
}
