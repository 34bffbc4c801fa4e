/**
 * rsync runs the slave gsyncd starts for the master over its channel (issue 14): no remote
 * shell, no new SSH session per batch. A request is checked exactly as the forced command
 * checks one (rsync-allow.ts: a receiving `rsync --server` with gsyncd's options, into a
 * destination inside the session's root and the allowed roots), then rsync is executed with
 * those words, no shell. Its stdin and stdout travel as the stream's messages, with flow
 * control (transport/stream-window.ts); its stderr as `stderr`; its end as `exit`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '../log/logger.js';
import { dieWithParent } from '../sync/no-orphans.js';
import { inflow, Outflow } from '../transport/stream-window.js';
import { splitWords } from '../transport/shell-words.js';
import { allowedRoots, placeRsyncRequest, sessionRoot } from './rsync-request.js';
import type { StreamMessage } from './protocol.js';
import { checkRsyncServer } from './rsync-allow.js';

interface Run {
  readonly child: ChildProcess;
  readonly out: Outflow;
}

export interface SlaveStreamsOptions {
  readonly send: (m: StreamMessage) => void;
  /** The session's root (resolved in the handshake) and the allowed roots (forced command). */
  readonly root: () => string | undefined;
  readonly roots: readonly string[];
  readonly rsyncCommand: string;
  readonly logger: Logger;
}

export class SlaveStreams {
  private readonly runs = new Map<number, Run>();

  constructor(private readonly o: SlaveStreamsOptions) {}

  async handle(m: StreamMessage): Promise<void> {
    const run = this.runs.get(m.stream);
    switch (m.type) {
      case 'rsync':
        if (run) return;
        await this.start(m.stream, m.words);
        return;
      case 'data':
        if (run?.child.stdin) {
          inflow(run.child.stdin, Buffer.from(m.b64, 'base64'), (bytes) => {
            this.o.send({ type: 'credit', stream: m.stream, bytes });
          });
        }
        return;
      case 'eof':
        run?.child.stdin?.end();
        return;
      case 'credit':
        run?.out.credit(m.bytes);
        return;
      case 'kill':
        run?.child.kill('SIGTERM');
        return;
      default:
        return;
    }
  }

  /** The channel ended: no run outlives it. */
  closeAll(): void {
    for (const r of this.runs.values()) r.child.kill('SIGTERM');
  }

  private refuse(stream: number, reason: string): void {
    this.o.logger.warn('refused', { request: 'rsync stream', reason });
    this.o.send({ type: 'exit', stream, code: 3, reason: `gsyncd slave refused: ${reason}` });
  }

  /** The checked options and destination of a request, or why it is refused. */
  private async checked(words: readonly string[]): Promise<{ options: readonly string[]; dest: string } | { reason: string }> {
    const root = this.o.root();
    if (root === undefined) return { reason: 'no root yet' };
    const check = checkRsyncServer(words);
    if (!check.ok) return { reason: check.reason };
    // Inside the session's root, and inside one of the allowed roots where the operator gave some.
    const roots = this.o.roots;
    return placeRsyncRequest(check, { base: root, within: roots.length > 0 ? [sessionRoot(root), allowedRoots(roots)] : [sessionRoot(root)], confined: roots.length > 0 });
  }

  private async start(stream: number, words: readonly string[]): Promise<void> {
    const check = await this.checked(words);
    if ('reason' in check) {
      this.refuse(stream, check.reason);
      return;
    }
    const { options, dest } = check;
    const [program = 'rsync', ...pre] = splitWords(this.o.rsyncCommand);
    const child = spawn(...dieWithParent(program, [...pre, '--server', ...options, '--', '.', dest]), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = new Outflow(child.stdout, (chunk) => {
      this.o.send({ type: 'data', stream, b64: chunk.toString('base64') });
    });
    this.runs.set(stream, { child, out });
    child.stderr.on('data', (d: Buffer) => {
      this.o.send({ type: 'stderr', stream, b64: d.toString('base64') });
    });
    child.stdin.on('error', () => undefined);
    let ended = false;
    const end = (code: number, reason?: string): void => {
      if (ended) return;
      ended = true;
      this.runs.delete(stream);
      this.o.send({ type: 'exit', stream, code, ...(reason !== undefined ? { reason } : {}) });
    };
    child.once('error', (e) => {
      end(127, `cannot run ${program}: ${e.message}`);
    });
    // 'close': stdout and stderr are drained, so every byte went out before the exit.
    child.once('close', (code, signal) => {
      end(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    });
  }
}
