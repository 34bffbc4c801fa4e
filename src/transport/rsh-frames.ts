/**
 * What the session sends back to an rsync's remote-shell stand-in (rsh-join.ts, in perl) on
 * its local socket: the remote rsync's stdout and stderr, and its exit status, as frames of
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
