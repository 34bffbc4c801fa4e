/**
 * -L (and -k) while live. rsync copies what a link points at, so the slave's copy of a link
 * changes whenever its referent does, and the watch reports that change at the referent's
 * own path, not the link's. The session keeps an index of the master's symlinks (found at
 * the start, then from what the watch reports) and queues each copy a change reaches
 * (link-index.ts). A link pointing out of the tree has a referent no watch sees: the tree is
 * then rescanned every --poll-interval (the listings follow links under -L), as the inotify
 * limit does for directories it cannot watch.
 */
import { realpath } from 'node:fs/promises';
import { usageError } from '../errors.js';
import type { Logger } from '../log/logger.js';
import { allSymlinks, readSymlink, symlinksUnder } from '../watch/symlink-find.js';
import { LinkIndex, MAX_COPIES, holdsRoot, insideRoot, lexicalPath } from './link-index.js';

export interface LinkTargetsDeps {
  readonly masterRoot: string;
  /** Directories the listings leave out (Matcher.ignoredDirNames): not searched either. */
  readonly pruned: readonly string[];
  readonly logger: Logger;
  /** -k alone: rsync follows links to directories only, so only those count as out of the tree. */
  readonly dirsOnly: boolean;
  /** Queues a link's copy to send (as a change the watch reported there) and lets a batch start. */
  readonly queue: (path: string) => void;
  /** A link points out of the tree: what it points at is found by rescans (once). */
  readonly rescan: (reason: string) => void;
  readonly signal: AbortSignal;
}

/** Paths seen while the first find runs, looked at again once it is done; past this, every link is sent once more. */
const MAX_SEEN_WHILE_SEEDING = 100_000;

export class LinkTargets {
  private readonly index = new LinkIndex();
  private realRoot: string | undefined;
  /** Rescans are on: a link out of the tree, or more copies than are followed. */
  private outside = false;
  /** Links to the root or above it: loops the index cannot see (their referent is not in the tree). */
  private readonly rootHolders = new Set<string>();
  /** Loops already reported while live. */
  private readonly reported = new Set<string>();
  /** The latest read asked for each path: an older read that ends later is dropped. */
  private readonly reads = new Map<string, number>();
  private reading = 0;
  /** While the first find runs: the paths whose changes met an index still being filled. */
  private seen: Set<string> | undefined = new Set();
  private seenOverflow = false;

  constructor(private readonly d: LinkTargetsDeps) {}

  /**
   * The master's links, before the crawl. Returns the links rsync would copy into themselves,
   * for the session to refuse; a stop during the find ends it with none.
   */
  async seed(): Promise<string[]> {
    const started = performance.now();
    try {
      const links = await allSymlinks(this.d.masterRoot, this.d.pruned, this.d.signal);
      for (const link of links) await this.learn(link, this.ticket(link));
      this.d.logger.debug('symlinks found', { links: links.length, seconds: ((performance.now() - started) / 1000).toFixed(2) });
    } catch (e) {
      if (!this.d.signal.aborted) this.d.logger.warn('could not list the symlinks; a change to what one points at is sent under it at the next change of the link or rescan', { error: e instanceof Error ? e.message : String(e) });
    }
    // A change met while the index was filling: its copies again, now that they are known.
    const seen = this.seen;
    this.seen = undefined;
    if (this.seenOverflow) for (const link of this.index.links()) this.d.queue(link);
    else for (const p of seen ?? []) for (const copy of this.index.reached(p)) this.d.queue(copy);
    if (this.d.signal.aborted) return [];
    return [...new Set([...this.rootHolders, ...this.index.loops()])];
  }

  /** The copies a change at `path` reaches through links (besides `path` itself). */
  reached(path: string): string[] {
    if (this.seen !== undefined) {
      if (this.seen.size < MAX_SEEN_WHILE_SEEDING) this.seen.add(path);
      else this.seenOverflow = true;
    }
    const { copies, complete } = this.index.reach(path);
    // Not followed to the end: what the rest would send is found by rescans, never dropped.
    if (!complete && !this.outside) {
      this.d.logger.warn('a change reaches more copies through symlinks than are followed; rescanning the tree for the rest', { path, followed: copies.length });
      this.rescanFor(`a change at ${path} reaches more than ${String(MAX_COPIES)} copies through symlinks`);
    }
    return copies;
  }

