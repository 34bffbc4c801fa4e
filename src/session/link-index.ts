/**
 * Under -L (and -k) rsync copies what a symlink points at, so the slave holds the referent's
 * content under the link's name. The watch reports a change where it happens, at the
 * referent's own path: this index says which links' copies that change reaches. Pure: the
 * links and where they point are told to it (link-targets.ts reads them).
 *
 * A link is kept under each path of the tree it resolves to: the kernel's (realpath, when
 * the referent exists) and the lexical one (its text taken from its directory, which is where
 * a dangling link's referent would appear). Memory grows with the links, not the files.
 */
import { isWithin, parentOf } from '../sync/paths.js';

/**
 * Links followed through links (a link to a linked directory) at most this deep: the
 * kernel's own bound (SYMLOOP_MAX is 40 on Linux) is far above any real chain, and a loop
 * must end.
 */
const MAX_DEPTH = 40;

export class LinkIndex {
  /** Referent (relative to the root, '' the root) → the links that resolve to it. */
  private readonly byTarget = new Map<string, Set<string>>();
  /** Link → its referents, to drop them again. */
  private readonly targets = new Map<string, readonly string[]>();

  get size(): number {
    return this.targets.size;
  }

  /** `link` points at `referents` (none: out of the tree); replaces what was known of it. */
  set(link: string, referents: readonly string[]): void {
    this.forget(link);
    const unique = [...new Set(referents)];
    this.targets.set(link, unique);
    for (const t of unique) {
      const links = this.byTarget.get(t);
      if (links) links.add(link);
      else this.byTarget.set(t, new Set([link]));
    }
  }

  /** The links at or under `path` are gone (deleted, renamed away). */
  drop(path: string): void {
    for (const link of [...this.targets.keys()]) if (isWithin(link, path)) this.forget(link);
  }

  /**
   * Links that hold themselves under -L: their referent is a directory they are in (or the
   * link itself), so rsync would copy `link/link/link/…` until the path is too long.
   */
  loops(): string[] {
    const out: string[] = [];
    for (const [link, referents] of this.targets) if (referents.some((t) => isWithin(link, t))) out.push(link);
    return out;
  }

  /**
   * Where a change at `path` shows under -L besides `path` itself: for each link resolving to
   * `path` or to a directory above it, the same entry under the link's name, and so on through
   * links to those (a chain, a link inside a linked directory).
   */
  reached(path: string): string[] {
    const out = new Set<string>();
    const visit = (p: string, depth: number): void => {
      if (depth >= MAX_DEPTH) return;
      for (let at = p; ; at = parentOf(at)) {
        for (const link of this.byTarget.get(at) ?? []) {
          // A link inside its own referent is a loop (loops() reports it): not followed.
          if (isWithin(link, at)) continue;
          const copy = at === p ? link : `${link}/${p.slice(at === '' ? 0 : at.length + 1)}`;
          if (out.has(copy) || copy === path) continue;
          out.add(copy);
          visit(copy, depth + 1);
        }
        if (at === '') break;
      }
    };
    visit(path, 0);
    return [...out];
  }

  private forget(link: string): void {
    for (const t of this.targets.get(link) ?? []) {
      const links = this.byTarget.get(t);
      links?.delete(link);
      if (links?.size === 0) this.byTarget.delete(t);
    }
    this.targets.delete(link);
  }
}

/**
 * The lexical referent of a link at `link` (relative to the root) whose text is `text`:
 * relative to the root, or undefined when it points out of the tree. An absolute text is
 * taken against `root` (the master root as an absolute path).
 */
export function lexicalReferent(root: string, link: string, text: string): string | undefined {
  const joined = text.startsWith('/') ? text : `${root}/${parentOf(link) === '' ? '' : `${parentOf(link)}/`}${text}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  const abs = `/${parts.join('/')}`;
  const base = root === '/' ? '' : root.replace(/\/+$/, '');
  if (abs === base || (base === '' && abs === '/')) return '';
  return abs.startsWith(`${base}/`) ? abs.slice(base.length + 1) : undefined;
}
