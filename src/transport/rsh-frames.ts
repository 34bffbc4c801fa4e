/**
 * What the session sends back to an rsync's remote-shell stand-in (rsh-join.ts) on its local
 * socket: the remote rsync's stdout and stderr, and its exit status, as frames of
 * [kind: 1 byte][length: 4 bytes, big-endian][payload]. The stand-in sends one header line
 * (the command rsync asked the remote shell to run, as JSON), then rsync's bytes as they are.
 */
export const FRAME = { ready: 0, stdout: 1, stderr: 2, exit: 3 } as const;

export const frame = (kind: number, payload: Buffer = Buffer.alloc(0)): Buffer => {
  const head = Buffer.alloc(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
};

/** Splits a byte stream into frames; what is left of a frame waits for the next bytes. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(data: Buffer, onFrame: (kind: number, payload: Buffer) => void): void {
    this.pending = this.pending.length === 0 ? data : Buffer.concat([this.pending, data]);
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) return;
      const kind = this.pending.readUInt8(0);
      const payload = this.pending.subarray(5, 5 + length);
      this.pending = this.pending.subarray(5 + length);
      onFrame(kind, payload);
    }
  }
}
