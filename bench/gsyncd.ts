// gsyncd as the bench runs it: the built CLI in the foreground, over the loopback sshd,
// with a fresh state directory per run. Its contract: stderr says `Full Crawl finished`,
// then `Changelog Crawl started` once live, and one `batch done: …` line per batch.
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
const batchRe = /batch done: files=(\d+) bytes=(\d+) seconds=([\d.]+) rsync_exit=(\d+)/;

export function parseBatch(line: string): Batch | undefined {
  const m = batchRe.exec(line);
  if (m === null) return undefined;
  return { files: Number(m[1]), bytes: Number(m[2]), seconds: Number(m[3]), rsyncExit: Number(m[4]) };
}

export function gsyncdPeer(sshd: Sshd, opts: { remoteGsyncd: string | undefined; extraArgs: readonly string[] }): PeerSpec {
  return {
    name: 'gsyncd',
    liveRe: /Changelog Crawl started/,
    start({ master, slave, stateDir, logFile, echo }) {
      const args = [
        gsyncdBin,
        master,
        `${sshd.host}:${slave}`,
        '-e',
        sshd.rsh,
        '--state-dir',
        stateDir,
        ...(opts.remoteGsyncd === undefined ? [] : ['--remote-gsyncd', opts.remoteGsyncd]),
        ...opts.extraArgs,
      ];
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
    startReport(lines) {
      const batches = lines.map(parseBatch).filter((b) => b !== undefined);
      const crawl = lines.map((l) => fullCrawlRe.exec(l)).find((m) => m !== null);
      const crawlFiles = crawl?.[1] === undefined ? 0 : Number(crawl[1]);
      const files = crawlFiles + batches.reduce((n, b) => n + b.files, 0);
      const fullCrawl = lines.some((l) => l.includes('Full Crawl started'));
      return {
        fullTreeSync: fullCrawl,
        filesSent: files,
        note:
          (fullCrawl ? 'Full Crawl (whole-tree rsync)' : 'no Full Crawl') +
          `${crawl === undefined ? '' : `, crawl sent ${crawlFiles} files`}, ${batches.length} batches before live`,
      };
    },
  };
}
