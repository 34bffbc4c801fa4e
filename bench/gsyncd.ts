// gsyncd as the bench runs it: the built CLI in the foreground, over the loopback sshd (or
// to a local slave), with a fresh state directory per run. Its contract: stderr says `Full
// Crawl finished`, then `Changelog Crawl started` once live, and one `batch done files=…`
// line per batch. A restart with saved state says `History Crawl started … changes=N`
// instead of crawling.
import { fileURLToPath } from 'node:url';
import { Daemon } from './proc.js';
import type { Sshd } from './sshd.js';
import type { PeerSpec } from './peer.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url)); // dist/bench/ -> repo
export const gsyncdBin = `${repoRoot}bin/gsyncd`;

export interface Batch {
  readonly files: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly rsyncExit: number;
}

const fullCrawlRe = /Full Crawl finished files=(\d+)/;
const batchRe = /batch done files=(\d+) bytes=(\d+) seconds=([\d.]+) rsync_exit=(\d+)/;

export function parseBatch(line: string): Batch | undefined {
  const m = batchRe.exec(line);
  if (m === null) return undefined;
  return { files: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]), rsyncExit: Number(m[4]) };
}

/** `name=value` from a text log line, in whatever order gsyncd writes its fields. */
function field(line: string, name: string): string | undefined {
  const raw = new RegExp(`\\b${name}=("(?:[^"\\\\]|\\\\.)*"|\\S*)`).exec(line)?.[1];
  // Values with spaces or quotes are written as JSON strings.
  return raw?.startsWith('"') === true ? (JSON.parse(raw) as string) : raw;
}

const firstWith = (lines: readonly string[], message: string): string | undefined => lines.find((l) => l.includes(message));

/** Over the loopback sshd; without one, to a local slave (and `remoteGsyncd` unused: no slave host). */
export function gsyncdPeer(sshd: Sshd | undefined, opts: { remoteGsyncd: string | undefined; extraArgs: readonly string[] }): PeerSpec {
  return {
    name: 'gsyncd',
    liveRe: /Changelog Crawl started/,
    start({ master, slave, stateDir, logFile, echo }) {
      const target = sshd === undefined ? [slave] : [`${sshd.host}:${slave}`, '-e', sshd.rsh, ...(opts.remoteGsyncd === undefined ? [] : ['--remote-gsyncd', opts.remoteGsyncd])];
      const args = [gsyncdBin, master, ...target, '--state-dir', stateDir, ...opts.extraArgs];
      return new Daemon('gsyncd', process.execPath, args, logFile, echo);
    },
    transfers(lines) {
      const batches = lines.map(parseBatch).filter((b) => b !== undefined);
      return {
        runs: batches.length,
        files: batches.reduce((n, b) => n + b.files, 0),
        longestSeconds: Math.max(0, ...batches.map((b) => b.seconds)),
      };
    },
    catchUpReport(lines) {
      const batches = lines.map(parseBatch).filter((b) => b !== undefined);
      const history = firstWith(lines, 'History Crawl started');
      const full = firstWith(lines, 'Full Crawl finished');
      const fullStarted = firstWith(lines, 'Full Crawl started') !== undefined;
      const needed = firstWith(lines, 'Full Crawl needed');
      const crawlFiles = Number(full === undefined ? 0 : (field(full, 'files') ?? 0));
      const crawlBytes = Number(full === undefined ? 0 : (field(full, 'bytes') ?? 0));
      // A batch's files= counts the paths it listed (new and changed files, deletes, directories).
      const pathsListed = batches.reduce((n, b) => n + b.files, 0);
      const bytesSent = crawlBytes + batches.reduce((n, b) => n + b.bytes, 0);
      const changes = history === undefined ? undefined : field(history, 'changes');
      const crawl = history !== undefined ? 'History Crawl' : fullStarted ? 'Full Crawl' : 'no crawl';
      const said = (line: string, names: readonly string[]): string =>
        names.map((n) => `${n}=${field(line, n) ?? '?'}`).join(' ');
      return {
        crawl,
        ...(changes === undefined ? {} : { changesFound: Number(changes) }),
        ...(full === undefined ? {} : { crawlFiles }),
        pathsListed,
        bytesSent,
        note:
          (history === undefined ? crawl : `History Crawl (${said(history, ['changes', 'pending', 'queued', 'seconds'])})`) +
          (needed === undefined ? '' : ` (needed: ${field(needed, 'reason') ?? '?'})`) +
          (full === undefined ? '' : `, Full Crawl sent ${crawlFiles} files`) +
          `; ${batches.length} batch(es) listing ${pathsListed} paths; ${bytesSent} bytes of file data sent in all`,
      };
    },
    startReport(lines) {
      const batches = lines.map(parseBatch).filter((b) => b !== undefined);
      const crawl = lines.map((l) => fullCrawlRe.exec(l)).find((m) => m !== null);
      const crawlFiles = crawl?.[1] === undefined ? 0 : Number(crawl[1]);
      const files = crawlFiles + batches.reduce((n, b) => n + b.files, 0);
      const fullCrawl = lines.some((l) => l.includes('Full Crawl started'));
      const history = firstWith(lines, 'History Crawl started');
      const instead = history === undefined ? 'no Full Crawl' : `no Full Crawl, History Crawl changes=${field(history, 'changes') ?? '?'}`;
      return {
        fullTreeSync: fullCrawl,
        filesSent: files,
        note:
          (fullCrawl ? 'Full Crawl (whole-tree rsync)' : instead) +
          `${crawl === undefined ? '' : `, crawl sent ${crawlFiles} files`}, ${batches.length} batches before live`,
      };
    },
  };
}
