/**
 * From the watcher's events to queued changes: what each event means for what is sent
 * (the filters, a per-directory filter file, a name that another watcher gave lossy, an
 * ignored delete), and the watcher's own troubles (lost events, the inotify limit).
 */
import type { Options } from '../config/options.js';
import type { Matcher } from '../filter/matcher.js';
import type { Logger } from '../log/logger.js';
import { parentOf } from '../sync/paths.js';
import { withoutRename, type ChangeEvent, type ChangeHandlers } from '../watch/change-source.js';
import { SETTLE_MS } from './history.js';
import type { SessionQueue } from './queue.js';
import type { Renames } from './renames.js';
import { emptiedAt } from './prune-empty.js';
import type { LinkTargets } from './link-targets.js';

export interface IntakeDeps {
  readonly options: Options;
  /** The master root, for what -m must look at (prune-empty.ts). */
  readonly masterRoot: string;
  readonly matcher: Matcher;
  readonly logger: Logger;
  readonly queue: SessionQueue;
  /** A path changed again: a slave copy found to differ may be resent once more. */
  readonly changed: (path: string) => void;
  /** The inotify limit is reached; true the first time (see Snapshots.coverByRescans). */
  readonly coverByRescans: (reason: string) => Promise<boolean>;
  readonly stopRequested: () => boolean;
  /** Renames replayed on the slave; undefined: every rename is sent as data. */
  readonly renames?: Renames;
  /** -L, -k: the links whose copies a change reaches. */
  readonly links?: LinkTargets;
}

export class Intake {
  private lastEvent = 0;
  /** -m: directories being looked at after a delete → whether another delete came in them meanwhile. */
  private readonly pruneLooks = new Map<string, boolean>();

  constructor(private readonly d: IntakeDeps) {}

  /** When the watcher last reported anything (ms): snapshots wait for quiet. */
  lastEventAt(): number {
    return this.lastEvent;
  }

  /** The whole tree again, as a change of unknown age seen now (the root came back, the watch limit). */
  resyncAll(): void {
    this.lastEvent = Date.now();
    this.d.queue.push('', true, 0);
  }

  handlers(): ChangeHandlers {
    return {
      onEvents: (events) => {
        this.onEvents(events);
      },
      onLost: (path, reason) => {
        this.d.logger.warn('watcher lost events; resyncing the subtree', { path: path || '.', reason });
        // A loss is a change like any other: it holds back snapshots and starts a batch now.
        this.lastEvent = Date.now();
        // The lost changes are of unknown age: a checkpoint waits for this resync.
        this.d.queue.push(path, true, 0);
      },
      onLimit: (reason) => {
        if (this.d.stopRequested()) return;
        void this.d.coverByRescans(reason).then((first) => {
          if (first) this.resyncAll();
        });
      },
    };
  }

  private onEvents(events: readonly ChangeEvent[]): void {
    this.lastEvent = Date.now();
    this.d.logger.debug('events', { count: events.length, paths: events.slice(0, 50).map((e) => `${e.kind}:${e.path}`).join('|'), queued: this.d.queue.size });
    // An event arrives up to SETTLE_MS after its change: stamp it that old, so that a checkpoint
    // set between a change and its event still waits for it.
    const origin = this.lastEvent - SETTLE_MS;
    for (const e of events) this.queueEvent(e, origin);
    for (const w of this.d.matcher.takeWarnings()) this.d.logger.warn('filter file ignored', { problem: w });
    this.d.queue.kick();
  }

  /** One change as the watcher reports it; `origin`: when it may have happened at the earliest. */
  queueEvent(e: ChangeEvent, origin: number): void {
    if (e.kind === 'rename') {
      if (e.from === undefined) this.queueEvent({ path: e.path, kind: 'create' }, origin);
      else this.queueRenames([{ from: e.from, to: e.path }], origin);
      return;
    }
    this.queueChange(e, origin);
    const links = this.d.links;
    if (links === undefined) return;
    // Under -L the slave holds this change under every link that reaches it too.
    for (const copy of links.reached(e.path)) this.queueChange({ path: copy, kind: e.kind }, origin);
    void links.changed(e.path, e.kind).catch((err: unknown) => {
      this.d.logger.warn('could not read a symlink; what it points at is sent under it at the next change or rescan', { path: e.path, error: err instanceof Error ? err.message : String(err) });
    });
  }

