// A TCP proxy of the test's own between gsyncd's ssh and the loopback sshd, for the network
// faults that netem would give (its qdisc is not available here, see TESTING.md): latency,
// stalls, cut connections and refused ones. The proxy only ever changes when bytes arrive,
// never what they are or their order, so ssh sees a slow or broken network, not a bad peer.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { prng } from './prng.js';

export interface FaultProxyOptions {
  /** Added to every chunk, in each direction (ms). */
  latencyMs?: number;
  /** Seed of the random connection lifetimes (see `randomCuts`), for a replayable run. */
  seed?: number;
}

/** Each connection is cut after a lifetime drawn uniformly from [minMs, maxMs]. */
export interface RandomCuts {
  minMs: number;
  maxMs: number;
}

/** What the lanes read at each delivery: changes apply to data already queued too. */
interface Timing {
  latencyMs: number;
  /** No byte moves before this time (ms since the epoch). */
  stalledUntil: number;
}

/** A chunk read from one side, or (data null) that side's end of stream. */
interface Chunk {
  data: Buffer | null;
  at: number;
}

// Past this many bytes held, the sending side is paused, as a slow link's sender would be:
// the proxy's memory stays bounded whatever the latency.
const HIGH_WATER = 4 * 1024 * 1024;

/** One direction of a connection: chunks wait out the latency and any stall, in order. */
class Lane {
  readonly #queue: Chunk[] = [];
  #held = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly timing: Timing,
  ) {
    from.on('data', (data: Buffer) => {
      this.#queue.push({ data, at: Date.now() });
      this.#held += data.length;
      if (this.#held + to.writableLength > HIGH_WATER) {
        from.pause();
      }
      this.pump();
    });
    // A half close (FIN) travels like data: after everything sent before it.
    from.on('end', () => {
      this.#queue.push({ data: null, at: Date.now() });
      this.pump();
    });
    to.on('drain', () => {
      this.pump();
    });
  }

  /** Delivers every chunk that is due, and sets a timer for the next one. */
  pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    for (let head = this.#queue[0]; head !== undefined; head = this.#queue[0]) {
      // Computed at delivery, not at arrival: a stall begun later holds queued data too.
      const due = Math.max(head.at + this.timing.latencyMs, this.timing.stalledUntil);
      if (due > now) {
        this.#timer = setTimeout(() => {
          this.pump();
        }, due - now);
        break;
      }
      this.#queue.shift();
      if (this.to.destroyed) {
        continue;
      }
      if (head.data === null) {
        this.to.end();
      } else {
        this.#held -= head.data.length;
        this.to.write(head.data);
      }
    }
    if (this.from.isPaused() && this.#held + this.to.writableLength <= HIGH_WATER / 2) {
      this.from.resume();
    }
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }
}

/** One proxied connection: the client's socket, the upstream one, a lane each way. */
class Link {
  readonly #lanes: Lane[];
  #cutTimer: NodeJS.Timeout | undefined;
  #closed = 0;

  constructor(
    readonly client: Socket,
    readonly upstream: Socket,
    timing: Timing,
    private readonly onGone: (link: Link) => void,
  ) {
    this.#lanes = [new Lane(client, upstream, timing), new Lane(upstream, client, timing)];
    for (const socket of [client, upstream]) {
      // ssh does its own buffering; Nagle's delay would only add to the latency asked for.
      socket.setNoDelay(true);
      // A failure on either side (a reset, a refused upstream) breaks the whole connection,
      // as a broken network path would.
      socket.on('error', () => {
        this.cut();
      });
      // A clean close of one side waits for the other: data for it may still be queued.
      socket.on('close', () => {
        this.#closed += 1;
        if (this.#closed === 2) {
          this.#forget();
        }
      });
    }
  }

