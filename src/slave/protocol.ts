/**
 * The slave channel: JSON lines over the stdin/stdout of `gsyncd slave`, started through
 * the shared SSH connection. Versioned: a master and a slave with different protocol
 * numbers refuse each other in the handshake. Pure: types and line codec.
 *
 *   master                                   slave
 *   hello {protocol, version, root|volume} ─▶
 *                                         ◀─ hello {protocol, version, rsync_version, root,
 *                                               writable, free_bytes, empty} | error {reason}
 *   ping {id}                             ─▶
 *                                         ◀─ pong {id}
 *   stat {id, keys, checksum}             ─▶
 *                                         ◀─ stat {id, reports}
 *   list {id, checksum, count}            ─▶  (starts a walk of the whole root)
 *                                         ◀─ entries {id, entries, done}
 *   more {id, count}                      ─▶  (the next page of that walk: bounded memory
 *                                         ◀─ entries {id, entries, done}   on both sides)
 *   entry {id, op: rename, from, to}      ─▶  (an entry operation: entry-ops.ts; only when
 *   entry {id, op: link, target, path}    ─▶   the hello reply lists it in entry_ops)
 *                                         ◀─ entry {id, result: done|fallback|refused, reason}
 */
import type { EntryOp, EntryResult } from './entry-ops.js';

export const PROTOCOL_VERSION = 1;

export interface HelloRequest {
  readonly type: 'hello';
  readonly protocol: number;
  readonly version: string;
  /** The slave root asked for: a path, or a volume of the slave's own config. */
  readonly root?: string;
  readonly volume?: string;
  /** Seconds of silence after which the slave gives up on the master. */
  readonly timeout?: number;
}

export interface HelloReply {
  readonly type: 'hello';
  readonly protocol: number;
  readonly version: string;
  readonly rsync_version: string;
  /** The root resolved on the slave (symlinks, volume). */
  readonly root: string;
  readonly exists: boolean;
  /** `dev:ino` of the root, so the master can tell a replaced root; null when it does not exist. */
  readonly root_id?: string | null;
  readonly writable: boolean;
  readonly free_bytes: number | null;
  /** Whether the root holds no entry at all (for the empty-master guard). */
  readonly empty: boolean;
  /** The entry operations this slave replays (absent: an older slave, which replays none). */
  readonly entry_ops?: readonly EntryOp['op'][];
  /** Whether this slave runs `rsync --server` itself over the channel (rsync streams). */
  readonly streams?: boolean;
}

export interface ErrorReply {
  readonly type: 'error';
  readonly reason: string;
  readonly id?: number;
}

/**
 * An rsync run carried over the channel (stream `stream`, a fresh id): the master asks the
 * slave to start `rsync --server` with `words` (checked as the forced command checks them),
 * then both ends send its bytes as `data` (base64), grant room for more with `credit`
 * (each end has at most STREAM_WINDOW bytes unacknowledged), and say `eof`. The slave
 * sends rsync's stderr as `stderr` and ends with `exit`; the master may `kill` it.
 */
export type StreamMessage =
  | { readonly type: 'rsync'; readonly stream: number; readonly words: readonly string[] }
  | { readonly type: 'data'; readonly stream: number; readonly b64: string }
  | { readonly type: 'stderr'; readonly stream: number; readonly b64: string }
  | { readonly type: 'eof'; readonly stream: number }
  | { readonly type: 'credit'; readonly stream: number; readonly bytes: number }
  | { readonly type: 'kill'; readonly stream: number }
  | { readonly type: 'exit'; readonly stream: number; readonly code: number; readonly reason?: string };

/** Bytes each end of a stream may send before the other has taken them. */
export const STREAM_WINDOW = 4 * 1024 * 1024;
/** The largest piece of a stream in one message. */
export const STREAM_CHUNK = 128 * 1024;