  /** A link's copy to send again (link-targets.ts), as a change seen there now. */
  queueFollowed(path: string): void {
    this.queueChange({ path, kind: 'update' }, Date.now() - SETTLE_MS);
    this.d.queue.kick();
  }

  private queueChange(e: ChangeEvent, origin: number): void {
    const { matcher, queue } = this.d;
    this.d.changed(e.path);
    const name = e.path.slice(e.path.lastIndexOf('/') + 1);
    if (matcher.mergeFileNames.has(name)) {
      // A per-directory filter file changed: what is sent below its directory may have too.
      const dir = parentOf(e.path);
      matcher.invalidate(dir);
      this.d.logger.info('filter file changed; resyncing its directory', { file: e.path, dir: dir || '.' });
      queue.add(dir, true, origin);
      return;
    }
    // The inotify watcher and the listings give names as bytes (sync/names.ts); @parcel/watcher
    // and chokidar give a byte that is not valid UTF-8 as U+FFFD: send its directory instead.
    if (e.path.includes('\uFFFD')) {
      queue.add(parentOf(e.path), true, origin);
      return;
    }
    const verdict = matcher.verdictUntyped(e.path);
    if (verdict === 'exclude') {
      // Not sent, but its directory's mtime changed, as a plain `rsync -a --exclude` would copy.
      this.queueDirAttrs(parentOf(e.path), origin);
      return;
    }
    // A rule for directories only, and the type is unknown: let rsync judge within the parent.
    if (verdict === 'depends-on-type') {
      queue.add(parentOf(e.path), true, origin);
      return;
    }
    if (e.kind === 'delete' && this.d.options.ignoreDeletes) {
      // The delete is not sent; the directory's new mtime is.
      this.queueDirAttrs(parentOf(e.path), origin);
      return;
    }
    // Whatever is a directory when the batch is built is sent whole: it may have appeared with
    // content the watcher never saw (moved in), and @parcel/watcher reports a file replaced by
    // a directory as an "update". The root's own update is only its attributes.
    queue.add(e.path, e.kind !== 'delete' && e.path !== '', origin);
    if (e.kind === 'delete' && this.d.options.rsyncFlags.has('prune-empty-dirs')) void this.pruneAbove(e.path, origin);
  }

  /**
   * -m: a chain the delete left without files goes from the slave too (prune-empty.ts). One
   * look per directory at a time, again once done when more deletes came meanwhile: `rm -rf`
   * of a large tree is one look per directory, not one per file.
   */
  private async pruneAbove(deleted: string, origin: number): Promise<void> {
    const dir = parentOf(deleted);
    if (this.pruneLooks.has(dir)) {
      this.pruneLooks.set(dir, true);
      return;
    }
    try {
      do {
        this.pruneLooks.set(dir, false);
        const whole = await emptiedAt(this.d.masterRoot, dir, this.d.matcher).catch(() => undefined);
        if (whole === undefined || this.d.stopRequested()) continue;
        this.d.logger.debug('directories left without files; sending the nearest that holds some whole', { deleted, dir: whole || '.' });
        this.d.queue.add(whole, true, origin);
        this.d.queue.kick();
      } while (this.pruneLooks.get(dir) === true);
    } finally {
      this.pruneLooks.delete(dir);
    }
  }

  /**
   * Renames made at once (one event, or what a History Crawl found): replayed on the slave
   * where it can (renames.ts), else each as the delete of its old name and its new name whole.
   */
  queueRenames(moves: readonly { from: string; to: string }[], origin: number): void {
    const rest = this.d.renames?.queue(moves, origin) ?? moves;
    const sent = new Set(rest);
    for (const m of moves) if (!sent.has(m)) this.d.changed(m.to);
    for (const m of rest) for (const half of withoutRename({ path: m.to, kind: 'rename', from: m.from })) this.queueEvent(half, origin);
  }

  /** A directory's own attributes (mtime, mode), not its content. */
  private queueDirAttrs(dir: string, origin: number): void {
    if (dir === '' || this.d.matcher.verdict(dir, true) === 'include') this.d.queue.add(dir, false, origin);
  }
}