  /** Cuts the connection after `ms`, unless it ends first; `onCut` counts it. */
  cutAfter(ms: number, onCut: () => void): void {
    clearTimeout(this.#cutTimer);
    this.#cutTimer = setTimeout(() => {
      onCut();
      this.cut();
    }, ms);
  }

  cancelCut(): void {
    clearTimeout(this.#cutTimer);
    this.#cutTimer = undefined;
  }

  /** Resets both sides (RST, not FIN: a broken path, not a polite goodbye). */
  cut(): void {
    for (const socket of [this.client, this.upstream]) {
      if (!socket.destroyed) {
        socket.resetAndDestroy();
      }
    }
    this.#forget();
  }

  #forget(): void {
    this.cancelCut();
    for (const lane of this.#lanes) {
      lane.stop();
    }
    this.onGone(this);
  }
}

export class FaultProxy {
  /** Connections accepted and passed on (refused ones not included). */
  accepted = 0;
  /** Connections cut by `cutAll` or by a random lifetime. */
  cuts = 0;
  refused = 0;
  readonly #timing: Timing;
  readonly #links = new Set<Link>();
  readonly #random: () => number;
  #randomCuts: RandomCuts | undefined;
  #refusing = false;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly targetPort: number,
    options: FaultProxyOptions,
  ) {
    this.#timing = { latencyMs: options.latencyMs ?? 0, stalledUntil: 0 };
    this.#random = prng(options.seed ?? 1);
    server.on('connection', (client) => {
      this.#accept(client);
    });
  }

  /** A proxy on a free 127.0.0.1 port in front of 127.0.0.1:`targetPort`. */
  static async start(targetPort: number, options: FaultProxyOptions = {}): Promise<FaultProxy> {
    // Half-open sockets, so that one side's FIN is forwarded rather than closing both.
    const server = createServer({ allowHalfOpen: true });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') {
          reject(new Error('the fault proxy got no port'));
        } else {
          resolve(address.port);
        }
      });
    });
    return new FaultProxy(server, port, targetPort, options);
  }

  /** Connections open now. */
  get open(): number {
    return this.#links.size;
  }

  setLatency(ms: number): void {
    this.#timing.latencyMs = ms;
  }

  /**
   * Holds every byte, both ways and on every connection, for `ms`; resolves when the stall
   * is over. Connections stay open: to ssh it is a network that went silent.
   */
  async stall(ms: number): Promise<void> {
    // Each lane's next delivery is computed when its timer fires: the stall needs no nudge.
    this.#timing.stalledUntil = Math.max(this.#timing.stalledUntil, Date.now() + ms);
    await new Promise((resolve) => setTimeout(resolve, this.#timing.stalledUntil - Date.now()));
  }

  /** Cuts every connection open now; returns how many. */
  cutAll(): number {
    const links = [...this.#links];
    for (const link of links) {
      link.cut();
    }
    this.cuts += links.length;
    return links.length;
  }

  /**
   * From now on each connection, open or new, lives a random time and is then cut;
   * `undefined` stops the cuts (connections open now live on).
   */
  randomCuts(range: RandomCuts | undefined): void {
    this.#randomCuts = range;
    for (const link of this.#links) {
      this.#scheduleCut(link);
    }
  }

  /** While on, new connections are reset at once (a host whose port answers with RST). */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** Stops listening and cuts what is still open. */
  async close(): Promise<void> {
    this.randomCuts(undefined);
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    for (const link of [...this.#links]) {
      link.cut();
    }
    await closed;
  }

  #accept(client: Socket): void {
    if (this.#refusing) {
      this.refused += 1;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    this.accepted += 1;
    const upstream = connect({ port: this.targetPort, host: '127.0.0.1', allowHalfOpen: true });
    const link = new Link(client, upstream, this.#timing, (gone) => this.#links.delete(gone));
    this.#links.add(link);
    this.#scheduleCut(link);
  }

  #scheduleCut(link: Link): void {
    const range = this.#randomCuts;
    if (range === undefined) {
      link.cancelCut();
      return;
    }
    link.cutAfter(range.minMs + this.#random() * (range.maxMs - range.minMs), () => {
      this.cuts += 1;
    });
  }
}
