/**
 * What a recursive rsync run sent, read back from its `--out-format` lines. A file created
 * and deleted inside a subtree while rsync walked it may have been copied, while the
 * watcher coalesced its create and delete into nothing: checking, a moment later, that what
 * was sent still exists on the master finds those. Pure.
 */
import { SENT_MARK } from './rsync-argv.js';

/** The most names kept from one run; a larger run is not rechecked (its paths are logged). */
export const MAX_SENT = 200_000;

/** rsync writes unprintable bytes of names as `\#ooo` (octal). */
export function decodeRsyncName(name: string): Buffer {
  const bytes: number[] = [];
  const raw = Buffer.from(name, 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i] ?? 0;
    if (b === 0x5c && raw[i + 1] === 0x23 && i + 4 < raw.length + 0 + 1) {
      const oct = raw.subarray(i + 2, i + 5).toString('latin1');
      if (/^[0-7]{3}$/.test(oct)) {
        bytes.push(parseInt(oct, 8));
        i += 4;
        continue;
      }
    }
    bytes.push(b);
  }
  return Buffer.from(bytes);
}

/**
 * Paths (relative, no trailing slash) of the items the run transferred or created, from
 * lines `gsyncd-sent:YXcstpoguax NAME`. Deletions (`*deleting`) and unchanged items are not
 * "sent". Undefined when there were more than `max`.
 */
export function sentPaths(output: string, max = MAX_SENT): { paths: string[]; lossy: number } | undefined {
  const paths: string[] = [];
  let lossy = 0;
  for (const line of output.split('\n')) {
    if (!line.startsWith(SENT_MARK)) continue;
    const item = line.slice(SENT_MARK.length);
    const space = item.indexOf(' ');
    if (space < 0) continue;
    const flags = item.slice(0, space);
    // '<' sent to a remote receiver, '>' received locally, 'c' created (directories, links).
    if (flags[0] !== '<' && flags[0] !== '>' && flags[0] !== 'c') continue;
    const name = decodeRsyncName(item.slice(space + 1).replace(/\/$/, '')).toString('utf8');
    if (name === '' || name === '.') continue;
    if (name.includes('\uFFFD')) {
      lossy++;
      continue;
    }
    if (paths.length >= max) return undefined;
    paths.push(name);
  }
  return { paths, lossy };
}

/** rsync's output without the sent-marks, for the log. */
export const withoutSentMarks = (output: string): string =>
  output
    .split('\n')
    .filter((l) => !l.startsWith(SENT_MARK))
    .join('\n');
