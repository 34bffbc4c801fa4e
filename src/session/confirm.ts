/**
 * Confirmation of what arrived (issue: reports): after a batch, the master asks the slave's
 * gsyncd for the same paths' type, size, mtime, mode, link target (and SHA-256) and compares
 * them with its own. It runs beside the next batch, never in front of it.
 */
import type { SlaveChannel } from '../transport/slave-channel.js';
import type { PathReport } from '../verify/entry.js';
import { sameEntry, statPath } from '../verify/stat-path.js';
import { hasRawBytes } from '../sync/names.js';
import { differs, type ConfirmScope } from './confirm-scope.js';

/** How many paths a sampled confirmation looks at. */
export const SAMPLE_SIZE = 8;

/** Master paths (JS strings) → the byte-string keys the verify module speaks. */
export const keyOf = (path: string): string => Buffer.from(path, 'utf8').toString('latin1');

/** Up to `n` paths, spread over the batch. Pure given `random`. */
export function pickSample(paths: readonly string[], n: number, random: () => number = Math.random): string[] {
  if (paths.length <= n) return [...paths];
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(random() * paths.length));
  return [...picked].sort((a, b) => a - b).map((i) => paths[i] ?? '');
}

export interface Mismatch {
  readonly path: string;
  readonly reason: string;
}

export interface ConfirmDeps {
  readonly masterRoot: string;
  readonly channel: SlaveChannel;
  readonly checksum: boolean;
  /** What the session's rsync flags let differ (confirm-scope.ts). */
  readonly scope: ConfirmScope;
  /** Whether a newer change of the path is queued: then the difference is expected. */
  readonly pending: (path: string) => boolean;
}

const asReports = (v: readonly unknown[]): PathReport[] => v as PathReport[];

/** Compares master and slave for `paths`; returns the paths whose slave copy differs. */
export async function confirmPaths(paths: readonly string[], d: ConfirmDeps): Promise<Mismatch[]> {
  // The stat request carries names as text: one that is not valid UTF-8 is not asked about.
  const asked = paths.filter((p) => p !== '' && !hasRawBytes(p));
  if (asked.length === 0) return [];
  const keys = asked.map(keyOf);
  const reply = await d.channel.request({ type: 'stat', id: d.channel.newId(), keys, checksum: d.checksum });
  if (reply.type === 'error') throw new Error(`the slave could not answer: ${reply.reason}`);
  if (reply.type !== 'stat' || reply.reports.length !== keys.length) throw new Error('the slave answered out of turn');
  const slave = asReports(reply.reports);
  const out: Mismatch[] = [];
  for (let i = 0; i < asked.length; i++) {
    const path = asked[i] ?? '';
    const key = keys[i] ?? '';
    const s = slave[i];
    if (d.pending(path) || s === undefined) continue;
    const master = await statPath(d.masterRoot, key, { checksum: d.checksum });
    const reason = differs(master, s, d.scope, d.checksum);
    // Changed on the master since the batch: the watcher has it, or will have it at once.
    if (reason !== undefined && !d.pending(path)) {
      const again = await statPath(d.masterRoot, key, { checksum: d.checksum });
      if (sameEntry(master, again, { checksum: d.checksum }) === undefined) out.push({ path, reason });
    }
  }
  return out;
}
