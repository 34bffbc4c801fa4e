/**
 * The master's end of the slave channel: `ssh … host <remote-gsyncd> slave` over the shared
 * connection, JSON lines both ways, keepalive pings, and requests matched by id.
 */
import { createInterface } from 'node:readline';
import { execa, type ResultPromise } from 'execa';
import { dieWithParent } from '../sync/no-orphans.js';
import { PROTOCOL_VERSION, decodeReply, encodeLine, type HelloReply, type HelloRequest, type Reply, type Request, type StreamMessage } from '../slave/protocol.js';

/** Why a channel could not be opened, as data: the session words it for people. */
export type ChannelFailure =
  | { readonly kind: 'no-gsyncd'; readonly detail: string }
  | { readonly kind: 'refused'; readonly detail: string }
  | { readonly kind: 'ssh'; readonly detail: string }
  | { readonly kind: 'protocol'; readonly detail: string };

export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(readonly failure: ChannelFailure) {
    super(failure.detail);
  }
}

export interface ChannelOptions {
  /** ssh and its options (joining the shared connection), without the destination. */
  readonly ssh: readonly string[];
  readonly destination: string;
  /** The remote command's words: `gsyncd slave [options]`. */
  readonly remoteCommand: string;
  readonly pingSeconds: number;
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
}

export class SlaveChannel {
  private child: ResultPromise | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  private stderr = '';
  private pinger: NodeJS.Timeout | undefined;
  private lastReply = Date.now();
  private lostHandlers: ((reason: string) => void)[] = [];
  /** rsync streams carried over the channel, by stream id (rsh-server.ts). */
  private readonly streams = new Map<number, (m: StreamMessage) => void>();

  constructor(private readonly o: ChannelOptions) {}

  onLost(handler: (reason: string) => void): void {
    this.lostHandlers.push(handler);
  }

  isOpen(): boolean {
    return !this.closed && this.child !== undefined;
  }

