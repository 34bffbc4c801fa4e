// The results: one JSON shape, and the text table printed on stdout. Ratios are
// gsyncd / peer measured in the same run: below 1 means gsyncd is better.
import { describeCounts, totalChanges } from './changes.js';
import type { FloorResult } from './floor.js';
import type { PeerResult } from './peer.js';
import { ratio } from './stats.js';

export interface BenchResults {
  readonly meta: {
    readonly date: string;
    readonly tree: { readonly files: number; readonly dirs: number; readonly topDirs: number; readonly bytes: number; readonly createSeconds: number };
    readonly machine: { readonly cpus: number; readonly node: string; readonly rsync: string; readonly lsyncd: string; readonly ssh: string };
    readonly options: Readonly<Record<string, unknown>>;
  };
  floor?: FloorResult;
  floorError?: string;
  readonly peers: { gsyncd?: PeerResult; lsyncd?: PeerResult; lsyncdcm?: PeerResult; lsyncd15?: PeerResult };
  ratios?: Record<string, number | undefined>;
}

type Pick = (p: PeerResult) => number | undefined;

// Writing the burst can take a second on a slow disk: the floor's rsync starts after the
// last write, so it compares with this part.
const afterLastWrite: Pick = (p) => (p.burst === undefined ? undefined : p.burst.seconds - p.burst.writeSeconds);

interface Row {
  readonly label: string;
  readonly pick: Pick;
  readonly unit: 's' | 'ms' | 'MB' | 'cpu-s';
  /** The N in the label, from whichever daemon ran the scenario. */
  readonly count?: Pick;
}

const restartCount: Pick = (p) => (p.restartChanges === undefined ? undefined : totalChanges(p.restartChanges.changes));

const ROWS: readonly Row[] = [
  { label: 'start to live, empty slave', pick: (p) => p.startEmpty?.seconds, unit: 's' },
  { label: 'start to live, slave in sync', pick: (p) => p.startInSync?.seconds, unit: 's' },
  { label: 'single-file latency p50', pick: (p) => p.latency?.p50, unit: 'ms' },
  { label: 'single-file latency p99', pick: (p) => p.latency?.p99, unit: 'ms' },
  { label: 'burst of N new files to converged', pick: (p) => p.burst?.seconds, unit: 's', count: (p) => p.burst?.files },
  { label: '  the same from the last write', pick: (p) => afterLastWrite(p), unit: 's' },
  { label: 'restart after N changes while stopped', pick: (p) => p.restartChanges?.seconds, unit: 's', count: restartCount },
  { label: 'peak RSS, process tree', pick: (p) => p.memory?.peakTreeMb, unit: 'MB' },
  { label: 'peak RSS, main process', pick: (p) => p.memory?.peakMainMb, unit: 'MB' },
  { label: 'RSS at rest, process tree', pick: (p) => p.memory?.restTreeMb, unit: 'MB' },
  { label: 'idle CPU', pick: (p) => p.idle?.cpuSeconds, unit: 'cpu-s' },
  { label: 'stop on SIGTERM', pick: (p) => p.stop?.seconds, unit: 's' },
];

const RATIO_KEYS: Readonly<Record<string, Pick>> = {
  startEmpty: (p) => p.startEmpty?.seconds,
  startInSync: (p) => p.startInSync?.seconds,
  latencyP50: (p) => p.latency?.p50,
  latencyP99: (p) => p.latency?.p99,
  burst: (p) => p.burst?.seconds,
  burstAfterLastWrite: afterLastWrite,
  restartChanges: (p) => p.restartChanges?.seconds,
  peakRssTree: (p) => p.memory?.peakTreeMb,
  restRssTree: (p) => p.memory?.restTreeMb,
  idleCpu: (p) => p.idle?.cpuSeconds,
};

