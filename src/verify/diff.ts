/**
 * Two sorted entry streams → their differences, by a merge-join on compareKeys: memory
 * stays at one entry per side, whatever the size of the trees. What counts as a
 * difference is changedAttributes' business (entry.ts), shared with the slave's answers.
 */
import { changedAttributes, displayKey, type Attribute, type TreeEntry } from './entry.js';
import { compareKeys } from './walk.js';

export type { Attribute };

export type Difference =
  /** On the master, not on the slave. */
  | { readonly kind: 'missing'; readonly master: TreeEntry }
  /** On the slave, not on the master (under a directory only the slave has, each path is one). */
  | { readonly kind: 'extra'; readonly slave: TreeEntry }
  /** On both, with different attributes (never empty; ['type'] when the types differ). */
  | { readonly kind: 'changed'; readonly master: TreeEntry; readonly slave: TreeEntry; readonly attributes: readonly Attribute[] };

/** Reads a stream, insisting on strictly increasing keys: a merge of unsorted input would lie. */
class Side {
  #last: string | undefined;
  constructor(
    readonly name: string,
    readonly it: AsyncIterator<TreeEntry>,
  ) {}

  async next(): Promise<TreeEntry | undefined> {
    const r = await this.it.next();
    if (r.done === true) return undefined;
    const key = r.value.key;
    if (this.#last !== undefined && compareKeys(this.#last, key) >= 0) {
      throw new Error(`${this.name} entries out of order: ${JSON.stringify(displayKey(key))} after ${JSON.stringify(displayKey(this.#last))}`);
    }
    this.#last = key;
    return r.value;
  }
}

/**
 * Differences between two trees, in key order. Both inputs must be in compareKeys order
 * (walkTree's); content is compared where both sides carry a sha256.
 */
export async function* diffTrees(master: AsyncIterable<TreeEntry>, slave: AsyncIterable<TreeEntry>): AsyncGenerator<Difference> {
  const m = new Side('master', master[Symbol.asyncIterator]());
  const s = new Side('slave', slave[Symbol.asyncIterator]());
  try {
    // Both sides are read at once: a remote slave's latency overlaps the local walk.
    let [a, b] = await Promise.all([m.next(), s.next()]);
    while (a !== undefined || b !== undefined) {
      const order = a === undefined ? 1 : b === undefined ? -1 : compareKeys(a.key, b.key);
      if (order < 0 && a !== undefined) {
        yield { kind: 'missing', master: a };
        a = await m.next();
      } else if (order > 0 && b !== undefined) {
        yield { kind: 'extra', slave: b };
        b = await s.next();
      } else if (a !== undefined && b !== undefined) {
        const attributes = changedAttributes(a, b, true);
        if (attributes.length > 0) yield { kind: 'changed', master: a, slave: b, attributes };
        [a, b] = await Promise.all([m.next(), s.next()]);
      }
    }
  } finally {
    await Promise.all([m.it.return?.(), s.it.return?.()]);
  }
}