  /**
   * What the watch reported at `path`: a link made or changed is learnt again (and its copy
   * queued once more, should its referent have changed before this), a directory made or
   * moved in is searched for links, a delete forgets the links it took.
   */
  async changed(path: string, kind: 'create' | 'update' | 'delete'): Promise<void> {
    const ticket = this.ticket(path);
    if (kind === 'delete') {
      this.index.drop(path);
      this.done(path, ticket);
      return;
    }
    if (await this.learn(path, ticket)) {
      this.reportLoop(path);
      this.d.queue(path);
      return;
    }
    if (kind !== 'create') return;
    for (const link of await symlinksUnder(this.d.masterRoot, path, this.d.signal)) {
      if (await this.learn(link, this.ticket(link))) {
        this.reportLoop(link);
        this.d.queue(link);
      }
    }
  }

  /** A read of `path` that supersedes those before it. */
  private ticket(path: string): number {
    const t = ++this.reading;
    this.reads.set(path, t);
    return t;
  }

  /** Whether `ticket` is still the latest for `path`; forgets it once done. */
  private done(path: string, ticket: number): boolean {
    if (this.reads.get(path) !== ticket) return false;
    this.reads.delete(path);
    return true;
  }

  /** Reads the link at `rel` into the index; false when it is no link (or a later read took over). */
  private async learn(rel: string, ticket: number): Promise<boolean> {
    const link = await readSymlink(this.d.masterRoot, rel);
    this.realRoot ??= await realpath(this.d.masterRoot).catch(() => this.d.masterRoot);
    if (!this.done(rel, ticket)) return false;
    if (link === undefined) {
      // Every event's path comes here: no walk over the links for it.
      this.index.unset(rel);
      this.rootHolders.delete(rel);
      return false;
    }
    const lexical = lexicalPath(this.d.masterRoot, rel, link.text);
    const referents = [insideRoot(this.d.masterRoot, lexical), link.real === undefined ? undefined : insideRoot(this.realRoot, link.real)].filter((r): r is string => r !== undefined);
    this.index.set(rel, referents);
    if (holdsRoot(this.d.masterRoot, lexical) || (link.real !== undefined && holdsRoot(this.realRoot, link.real))) this.rootHolders.add(rel);
    else this.rootHolders.delete(rel);
    const out = referents.length === 0 || (link.real !== undefined && insideRoot(this.realRoot, link.real) === undefined);
    if (out && (link.dir || !this.d.dirsOnly) && !this.rootHolders.has(rel)) this.rescanFor(`the symlink ${rel} points out of the tree`);
    return true;
  }

  /** A loop made while live: rsync will copy it until the path is too long; said once. */
  private reportLoop(link: string): void {
    if (this.reported.has(link) || !(this.rootHolders.has(link) || this.index.isLoop(link))) return;
    this.reported.add(link);
    this.d.logger.error('a symlink points at a directory that holds it: rsync -L copies it into itself until the path is too long; remove it or exclude it', { link, exclude: `--exclude=/${link}` });
  }

  /** Rescans from now on (once): something mirrored has no event that reaches its copy. */
  private rescanFor(reason: string): void {
    if (this.outside) return;
    this.outside = true;
    this.d.rescan(reason);
  }
}

/**
 * -L or -k with a link inside what it points at: refused before any rsync runs, which would
 * copy it into itself until the path is too long (`l/l/l/…`, exit 23, measured with 3.5.0).
 */
export function refuseLinkLoops(loops: readonly string[] | undefined): void {
  const first = loops?.[0];
  if (first === undefined) return;
  const more = (loops?.length ?? 0) > 1 ? ` (and ${String((loops?.length ?? 1) - 1)} more)` : '';
  throw usageError(`-L/-k: the symlink ${JSON.stringify(first)} points at a directory that holds it${more}, which rsync would copy into itself without end; exclude it (--exclude=/${first}) or mirror links as links`);
}