  async open(hello: Omit<HelloRequest, 'type' | 'protocol'>, timeoutMs = 30_000): Promise<HelloReply> {
    const [program, args] = dieWithParent(this.o.ssh[0] ?? 'ssh', [...this.o.ssh.slice(1), '--', this.o.destination, this.o.remoteCommand]);
    const child = execa(program, args, {
      reject: false,
      cleanup: true,
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      env: { LC_ALL: 'C' },
      forceKillAfterDelay: 2000,
    });
    this.child = child;
    child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    const first = new Promise<Reply>((resolve, reject) => {
      this.pending.set(0, { resolve, reject });
    });
    const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
    lines.on('line', (line) => {
      this.onLine(line);
    });
    const exited = child.then((r) => r);
    void exited.then((r) => {
      this.fail(this.exitFailure(r.exitCode, r.signal));
    });
    const timer = setTimeout(() => {
      this.fail({ kind: 'ssh', detail: `no handshake from the slave within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    try {
      child.stdin.write(encodeLine({ type: 'hello', protocol: PROTOCOL_VERSION, ...hello }));
      const reply = await first;
      if (reply.type === 'error') throw new ChannelError({ kind: 'refused', detail: reply.reason });
      if (reply.type !== 'hello') throw new ChannelError({ kind: 'protocol', detail: `unexpected ${reply.type} in the handshake` });
      if (reply.protocol !== PROTOCOL_VERSION) {
        throw new ChannelError({ kind: 'protocol', detail: `protocol mismatch: this master speaks version ${PROTOCOL_VERSION}, the slave ${reply.protocol} (gsyncd ${reply.version})` });
      }
      this.startPings();
      return reply;
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  /** One request, one reply; rejects when the channel is lost. */
  /** A fresh request id (a listing keeps its id across pages). */
  newId(): number {
    return this.nextId++;
  }

  /** One request, one reply; rejects when the channel is lost. */
  request(req: Request & { id: number }): Promise<Reply> {
    if (!this.isOpen()) return Promise.reject(new ChannelError({ kind: 'ssh', detail: 'channel closed' }));
    const p = new Promise<Reply>((resolve, reject) => {
      this.pending.set(req.id, { resolve, reject });
    });
    this.child?.stdin?.write(encodeLine(req));
    return p;
  }

  /** Sends a stream's message; false when the channel is closed. */
  sendStream(m: StreamMessage): boolean {
    if (!this.isOpen()) return false;
    this.child?.stdin?.write(encodeLine(m));
    return true;
  }

  /** Routes the slave's messages for `stream` to `handler` until the stream ends. */
  onStream(stream: number, handler: (m: StreamMessage) => void): void {
    this.streams.set(stream, handler);
  }

  endStream(stream: number): void {
    this.streams.delete(stream);
  }

  /** The slave's whole tree, a page at a time: memory stays bounded on both sides. */
  async *list(checksum: boolean, page = 1000): AsyncGenerator {
    const id = this.newId();
    let reply = await this.request({ type: 'list', id, checksum, count: page });
    for (;;) {
      if (reply.type === 'error') throw new ChannelError({ kind: 'protocol', detail: reply.reason });
      if (reply.type !== 'entries') throw new ChannelError({ kind: 'protocol', detail: `unexpected ${reply.type} in a listing` });
      yield* reply.entries;
      if (reply.done) return;
      reply = await this.request({ type: 'more', id, count: page });
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    const child = this.child;
    if (child) {
      child.stdin?.end();
      // The slave exits on end of input; give it a moment, then make sure.
      const t = setTimeout(() => child.kill('SIGTERM'), 2000);
      await child;
      clearTimeout(t);
    }
    for (const p of this.pending.values()) p.reject(new ChannelError({ kind: 'ssh', detail: 'channel closed' }));
    this.pending.clear();
    for (const [stream, h] of [...this.streams]) h({ type: 'exit', stream, code: 255, reason: 'the slave channel was closed' });
    this.streams.clear();
  }

  private startPings(): void {
    this.pinger = setInterval(() => {
      // No answer for three intervals: the slave or the link is gone.
      if (Date.now() - this.lastReply > this.o.pingSeconds * 3000) {
        this.fail({ kind: 'ssh', detail: `no answer from the slave for ${this.o.pingSeconds * 3} s` });
        this.child?.kill('SIGTERM');
        return;
      }
      this.request({ type: 'ping', id: this.newId() }).catch(() => undefined);
    }, this.o.pingSeconds * 1000);
    this.pinger.unref();
  }

  private onLine(line: string): void {
    this.lastReply = Date.now();
    const reply = decodeReply(line);
    if (!reply) return;
    if ('stream' in reply) {
      this.streams.get(reply.stream)?.(reply);
      return;
    }
    const id = 'id' in reply && typeof reply.id === 'number' ? reply.id : 0;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(reply);
  }

  private exitFailure(code: number | undefined, signal: string | undefined): ChannelFailure {
    const said = this.stderr.trim().split('\n').filter((l) => l.trim() !== '').pop() ?? '';
    if (code === 127 || code === 126 || /not found|No such file or directory|cannot execute/.test(said)) {
      return { kind: 'no-gsyncd', detail: said || `the remote command exited with status ${code ?? signal ?? '?'}` };
    }
    if (code === 3 || /refused/.test(said)) return { kind: 'refused', detail: said.replace(/^gsyncd: /, '') || 'refused' };
    return { kind: 'ssh', detail: said || `ssh exited with status ${code ?? signal ?? '?'}` };
  }

  private fail(f: ChannelFailure): void {
    const wasOpen = !this.closed;
    this.closed = true;
    if (this.pinger) clearInterval(this.pinger);
    for (const p of this.pending.values()) p.reject(new ChannelError(f));
    this.pending.clear();
    // A stream cut with its channel ends as ssh's own failure would: status 255.
    for (const [stream, h] of [...this.streams]) h({ type: 'exit', stream, code: 255, reason: `the slave channel was lost: ${f.detail}` });
    this.streams.clear();
    if (wasOpen) for (const h of this.lostHandlers) h(f.detail);
  }
}
