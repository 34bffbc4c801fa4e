/**
 * The watched directories as a tree: each directory knows its watch, its name and its parent,
 * and nothing of the files it holds, so memory grows with directories, not files. A path is
 * made from the names when needed: a moved directory is one node re-linked, and what is below
 * it comes under its new path at once. Names are kept as latin1 strings (one char per byte), so
 * a name that is not valid UTF-8 is watched all the same. Pure.
 */

export interface DirNode {
  wd: number;
  /** The name's bytes as latin1; '' for the root. */
  name: string;
  parent: DirNode | undefined;
  readonly children: Map<string, DirNode>;
}

export class DirTree {
  readonly root: DirNode;
  private readonly byWd = new Map<number, DirNode>();

  constructor(rootWd: number) {
    this.root = { wd: rootWd, name: '', parent: undefined, children: new Map() };
    this.byWd.set(rootWd, this.root);
  }

  get size(): number {
    return this.byWd.size;
  }

  node(wd: number): DirNode | undefined {
    return this.byWd.get(wd);
  }

  /** A directory placed under `parent` with its watch; an existing child of that name is replaced. */
  add(parent: DirNode, name: string, wd: number): DirNode {
    const node: DirNode = { wd, name, parent, children: new Map() };
    parent.children.set(name, node);
    this.byWd.set(wd, node);
    return node;
  }

  /** The path below the root, latin1, '' for the root; undefined when the node is no longer in the tree. */
  pathOf(node: DirNode): string | undefined {
    const names: string[] = [];
    for (let n = node; n !== this.root; ) {
      const parent = n.parent;
      if (parent === undefined || parent.children.get(n.name) !== n) return undefined;
      names.push(n.name);
      n = parent;
    }
    return names.reverse().join('/');
  }

  /** Moves `node` to `parent` under `name` (a rename within the tree). */
  move(node: DirNode, parent: DirNode, name: string): void {
    if (node.parent?.children.get(node.name) === node) node.parent.children.delete(node.name);
    node.parent = parent;
    node.name = name;
    parent.children.set(name, node);
  }

  /** Takes `node` and everything below it out of the tree; returns their watches. */
  detach(node: DirNode): number[] {
    if (node.parent?.children.get(node.name) === node) node.parent.children.delete(node.name);
    node.parent = undefined;
    const wds: number[] = [];
    const stack = [node];
    for (let n = stack.pop(); n !== undefined; n = stack.pop()) {
      wds.push(n.wd);
      if (this.byWd.get(n.wd) === n) this.byWd.delete(n.wd);
      stack.push(...n.children.values());
      n.children.clear();
    }
    return wds;
  }

  /** The kernel dropped a watch (IN_IGNORED): its directory is gone, or was detached already. */
  forget(wd: number): void {
    const node = this.byWd.get(wd);
    if (node && node !== this.root) this.detach(node);
  }
}
