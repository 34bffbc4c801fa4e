/**
 * What a recursive rsync run sent, read back from its `--out-format` lines. A file created
 * and deleted inside a subtree while rsync walked it may have been copied, while the
 * watcher coalesced its create and delete into nothing: checking, a moment later, that what
 * was sent still exists on the master finds those. Pure.
 */
import { SENT_MARK } from './rsync-argv.js';
import { decodeName } from './names.js';

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

/** What a run sent: undefined when it sent more than the bound (then it is not rechecked). */
export type SentList = { readonly paths: readonly string[] } | undefined;

/** The path of one `gsyncd-sent:YXcstpoguax NAME` line, if it says the item was sent. */
export function sentPathOf(line: string): { path: string } | undefined {
  if (!line.startsWith(SENT_MARK)) return undefined;
  const item = line.slice(SENT_MARK.length);
  const space = item.indexOf(' ');
  if (space < 0) return undefined;
  const flags = item.slice(0, space);
  // '<' sent to a remote receiver, '>' received locally, 'c' created (directories, links).
  // Deletions (`*deleting`) and unchanged items are not "sent".
  if (flags[0] !== '<' && flags[0] !== '>' && flags[0] !== 'c') return undefined;
  // Bytes that are not valid UTF-8 as escapes (names.ts): the path is exact.
  const name = decodeName(decodeRsyncName(item.slice(space + 1).replace(/\/$/, '')));
  if (name === '' || name === '.') return undefined;
  return { path: name };
}

/** Collects sent paths from output lines as they stream, up to the bound. */
export class SentCollector {
  private readonly paths: string[] = [];
  private overflow = false;

  constructor(private readonly max = MAX_SENT) {}

  /** True when the line was a sent-mark line (consumed). */
  take(line: string): boolean {
    if (!line.startsWith(SENT_MARK)) return false;
    const p = sentPathOf(line);
    if (p === undefined || this.overflow) return true;
    if (this.paths.length >= this.max) this.overflow = true;
    else this.paths.push(p.path);
    return true;
  }

  result(): SentList {
    return this.overflow ? undefined : { paths: this.paths };
  }
}

/** Paths sent, from a whole output text (see SentCollector). */
export function sentPaths(output: string, max = MAX_SENT): SentList {
  const c = new SentCollector(max);
  for (const line of output.split('\n')) c.take(line);
  return c.result();
}
