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
import { LinkIndex, lexicalReferent } from './link-index.js';

export interface LinkTargetsDeps {
  readonly masterRoot: string;
  /** Directories the listings leave out (Matcher.ignoredDirNames): not searched either. */
  readonly pruned: readonly string[];
  readonly logger: Logger;
  /** Queues a link's copy to send (as a change the watch reported there) and lets a batch start. */
  readonly queue: (path: string) => void;
  /** A link points out of the tree: what it points at is found by rescans (once). */
  readonly rescan: (reason: string) => void;
  readonly signal: AbortSignal;
}

export class LinkTargets {
  private readonly index = new LinkIndex();
  private realRoot: string | undefined;
  private outside = 0;

  constructor(private readonly d: LinkTargetsDeps) {}

  /**
   * The master's links, before the crawl: a link that holds itself is refused (rsync -L would
   * copy it until the path is too long), as the list of them.
   */
  async seed(): Promise<string[]> {
    const started = performance.now();
    const links = await allSymlinks(this.d.masterRoot, this.d.pruned, this.d.signal);
    for (const link of links) await this.learn(link);
    this.d.logger.debug('symlinks found', { links: links.length, outside: this.outside, seconds: ((performance.now() - started) / 1000).toFixed(2) });
    return this.index.loops();
  }

  /** The copies a change at `path` reaches through links (besides `path` itself). */
  reached(path: string): string[] {
    return this.index.reached(path);
  }

  /**
   * What the watch reported at `path`: a link made or changed is learnt again (and its copy
   * queued once more, should its referent have changed before this), a directory made or
   * moved in is searched for links, a delete forgets the links it took.
   */
  async changed(path: string, kind: 'create' | 'update' | 'delete'): Promise<void> {
    if (kind === 'delete') {
      this.index.drop(path);
      return;
    }
    if (await this.learn(path)) {
      this.d.queue(path);
      return;
    }
    if (kind !== 'create') return;
    for (const link of await symlinksUnder(this.d.masterRoot, path, this.d.signal)) {
      if (await this.learn(link)) this.d.queue(link);
    }
  }

  /** Reads the link at `rel` into the index; false when it is no link. */
  private async learn(rel: string): Promise<boolean> {
    const link = await readSymlink(this.d.masterRoot, rel);
    if (link === undefined) {
      this.index.drop(rel);
      return false;
    }
    this.realRoot ??= await realpath(this.d.masterRoot).catch(() => this.d.masterRoot);
    const referents: string[] = [];
    const lexical = lexicalReferent(this.d.masterRoot, rel, link.text);
    if (lexical !== undefined) referents.push(lexical);
    const real = link.real === undefined ? undefined : lexicalReferent(this.realRoot, '', link.real);
    if (real !== undefined) referents.push(real);
    this.index.set(rel, referents);
    if (referents.length === 0 || (link.real !== undefined && real === undefined)) this.pointsOut(rel);
    return true;
  }

  private pointsOut(link: string): void {
    this.outside++;
    if (this.outside > 1) return;
    this.d.rescan(`the symlink ${link} points out of the tree`);
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
