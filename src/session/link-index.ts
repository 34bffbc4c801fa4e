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
 * Copies of one change followed at most: a web of links can reach a change by more paths
 * than any tree holds (three links among two directories gave four million). Past this the
 * rest is not followed, and the answer says so (the session rescans instead).
 */
export const MAX_COPIES = 10_000;

export class LinkIndex {
  /** Referent (relative to the root, '' the root) → the links that resolve to it. */
  private readonly byTarget = new Map<string, Set<string>>();
  /** Link → its referents, to drop them again. */
  private readonly targets = new Map<string, readonly string[]>();

  get size(): number {
    return this.targets.size;
  }

  links(): string[] {
    return [...this.targets.keys()];
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

  /** `link` is no link any more (replaced by a file or directory): one lookup. */
  unset(link: string): void {
    this.forget(link);
  }

  /** The links at or under `path` are gone (deleted, renamed away): a look at every link. */
  drop(path: string): void {
    for (const link of [...this.targets.keys()]) if (isWithin(link, path)) this.forget(link);
  }

  /**
   * Links that hold themselves under -L, which rsync would copy into themselves until the path
   * is too long (`link/…/link/…`): a link inside its own referent, or one whose copy reaches
   * back into it through other links (`x/l -> ../y` beside `y/m -> ../x`).
   */
  loops(): string[] {
    return [...this.targets.keys()].filter((link) => this.isLoop(link));
  }

  isLoop(link: string): boolean {
    if ((this.targets.get(link) ?? []).some((t) => isWithin(link, t))) return true;
    return this.reached(link).some((c) => c !== link && isWithin(c, link));
  }

  /**
   * Where a change at `path` shows under -L besides `path` itself: for each link resolving to
   * `path` or to a directory above it, the same entry under the link's name, and so on through
   * links to those (a chain, a link inside a linked directory). A link met again on the way is
   * a loop, not followed.
   */
  reached(path: string): string[] {
    return this.reach(path).copies;
  }

  /** reached(), and whether it is every copy (false past MAX_COPIES). */
  reach(path: string): { copies: string[]; complete: boolean } {
    let complete = true;
    const out = new Set<string>();
    const visit = (p: string, chain: readonly string[]): void => {
      for (let at = p; ; at = parentOf(at)) {
        for (const link of this.byTarget.get(at) ?? []) {
          if (isWithin(link, at) || chain.includes(link)) continue;
          if (out.size >= MAX_COPIES) {
            complete = false;
            return;
          }
          const copy = at === p ? link : `${link}/${p.slice(at === '' ? 0 : at.length + 1)}`;
          if (out.has(copy) || copy === path) continue;
          out.add(copy);
          visit(copy, [...chain, link]);
        }
        if (at === '') break;
      }
    };
    visit(path, []);
    return { copies: [...out], complete };
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

/** The absolute path a link at `link` (relative to `root`) with text `text` names, `..` taken lexically. */
export function lexicalPath(root: string, link: string, text: string): string {
  const joined = text.startsWith('/') ? text : `${root}/${parentOf(link) === '' ? '' : `${parentOf(link)}/`}${text}`;
  const parts: string[] = [];
  for (const part of joined.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return `/${parts.join('/')}`;
}

/** `abs` relative to `root` ('' for the root itself), or undefined when it lies outside. */
export function insideRoot(root: string, abs: string): string | undefined {
  const base = root.replace(/\/+$/, '');
  if (abs === base || (base === '' && abs === '/')) return '';
  return abs.startsWith(`${base}/`) ? abs.slice(base.length + 1) : undefined;
}

/** Whether `abs` is `root` or a directory above it: a link there holds the whole tree. */
export function holdsRoot(root: string, abs: string): boolean {
  const base = root.replace(/\/+$/, '');
  return abs === '/' || abs === base || base.startsWith(`${abs}/`);
}

/**
 * The lexical referent of a link at `link` (relative to the root) whose text is `text`:
 * relative to the root, or undefined when it points out of the tree. An absolute text is
 * taken against `root` (the master root as an absolute path).
 */
export function lexicalReferent(root: string, link: string, text: string): string | undefined {
  return insideRoot(root, lexicalPath(root, link, text));
}
