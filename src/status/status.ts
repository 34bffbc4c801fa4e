/** The status record of CLI.md (`status --json` prints an array of these). Pure. */

export type SessionStatus = 'Created' | 'Initializing' | 'Active' | 'Faulty' | 'Paused' | 'Stopped';
export type CrawlStatus = 'Full Crawl' | 'History Crawl' | 'Changelog Crawl' | 'N/A';

export interface Totals {
  readonly files: number;
  readonly bytes: number;
  readonly batches: number;
  readonly full_syncs: number;
  /** Renames replayed on the slave, and renames sent by rsync instead (fallbacks). */
  readonly renames: number;
  readonly renames_sent: number;
}

/** A master path rsync could not read, given up on until it changes again (status --detail). */
export interface FailedPath {
  readonly path: string;
  /** rsync's words for the last failure. */
  readonly reason: string;
  readonly attempts: number;
  /** When it first failed (ISO). */
  readonly since: string;
}

export interface StatusRecord {
  readonly session: string;
  readonly master: string;
  readonly slave: string;
  readonly status: SessionStatus;
  readonly crawl_status: CrawlStatus;
  readonly last_synced: string | null;
  readonly pending: number;
  readonly failures: number;
  /** The paths behind `failures` that are still failing. */
  readonly failed_paths?: readonly FailedPath[];
  readonly checkpoint: { readonly time: string | null; readonly completed: boolean; readonly completion_time: string | null };
  readonly totals: Totals;
  /** Why the session is Faulty, in words; absent otherwise. */
  readonly reason?: string;
  readonly pid?: number;
}

export const ZERO_TOTALS: Totals = { files: 0, bytes: 0, batches: 0, full_syncs: 0, renames: 0, renames_sent: 0 };

/** Totals from an earlier status file, when it is readable: they survive restarts. */
export function totalsFrom(json: unknown): Totals {
  if (typeof json !== 'object' || json === null) return ZERO_TOTALS;
  const t = (json as { totals?: unknown }).totals;
  if (typeof t !== 'object' || t === null) return ZERO_TOTALS;
  const n = (k: keyof Totals): number => {
    const v = (t as Record<string, unknown>)[k];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : 0;
  };
  return { files: n('files'), bytes: n('bytes'), batches: n('batches'), full_syncs: n('full_syncs'), renames: n('renames'), renames_sent: n('renames_sent') };
}

/** The last sync time of an earlier status file, when it holds a valid one. */
export function lastSyncedFrom(json: unknown): string | null {
  if (typeof json !== 'object' || json === null) return null;
  const v = (json as { last_synced?: unknown }).last_synced;
  return typeof v === 'string' && !Number.isNaN(Date.parse(v)) ? v : null;
}

/** The failed paths of an earlier status file: they are retried when the session starts again. */
export function failedPathsFrom(json: unknown): FailedPath[] {
  if (typeof json !== 'object' || json === null) return [];
  const list = (json as { failed_paths?: unknown }).failed_paths;
  if (!Array.isArray(list)) return [];
  const out: FailedPath[] = [];
  for (const f of list as unknown[]) {
    if (typeof f !== 'object' || f === null) continue;
    const { path, reason, attempts, since } = f as Record<string, unknown>;
    if (typeof path !== 'string' || typeof reason !== 'string' || typeof since !== 'string') continue;
    out.push({ path, reason, attempts: typeof attempts === 'number' && Number.isFinite(attempts) ? attempts : 0, since });
  }
  return out;
}