export type Request =
  | HelloRequest
  | StreamMessage
  | { readonly type: 'ping'; readonly id: number }
  | { readonly type: 'stat'; readonly id: number; readonly keys: readonly string[]; readonly checksum: boolean }
  | { readonly type: 'list'; readonly id: number; readonly checksum: boolean; readonly count: number }
  | { readonly type: 'more'; readonly id: number; readonly count: number }
  | ({ readonly type: 'entry'; readonly id: number } & EntryOp);

export type Reply =
  | HelloReply
  | StreamMessage
  | ErrorReply
  | { readonly type: 'pong'; readonly id: number }
  | { readonly type: 'stat'; readonly id: number; readonly reports: readonly unknown[] }
  | { readonly type: 'entries'; readonly id: number; readonly entries: readonly unknown[]; readonly done: boolean }
  | ({ readonly type: 'entry'; readonly id: number } & EntryResult);

export const encodeLine = (message: Request | Reply): string => `${JSON.stringify(message)}\n`;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses one line; undefined for anything that is not a message of this protocol. */
export function decodeRequest(line: string): Request | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  switch (v['type']) {
    case 'hello':
      if (typeof v['protocol'] !== 'number' || typeof v['version'] !== 'string') return undefined;
      if (v['root'] !== undefined && typeof v['root'] !== 'string') return undefined;
      if (v['volume'] !== undefined && typeof v['volume'] !== 'string') return undefined;
      if (v['timeout'] !== undefined && typeof v['timeout'] !== 'number') return undefined;
      return v as unknown as HelloRequest;
    case 'ping':
      return typeof v['id'] === 'number' ? { type: 'ping', id: v['id'] } : undefined;
    case 'stat':
      if (typeof v['id'] !== 'number' || !Array.isArray(v['keys']) || !v['keys'].every((k) => typeof k === 'string')) return undefined;
      return { type: 'stat', id: v['id'], keys: v['keys'], checksum: v['checksum'] === true };
    case 'list':
    case 'more': {
      const count = typeof v['count'] === 'number' && v['count'] > 0 ? Math.min(v['count'], 10_000) : 1000;
      if (typeof v['id'] !== 'number') return undefined;
      return v['type'] === 'list' ? { type: 'list', id: v['id'], checksum: v['checksum'] === true, count } : { type: 'more', id: v['id'], count };
    }
    case 'entry': {
      if (typeof v['id'] !== 'number') return undefined;
      const id = v['id'];
      const s = (k: string): string | undefined => (typeof v[k] === 'string' ? v[k] : undefined);
      const [from, to, target, at] = [s('from'), s('to'), s('target'), s('path')];
      if (v['op'] === 'rename' && from !== undefined && to !== undefined) return { type: 'entry', id, op: 'rename', from, to };
      if (v['op'] === 'link' && target !== undefined && at !== undefined) return { type: 'entry', id, op: 'link', target, path: at };
      return undefined;
    }
    default:
      return decodeStream(v);
  }
}

/** A stream message, checked field by field; undefined for anything else. */
export function decodeStream(v: Record<string, unknown>): StreamMessage | undefined {
  const stream = v['stream'];
  if (typeof stream !== 'number' || !Number.isInteger(stream) || stream < 0) return undefined;
  switch (v['type']) {
    case 'rsync': {
      const words = v['words'];
      return Array.isArray(words) && words.every((w) => typeof w === 'string') ? { type: 'rsync', stream, words: words } : undefined;
    }
    case 'data':
    case 'stderr':
      return typeof v['b64'] === 'string' ? { type: v['type'], stream, b64: v['b64'] } : undefined;
    case 'eof':
    case 'kill':
      return { type: v['type'], stream };
    case 'credit':
      return typeof v['bytes'] === 'number' && v['bytes'] >= 0 ? { type: 'credit', stream, bytes: v['bytes'] } : undefined;
    case 'exit':
      return typeof v['code'] === 'number' ? { type: 'exit', stream, code: v['code'], ...(typeof v['reason'] === 'string' ? { reason: v['reason'] } : {}) } : undefined;
    default:
      return undefined;
  }
}

export function decodeReply(line: string): Reply | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (!isObject(v) || typeof v['type'] !== 'string') return undefined;
  return v as unknown as Reply;
}
