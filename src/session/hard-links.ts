/**
 * Hard links under `-H` while live: rsync links the names of one inode only when they are in
 * the same run, so a file sent by itself becomes an inode of its own on the slave. The
 * session keeps the names of the master's multi-linked files (found at the start, then from
 * what batches send) and sends a file's other names with it: rsync then links them, as it
 * does in the Full Crawl. Memory grows with the multi-linked files alone.
 *
 * A file seen linked to names not known (`ln a c` raises an event for `c` alone, and `a`
 * was no multi-linked file) has its names looked up once with find, in the background, and
 * they are queued together: the next batch links them. That lookup walks the tree; it runs
 * once per inode and link count.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.js';
import { encodeName } from '../sync/names.js';
import { isWithin } from '../sync/paths.js';
import { multiLinked, namesOf, type InodeKey } from '../watch/hard-link-find.js';

export interface HardLinksDeps {
  readonly masterRoot: string;
  /** Directories the listings leave out (Matcher.ignoredDirNames): not searched either. */
  readonly pruned: readonly string[];
  readonly logger: Logger;
  /** Queues paths to send (non-recursive) and lets a batch start. */
  readonly queue: (paths: readonly string[]) => void;
  readonly signal: AbortSignal;
}

export class HardLinks {
  private readonly groups = new Map<InodeKey, Set<string>>();
  /** The link count each inode had when its names were looked up. */
  private readonly lookedUp = new Map<InodeKey, number>();

  constructor(private readonly d: HardLinksDeps) {}

  /** The master's multi-linked files, found in the background (once the watch is in place). */
  seed(): void {
    const started = performance.now();
    void multiLinked(this.d.masterRoot, this.d.pruned, this.d.signal).then(
      (found) => {
        for (const [key, names] of found) for (const n of names) this.add(key, n);
        this.d.logger.debug('hard links found', { inodes: found.size, seconds: ((performance.now() - started) / 1000).toFixed(2) });
      },
      (e: unknown) => {
        if (!this.d.signal.aborted) this.d.logger.warn('could not list the hard-linked files; a live edit of one may split its links on the slave until its names are sent together', { error: e instanceof Error ? e.message : String(e) });
      },
    );
  }

  /**
   * The other names of the inodes of `paths` (those of a batch), which are not among them:
   * sent in the same run, rsync keeps them linked. Names no longer there are forgotten.
   */
  async peers(paths: readonly string[]): Promise<string[]> {
    const inBatch = new Set(paths);
    const out = new Set<string>();
    for (const p of paths) {
      const st = await this.stat(p);
      if (st === undefined || !st.isFile() || st.nlink < 2) continue;
      const key = `${String(st.dev)}:${String(st.ino)}`;
      this.add(key, p);
      const names = await this.current(key);
      if (names.size < st.nlink && this.lookedUp.get(key) !== st.nlink) this.lookUp(key, st.nlink);
      for (const n of names) if (!inBatch.has(n)) out.add(n);
    }
    return [...out];
  }

  /** Renames replayed on the slave: the names known under an old path are under the new one. */
  retarget(moves: readonly { readonly from: string; readonly to: string }[]): void {
    if (this.groups.size === 0) return;
    for (const names of this.groups.values()) {
      for (const n of [...names]) {
        const m = moves.filter((x) => isWithin(n, x.from)).sort((x, y) => y.from.length - x.from.length)[0];
        if (m === undefined) continue;
        names.delete(n);
        names.add(m.to + n.slice(m.from.length));
      }
    }
  }

  private add(key: InodeKey, name: string): void {
    const names = this.groups.get(key);
    if (names) names.add(name);
    else this.groups.set(key, new Set([name]));
  }

  /** The known names of `key` that still are that inode. */
  private async current(key: InodeKey): Promise<Set<string>> {
    const names = this.groups.get(key) ?? new Set<string>();
    for (const n of [...names]) {
      const st = await this.stat(n);
      if (st === undefined || `${String(st.dev)}:${String(st.ino)}` !== key) names.delete(n);
    }
    if (names.size === 0) this.groups.delete(key);
    return names;
  }

  private lookUp(key: InodeKey, nlink: number): void {
    this.lookedUp.set(key, nlink);
    void namesOf(this.d.masterRoot, this.d.pruned, key, this.d.signal).then(
      (names) => {
        for (const n of names) this.add(key, n);
        this.d.logger.debug('names of a hard-linked file found', { inode: key, names: names.length });
        if (names.length > 1) this.d.queue(names);
      },
      (e: unknown) => {
        if (!this.d.signal.aborted) this.d.logger.warn('could not find the names of a hard-linked file', { inode: key, error: e instanceof Error ? e.message : String(e) });
      },
    );
  }

  private stat(rel: string): Promise<import('node:fs').Stats | undefined> {
    return lstat(encodeName(path.join(this.d.masterRoot, rel))).then(
      (st) => st,
      () => undefined,
    );
  }
}