export function computeRatios(r: BenchResults): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  const { gsyncd, lsyncd, lsyncdcm, lsyncd15 } = r.peers;
  if (gsyncd === undefined) return out;
  for (const [name, peer] of [['lsyncd', lsyncd], ['lsyncdcm', lsyncdcm]] as const) {
    if (peer === undefined) continue;
    for (const [key, pick] of Object.entries(RATIO_KEYS)) out[`gsyncd/${name}.${key}`] = ratio(pick(gsyncd), pick(peer));
  }
  if (lsyncd15 !== undefined) out['gsyncd/lsyncd15.latencyP50'] = ratio(gsyncd.latency?.p50, lsyncd15.latency?.p50);
  if (r.floor !== undefined) {
    out['gsyncd/floor.burstAfterLastWrite'] = ratio(afterLastWrite(gsyncd), r.floor.filesFromBurstWarm.median);
    out['gsyncd/floor.latencyP50'] = ratio(gsyncd.latency?.p50, r.floor.filesFromOneWarm.median * 1000);
    out['gsyncd/floor.latencyP50LocalPlus50ms'] = ratio(gsyncd.latency?.p50, r.floor.filesFromOneLocal.median * 1000 + 50);
    out['gsyncd/floor.startInSync'] = ratio(gsyncd.startInSync?.seconds, r.floor.cronNoChangeWarm.median);
    out['gsyncd/floor.restartChanges'] = ratio(gsyncd.restartChanges?.seconds, r.floor.cronChangesCold?.median);
  }
  for (const [k, v] of Object.entries(out)) out[k] = v === undefined ? undefined : Math.round(v * 1000) / 1000;
  return out;
}

function fmt(v: number | undefined, unit: Row['unit']): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  switch (unit) {
    case 'ms':
      return `${v.toFixed(0)} ms`;
    case 's':
      return `${v.toFixed(2)} s`;
    case 'MB':
      return `${v.toFixed(1)} MB`;
    case 'cpu-s':
      return `${v.toFixed(2)} s`;
  }
}

const fmtRatio = (v: number | undefined): string => (v === undefined ? '–' : `${v.toFixed(2)}×`);

function restartNotes(name: string, f: NonNullable<PeerResult['restartChanges']>): string[] {
  const notes = [
    `${name}: restart after changes: ${describeCounts(f.changes)}, made in ${f.writeSeconds.toFixed(2)} s while stopped; ` +
      `${f.expectedPaths} paths polled on the slave; live ${f.liveSeconds.toFixed(2)} s after launch`,
  ];
  if (f.report !== undefined) notes.push(`${name}: restart after changes: ${f.report.note}`);
  if (f.rechecks > 0) notes.push(`${name}: restart after changes: ${f.rechecks} full checks found a change missing after it had been seen`);
  return notes;
}

