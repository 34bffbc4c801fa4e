/**
 * `gsyncd status` output: gluster geo-replication's columns, as a table or as JSON. Pure:
 * records in, text out.
 */
import type { StatusRecord } from './status.js';

const BASE = ['SESSION', 'MASTER', 'SLAVE', 'STATUS', 'CRAWL STATUS', 'LAST SYNCED'] as const;
const DETAIL = [
  'PENDING', 'FAILURES', 'CHECKPOINT TIME', 'CHECKPOINT COMPLETED', 'CHECKPOINT COMPLETION TIME',
  'FILES', 'BYTES', 'BATCHES', 'FULL SYNCS',
] as const;

/** ISO time → `2026-11-27 06:14:44` (UTC), as gluster prints it; N/A when unset. */
export const shownTime = (iso: string | null): string => (iso === null ? 'N/A' : iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ''));

function row(r: StatusRecord, detail: boolean): string[] {
  const base = [r.session, r.master, r.slave, r.status, r.crawl_status, shownTime(r.last_synced)];
  if (!detail) return base;
  return [
    ...base,
    String(r.pending),
    String(r.failures),
    shownTime(r.checkpoint.time),
    r.checkpoint.time === null ? 'N/A' : r.checkpoint.completed ? 'Yes' : 'No',
    shownTime(r.checkpoint.completion_time),
    String(r.totals.files),
    String(r.totals.bytes),
    String(r.totals.batches),
    String(r.totals.full_syncs),
  ];
}

export function renderTable(records: readonly StatusRecord[], detail: boolean): string {
  const header: string[] = detail ? [...BASE, ...DETAIL] : [...BASE];
  const rows = records.map((r) => row(r, detail));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('    ').trimEnd();
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('    ')];
  for (const r of rows) out.push(line(r));
  // Faulty sessions say why, under the table: the reason is too long for a column.
  for (const r of records) if (r.status === 'Faulty' && r.reason !== undefined) out.push(`${r.session}: ${r.reason}`);
  // So do the paths given up on, with rsync's words: what the sysadmin has to fix.
  if (detail) {
    for (const r of records) {
      for (const f of r.failed_paths ?? []) out.push(`${r.session}: failed ${f.path || '.'}: ${f.reason} (${f.attempts} attempts since ${shownTime(f.since)})`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** The JSON of CLI.md: the record without gsyncd's own bookkeeping (the pid). */
export function renderJson(records: readonly StatusRecord[]): string {
  return `${JSON.stringify(records.map(({ pid: _pid, ...rest }) => ({ ...rest, failed_paths: rest.failed_paths ?? [] })), null, 2)}\n`;
}
