/**
 * The session's end of rsync streams (issue 14): a socket in a private directory (0700,
 * beside the stand-in's script) where each rsync run's remote-shell stand-in (rsh-join.ts)
 * connects. The stream goes to the
 * running slave gsyncd over the slave channel, which checks and runs `rsync --server`
 * there: a batch starts no SSH session and no remote login shell. Flow control both ways
 * (stream-window.ts); a channel that is down ends the run with status 255, as a failed ssh
 * would, and the batch is retried as after any connection loss.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { StreamMessage } from '../slave/protocol.js';
import { FRAME, frame } from './rsh-frames.js';
import { RSH_JOIN_PERL } from './rsh-join.js';
import type { SlaveChannel } from './slave-channel.js';
import { inflow, Outflow } from './stream-window.js';

/** rsync splits `-e` at spaces, honouring double quotes: a word with neither needs none. */
const rshWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `"${w.replace(/(["\\])/g, '\\$1')}"`);

export class RshServer {
  private constructor(
    private readonly server: Server,
    private readonly dir: string,
    readonly socketPath: string,
    private readonly script: string,
  ) {}

  /** Listens in a fresh private directory (a socket path is short: 108 bytes). */
  static async open(channel: () => SlaveChannel | undefined): Promise<RshServer> {
    const dir = await mkdtemp(path.join(tmpdir(), 'gsyncd-rsh-'));
    const socketPath = path.join(dir, 's');
    const script = path.join(dir, 'rsh-join.pl');
    const server = createServer({ allowHalfOpen: true }, (sock) => {
      serve(sock, channel());
    });
    try {
      await writeFile(script, RSH_JOIN_PERL, { mode: 0o600 });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      // Nothing left behind: the caller goes on with ssh sessions.
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
    // Listening, an error is the one of a connection, which serve() ends: none stops the server.
    server.on('error', () => undefined);
    return new RshServer(server, dir, socketPath, script);
  }

  /** rsync's `-e` for a run through the channel: perl, the stand-in, this socket. */
  rsh(): string {
    return ['perl', this.script, this.socketPath].map(rshWord).join(' ');
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** One rsync run: its header line, then its bytes both ways until the slave's rsync exits. */
function serve(sock: Socket, channel: SlaveChannel | undefined): void {
  let header = Buffer.alloc(0);
  const onHeader = (d: Buffer): void => {
    header = Buffer.concat([header, d]);
    const nl = header.indexOf(0x0a);
    if (nl < 0) return;
    sock.off('data', onHeader);
    sock.pause();
    let words: unknown;
    try {
      words = (JSON.parse(header.subarray(0, nl).toString()) as { words?: unknown }).words;
    } catch {
      words = undefined;
    }
    if (!Array.isArray(words) || !words.every((w) => typeof w === 'string')) {
      finish(sock, 255, 'gsyncd: a malformed rsync stream request\n');
    } else if (channel === undefined || !channel.isOpen()) {
      finish(sock, 255, 'gsyncd: the slave channel is down\n');
    } else start(sock, channel, words);
  };
  sock.on('data', onHeader);
  sock.on('error', () => undefined);
}

function finish(sock: Socket, code: number, message?: string): void {
  if (message !== undefined) sock.write(frame(FRAME.stderr, Buffer.from(message)));
  sock.end(frame(FRAME.exit, Buffer.from(String(code))));
}

function start(sock: Socket, channel: SlaveChannel, words: readonly string[]): void {
  const stream = channel.newId();
  let done = false;
  const out = new Outflow(sock, (chunk) => {
    channel.sendStream({ type: 'data', stream, b64: chunk.toString('base64') });
  });
  channel.onStream(stream, (m: StreamMessage) => {
    switch (m.type) {
      case 'data':
        inflow(sock, frameOf(FRAME.stdout, m.b64), (bytes) => {
          channel.sendStream({ type: 'credit', stream, bytes: bytes - 5 });
        });
        return;
      case 'stderr':
        sock.write(frameOf(FRAME.stderr, m.b64));
        return;
      case 'credit':
        out.credit(m.bytes);
        return;
      case 'exit':
        done = true;
        channel.endStream(stream);
        finish(sock, m.code, m.reason === undefined ? undefined : `${m.reason}\n`);
        return;
      default:
        return;
    }
  });
  sock.on('end', () => {
    channel.sendStream({ type: 'eof', stream });
  });
  sock.on('close', () => {
    // rsync (or the stand-in) went away first: the slave's rsync must not wait for it.
    if (!done) {
      channel.sendStream({ type: 'kill', stream });
      channel.endStream(stream);
    }
  });
  channel.sendStream({ type: 'rsync', stream, words });
  sock.write(frame(FRAME.ready));
  sock.resume();
}

const frameOf = (kind: number, b64: string): Buffer => frame(kind, Buffer.from(b64, 'base64'));