/** A plain-text table: the first column left-aligned, the others right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderText(r: BenchResults): string {
  const { gsyncd, lsyncd, lsyncdcm, lsyncd15 } = r.peers;
  const t = r.meta.tree;
  const out: string[] = [];
  out.push(
    `gsyncd bench, ${r.meta.date}: ${t.files.toLocaleString('en')} files (${t.dirs} dirs over ${t.topDirs} top-level folders), ` +
      `${r.meta.machine.cpus} CPUs, rsync ${r.meta.machine.rsync}, lsyncd ${r.meta.machine.lsyncd}, ${r.meta.machine.ssh}`,
  );
  out.push('');
  const ran = [gsyncd, lsyncd, lsyncdcm, lsyncd15].filter((p) => p !== undefined);
  const labelOf = (row: Row): string => {
    const pick = row.count;
    const n = pick === undefined ? undefined : ran.map((p) => pick(p)).find((c) => c !== undefined);
    return n === undefined ? row.label : row.label.replace(' N ', ` ${n} `);
  };
  const rows = ROWS.map((row) => {
    const label = labelOf(row);
    const g = gsyncd === undefined ? undefined : row.pick(gsyncd);
    const l = lsyncd === undefined ? undefined : row.pick(lsyncd);
    const cells = [label, fmt(g, row.unit), fmt(l, row.unit), fmtRatio(ratio(g, l))];
    if (lsyncdcm !== undefined) {
      const c = row.pick(lsyncdcm);
      cells.push(fmt(c, row.unit), fmtRatio(ratio(g, c)));
    }
    if (lsyncd15 !== undefined) cells.push(fmt(row.pick(lsyncd15), row.unit));
    return cells;
  });
  const header = ['figure', 'gsyncd', 'lsyncd delay=0', 'gsyncd/lsyncd'];
  if (lsyncdcm !== undefined) header.push('lsyncd+ControlMaster', 'gsyncd/lsyncd+CM');
  if (lsyncd15 !== undefined) header.push('lsyncd delay=15');
  out.push(table(header, rows));

  const notes: string[] = [];
  for (const p of [gsyncd, lsyncd, lsyncdcm, lsyncd15]) {
    if (p === undefined) continue;
    if (p.startInSync !== undefined) notes.push(`${p.name}: in-sync start: ${p.startInSync.note}`);
    if (p.latency !== undefined) notes.push(`${p.name}: latency samples (ms): ${p.latency.samplesMs.map((x) => x.toFixed(0)).join(' ')}`);
    if (p.transfers !== undefined) {
      const t = p.transfers;
      notes.push(
        `${p.name}: ran ${t.runs} transfers while live` +
          (t.files === undefined ? '' : ` (${t.files} files listed, longest ${(t.longestSeconds ?? 0).toFixed(2)} s)`),
      );
    }
    if (p.burst !== undefined) notes.push(`${p.name}: burst written on the master in ${p.burst.writeSeconds.toFixed(2)} s (inside the figure)`);
    if (p.burst !== undefined && p.burst.contentRetries > 0) {
      notes.push(`${p.name}: burst: names complete before contents (${p.burst.contentRetries} re-checks)`);
    }
    if (p.restartChanges !== undefined) notes.push(...restartNotes(p.name, p.restartChanges));
    if (p.mirror !== undefined) {
      notes.push(
        p.mirror.differences === 0
          ? `${p.name}: slave verified identical to master (rsync -anicH --delete)`
          : `${p.name}: slave DIFFERS from master in ${p.mirror.differences} entries, e.g. ${p.mirror.sample.slice(0, 3).join('; ')}`,
      );
    }
    if (p.idle !== undefined) notes.push(`${p.name}: idle window ${p.idle.seconds.toFixed(0)} s`);
    if (p.stop !== undefined && p.stop.zombies.length > 0) {
      notes.push(`${p.name}: left unreaped children (zombies) behind: ${p.stop.zombies.join(', ')}`);
    }
    if (p.stop?.forced === true) notes.push(`${p.name}: did not exit within 10 s of SIGTERM; killed`);
    for (const e of p.errors) notes.push(`${p.name}: ERROR: ${e.split('\n')[0] ?? ''}`);
    notes.push(`${p.name}: log ${p.logFile}`);
  }

  if (r.floor !== undefined) {
    const f = r.floor;
    const g = gsyncd;
    out.push('');
    out.push(
      table(
        ['floor (plain rsync over the same sshd)', 'median', 'gsyncd/floor'],
        [
          [`rsync --files-from, ${f.filesFromBurstWarm.files} new files, warm master`, fmt(f.filesFromBurstWarm.median, 's'), fmtRatio(ratio(g === undefined ? undefined : afterLastWrite(g), f.filesFromBurstWarm.median))],
          ['rsync --files-from, 1 file, warm master', fmt(f.filesFromOneWarm.median * 1000, 'ms'), fmtRatio(ratio(g?.latency?.p50, f.filesFromOneWarm.median * 1000))],
          ['rsync --files-from, 1 file, new connection', fmt(f.filesFromOneCold.median * 1000, 'ms'), ''],
          ['rsync --files-from, 1 file, local (+ 50 ms)', fmt(f.filesFromOneLocal.median * 1000 + 50, 'ms'), fmtRatio(ratio(g?.latency?.p50, f.filesFromOneLocal.median * 1000 + 50))],
          ['cron rsync -a --delete, no change, warm master', fmt(f.cronNoChangeWarm.median, 's'), fmtRatio(ratio(g?.startInSync?.seconds, f.cronNoChangeWarm.median))],
          ['cron rsync -a --delete, no change, new connection', fmt(f.cronNoChangeCold.median, 's'), ''],
          ...(f.cronChangesCold === undefined
            ? []
            : [
                [
                  `cron rsync -a --delete, ${totalChanges(f.cronChangesCold.changes)} changes, new connection`,
                  fmt(f.cronChangesCold.median, 's'),
                  fmtRatio(ratio(g?.restartChanges?.seconds, f.cronChangesCold.median)),
                ],
              ]),
          ['cron rsync -a --delete, initial copy to empty slave', fmt(f.cronInitialCopy, 's'), fmtRatio(ratio(g?.startEmpty?.seconds, f.cronInitialCopy))],
        ],
      ),
    );
    out.push(
      '(gsyncd/floor compares: burst from the last write; latency p50; in-sync start; ' +
        `${f.cronChangesCold === undefined ? '' : 'restart after changes; '}empty-slave start)`,
    );
  } else if (r.floorError !== undefined) {
    notes.push(`floor: ERROR: ${r.floorError.split('\n')[0] ?? ''}`);
  }
  if (notes.length > 0) out.push('', ...notes);
  return out.join('\n');
}
