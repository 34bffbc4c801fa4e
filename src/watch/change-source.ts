/** What every change-detection backend gives the session. */

export type ChangeKind = 'create' | 'update' | 'delete' | 'rename';

export interface ChangeEvent {
  /** Relative to the master root, no leading slash. '' is the root itself. */
  readonly path: string;
  readonly kind: ChangeKind;
  /** A rename's old path: the entry (and what is below it) now at `path` was there. */
  readonly from?: string;
}

export interface ChangeHandlers {
  onEvents(events: readonly ChangeEvent[]): void;
  /**
   * The backend lost events (kernel queue overflow, a watch that could not be placed):
   * the subtree at `path` must be resynced as a whole.
   */
  onLost(path: string, reason: string): void;
  /**
   * The kernel's limit on watches is reached: part of the tree (or all of it) goes unwatched,
   * and changes there raise no event. The session must cover the tree by rescans.
   */
  onLimit(reason: string): void;
}

/**
 * What a start may take its directories from instead of a walk of the tree: those of a
 * listing that began at `since`. The directories changed since then are listed again.
 */
export interface WatchSeed {
  /** Relative, a char per byte (latin1), parents before children. */
  readonly directories: () => Promise<string[]>;
  readonly since: number;
}

export interface ChangeSource {
  /**
   * Resolves once the watch is in place: only then may the initial sync start (invariant 2).
   * A backend that watches directory by directory may take them from `seed`.
   */
  start(handlers: ChangeHandlers, seed?: WatchSeed): Promise<void>;
  stop(): Promise<void>;
}

export interface WatchOptions {
  readonly root: string;
  /** Directory patterns to leave unwatched, as the filter matcher gives them. */
  readonly ignoredDirNames: readonly string[];
  readonly pollIntervalMs: number;
}

/**
 * A rename as the delete of its old path and the creation of its new one (a directory's with
 * all below it): what is sent while the slave does not replay renames, and how each half is
 * judged sent or not.
 */
export const withoutRename = (e: ChangeEvent): ChangeEvent[] => {
  if (e.kind !== 'rename') return [e];
  const created: ChangeEvent = { path: e.path, kind: 'create' };
  return e.from === undefined ? [created] : [{ path: e.from, kind: 'delete' }, created];
};

/** Absolute path under root → relative path. */
export const relativeTo = (root: string, abs: string): string | undefined => {
  if (abs === root) return '';
  const prefix = root.endsWith('/') ? root : `${root}/`;
  return abs.startsWith(prefix) ? abs.slice(prefix.length) : undefined;
};
