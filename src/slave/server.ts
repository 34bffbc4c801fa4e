/**
 * `gsyncd slave`'s side of the channel: answer the handshake, keepalives, and questions
 * about what arrived, and replay the entry operations the master asks for, checked against
 * the root (entry-ops.ts), and run the master's rsync streams (rsync-streams.ts). Data is
 * written by rsync alone.
 */
import { createInterface } from 'node:readline';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { applyEntryOp, ENTRY_OPS } from './entry-ops.js';
import { rootFacts, rsyncVersion } from './facts.js';
import { insideRoots } from './inside-roots.js';
import { PROTOCOL_VERSION, decodeRequest, encodeLine, type HelloRequest, type Reply } from './protocol.js';
import { SlaveStreams } from './rsync-streams.js';

/** How the slave looks at its tree for the master's questions (the verify module). */
export interface TreeInspector {
  stat(root: string, keys: readonly string[], checksum: boolean): Promise<readonly unknown[]>;
  list(root: string, checksum: boolean): AsyncIterable<unknown>;
}

export interface SlaveServerOptions {
  readonly inspector: TreeInspector;
  /** Allowed roots; empty: any root the slave user can write. */
  readonly roots: readonly string[];
  readonly volumes: ReadonlyMap<string, string>;
  readonly rsyncCommand: string;
  readonly timeoutSeconds: number;
  readonly version: string;
  readonly logger: Logger;
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
}

export type ServeResult = { readonly code: 0 } | { readonly code: 1 | 3; readonly reason: string };

async function resolveRoot(hello: HelloRequest, o: SlaveServerOptions): Promise<{ root: string } | { reason: string }> {
  let wanted: string;
  if (hello.volume !== undefined) {
    const p = o.volumes.get(hello.volume);
    if (p === undefined) {
      const names = [...o.volumes.keys()];
      return { reason: `unknown volume "${hello.volume}"; this slave has ${names.length ? names.join(', ') : 'no volumes'}` };
    }
    wanted = p;
  } else if (hello.root !== undefined) {
    wanted = hello.root;
  } else return { reason: 'the handshake names no root' };
  const abs = path.resolve(wanted);
  if (o.roots.length === 0) return { root: abs };
  const inside = await insideRoots(abs, o.roots);
  if (inside === undefined) return { reason: `root ${abs} is outside the allowed roots (${o.roots.join(', ')})` };
  // The allowed root itself must exist: a typo in authorized_keys must not create trees.
  for (const r of o.roots) {
    const facts = await rootFacts(r);
    if (inside.startsWith(path.resolve(r)) && !facts.exists) return { reason: `allowed root ${r} does not exist` };
  }
  return { root: inside };
}

export async function serveSlave(o: SlaveServerOptions): Promise<ServeResult> {
  const send = (m: Reply): void => {
    o.output.write(encodeLine(m));
  };
  const lines = createInterface({ input: o.input, crlfDelay: Infinity });
  let root: string | undefined;
  /** Listings in progress, one page at a time. */
  const walks = new Map<number, AsyncIterator<unknown>>();
  let timeoutSeconds = o.timeoutSeconds;
  const streams = new SlaveStreams({ send, root: () => root, roots: o.roots, rsyncCommand: o.rsyncCommand, logger: o.logger });
  let timer: NodeJS.Timeout | undefined;
  const silence = { timedOut: false };
  const arm = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      silence.timedOut = true;
      o.logger.warn('master silent; exiting', { timeout_s: timeoutSeconds });
      lines.close();
    }, timeoutSeconds * 1000);
  };
  arm();
  try {
    for await (const line of lines) {
      arm();
      const req = decodeRequest(line);
      if (!req) {
        send({ type: 'error', reason: 'not a message of this protocol' });
        return { code: 1, reason: `bad message from the master: ${line.slice(0, 200)}` };
      }
      if (root === undefined && req.type !== 'hello') {
        send({ type: 'error', reason: 'the handshake must come first' });
        return { code: 1, reason: 'message before the handshake' };
      }
      switch (req.type) {
        case 'hello': {
          if (req.protocol !== PROTOCOL_VERSION) {
            const reason = `protocol mismatch: the master speaks version ${req.protocol} (gsyncd ${req.version}), this slave ${PROTOCOL_VERSION} (gsyncd ${o.version})`;
            send({ type: 'error', reason });
            return { code: 3, reason };
          }
          const resolved = await resolveRoot(req, o);
          if ('reason' in resolved) {
            send({ type: 'error', reason: `refused: ${resolved.reason}` });
            return { code: 3, reason: resolved.reason };
          }
          root = resolved.root;
          if (req.timeout !== undefined && req.timeout > 0) timeoutSeconds = req.timeout;
          arm();
          const facts = await rootFacts(root);
          send({
            type: 'hello',
            protocol: PROTOCOL_VERSION,
            version: o.version,
            rsync_version: await rsyncVersion(o.rsyncCommand),
            root,
            exists: facts.exists,
            root_id: facts.id,
            writable: facts.writable,
            free_bytes: facts.freeBytes,
            empty: facts.empty,
            entry_ops: ENTRY_OPS,
            streams: true,
          });
          o.logger.info('master connected', { root, master_version: req.version });
          break;
        }
        case 'ping':
          send({ type: 'pong', id: req.id });
          break;
        case 'stat':
          try {
            send({ type: 'stat', id: req.id, reports: await o.inspector.stat(root ?? "/", req.keys, req.checksum) });
          } catch (e) {
            send({ type: 'error', id: req.id, reason: e instanceof Error ? e.message : String(e) });
          }
          break;
        case 'entry': {
          // One at a time, in the order asked: a chain (a → b, b → c) is replayed as made.
          const { type: _type, id, ...op } = req;
          const r = await applyEntryOp(root ?? '/', op);
          if (r.result !== 'done') o.logger.info('entry operation not replayed', { op: op.op, result: r.result, reason: r.reason });
          send({ type: 'entry', id, ...r });
          break;
        }
        case 'rsync':
        case 'data':
        case 'stderr':
        case 'eof':
        case 'credit':
        case 'kill':
        case 'exit':
          // In order: a stream's bytes follow the request that starts it.
          await streams.handle(req);
          break;
        case 'list':
        case 'more':
          try {
            if (req.type === 'list') walks.set(req.id, o.inspector.list(root ?? '/', req.checksum)[Symbol.asyncIterator]());
            const walk = walks.get(req.id);
            if (!walk) {
              send({ type: 'error', id: req.id, reason: 'no such listing' });
              break;
            }
            const entries: unknown[] = [];
            let done = false;
            while (entries.length < req.count) {
              const next = await walk.next();
              if (next.done === true) {
                done = true;
                break;
              }
              entries.push(next.value);
            }
            if (done) walks.delete(req.id);
            send({ type: 'entries', id: req.id, entries, done });
          } catch (e) {
            walks.delete(req.id);
            send({ type: 'error', id: req.id, reason: e instanceof Error ? e.message : String(e) });
          }
          break;
      }
    }
  } finally {
    if (timer) clearTimeout(timer);
    streams.closeAll();
  }
  return silence.timedOut ? { code: 1, reason: `no word from the master for ${timeoutSeconds} s` } : { code: 0 };
}
