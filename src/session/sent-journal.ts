/**
 * What was sent since the last snapshot, on disk as it happens: one JSON line per run (its
 * start, whether its paths were subtrees sent whole, the paths). A clean stop then needs no
 * listing of the tree, however large: the next start takes a change of the snapshot diff for
 * sent when a journalled run covers it (sent-since.ts), as the reconciliation does while live.
 * Lines are appended without fsync: a crash loses the last ones, and the next start then
 * sends more again, never less. A line cut short by a crash is skipped.
 */
import { appendFile, readFile, rm } from 'node:fs/promises';
import type { Logger } from '../log/logger.js';
import type { SentSince } from './sent-since.js';

type Line = { readonly t: number; readonly s?: 1; readonly p: readonly string[] } | { readonly overflow: true };

export class SentJournal {
  /** Appends and removals in order, one at a time. */
  private chain: Promise<void> = Promise.resolve();
  private warned = false;
  private overflowWritten = false;

  constructor(
    private readonly file: string,
    private readonly logger: Logger,
  ) {}

  append(paths: readonly string[], startedAt: number, subtrees: boolean): void {
    if (paths.length === 0) return;
    this.write({ t: startedAt, ...(subtrees ? { s: 1 as const } : {}), p: paths });
  }

  /** The runs since the snapshot passed the bound of what is remembered: the next start covers nothing. */
  overflow(): void {
    if (this.overflowWritten) return;
    this.overflowWritten = true;
    this.write({ overflow: true });
  }

  /** A snapshot was saved: what was sent before it is in it. */
  clear(): void {
    this.overflowWritten = false;
    this.chain = this.chain.then(() => rm(this.file, { force: true })).catch((e: unknown) => {
      this.warn(e);
    });
  }

  /** Resolves once every line given so far is written. */
  flushed(): Promise<void> {
    return this.chain;
  }

  private write(line: Line): void {
    const text = `${JSON.stringify(line)}\n`;
    this.chain = this.chain.then(() => appendFile(this.file, text)).catch((e: unknown) => {
      this.warn(e);
    });
  }

  private warn(e: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn('could not keep the journal of what was sent; the next start sends again what changed since the last snapshot', {
      file: this.file,
      error: e instanceof Error ? e.message : String(e),
    });
  }
}

/**
 * The runs journalled at or after `sinceMs` (the snapshot's time: an earlier run covers no
 * change the snapshot does not already hold), into `into`. Returns how many runs.
 */
export async function loadJournal(file: string, sinceMs: number, into: SentSince): Promise<number> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return 0;
  }
  let runs = 0;
  for (const raw of text.split('\n')) {
    let line: unknown;
    try {
      line = JSON.parse(raw);
    } catch {
      continue;
    }
    if (typeof line !== 'object' || line === null) continue;
    const l = line as Record<string, unknown>;
    if (l['overflow'] === true) {
      into.giveUp();
      continue;
    }
    const t = l['t'];
    const p = l['p'];
    if (typeof t !== 'number' || !Array.isArray(p) || t < sinceMs) continue;
    into.add(p.filter((x): x is string => typeof x === 'string'), t, l['s'] === 1);
    runs++;
  }
  return runs;
}
